"""Training stage (train_pose2vid.py / src/gan/train.py): data, overfitting, resume, NaN guard, web page.

Every test builds its own tiny target folder (synthetic frames, labels, pose.npy, keypoints.npz).
"""
import csv
import os
import re

import cv2
import numpy as np
import pytest
import torch

from conftest import make_target_dir, read_losses, run_training, tiny_args
from src.errors import UserError
from src.gan.options import parse
from src.io.files import frame_name

torch.set_num_threads(1)


# --- data ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,holdout", [(10, 0.2), (7, 0.3), (5, 0.0), (101, 0.25), (3, 0.5)])
def test_holdout_split_never_overlaps(n, holdout):
    from src.gan.dataset import split_indices
    train, held = split_indices(n, holdout)
    assert not set(train) & set(held)
    assert sorted([*train, *held]) == list(range(n))
    assert len(held) == round(n * holdout)
    assert all(h > t for h in held for t in train)  # the held-out frames are the last ones


def test_training_pairs_stay_out_of_the_held_out_frames(tmp_path):
    from src.gan.dataset import PairDataset, TargetFrames, split_indices
    frames = TargetFrames(make_target_dir(tmp_path / "target", n=10))
    train, held = split_indices(len(frames), 0.3)
    dataset = PairDataset(frames, train, (64, 32))
    used = {t for start in dataset.starts for t in (start, start + 1)}
    assert used == set(range(7)) and not used & set(held)
    item = dataset[0]
    assert item["label"].shape == item["image"].shape == (2, 3, 32, 64)
    assert item["label"].dtype == item["image"].dtype == torch.uint8
    assert item["box"].shape == (2, 4)


def test_missing_or_inconsistent_target_data_is_a_user_error(tmp_path):
    from src.gan.dataset import TargetFrames
    with pytest.raises(UserError, match="run make_target.py first"):
        TargetFrames(str(tmp_path / "nowhere"))
    root = make_target_dir(tmp_path / "a", n=4, write_keypoints=False)
    with pytest.raises(UserError, match="keypoints.npz: not found.*run make_target.py first"):
        TargetFrames(root)
    root = make_target_dir(tmp_path / "b", n=4)
    os.remove(os.path.join(root, "train", "train_label", frame_name(3)))
    with pytest.raises(UserError, match="4 frames in train_img but 3 labels"):
        TargetFrames(root)
    root = make_target_dir(tmp_path / "c", n=4, write_pose=False)
    TargetFrames(root)  # the body stage alone needs no face boxes
    with pytest.raises(UserError, match="pose.npy: not found"):
        run_training(tiny_args(tmp_path, "--face_epochs", "1", dataroot=root))


def test_flip_redraws_labels_with_sides_swapped(tmp_path):
    from src.gan.dataset import PairDataset, TargetFrames
    from src.gan.images import resize_frame
    from src.pose.keypoints import flip_horizontal
    from src.pose.render import render_label
    frames = TargetFrames(make_target_dir(tmp_path / "target", n=6))
    plain = PairDataset(frames, range(6), (64, 32))
    flipped = PairDataset(frames, range(6), (64, 32), flip=True, seed=3)
    decisions = [flipped._flipped(i) for i in range(len(flipped))]
    assert any(decisions) and not all(decisions)  # a coin per item...
    assert decisions == [flipped._flipped(i) for i in range(len(flipped))]  # ...that repeats
    i = decisions.index(True)
    a, b = plain[i], flipped[i]
    # The photo is mirrored; the label is drawn from mirrored keypoints, not mirrored pixels.
    assert torch.equal(b["image"], a["image"].flip(-1))
    t = flipped.starts[i]
    expected = resize_frame(render_label(flip_horizontal(frames.track.keypoints[t], 64), (64, 32)), (64, 32))
    assert np.array_equal(b["label"][0].permute(1, 2, 0).numpy(), expected)
    box, flipped_box = a["box"][0].numpy(), b["box"][0].numpy()
    assert flipped_box[2] - flipped_box[0] == box[2] - box[0]
    assert abs((flipped_box[0] + flipped_box[2]) - (64 - box[0] + 64 - box[2])) <= 2


