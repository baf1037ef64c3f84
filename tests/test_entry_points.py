"""Every command the docs name starts the way they say: scripts as files (from any folder), the
src tools as modules (`python -m src.evaluate`)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ["make_target.py", "make_source.py", "train_pose2vid.py", "normalization.py",
           "transfer.py", "make_mp4.py", "src/utils/save_img.py", "bench/bench_pose_stage.py",
           "bench/bench_train.py", "bench/bench_transfer.py", "bench/bench_openpose.py",
           "bench/faults.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_runs_as_a_file_from_another_folder(script, tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, script), "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:")


@pytest.mark.parametrize("module", ["src.evaluate", "src.demo.data", "src.utils.save_img"])
def test_runs_as_a_module(module):
    proc = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:")
