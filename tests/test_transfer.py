"""transfer.py / src/gan/transfer.py on tiny random checkpoints and a few synthetic normalized labels."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import normalized_source, random_checkpoint
from src.errors import UserError
from src.gan.inference import FramePredictor
from src.gan.transfer import SourceLabels, run
from src.io.files import frame_name, list_frames, read_image, write_image
from src.layout import (NORM_HEADS as HEADS_NORM, NORM_LABELS as LABEL_DIR,
                        TRANSFER_MANIFEST as MANIFEST)

torch.set_num_threads(1)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATES = [".previous_frame.0.npz", ".previous_frame.1.npz"]   # what even / odd frames fed on
SIZE = (64, 32)
N = 6


def transfer(tmp, source, name="face", out="out", **kw):
    return run(name, source, str(tmp / out), str(tmp / "ckpt"), device="cpu", **kw)


def frames_of(folder):
    return [read_image(p).astype(int) for p in list_frames(folder)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Random models with ("face") and without ("plain") a face GAN, a source of N labels, and one
    uninterrupted run of each model into whole_<name>/ (with its summary)."""
    tmp = tmp_path_factory.mktemp("transfer")
    random_checkpoint(tmp / "ckpt" / "face", seed=0)
    random_checkpoint(tmp / "ckpt" / "plain", seed=1, face=False)
    source = normalized_source(tmp / "source")
    summaries = {name: transfer(tmp, source, name=name, out=f"whole_{name}") for name in ("face", "plain")}
    return tmp, source, summaries


def reference(tmp, source, name):
    """The video made frame by frame straight through FramePredictor, labels in order."""
    predictor = FramePredictor(tmp / "ckpt" / name, device="cpu")
    labels = SourceLabels(source)
    return [predictor.predict(labels.label(i), labels.face_box(i)).astype(int) for i in range(N)]


class CountingPredict:
    """Replaces FramePredictor.predict: counts calls, optionally interrupts call number `stop_at`."""

    def __init__(self, monkeypatch, stop_at=None):
        self.calls, self.stop_at, self.real = 0, stop_at, FramePredictor.predict
        monkeypatch.setattr(FramePredictor, "predict", lambda p, *a, **k: self(p, *a, **k))

    def __call__(self, predictor, *args, **kwargs):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return self.real(predictor, *args, **kwargs)


@pytest.mark.parametrize("name", ["face", "plain"])
def test_one_frame_per_label_in_order(setup, name):
    tmp, source, summaries = setup
    out = tmp / f"whole_{name}"
    assert summaries[name] == {"frames": N, "made": N, "kept": 0, "out": str(out)}
    assert [os.path.basename(p) for p in list_frames(out)] == [frame_name(i) for i in range(N)]
    frames = frames_of(out)
    assert all(f.shape == (SIZE[1], SIZE[0], 3) for f in frames)
    # Frame i is the model's frame for label i with frame i-1 fed in: the sequence made directly.
    for got, want in zip(frames, reference(tmp, source, name)):
        assert np.abs(got - want).max() <= 1
    assert all(np.abs(a - b).mean() > 0.5 for a, b in zip(frames, frames[1:]))  # distinct labels


def test_face_refinement_changes_only_the_face_crop(setup):
    tmp, source, _ = setup
    labels = SourceLabels(source)
    predictor = FramePredictor(tmp / "ckpt" / "face", device="cpu")
    assert predictor.has_face
    body_only = predictor.predict(labels.label(0)).astype(int)  # first frame: no previous frame yet
    refined = frames_of(tmp / "whole_face")[0]
    x0, y0, x1, y1 = labels.face_box(0)
    assert x1 - x0 == y1 - y0 == 16  # keypoints.face_crop_side(64x32)
    inside = np.zeros(body_only.shape[:2], bool)
    inside[y0:y1, x0:x1] = True
    assert np.abs(refined - body_only)[inside].mean() > 1       # the face GAN ran on the crop
    assert np.abs(refined - body_only)[~inside].max() <= 1      # and nothing else changed


def test_interrupted_run_resumes_without_redoing_frames(setup, monkeypatch):
    tmp, source, _ = setup
    whole = frames_of(tmp / "whole_face")
    out = tmp / "resumed"
    with pytest.raises(KeyboardInterrupt):
        CountingPredict(monkeypatch, stop_at=4)
        transfer(tmp, source, out="resumed")
    kept = list_frames(out)
    assert [os.path.basename(p) for p in kept] == [frame_name(i) for i in range(3)]
    mtimes = [os.stat(p).st_mtime_ns for p in kept]

    counter = CountingPredict(monkeypatch)
    summary = transfer(tmp, source, out="resumed")
    assert summary["kept"] == 3 and summary["made"] == N - 3 and counter.calls == N - 3
    assert [os.stat(p).st_mtime_ns for p in kept] == mtimes
    resumed = frames_of(out)
    assert len(resumed) == N
    # The resumed run is fed exactly what the last kept frame fed forward: the same video.
    for i, (a, b) in enumerate(zip(resumed, whole)):
        np.testing.assert_array_equal(a, b, err_msg=f"frame {i}")

    counter.calls = 0
    assert transfer(tmp, source, out="resumed")["made"] == 0 and counter.calls == 0


class Killed(Exception):
    pass