def test_worker_processes_deliver_every_epoch_after_the_parent_used_opencv(tmp_path):
    """Workers forked from a process whose OpenCV thread pool is running hang at their first cv2
    call; the loader starts them from a fork server instead. Items match the in-process ones."""
    from src.gan.dataset import EpochSampler, PairDataset, TargetFrames, make_loader
    frames = TargetFrames(make_target_dir(tmp_path / "target", n=5))
    cv2.cvtColor(np.zeros((1024, 2048, 3), np.uint8), cv2.COLOR_RGB2BGR)  # starts OpenCV's threads
    dataset = PairDataset(frames, range(5), (64, 32), flip=True, seed=1)
    sampler = EpochSampler(dataset, seed=1)
    loader = make_loader(dataset, sampler, batch_size=2, num_workers=2)
    loader.timeout = 60  # a hung worker fails the test instead of blocking it
    for epoch in range(2):
        sampler.start_epoch(epoch, skip=1)
        dataset.epoch = epoch
        batches = list(loader)
        order = list(sampler)
        assert [int(i) for b in batches for i in b["index"]] == [dataset.starts[i] for i in order]
        expected = torch.stack([dataset[i]["label"] for i in order])
        assert torch.equal(torch.cat([b["label"] for b in batches]), expected)


# --- training -----------------------------------------------------------------------------------

def test_learning_rates_follow_pix2pixhd():
    """pix2pixHD (niter 2, niter_decay 4, lr 2e-4) lowers the rate by 2e-4 / 4 = 5e-5 at the end of
    each epoch after epoch 2 (1-based): 2e-4 for epochs 1-3, then 1.5e-4, 1e-4 and 5e-5."""
    from src.gan.stages import body_lr, face_lr
    opt = parse(["--niter", "2", "--niter_decay", "4", "--lr", "2e-4", "--face_epochs", "5"])[0]
    assert [body_lr(opt, e) for e in range(6)] == pytest.approx([2e-4, 2e-4, 2e-4, 1.5e-4, 1e-4, 5e-5])
    # face: 5 epochs = 2 at the full rate, then a decay over 3: 2e-4 less 2e-4 / 3 per epoch after the 3rd
    assert [face_lr(opt, e) for e in range(5)] == pytest.approx([2e-4, 2e-4, 2e-4, 1.3333333e-4, 6.6666667e-5])
    one = parse(["--niter", "3", "--niter_decay", "0", "--face_epochs", "1"])[0]
    assert [body_lr(one, e) for e in range(3)] == [2e-4] * 3 and face_lr(one, 0) == 2e-4


def test_tiny_run_overfits_four_frames(tmp_path):
    """L1 of the generated frames (temporal feed, as at inference) on the 4 training frames falls
    from about 55 to about 15 grey levels in 150 steps (measured); assert well short of that."""
    from src.gan.inference import FramePredictor
    from src.io.files import list_frames, read_image
    root = make_target_dir(tmp_path / "target", n=4)
    args = tiny_args(tmp_path, "--niter", "100", "--niter_decay", "0", "--face_epochs", "0", dataroot=root)

    def l1():
        predictor = FramePredictor(tmp_path / "ckpt" / "t", device="cpu")
        predictor.reset()
        return np.mean([np.abs(predictor.predict(read_image(lab)).astype(float) - read_image(img)).mean()
                        for lab, img in zip(list_frames(os.path.join(root, "train", "train_label")),
                                            list_frames(os.path.join(root, "train", "train_img")))])

    run_training(args + ["--max_steps", "1"])
    before = l1()
    run_training(args + ["--resume", "--max_steps", "150"])
    after = l1()
    assert before > 35
    assert after < 0.5 * before and after < 25, (before, after)


def test_l1_and_alexnet_terms_are_logged_only_when_weighted(tmp_path):
    root = make_target_dir(tmp_path / "target", n=4)
    run_training(tiny_args(tmp_path / "a", "--niter", "1", "--niter_decay", "0", "--face_epochs", "0",
                           "--lambda_l1", "10", "--lambda_alex", "2", dataroot=root))
    run_training(tiny_args(tmp_path / "b", "--niter", "1", "--niter_decay", "0", "--face_epochs", "0",
                           dataroot=root))
    weighted, plain = read_losses(tmp_path / "a" / "ckpt" / "t"), read_losses(tmp_path / "b" / "ckpt" / "t")
    assert sorted(weighted) == sorted(plain) == [1, 2, 3]
    # An untrained G draws near 0 (mid grey), the frames are mostly white: 10 x L1 is a few units.
    assert all(1.0 < weighted[s]["G_L1"] < 20.0 for s in weighted), weighted
    # The AlexNet term is 2 x at most 5 layers x 2; grey against a drawn figure is far from 0.
    assert all(0.5 < weighted[s]["G_Alex"] <= 20.0 for s in weighted), weighted
    assert all("G_L1" not in plain[s] and "G_Alex" not in plain[s] for s in plain)


