"""`torchrun --nproc_per_node 2 train_pose2vid.py` on the CPU (gloo): DDP trains, rank 0 writes."""
import os
import re
import subprocess
import sys

import torch

from conftest import make_target_dir, read_losses, tiny_args
from src.gan.checkpoint import load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_torchrun_two_processes_on_cpu(tmp_path):
    root = make_target_dir(tmp_path / "target", n=6)  # 5 pairs: 3 per process and epoch (padded)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    args = tiny_args(tmp_path, "--niter", "1", "--niter_decay", "0", "--face_epochs", "1",
                     "--display_freq", "2", dataroot=root)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "train_pose2vid.py", *args],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    # Rank 0 alone speaks (in bf16 on a CPU with bf16 instructions, else float32).
    assert len(re.findall(r"device: cpu \((float32|bf16 autocast)\), 2 process\(es\)", out.stdout)) == 1
    state = load(str(tmp_path / "ckpt" / "t" / "latest.pt"))
    assert (state["stage"], state["epoch"], state["step"]) == ("face", 1, 6)
    assert "faceG" in state and all(torch.isfinite(v).all() for v in state["G"].values())
    losses = read_losses(tmp_path / "ckpt" / "t")
    assert sorted(losses) == list(range(1, 7))  # one row per step: only rank 0 logs
    files = sorted(os.listdir(tmp_path / "ckpt" / "t"))
    assert files == ["latest.pt", "loss_log.csv", "options.txt", "web"]


def test_a_worker_ends_at_once_with_its_output_flushed():
    code = ("import atexit\nfrom src.device import end_worker\natexit.register(print, 'cleanup ran')\n"
            "print('trained', end='')\nend_worker()\nprint('after')")
    worker = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, WORLD_SIZE="2"), timeout=60)
    assert (worker.returncode, worker.stdout) == (0, "trained")
    single = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != "WORLD_SIZE"}, timeout=60)
    assert (single.returncode, single.stdout) == (0, "trainedafter\ncleanup ran\n")
