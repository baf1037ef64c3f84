"""Plate mode end to end on tiny models: training over a plate, its fall-back to the full frame,
compositing at inference and in transfer, and full-frame checkpoints from before plate mode."""
import dataclasses
import json
import os
import re

import numpy as np
import pytest
import torch

from conftest import TINY, make_target_dir, normalized_source, read_losses
from src.errors import UserError
from src.gan import checkpoint, networks
from src.gan.inference import FramePredictor
from src.gan.options import make_options, parse
from src.io.files import frame_name, list_frames, read_image, write_image
from src.layout import TARGET_MASKS
from src.pose import background
from src.pose.keypoints import PoseTrack

torch.set_num_threads(1)
SIZE = (64, 32)
PLATE_RGB = (90, 140, 200)


def plate_target(root, n=8, plate=True):
    """A finished target folder with person masks and a plain plate (or a 'moving camera' record)."""
    make_target_dir(root, n=n, size=SIZE)
    track = PoseTrack.load(os.path.join(root, "keypoints.npz"))
    for t in range(n):
        write_image(os.path.join(root, TARGET_MASKS, frame_name(t)),
                    background.keypoint_mask(track.keypoints[t], SIZE))
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8) + np.uint8(PLATE_RGB)
    background.write_plate(root, background.Plate(image if plate else None, 0.0, 0.0 if plate else 0.9, n,
                                                  "static camera" if plate else "the camera moves: test"))
    return str(root)


def train(tmp_path, *extra, dataroot=None):
    from src.gan.train import train as run
    args = ["--dataroot", dataroot or str(tmp_path / "target"), "--checkpoints_dir", str(tmp_path / "ckpt"),
            "--name", "t", *TINY, *extra]
    return run(*parse(args))


def state_of(tmp_path):
    return torch.load(tmp_path / "ckpt" / "t" / "latest.pt", weights_only=True)


def test_training_over_a_plate_learns_alpha_and_saves_the_plate(tmp_path, capsys):
    plate_target(tmp_path / "target")
    train(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "1", "--max_steps", "5")
    out = capsys.readouterr().out
    assert "plate mode: G draws a" in out and "window that follows the person" in out
    state = state_of(tmp_path)
    assert state["options"]["background"] == "plate"
    assert tuple(state["plate"].shape) == (32, 64, 3) and (state["plate"][..., 2] == 200).all()
    w, h = state["window"].tolist()
    assert w % 4 == 0 and h % 4 == 0 and w <= 64 and h <= 32   # multiples of 2 ** n_downsample
    assert state["G"]["head.1.weight"].shape[0] == 4             # colour + alpha
    losses = read_losses(tmp_path / "ckpt" / "t")
    assert all("G_alpha" in losses[s] for s in range(1, 5)) and losses[1]["G_alpha"] > 0


@pytest.mark.parametrize("augment", [[], ["--d_augment"], ["--r1_gamma", "1"]],
                         ids=["plain", "d_augment", "r1"])
def test_plate_mode_resume_gives_the_same_losses(tmp_path, augment):
    plate_target(tmp_path / "target")
    common = ["--niter", "2", "--niter_decay", "0", "--face_epochs", "0", *augment]
    a = tmp_path / "a"
    b = tmp_path / "b"
    train(a, *common, dataroot=str(tmp_path / "target"))
    train(b, *common, "--max_steps", "5", dataroot=str(tmp_path / "target"))
    train(b, *common, "--resume", dataroot=str(tmp_path / "target"))
    la, lb = read_losses(a / "ckpt" / "t"), read_losses(b / "ckpt" / "t")
    assert sorted(la) == sorted(lb) == list(range(1, 15))
    for step in la:
        for name in la[step]:
            assert lb[step][name] == pytest.approx(la[step][name], rel=1e-4, abs=1e-6)


def test_moving_camera_target_trains_on_the_full_frame(tmp_path, capsys):
    plate_target(tmp_path / "target", plate=False)
    train(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "0", "--max_steps", "2")
    assert "no background plate (the camera moves: test); training on the full frame" in capsys.readouterr().out
    state = state_of(tmp_path)
    assert state["options"]["background"] == "none" and "plate" not in state
    assert state["G"]["head.1.weight"].shape[0] == 3
    with pytest.raises(UserError, match=r"target: no background plate \(the camera moves: test\); re-run "
                                        r"make_target.py, or train on the full frame with --background none"):
        train(tmp_path / "again", "--background", "plate", "--max_steps", "1",
              dataroot=str(tmp_path / "target"))


class Fixed(torch.nn.Module):
    """A stand-in generator: constant colour and alpha channel; records its inputs."""

    def __init__(self, colour, alpha_channel):
        super().__init__()
        self.colour, self.alpha_channel, self.inputs = colour, alpha_channel, []

    def forward(self, x):
        self.inputs.append(x.clone())
        n, _, h, w = x.shape
        return torch.cat([torch.full((n, 3, h, w), self.colour), torch.full((n, 1, h, w), self.alpha_channel)], 1)