def test_resume_gives_the_same_losses_as_an_uninterrupted_run(tmp_path):
    """9 steps of 2 pairs (2 body epochs of 3 steps over 5 pairs, the last step half full, the second
    epoch at a decayed learning rate, then a face epoch) in one go vs stopped mid-epoch at step 4
    and inside the face stage at step 7; the generator's moving average too."""
    root = make_target_dir(tmp_path / "target", n=6)
    common = ["--niter", "0", "--niter_decay", "2", "--face_epochs", "1", "--lambda_vgg", "10",
              "--lambda_face_vgg", "10", "--batch_size", "2", "--ema_decay", "0.9"]
    whole = run_training(tiny_args(tmp_path / "a", *common, dataroot=root))
    assert whole["step"] == 9 and whole["stage"] == "face"
    run_training(tiny_args(tmp_path / "b", *common, "--max_steps", "4", dataroot=root))
    run_training(tiny_args(tmp_path / "b", *common, "--resume", "--max_steps", "7", dataroot=root))
    resumed = run_training(tiny_args(tmp_path / "b", *common, "--resume", dataroot=root))
    assert resumed["step"] == 9
    a, b = read_losses(tmp_path / "a" / "ckpt" / "t"), read_losses(tmp_path / "b" / "ckpt" / "t")
    assert sorted(a) == sorted(b) == list(range(1, 10))
    assert set(a[1]) == {"G_GAN", "G_feat", "G_VGG", "D_real", "D_fake"}
    assert set(a[9]) == {"F_GAN", "F_feat", "F_VGG", "FD_real", "FD_fake"}
    for step in a:
        for name, value in a[step].items():
            assert b[step][name] == pytest.approx(value, rel=1e-4, abs=1e-6), (step, name)
    from src.gan.checkpoint import load
    sa, sb = load(whole["checkpoint"]), load(resumed["checkpoint"])
    for net in ("G", "G_ema", "D", "faceG", "faceD"):   # the face stage refines G_ema's frames
        for key in sa[net]:
            assert torch.allclose(sa[net][key], sb[net][key], rtol=1e-4, atol=1e-6), (net, key)
    # The random state goes on into later training (a --resume with more epochs) as well.
    assert torch.equal(sa["rng"]["torch"], sb["rng"]["torch"])
    assert torch.equal(sa["augment_rng"], sb["augment_rng"])


def test_existing_checkpoint_needs_resume_and_finished_runs_stop(tmp_path):
    root = make_target_dir(tmp_path / "target", n=4)
    args = tiny_args(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "0", dataroot=root)
    assert run_training(args)["step"] == 3
    with pytest.raises(UserError, match="a checkpoint exists; pass --resume"):
        run_training(args)
    assert run_training(args + ["--resume"])["step"] == 3  # already finished: nothing more to do
    with pytest.raises(UserError, match="--ngf 16: the checkpoint was trained with 8"):
        run_training(args + ["--resume", "--ngf", "16"])
    assert run_training(args + ["--resume", "--niter", "2"])["step"] == 6  # more epochs: it continues


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import src.gan.losses
    from src.gan.checkpoint import load
    real_fm = src.gan.losses.feature_matching_loss
    calls = []

    def poisoned(*args):
        calls.append(1)
        loss = real_fm(*args)
        return loss * float("nan") if len(calls) >= 8 else loss

    monkeypatch.setattr(src.gan.losses, "feature_matching_loss", poisoned)
    root = make_target_dir(tmp_path / "target", n=6)
    latest = tmp_path / "ckpt" / "t" / "latest.pt"
    with pytest.raises(UserError) as err:
        run_training(tiny_args(tmp_path, "--niter", "5", "--save_latest_freq", "3", dataroot=root))
    message = str(err.value)
    assert "loss became NaN at step 8 (G_feat=nan)" in message
    assert f"the last good checkpoint is kept at {latest} (step 6)" in message
    assert "lower --lr" in message
    state = load(str(latest))
    assert state["step"] == 6 and all(torch.isfinite(v).all() for v in state["G"].values())
    assert max(read_losses(tmp_path / "ckpt" / "t")) == 7  # the NaN step is not logged


