"""The CUDA paths: bf16 autocast in training, channels_last, the inference feed on the GPU and torchrun
with nccl. They skip without CUDA; bench/gpu_check.sh runs them on a GPU machine."""
import copy
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import make_target_dir, random_checkpoint, read_losses, run_training, tiny_args
from src.device import Dist
from src.gan import networks
from src.gan.checkpoint import load
from src.gan.inference import FramePredictor
from src.gan.options import make_options
from src.gan.stages import Runtime

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CUDA = ["--device", "cuda", "--lambda_vgg", "10", "--lambda_face_vgg", "10"]


def test_bf16_training_starts_like_float32_and_stays_finite(tmp_path, capsys):
    """Same weights and data: the first step's losses under bf16 autocast are those of float32 to
    bf16's precision (8 mantissa bits: about 1%; 10% allowed over a whole step)."""
    root = make_target_dir(tmp_path / "target", n=4)  # 3 pairs: 3 body steps, then 3 face steps
    common = ["--niter", "1", "--niter_decay", "0", "--face_epochs", "1", *CUDA]
    run_training(tiny_args(tmp_path / "bf16", *common, dataroot=root))
    assert "(bf16 autocast)" in capsys.readouterr().out
    run_training(tiny_args(tmp_path / "fp32", *common, "--no-bf16", dataroot=root))
    low, ref = read_losses(tmp_path / "bf16" / "ckpt" / "t"), read_losses(tmp_path / "fp32" / "ckpt" / "t")
    assert sorted(low) == sorted(ref) == [1, 2, 3, 4, 5, 6]
    assert all(np.isfinite(v) for step in low.values() for v in step.values())
    for name, value in ref[1].items():
        assert low[1][name] == pytest.approx(value, rel=0.1, abs=0.02), name


def test_channels_last_generator_gives_the_contiguous_result():
    opt = make_options(preset="cpu", device="cuda")
    rt = Runtime(opt, Dist(0, 1, torch.device("cuda")))
    torch.manual_seed(0)
    G = networks.build_generator(opt)
    plain = copy.deepcopy(G).cuda()
    rt.place(G)
    assert G.body[1].weight.is_contiguous(memory_format=torch.channels_last)
    w, h = opt.wh
    x = torch.rand(1, 6, h, w, device="cuda") * 2 - 1
    with torch.no_grad():
        fast = G(x.contiguous(memory_format=torch.channels_last))
        slow = plain(x)
    assert fast.shape == (1, 3, h, w)
    assert (fast - slow).abs().max().item() < 0.02  # TF32 convolutions: about 1e-3 per layer


def test_inference_feed_on_cuda_follows_the_cpu(tmp_path):
    """Three frames in sequence (each fed the previous output) on both devices: the same pictures up
    to bf16 rounding, and the feed changes the frame (a fresh start gives another one)."""
    folder = random_checkpoint(tmp_path / "ckpt", seed=0, face=True)
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, 256, (32, 64, 3), dtype=np.uint8) for _ in range(3)]
    box = (20, 4, 36, 20)
    frames = {}
    for device in ("cpu", "cuda"):
        predictor = FramePredictor(folder, device=device)
        predictor.reset()
        frames[device] = [predictor.predict(label, face_box=box).astype(int) for label in labels]
        predictor.reset()
        fresh = predictor.predict(labels[2], face_box=box).astype(int)
        assert np.abs(fresh - frames[device][2]).mean() > 0.5
    for a, b in zip(frames["cpu"], frames["cuda"]):
        assert np.abs(a - b).mean() < 3


def test_torchrun_with_nccl_on_one_gpu(tmp_path):
    root = make_target_dir(tmp_path / "target", n=6)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    args = tiny_args(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "1", *CUDA,
                     dataroot=root)
    out = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "1", "train_pose2vid.py", *args],
                         cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "device: cuda:0 (bf16 autocast), 1 process(es)" in out.stdout
    state = load(str(tmp_path / "ckpt" / "t" / "latest.pt"))
    assert (state["stage"], state["epoch"], state["step"]) == ("face", 1, 10)
    assert all(torch.isfinite(v).all() for v in state["faceG"].values())