@pytest.mark.parametrize("dies_in", ["save_npz", "write_image"])
def test_a_run_killed_between_a_frame_and_its_state_resumes_to_the_same_video(
        setup, monkeypatch, dies_in):
    """The run dies at the 4th call of one of the two writes of a frame (frame 3's state or frame
    3's PNG) and writes nothing after that; the re-run still gives the uninterrupted video."""
    import src.gan.transfer as gan_transfer
    tmp, source, _ = setup
    dead = []

    def dying(name, real):
        calls = []

        def write(*args, **kwargs):
            calls.append(1)
            if dead or (name == dies_in and len(calls) == 4):
                dead.append(name)
                raise Killed
            return real(*args, **kwargs)
        return write
    for name in ("save_npz", "write_image"):
        monkeypatch.setattr(gan_transfer, name, dying(name, getattr(gan_transfer, name)))
    with pytest.raises(Killed):
        transfer(tmp, source, out=f"killed_{dies_in}")
    monkeypatch.undo()
    out = tmp / f"killed_{dies_in}"
    assert [os.path.basename(p) for p in list_frames(out)] == [frame_name(i) for i in range(3)]
    assert transfer(tmp, source, out=f"killed_{dies_in}")["made"] == N - 3
    for i, (a, b) in enumerate(zip(frames_of(out), frames_of(tmp / "whole_face"))):
        np.testing.assert_array_equal(a, b, err_msg=f"frame {i}")


def test_resume_without_the_feed_state_feeds_the_written_frame(setup, monkeypatch, capsys):
    tmp, source, _ = setup
    with pytest.raises(KeyboardInterrupt):
        CountingPredict(monkeypatch, stop_at=3)
        transfer(tmp, source, out="lost_state")
    for name in STATES:
        os.remove(tmp / "lost_state" / name)
    assert transfer(tmp, source, out="lost_state")["made"] == N - 2
    assert f"note: {STATES[1]} does not hold frame 1; the next frame is fed the written one" \
        in capsys.readouterr().out
    assert len(list_frames(tmp / "lost_state")) == N


def test_frames_of_another_model_or_longer_source_are_not_kept(setup, monkeypatch):
    tmp, source, _ = setup
    out = tmp / "switch"
    transfer(tmp, source, out="switch")
    write_image(str(out / frame_name(N + 3)), np.zeros((SIZE[1], SIZE[0], 3), np.uint8))  # stale
    (out / f".{frame_name(N)[:-4]}.abc.tmp.png").write_bytes(b"half")  # left by a killed write
    counter = CountingPredict(monkeypatch)
    assert transfer(tmp, source, out="switch")["made"] == 0
    assert sorted(os.listdir(out)) == sorted([MANIFEST] + STATES + [frame_name(i) for i in range(N)])

    summary = transfer(tmp, source, name="plain", out="switch")
    assert summary["made"] == N and counter.calls == N
    assert all(np.abs(a - b).max() <= 1 for a, b in zip(frames_of(out), frames_of(tmp / "whole_plain")))
    counter.calls = 0
    transfer(tmp, source, name="plain", out="switch", restart=True)
    assert counter.calls == N


def test_labels_of_another_size_with_the_same_shape_are_resized(tmp_path, capsys):
    random_checkpoint(tmp_path / "ckpt" / "face")
    source = normalized_source(tmp_path / "source", n=2, size=(128, 64))
    assert run("face", source, str(tmp_path / "out"), str(tmp_path / "ckpt"), device="cpu")["made"] == 2
    assert "labels are 128x64; they are resized to the model's 64x32" in capsys.readouterr().out
    assert read_image(os.path.join(tmp_path, "out", frame_name(1))).shape == (32, 64, 3)


def test_clear_errors(tmp_path):
    random_checkpoint(tmp_path / "ckpt" / "face")
    args = dict(out_dir=str(tmp_path / "out"), checkpoints_dir=str(tmp_path / "ckpt"), device="cpu")

    source = normalized_source(tmp_path / "wide", n=2, size=(48, 32))
    with pytest.raises(UserError, match=r"labels are 48x32, but the model in .* was trained at 64x32 "
                                        r".*--size 64x32, or retrain"):
        run("face", source, **args)

    source = normalized_source(tmp_path / "source", n=3)
    os.remove(os.path.join(source, LABEL_DIR, frame_name(2)))
    with pytest.raises(UserError, match=r"test_label: 2 labels, but .*keypoints_norm.npz has 3 frames"
                                        r".*re-run normalization.py"):
        run("face", source, **args)
    os.remove(os.path.join(source, HEADS_NORM))
    write_image(os.path.join(source, LABEL_DIR, frame_name(2)), np.zeros((32, 64, 3), np.uint8))
    with pytest.raises(UserError, match="pose_source_norm.npy: not found; re-run normalization.py"):
        run("face", source, **args)
    with pytest.raises(UserError, match="no checkpoint .*run train_pose2vid.py --name nobody"):
        run("nobody", normalized_source(tmp_path / "ok", n=1), **args)
    assert not os.path.exists(args["out_dir"])  # nothing is written before the checks pass


@pytest.mark.parametrize("case", ["not normalized", "no checkpoint"])
def test_command_line_error_is_one_line_and_exit_code_2(tmp_path, case):
    source = tmp_path / "source"
    if case == "no checkpoint":
        normalized_source(source, n=1)
    proc = subprocess.run([sys.executable, "transfer.py", "--name", "nobody", "--source", str(source),
                           "--checkpoints", str(tmp_path / "ckpt"), "--out", str(tmp_path / "out"),
                           "--device", "cpu"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr
    if case == "not normalized":
        assert f"{source}/keypoints_norm.npz: not found" in proc.stderr
        assert "run normalization.py first" in proc.stderr
    else:
        assert f"{tmp_path}/ckpt/nobody: no checkpoint" in proc.stderr
        assert "run train_pose2vid.py --name nobody first" in proc.stderr