def test_web_page_and_loss_plot_link_only_existing_files(tmp_path):
    root = make_target_dir(tmp_path / "target", n=5)
    run_training(tiny_args(tmp_path, "--niter", "2", "--niter_decay", "0", "--face_epochs", "1",
                  "--display_freq", "3", dataroot=root))
    web_dir = tmp_path / "ckpt" / "t" / "web"
    page = (web_dir / "index.html").read_text()
    links = re.findall(r"(?:src|href)='([^']+)'", page)
    assert "loss.png" in links and (web_dir / "loss.png").stat().st_size > 1000
    samples = [link for link in links if link.startswith("images/")]
    # steps 1, 3, 6, 9, 12: 8 body steps (2 epochs of 4 pairs) + 4 face steps; newest first
    assert samples == [f"images/step_{s:07d}.png" for s in (12, 9, 6, 3, 1)]
    for link in links:
        assert (web_dir / link).is_file(), link
    row = cv2.imread(str(web_dir / samples[0]))
    assert row.shape == (32, 3 * 64 + 4 * 32, 3)  # face stage: + label/generated/refined/real crops
    assert cv2.imread(str(web_dir / samples[-1])).shape == (32, 3 * 64, 3)
    with open(tmp_path / "ckpt" / "t" / "loss_log.csv") as f:
        assert len(list(csv.DictReader(f))) == 12


def test_face_stage_alone_refines_a_trained_generator(tmp_path):
    from src.gan.checkpoint import load
    root = make_target_dir(tmp_path / "target", n=4)
    args = tiny_args(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "0", dataroot=root)
    body = load(run_training(args)["checkpoint"])
    assert "faceG" not in body
    out = run_training(args + ["--face", "--face_epochs", "2"])
    face = load(out["checkpoint"])
    assert out["step"] == 3 + 6 and face["stage"] == "face" and "faceG" in face
    for key, value in body["G"].items():  # the body generator stays as trained
        assert torch.equal(face["G"][key], value)


def test_a_new_face_stage_may_build_another_face_generator(tmp_path):
    from src.gan.checkpoint import load
    root = make_target_dir(tmp_path / "target", n=4)
    args = tiny_args(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "1", dataroot=root)
    first = load(run_training(args)["checkpoint"])
    assert first["faceG"]["head.1.weight"].shape[1] == 8            # TINY's face_ngf
    # --face starts a new face stage: a face generator twice as wide, same body generator
    out = run_training(args + ["--face", "--face_ngf", "16"])
    wider = load(out["checkpoint"])
    assert wider["options"]["face_ngf"] == 16 and wider["faceG"]["head.1.weight"].shape == (3, 16, 7, 7)
    for key, value in first["G"].items():
        assert torch.equal(wider["G"][key], value)
    # continuing that stage must keep its face generator
    with pytest.raises(UserError, match="--face_ngf 8: the checkpoint was trained with 16"):
        run_training(args + ["--face", "--resume", "--face_ngf", "8"])
    with pytest.raises(UserError, match="--ngf 16: the checkpoint was trained with 8"):
        run_training(args + ["--face", "--ngf", "16"])                      # the body's networks stay locked


def test_local_enhancer_starts_from_a_trained_global_model(tmp_path):
    from src import device
    from src.gan.checkpoint import load
    from src.gan.train import Trainer
    root = make_target_dir(tmp_path / "target", n=4, size=(128, 64))
    run_training(tiny_args(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "0",
                           dataroot=root))
    global_state = load(str(tmp_path / "ckpt" / "t" / "latest.pt"))
    opt, given = parse(tiny_args(tmp_path, "--name", "local", "--netG", "local", "--size", "128x64",
                                 "--load_pretrain", str(tmp_path / "ckpt" / "t"), dataroot=root))
    trainer = Trainer(opt, given, device.Dist(0, 1, torch.device("cpu")))
    body = trainer.G.global_body.state_dict()
    for key, value in global_state["G"].items():
        if key.startswith("body."):
            assert torch.equal(body[key[5:]], value)


def test_vgg_weights_choose_the_layers_of_the_perceptual_loss(tmp_path):
    from src import device
    from src.gan.train import Trainer
    root = make_target_dir(tmp_path / "target", n=4, size=(128, 64))
    opt, given = parse(tiny_args(tmp_path, "--lambda_vgg", "1", "--vgg_weights", "1/32,1/16,1/8,0,0",
                                 "--face_epochs", "0", dataroot=root))
    trainer = Trainer(opt, given, device.Dist(0, 1, torch.device("cpu")))
    assert trainer.vgg.weights == [0.03125, 0.0625, 0.125]
    assert len(trainer.vgg.vgg.convs) == 7  # VGG16 up to conv3_3


