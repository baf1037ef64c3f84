"""Training options (src/gan/options.py): defaults, presets, command-line overrides, --help."""
import dataclasses
import os
import subprocess
import sys

import pytest

from src.errors import UserError
from src.gan.options import (PRESETS, TrainOptions, build_parser, field_comments,
                             merge_with_checkpoint, parse)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_defaults_are_the_papers_global_stage():
    opt, given = parse([])
    assert given == set()
    assert (opt.netG, opt.ngf, opt.n_downsample, opt.n_blocks) == ("global", 64, 4, 9)
    assert (opt.ndf, opt.num_D, opt.n_layers_D) == (64, 2, 3)
    assert (opt.lambda_feat, opt.lambda_vgg, opt.lr, opt.beta1) == (10.0, 10.0, 0.0002, 0.5)
    assert opt.wh == (512, 256) and opt.load_pretrain == "" and not opt.flip and opt.holdout == 0.0
    assert opt.name == "target" and opt.dataroot == "data/target" and opt.checkpoints_dir == "checkpoints"


def test_command_line_overrides_any_field():
    opt, given = parse(["--niter", "5", "--size", "256x128", "--flip", "--lr", "1e-4", "--name", "x",
                        "--holdout", "0.2", "--no-bf16"])
    assert (opt.niter, opt.wh, opt.flip, opt.lr, opt.name, opt.holdout, opt.bf16) == \
        (5, (256, 128), True, 1e-4, "x", 0.2, False)
    assert given == {"niter", "size", "flip", "lr", "name", "holdout", "bf16"}


def test_vgg_layer_weights_default_to_pix2pixhds_and_take_fractions():
    assert parse([])[0].vgg_layer_weights == (0.03125, 0.0625, 0.125, 0.25, 1.0)
    opt, _ = parse(["--vgg_weights", "1/32, 1/16,0.125,0,0"])
    assert opt.vgg_layer_weights == (0.03125, 0.0625, 0.125, 0.0, 0.0)


def test_presets_and_flags_given_after_them():
    cpu, _ = parse(["--preset", "cpu"])
    assert cpu.wh == (256, 128) and cpu.ngf == 32 and cpu.n_downsample == 3 and cpu.num_D == 1
    assert cpu.n_blocks < 9
    assert (cpu.face_ngf, cpu.face_n_downsample, cpu.face_n_blocks) == (16, 2, 3)
    assert cpu.r1_gamma == 1e-4     # the R1 penalty measured at a 30-minute budget
    assert cpu.ema_decay == 0.999   # frames from the average of the generator's weights
    assert cpu.flip and not parse(["--preset", "cpu", "--no-flip"])[0].flip
    assert cpu.lambda_l1 == 10.0    # pix2pix's L1 to the real frames
    assert cpu.lambda_alex == 2.5 and cpu.lambda_vgg == 0   # the cheap perceptual loss, not VGG's
    assert cpu.chroma_sigma == 1.0  # the generators' colour blurred by a pixel
    assert parse(["--preset", "cpu", "--r1_gamma", "0"])[0].r1_gamma == 0
    paper, _ = parse(["--preset", "paper"])
    assert paper.r1_gamma == 0 and paper.ema_decay == 0 and not paper.flip and paper.lambda_l1 == 0
    assert paper.lambda_alex == 0 and paper.lambda_vgg == 10 and paper.chroma_sigma == 0
    assert paper.wh == (512, 256) and (paper.ngf, paper.n_downsample, paper.n_blocks) == (64, 4, 9)
    # the EDN authors' face generator: ngf 64, 3 downsamplings, 5 blocks
    assert (paper.face_ngf, paper.face_n_downsample, paper.face_n_blocks) == (64, 3, 5)
    mixed, _ = parse(["--preset", "cpu", "--ngf", "16", "--size", "128x64"])
    assert mixed.ngf == 16 and mixed.wh == (128, 64) and mixed.n_blocks == PRESETS["cpu"]["n_blocks"]
    with pytest.raises(UserError, match="--preset 'fast': expected one of paper, cpu"):
        parse(["--preset", "fast"])


@pytest.mark.parametrize("args,message", [
    (["--size", "512"], "expected WIDTHxHEIGHT"),
    (["--size", "500x256"], "multiples of 16"),
    (["--netG", "local", "--size", "512x272"], "multiples of 32"),
    (["--holdout", "1.5"], "fraction in \\[0, 1\\)"),
    (["--netG", "huge"], "expected 'global' or 'local'"),
    (["--batch_size", "0"], "must be at least 1"),
    # the face crop at 256x128 is a quarter of the height, 32 px: 6 halvings do not divide it
    (["--size", "256x128", "--face_n_downsample", "6"], "32-pixel face crop at --size 256x128 is not a "
                                                          "multiple of 64"),
    (["--vgg_weights", "1,2"], "--vgg_weights '1,2': expected 5 comma-separated weights"),
    (["--vgg_weights", "1,1,1,1,-1"], "none negative and one positive"),
    (["--vgg_weights", "0,0,0,0,0"], "none negative and one positive"),
    (["--vgg_weights", "1,1,x,1,1"], "expected 5 comma-separated weights"),
    (["--vgg_weights", "1/0,1,1,1,1"], "expected 5 comma-separated weights"),
])
def test_bad_values_are_user_errors(args, message):
    with pytest.raises(UserError, match=message):
        parse(args)


def test_every_option_has_a_comment_and_appears_in_help():
    comments = field_comments()
    fields = [f.name for f in dataclasses.fields(TrainOptions)]
    assert set(comments) == set(fields)
    text = " ".join(build_parser().format_help().split())
    for name in fields:
        assert f"--{name}" in text
        assert " ".join(comments[name].split()) in text
    out = subprocess.run([sys.executable, "train_pose2vid.py", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "--load_pretrain" in out.stdout and "--preset" in out.stdout


def test_continuing_a_checkpoint_keeps_its_networks_and_takes_new_flags():
    saved = dataclasses.asdict(parse(["--preset", "cpu", "--holdout", "0.2", "--max_steps", "9"])[0])
    opt, given = parse(["--resume", "--niter", "7"])
    merged = merge_with_checkpoint(saved, opt, given)
    assert (merged.ngf, merged.wh, merged.holdout, merged.niter) == (32, (256, 128), 0.2, 7)
    assert merged.resume and merged.max_steps == 0  # where to stop is this run's choice
    opt, given = parse(["--resume", "--holdout", "0.1"])
    with pytest.raises(UserError, match="--holdout 0.1: the checkpoint was trained with 0.2"):
        merge_with_checkpoint(saved, opt, given)


def test_a_checkpoint_without_face_n_downsample_keeps_two():
    """Checkpoints that do not record --face_n_downsample hold a face generator with 2."""
    saved = dataclasses.asdict(parse(["--preset", "cpu", "--face_ngf", "32"])[0])
    del saved["face_n_downsample"]
    opt, given = parse(["--resume"])
    merged = merge_with_checkpoint(saved, opt, given)
    assert (merged.face_ngf, merged.face_n_downsample) == (32, 2)
