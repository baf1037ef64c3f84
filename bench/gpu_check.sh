#!/usr/bin/env bash
# One-shot check of a CUDA machine, meant to finish within 8 minutes on one GPU:
#   1. the test suite on CUDA (tests/test_cuda.py covers bf16 autocast, channels_last, the inference
#      feed and torchrun with nccl; the other tests run as everywhere);
#   2. 200 training steps of the paper preset at 512x256: samples/s and peak memory (bench_train.py);
#   3. transfer frames/s of the paper preset at 512x256 and 1024x512 (bench_transfer.py);
#   4. with 2 or more GPUs, a 2-process torchrun of the paper preset on synthetic frames: samples/s.
# Without CUDA it runs the same steps on the CPU at toy sizes (the CUDA tests skip), which checks the
# script itself.
#
#   bash bench/gpu_check.sh            from the repository root; PYTHON=... picks another interpreter
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
TORCHRUN="$(dirname "$PY")/torchrun"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

GPUS=$("$PY" -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)")
"$PY" -c "import torch; print('torch', torch.__version__, '| CUDA', torch.version.cuda, '|',
      ', '.join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) or 'no GPU')"

if [ "$GPUS" -gt 0 ]; then
    DEVICE=cuda; TESTS=tests; TRAIN="--presets paper --sizes 512x256 --steps 200 --warmup 5"
    TRANSFER="--configs paper:512x256,paper:1024x512 --frames 50 --warmup 5"
    TARGET_SIZE=512x256
else
    echo "no CUDA device: the CPU parts only, at toy sizes"
    DEVICE=cpu; TESTS=tests/test_cuda.py; TRAIN="--presets cpu --sizes 256x128 --steps 2 --warmup 1"
    TRANSFER="--configs cpu:256x128 --frames 3 --warmup 1"
    TARGET_SIZE=256x128
fi

echo "== 1. tests on $DEVICE"
timeout 300 "$PY" -m pytest -q -x "$TESTS"

echo "== 2. training speed and peak memory"
# shellcheck disable=SC2086
timeout 120 "$PY" bench/bench_train.py --device "$DEVICE" $TRAIN

echo "== 3. transfer speed"
# shellcheck disable=SC2086
timeout 90 "$PY" bench/bench_transfer.py --device "$DEVICE" $TRANSFER

echo "== 4. torchrun on 2 GPUs"
if [ "$GPUS" -ge 2 ]; then
    "$PY" - "$WORK/target" "$TARGET_SIZE" <<'EOF'
import sys
sys.path.insert(0, "tests")
from conftest import make_target_dir
w, h = map(int, sys.argv[2].split("x"))
make_target_dir(sys.argv[1], n=41, size=(w, h))
EOF
    timeout 120 "$TORCHRUN" --standalone --nproc_per_node 2 train_pose2vid.py --preset paper \
        --dataroot "$WORK/target" --checkpoints_dir "$WORK/ckpt" --name ddp --face_epochs 0 \
        --max_steps 20 --display_freq 1000 > "$WORK/ddp.log"
    grep "device:" "$WORK/ddp.log"
    "$PY" - "$WORK/ckpt/ddp/loss_log.csv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))[5:]  # after the warm-up steps
print(f"2-process torchrun, paper preset: {statistics.median(float(r['samples_per_s']) for r in rows):.1f} "
      f"samples/s (median of steps 6-{len(rows) + 5}, both processes)")
EOF
else
    echo "skipped: $GPUS GPU(s)"
fi
echo "gpu_check: done"