def test_loss_plot_with_a_stage_that_just_started(tmp_path):
    """500 body rows smooth over 5 steps; a face stage 3 rows old must still plot."""
    from src.gan.web import LossLog, plot_losses
    log = LossLog(str(tmp_path / "loss_log.csv"))
    for step in range(1, 504):
        stage = "body" if step <= 500 else "face"
        losses = ({"G_GAN": 1.0, "D_real": 0.5} if stage == "body" else {"F_GAN": 0.7, "FD_real": 0.4})
        log.append({"step": step, "stage": stage, "epoch": 1, "lr": 2e-4, **losses, "samples_per_s": 1.0})
    assert plot_losses(log.path, str(tmp_path / "loss.png"))
    assert (tmp_path / "loss.png").stat().st_size > 1000


def test_max_minutes_stops_and_saves_and_resume_continues(tmp_path, capsys):
    make_target_dir(tmp_path / "target", n=6)
    result = run_training(tiny_args(tmp_path, "--niter", "2", "--niter_decay", "0", "--face_epochs", "0",
                           "--max_minutes", "0.00001"))
    assert result["step"] == 1 and result["stage"] == "body"        # one step is past 0.6 ms
    assert "stopped after --max_minutes 1e-05 at step 1" in capsys.readouterr().out
    result = run_training(tiny_args(tmp_path, "--niter", "2", "--niter_decay", "0", "--face_epochs", "0",
                                    "--resume"))
    assert result["step"] == 10                                      # 2 epochs of 5 pairs


def test_a_target_of_another_shape_than_the_training_size_is_refused(tmp_path):
    make_target_dir(tmp_path / "target", n=4, size=(32, 64))           # portrait frames
    with pytest.raises(UserError, match=r"target: the target's frames are 32x64, but --size 64x32 has "
                                        r"another shape; pass a --size of the same shape"):
        run_training(tiny_args(tmp_path, "--max_steps", "1"))


def test_bf16_on_the_cpu_only_where_it_has_bf16_instructions(monkeypatch):
    """--bf16 (the default) means bf16 autocast on a CPU with AVX512-BF16 or AMX, float32 on any
    other, where bf16 would be emulated and slower."""
    from src.device import Dist
    from src.gan.options import make_options
    from src.gan.stages import Runtime
    cpu = Dist(0, 1, torch.device("cpu"))
    for avx512_bf16, amx, bf16, expected in ((True, False, True, True), (False, True, True, True),
                                             (False, False, True, False), (True, True, False, False)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
        runtime = Runtime(make_options(preset="cpu", device="cpu", bf16=bf16), cpu)
        assert runtime.bf16 is expected
        with runtime.autocast():
            product = torch.ones(4, 4) @ torch.ones(4, 4)
        assert product.dtype == (torch.bfloat16 if expected else torch.float32)


def test_bf16_training_on_the_cpu_starts_like_float32(tmp_path, capsys, monkeypatch):
    """Same weights and data: the first step's losses under bf16 autocast on the CPU are those of
    float32 to bf16's precision (8 mantissa bits: about 1%; 10% allowed over a whole step)."""
    from src import device
    monkeypatch.setattr(device, "bf16_is_fast", lambda dev: True)   # emulated where not native
    root = make_target_dir(tmp_path / "target", n=4)  # 3 pairs: 3 body steps, then 3 face steps
    common = ["--niter", "1", "--niter_decay", "0", "--face_epochs", "1", "--lambda_l1", "10"]
    run_training(tiny_args(tmp_path / "bf16", *common, dataroot=root))
    assert "device: cpu (bf16 autocast)" in capsys.readouterr().out
    run_training(tiny_args(tmp_path / "fp32", *common, "--no-bf16", dataroot=root))
    assert "device: cpu (float32)" in capsys.readouterr().out
    low, ref = read_losses(tmp_path / "bf16" / "ckpt" / "t"), read_losses(tmp_path / "fp32" / "ckpt" / "t")
    assert sorted(low) == sorted(ref) == [1, 2, 3, 4, 5, 6]
    assert all(np.isfinite(v) for step in low.values() for v in step.values())
    for name, value in ref[1].items():
        assert low[1][name] == pytest.approx(value, rel=0.1, abs=0.02), name
    assert low[1] != ref[1]   # it did run in bf16
