#!/usr/bin/env bash
# The whole pipeline on generated demo data: `make demo` (or `bash demo.sh .venv/bin/python`).
# Two synthetic dancers are drawn; the target's model is trained with the CPU preset; the source's
# dance is transferred onto the target and encoded with the source's music in result/demo.mp4.
# Last, one photo of the target (no video, no training) dances the same dance: result/demo_still.mp4.
set -euo pipefail
PY=${1:-python3}
SIZE=256x128                      # frame size of every stage: small, so 2 CPU cores finish in minutes

step() { echo; echo "=== $* ==="; }
step "1/9 draw the demo videos (data/demo/)"
$PY -m src.demo.data --out data/demo --frames-target 300 --frames-source 150 --size 512x256 --still
step "2/9 target poses and labels (data/target/)"
$PY make_target.py --video data/demo/target.mp4 --out data/target --size $SIZE
step "3/9 source poses and labels (data/source/)"
$PY make_source.py --video data/demo/source.mp4 --out data/source --size $SIZE
step "4/9 train the target's model, CPU preset (checkpoints/demo/)"
# The preset's epochs: 4 of the body stage, then 1 of the face GAN. --resume continues (or skips)
# an earlier demo's training instead of refusing to overwrite it.
$PY train_pose2vid.py --preset cpu --name demo --resume
step "5/9 normalize the source's poses to the target (data/source/test_label/)"
$PY normalization.py --source data/source --target data/target
step "6/9 generate the target doing the source's dance (result/demo/)"
$PY transfer.py --name demo --source data/source --out result/demo
step "7/9 encode the video with the source's music (result/demo.mp4)"
# The music comes from data/source/mv.mp4, the source video as make_source.py keeps it.
$PY make_mp4.py --frames result/demo --out result/demo.mp4 --source data/source --gif
$PY make_mp4.py --frames result/demo --out result/demo_side_by_side.mp4 --source data/source \
    --layout side-by-side
step "8/9 measure the result's background flicker (result/demo/eval_frames/)"
$PY -m src.evaluate --frames result/demo --keypoints data/source/keypoints_norm.npz
step "9/9 still mode: one photo of the target dances the source's dance (result/demo_still.mp4)"
# The photo is data/demo/still.png; the source's poses are normalized in a folder of their own
# so that data/source/ stays normalized for the video target.
$PY make_target.py --image data/demo/still.png --out data/target_still --size 512x256
mkdir -p data/source_still && cp data/source/keypoints.npz data/source_still/
$PY normalization.py --source data/source_still --target data/target_still
$PY transfer.py --target data/target_still --source data/source_still --out result/demo_still
$PY make_mp4.py --frames result/demo_still --out result/demo_still.mp4 --source data/source_still \
    --source-video data/demo/source.mp4
echo
echo "Done: result/demo.mp4 (and result/demo_side_by_side.mp4, result/demo.gif);"
echo "result/demo_still.mp4 (the still target: data/target_still/still/preview.png);"
echo "training samples: checkpoints/demo/web/index.html"
