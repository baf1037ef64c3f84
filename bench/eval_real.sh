#!/usr/bin/env bash
# Quality on real footage: the paper preset trained on frames 0-799 of
# ../shared/data/target_edn_subject4.mp4 at 256x128, evaluated on the held-out frames 800-999.
#
#   bash bench/eval_real.sh                     # one body + one face epoch: about 70 min on 2 CPU cores
#   NITER=5 NITER_DECAY=5 FACE_EPOCHS=2 bash bench/eval_real.sh   # a longer budget (on a GPU)
#   BODY_STEPS=500 FACE_STEPS=300 bash bench/eval_real.sh   # the budget of docs/benchmarks.md's figure
#   FRAMES=20 NITER=1 NITER_DECAY=0 FACE_EPOCHS=1 NAME=eval_smoke DATA=data/eval_smoke \
#       bash bench/eval_real.sh                 # a smoke run of every step (minutes)
#
# The budget is fixed in epochs of the 799 training pairs (frames 0-799): NITER epochs at the full
# learning rate, NITER_DECAY epochs decaying to 0, then FACE_EPOCHS of the face GAN. The default,
# one body epoch and one face epoch, is 799 + 799 steps (stage times: docs/benchmarks.md).
# MAX_STEPS (optional) stops the whole run at that many steps, face stage included; a run stopped
# before the face stage is evaluated without face refinement. Re-running continues the same training
# (--resume) and re-uses the target data if it is already there.
# Prints the time of each stage and the evaluation table; numbers and pictures are in
# result/$NAME/eval/metrics.json and index.html.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
VIDEO=${VIDEO:-../shared/data/target_edn_subject4.mp4}
FRAMES=${FRAMES:-1000}          # frames 0..FRAMES-1 of the video; the last 20% are held out
DATA=${DATA:-data/eval_subject4}
NAME=${NAME:-eval_subject4}
SIZE=256x128
NITER=${NITER:-1}
NITER_DECAY=${NITER_DECAY:-0}
FACE_EPOCHS=${FACE_EPOCHS:-1}
MAX_STEPS=${MAX_STEPS:-0}
BODY_STEPS=${BODY_STEPS:-0}     # >0: a step budget instead of epochs: body steps, then FACE_STEPS
FACE_STEPS=${FACE_STEPS:-0}
DEVICE=${DEVICE:-auto}

echo "== make_target: frames 0-$((FRAMES - 1)) of $VIDEO at $SIZE -> $DATA"
SECONDS=0
if [ -f "$DATA/keypoints.npz" ]; then
    echo "   (already there; delete $DATA to redo it)"
else
    $PY make_target.py --video "$VIDEO" --out "$DATA" --size "$SIZE" --max-frames "$FRAMES"
fi
echo "   make_target: ${SECONDS}s"

echo "== train_pose2vid: --preset paper on the first 80% of the frames"
SECONDS=0
TRAIN=($PY train_pose2vid.py --preset paper --size "$SIZE" --name "$NAME" --dataroot "$DATA"
       --holdout 0.2 --niter "$NITER" --niter_decay "$NITER_DECAY" --face_epochs "$FACE_EPOCHS"
       --device "$DEVICE")
if [ "$BODY_STEPS" -gt 0 ]; then
    # A budget in steps: BODY_STEPS of the body stage, then FACE_STEPS of the face GAN on it.
    "${TRAIN[@]}" --max_steps "$BODY_STEPS" --resume
    echo "   body stage: ${SECONDS}s"
    if [ "$FACE_STEPS" -gt 0 ]; then
        face=(--face)
        # Continue an interrupted face stage rather than starting it again.
        if "$PY" -c "import sys, torch; sys.exit(torch.load(sys.argv[1], map_location='cpu', weights_only=True)['stage'] != 'face')" \
            "checkpoints/$NAME/latest.pt" 2>/dev/null; then face+=(--resume); fi
        "${TRAIN[@]}" "${face[@]}" --max_steps "$((BODY_STEPS + FACE_STEPS))"
    fi
else
    "${TRAIN[@]}" --max_steps "$MAX_STEPS" --resume
fi
echo "   train: ${SECONDS}s"

echo "== evaluate on the held-out last 20%"
SECONDS=0
$PY -m src.evaluate --name "$NAME" --dataroot "$DATA" --holdout 0.2 --device "$DEVICE"
echo "   evaluate: ${SECONDS}s"