@pytest.fixture(scope="module")
def plate_checkpoint(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plate")
    plate_target(tmp / "target")
    train(tmp, "--niter", "1", "--niter_decay", "0", "--face_epochs", "0", "--max_steps", "3")
    return tmp


def test_inference_is_the_plate_bit_for_bit_where_alpha_is_0(plate_checkpoint):
    predictor = FramePredictor(plate_checkpoint / "ckpt" / "t", device="cpu")
    ww, wh = predictor.window_size
    label = np.full((32, 64, 3), 255, np.uint8)
    predictor.generator = Fixed(1.0, -1.0)                  # alpha 0 everywhere
    frame = predictor.predict(label, window=(8, 0))
    assert (frame == np.uint8(PLATE_RGB)).all()
    predictor.generator = Fixed(1.0, 1.0)                   # alpha 1 inside the window...
    frame = predictor.predict(label, window=(8, 0))
    assert (frame == np.uint8(PLATE_RGB)).all()             # ...but no pose drawn: the gate keeps the plate
    frame = predictor.predict(np.zeros_like(label), window=(8, 0))   # the label all figure: the gate is open
    inner = frame[4:wh - 4, 8 + 4:8 + ww - 4]
    assert (inner == 255).all()                             # colour 1 -> white
    outside = np.ones((32, 64), bool)
    outside[:wh, 8:8 + ww] = False
    assert (frame[outside] == np.uint8(PLATE_RGB)).all()


def test_inference_feeds_the_previous_composite_cut_at_the_current_window(plate_checkpoint):
    predictor = FramePredictor(plate_checkpoint / "ckpt" / "t", device="cpu")
    ww, wh = predictor.window_size
    fixed = predictor.generator = Fixed(1.0, 1.0)
    label = np.full((32, 64, 3), 255, np.uint8)
    first = predictor.predict(label, window=(0, 0))
    predictor.predict(label, window=(4, 0))
    fed = fixed.inputs[1][0, 3:]                             # the previous-frame channels
    expected = torch.from_numpy(first[:wh, 4:4 + ww].astype(np.float32) / 127.5 - 1).permute(2, 0, 1)
    # The feed is the composite before rounding to uint8: within half a level of the written frame.
    assert torch.allclose(fed, expected, atol=0.5 / 127.5 + 1e-6)
    assert (fixed.inputs[0][0, 3:] == 0).all()               # the first frame is fed zeros


def test_transfer_with_a_plate_model_keeps_the_plate_outside_the_window(plate_checkpoint, tmp_path):
    from src.gan.transfer import run
    source = normalized_source(tmp_path / "source", n=5, size=SIZE)
    summary = run("t", source, str(tmp_path / "out"), str(plate_checkpoint / "ckpt"), device="cpu")
    assert summary["made"] == 5
    frames = [read_image(p) for p in list_frames(tmp_path / "out")]
    predictor = FramePredictor(plate_checkpoint / "ckpt" / "t", device="cpu")
    track = predictor.window_track(PoseTrack.load(os.path.join(source, "keypoints_norm.npz")).keypoints, SIZE)
    (ww, wh) = predictor.window_size
    for frame, (x, y) in zip(frames, track):
        outside = np.ones((32, 64), bool)
        outside[y:y + wh, x:x + ww] = False
        assert (frame[outside] == np.uint8(PLATE_RGB)).all()


def test_full_frame_checkpoint_from_before_plate_mode_still_transfers(tmp_path):
    """A checkpoint whose options have no 'background' (written before plate mode) is full frame."""
    from src.gan.transfer import run
    torch.manual_seed(0)
    opt = make_options(size="64x32", ngf=8, n_downsample=2, n_blocks=1, device="cpu", background="none")
    options = dataclasses.asdict(opt)
    del options["background"], options["lambda_alpha"]
    checkpoint.save(tmp_path / "ckpt" / "old" / "latest.pt",
                    {"options": options, "step": 3, "G": networks.build_generator(opt).state_dict()})
    predictor = FramePredictor(tmp_path / "ckpt" / "old", device="cpu")
    assert predictor.plate is None and predictor.window_track(np.zeros((2, 137, 3)), SIZE) is None
    source = normalized_source(tmp_path / "source", n=3, size=SIZE)
    assert run("old", source, str(tmp_path / "out"), str(tmp_path / "ckpt"), device="cpu")["made"] == 3
    assert len(list_frames(tmp_path / "out")) == 3
    info = json.loads((tmp_path / "out" / ".transfer.json").read_text())
    assert info["frames"] == 3


def test_frames_at_the_targets_frame_size_keep_the_full_size_plate(tmp_path):
    """A model trained at half the target's frame size composites over the full-size plate."""
    plate_target(tmp_path / "target")
    big = np.zeros((64, 128, 3), np.uint8)
    big[:, :, 0] = np.arange(128, dtype=np.uint8)[None, :]         # a plate with detail at full size
    background.write_plate(tmp_path / "target", background.Plate(big, 0.0, 0.0, 8, "static camera"))
    train(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "0", "--max_steps", "1")
    predictor = FramePredictor(tmp_path / "ckpt" / "t", device="cpu")
    assert predictor.size == (64, 32) and predictor.frame_size == (128, 64)
    ww, wh = predictor.window_size
    predictor.generator = Fixed(1.0, -1.0)                          # alpha 0: the plate only
    frame = predictor.at_frame_size(predictor.predict(np.full((32, 64, 3), 255, np.uint8), window=(0, 0)))
    assert frame.shape == (64, 128, 3) and np.array_equal(frame, big)
    predictor.generator = Fixed(1.0, 1.0)                           # alpha 1 and the label all figure:
    frame = predictor.at_frame_size(predictor.predict(np.zeros((32, 64, 3), np.uint8), window=(0, 0)))  # white
    assert (frame[2 * 4 + 2:2 * (wh - 4) - 2, 2 * 4 + 2:2 * (ww - 4) - 2] == 255).all()
    assert np.array_equal(frame[:, 2 * ww:], big[:, 2 * ww:])       # right of the window: the plate


def test_transfer_says_the_size_of_the_frames_it_wrote(tmp_path, capsys):
    """A model trained at 64x32 on a 128x64 target writes 128x64 frames, and says so."""
    from src.gan.transfer import run
    from src.io.files import list_frames, read_image
    plate_target(tmp_path / "target")
    big = np.zeros((64, 128, 3), np.uint8)
    background.write_plate(tmp_path / "target", background.Plate(big, 0.0, 0.0, 8, "static camera"))
    train(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "0", "--max_steps", "1")
    source = normalized_source(tmp_path / "source", n=2)
    run("t", str(source), str(tmp_path / "out"), str(tmp_path / "ckpt"), device="cpu")
    frames = list_frames(tmp_path / "out")
    assert len(frames) == 2 and read_image(frames[0]).shape == (64, 128, 3)
    assert f"wrote frames 0-1 (128x64) to {tmp_path / 'out'}" in capsys.readouterr().out


def test_frames_evaluation_measures_speckle_against_the_models_plate(plate_checkpoint, tmp_path):
    import contextlib
    import io
    from src.evaluate.cli import main
    source = normalized_source(tmp_path / "source", n=4, size=SIZE)
    clean, dusty = tmp_path / "clean", tmp_path / "dusty"
    plate = np.zeros((SIZE[1], SIZE[0], 3), np.uint8) + np.uint8(PLATE_RGB)
    for t in range(4):
        write_image(os.path.join(clean, frame_name(t)), plate)          # the plate: nothing drawn
        write_image(os.path.join(dusty, frame_name(t)), plate + 20)     # every pixel 20 levels off
    keypoints = os.path.join(source, "keypoints_norm.npz")
    ckpt = str(plate_checkpoint / "ckpt" / "t")
    results = {}
    for name, folder in (("clean", clean), ("dusty", dusty)):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            main(["--frames", str(folder), "--keypoints", keypoints, "--name", ckpt, "--device", "cpu"])
        results[name] = (json.loads((folder / "eval_frames" / "metrics.json").read_text())["plate"],
                         printed.getvalue())
    (clean_plate, clean_out), (dusty_plate, dusty_out) = results["clean"], results["dusty"]
    assert clean_plate["speckle"] == 0.0 and clean_plate["window_edge"] == 0.0 and clean_plate["frames"] == 4
    assert dusty_plate["speckle"] == 1.0            # every pixel outside the person is off by 20 > 12
    assert dusty_plate["window_edge"] == pytest.approx(0.0, abs=1e-9)   # evenly off: no rectangle
    assert re.search(r"^speckle outside the person \(lower is better\)\s+100\.000%$", dusty_out, re.M)
    assert re.search(r"^speckle outside the person \(lower is better\)\s+0\.000%$", clean_out, re.M)



def test_training_composites_through_the_pose_gate():
    from src.gan.stages import PairGenerator
    label = torch.ones(1, 3, 50, 50)
    label[0, :, 20:30, 24:26] = -1.0                                   # a black bone, rows 20-29
    plate = torch.zeros(1, 3, 50, 50)
    for gate, far in ((True, 0.0), (False, 1.0)):
        fake_t, fake_t1, alpha_t, alpha_t1 = PairGenerator(Fixed(1.0, 1.0), gate=gate)(label, label, plate)
        # reach round(0.1 x 50) = 5 and feather 2: column 10 is out of the gate, column 25 in it
        assert alpha_t[0, 0, 25, 10].item() == far and alpha_t1[0, 0, 25, 10].item() == far
        assert alpha_t[0, 0, 25, 25].item() == 1.0 and fake_t[0, :, 25, 25].tolist() == [1.0, 1.0, 1.0]
        assert fake_t1[0, 0, 25, 10].item() == far                     # plate 0, colour 1
