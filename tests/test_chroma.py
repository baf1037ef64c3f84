"""The chroma blur of the generators' output: brightness kept, colour blurred, by hand-worked values."""
import dataclasses
import math

import pytest
import torch

from src.errors import UserError
from src.gan import networks
from src.gan.chroma import ChromaBlur, gaussian_taps
from src.gan.options import merge_with_checkpoint, parse

torch.set_num_threads(1)


def luma(rgb):
    """BT.601 luma, written out from the standard."""
    return 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]


def red_difference(rgb):
    """BT.601 Cr, written out from the standard."""
    return 0.5 * rgb[:, 0] - 0.418688 * rgb[:, 1] - 0.081312 * rgb[:, 2]


def test_gaussian_taps_of_one_pixel():
    taps = gaussian_taps(1.0)
    # 3 sigma each side: 7 taps, exp(-x^2 / 2) normalised; 1 + 2 (e^-0.5 + e^-2 + e^-4.5) = 2.505950
    assert len(taps) == 7
    assert taps[3].item() == pytest.approx(1 / 2.505950, abs=1e-6)
    assert taps[4].item() == pytest.approx(math.exp(-0.5) / 2.505950, abs=1e-6)


def test_grey_images_pass_unchanged():
    grey = torch.rand(2, 1, 12, 10).expand(2, 3, 12, 10)   # R = G = B: no colour to blur
    assert torch.allclose(ChromaBlur(1.0)(grey), grey, atol=1e-6)


def test_brightness_is_kept_exactly():
    torch.manual_seed(0)
    rgb = torch.rand(1, 3, 16, 16) * 2 - 1
    out = ChromaBlur(1.5)(rgb)
    assert torch.allclose(luma(out), luma(rgb), atol=1e-5)
    assert (out - rgb).abs().mean() > 0.05          # while the colour did change


def test_a_red_dot_spreads_as_the_gaussian():
    # One pixel of pure Cr 0.5 (Y 0, Cb 0) in a 15x15 field of black: R = 1.402 * 0.5, G =
    # -0.714136 * 0.5, B = 0. Blurred, its Cr is 0.5 x the 2-D Gaussian: at the centre
    # (1 / 2.505950)^2 = 0.159241, one pixel to the side that times e^-0.5.
    rgb = torch.zeros(1, 3, 15, 15)
    rgb[0, :, 7, 7] = torch.tensor([0.701, -0.357068, 0.0])
    cr = red_difference(ChromaBlur(1.0)(rgb))[0]
    assert cr[7, 7].item() == pytest.approx(0.5 * 0.159241, abs=1e-5)
    assert cr[7, 8].item() == pytest.approx(0.5 * 0.159241 * 0.606531, abs=1e-5)
    assert cr.sum().item() == pytest.approx(0.5, abs=1e-4)   # colour moved, not lost


def test_alpha_passes_through():
    torch.manual_seed(1)
    x = torch.rand(1, 4, 8, 8)
    assert torch.equal(ChromaBlur(1.0)(x)[:, 3], x[:, 3])


def test_generators_with_the_blur_have_the_same_weights():
    opt = parse(["--preset", "cpu", "--background", "plate", "--chroma_sigma", "1"])[0]
    plain = dataclasses.replace(opt, chroma_sigma=0.0)
    for build in (networks.build_generator, networks.build_face_generator):
        blurred = build(opt)
        assert blurred.state_dict().keys() == build(plain).state_dict().keys()  # checkpoints fit both
        assert isinstance(blurred.head[-1], ChromaBlur) and blurred.head[-1].sigma == 1.0
    # The face residual still starts at zero: refinement starts as the identity.
    face = networks.build_face_generator(opt)
    crop = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.equal(face.refine(torch.zeros(1, 3, 32, 32), crop), crop)


def test_the_option_is_checked_and_kept_on_resume():
    with pytest.raises(UserError, match="--chroma_sigma -1.0: expected pixels from 0"):
        parse(["--chroma_sigma", "-1"])
    saved = dataclasses.asdict(parse(["--preset", "cpu", "--chroma_sigma", "1"])[0])
    opt, given = parse(["--resume", "--chroma_sigma", "2"])
    with pytest.raises(UserError, match="--chroma_sigma 2.0: the checkpoint was trained with 1.0"):
        merge_with_checkpoint(saved, opt, given)
    del saved["chroma_sigma"]          # a checkpoint from before the option: trained without it
    opt, given = parse(["--resume"])
    assert merge_with_checkpoint(saved, opt, given).chroma_sigma == 0.0


def test_a_trained_model_keeps_its_blur(tmp_path):
    from conftest import make_target_dir, run_training, tiny_args
    from src.gan import checkpoint
    from src.gan.inference import FramePredictor
    root = make_target_dir(tmp_path / "target", n=4)
    out = run_training(tiny_args(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "1",
                                 "--chroma_sigma", "1.5", dataroot=root))
    assert checkpoint.load(out["checkpoint"])["options"]["chroma_sigma"] == 1.5
    made = FramePredictor(tmp_path / "ckpt" / "t", device="cpu")
    for net in (made.generator, made.face_generator):
        assert isinstance(net.head[-1], ChromaBlur) and net.head[-1].sigma == 1.5
