"""Checkpoints (src/gan/checkpoint.py) and the inference API built on them (src/gan/inference.py)."""
import os
import random

import numpy as np
import pytest
import torch

from conftest import make_target_dir, run_training, tiny_args
from src.errors import UserError
from src.gan import checkpoint
from src.io.files import read_image

torch.set_num_threads(1)


def test_a_crash_during_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / "latest.pt")
    checkpoint.save(path, {"step": 1, "w": torch.ones(3)})
    real_save = torch.save

    def crash_midway(obj, f, *args, **kwargs):
        with open(f, "wb") as out:  # half a file, then the process "dies"
            out.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(path, {"step": 2, "w": torch.zeros(3)})
    monkeypatch.setattr(torch, "save", real_save)
    state = checkpoint.load(path)
    assert state["step"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert os.listdir(tmp_path) == ["latest.pt"]  # no temporary file left behind


def test_unreadable_or_missing_checkpoints_are_user_errors(tmp_path):
    (tmp_path / "latest.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable checkpoint"):
        checkpoint.load(str(tmp_path / "latest.pt"))
    from src.gan.inference import FramePredictor
    with pytest.raises(UserError, match="no checkpoint .*run train_pose2vid.py --name nobody first"):
        FramePredictor(tmp_path / "nobody")


def test_random_states_round_trip_through_a_checkpoint(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    checkpoint.save(str(tmp_path / "r.pt"), {"rng": checkpoint.rng_state()})
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    checkpoint.set_rng_state(checkpoint.load(str(tmp_path / "r.pt"))["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_training_keeps_latest_and_every_nth_epoch(tmp_path):
    root = make_target_dir(tmp_path / "target", n=4)
    run_training(tiny_args(tmp_path, "--niter", "2", "--niter_decay", "1", "--face_epochs", "2",
                  "--save_epoch_freq", "2", dataroot=root))
    names = sorted(n for n in os.listdir(tmp_path / "ckpt" / "t") if n.endswith(".pt"))
    assert names == ["epoch_2.pt", "face_epoch_2.pt", "latest.pt"]
    state = checkpoint.load(str(tmp_path / "ckpt" / "t" / "epoch_2.pt"))
    assert (state["stage"], state["epoch"], state["done"], state["step"]) == ("body", 2, 0, 6)
    assert state["options"]["ngf"] == 8 and "faceG" not in state


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny checkpoint with a face GAN, trained on 64x32 frames."""
    tmp = tmp_path_factory.mktemp("predictor")
    root = make_target_dir(tmp / "target", n=4)
    run_training(tiny_args(tmp, "--niter", "1", "--niter_decay", "0", "--face_epochs", "1", dataroot=root))
    return tmp / "ckpt" / "t", root


def test_frame_predictor_makes_frames_at_the_training_size_from_its_previous_output(trained):
    from src.gan.inference import FramePredictor
    folder, root = trained
    predictor = FramePredictor(folder, device="cpu")
    assert predictor.size == (64, 32) and predictor.has_face
    label = read_image(os.path.join(root, "train", "train_label", "00001.png"))
    big_label = np.repeat(np.repeat(label, 2, axis=0), 2, axis=1)  # any label size is resized
    predictor.reset()
    first = predictor.predict(big_label)
    assert first.shape == (32, 64, 3) and first.dtype == np.uint8
    second = predictor.predict(big_label)  # same label, but now the previous frame is `first`
    assert np.abs(first.astype(int) - second).max() > 0
    predictor.reset()
    assert np.array_equal(predictor.predict(label), first)  # the same sequence again
    predictor.set_previous(first)  # previous set by hand (uint8, so a level or two may differ)
    assert np.abs(predictor.predict(label).astype(int) - second).max() <= 3
    predictor.set_previous(np.zeros((10, 20, 3), np.uint8))  # a black frame, resized
    assert np.abs(predictor.predict(label).astype(int) - second).max() > 3
    with pytest.raises(UserError, match="expected an RGB uint8 image"):
        predictor.predict(label.astype(np.float32))


def test_face_refinement_changes_only_the_face_box(trained):
    from src.gan.inference import FramePredictor
    folder, root = trained
    predictor = FramePredictor(folder, device="cpu")
    label = read_image(os.path.join(root, "train", "train_label", "00002.png"))
    box = np.load(os.path.join(root, "pose.npy"))[2]  # label pixels (here also training pixels)
    predictor.reset()
    plain = predictor.predict(label)
    predictor.reset()
    refined = predictor.predict(label, face_box=box)
    changed = np.argwhere(np.any(plain != refined, axis=2))
    assert len(changed)
    x0, y0, x1, y1 = box
    assert changed[:, 0].min() >= y0 and changed[:, 0].max() < y1
    assert changed[:, 1].min() >= x0 and changed[:, 1].max() < x1


def test_checkpoint_of_another_version_is_a_clear_error(tmp_path):
    import torch
    from src.errors import UserError
    from src.gan import checkpoint
    path = tmp_path / "latest.pt"
    torch.save({"options": {}, "step": 3, "G": {}}, path)      # older layout: no "done", no "rng"...
    try:
        checkpoint.load(str(path), require=checkpoint.TRAINING_KEYS)
    except UserError as err:
        assert str(path) in str(err) and "done" in str(err) and "another --name" in str(err)
    else:
        raise AssertionError("an incomplete checkpoint was accepted")
