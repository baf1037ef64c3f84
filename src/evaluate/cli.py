"""Evaluate a trained model on the target's held-out frames, as the paper does.

    python -m src.evaluate --name target [--compare OTHER] [--holdout 0.2] [--max-frames N]
    python -m src.evaluate --frames result/target [--keypoints data/source/keypoints_norm.npz] [--name target]

The held-out evaluation is src/evaluate/heldout.py, the --frames one src/evaluate/frames.py.
"""
import argparse
import os

from src.errors import run_main
from src.evaluate.frames import FRAMES_OUT, evaluate_frames, frames_table
from src.evaluate.heldout import evaluate, resolve_checkpoint
from src.evaluate.report import format_table, json_safe
from src.layout import NORM_KEYPOINTS, RESULT_DIR, SOURCE_DIR, TARGET_DIR


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m src.evaluate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default=None,
                   help="checkpoint to evaluate: a name under checkpoints/ or a checkpoint folder (default "
                        "target); with --frames, the plate-mode model that made them, to measure speckle "
                        "and the window edge against its plate")
    p.add_argument("--dataroot", default=TARGET_DIR,
                   help=f"target folder written by make_target.py (default {TARGET_DIR})")
    p.add_argument("--holdout", type=float, default=None,
                   help="share of the last frames held out (default: the --holdout the model was trained "
                        "with; frames the model was trained on are refused)")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA when available), cpu or cuda (default auto)")
    p.add_argument("--compare", default=None,
                   help="a second checkpoint (name or folder) to evaluate on the same frames, side by side")
    p.add_argument("--max-frames", type=int, default=None,
                   help="evaluate only the first N held-out frames (default all)")
    p.add_argument("--out", default=None, help="output folder (default result/<name>/eval)")
    p.add_argument("--pose-backend", default="mediapipe", choices=["mediapipe", "openpose"],
                   help="pose detector run on the generated and real frames (default mediapipe)")
    p.add_argument("--worst-by", default="lpips", choices=["lpips", "ssim"],
                   help="whole-frame metric that picks the worst frames shown on the page (default lpips)")
    p.add_argument("--frames", default=None,
                   help="measure this folder of generated frames (00000.png..., e.g. result/target) "
                        "instead of a checkpoint: flicker and frame-to-frame LPIPS, no ground truth "
                        "needed (writes <frames>/eval_frames/ unless --out)")
    p.add_argument("--keypoints", default=os.path.join(SOURCE_DIR, NORM_KEYPOINTS),
                   help="with --frames: the poses the frames were made from, for the person boxes "
                        f"(default {os.path.join(SOURCE_DIR, NORM_KEYPOINTS)})")
    p.add_argument("--face", action="store_true",
                   help="with --frames: also measure the face crop (its flicker and noise) and how often "
                        "the pose detector finds the face")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.frames:
        checkpoint = resolve_checkpoint(args.name)[1] if args.name else None
        report = evaluate_frames(args.frames, keypoints=args.keypoints, device=args.device,
                                 max_frames=args.max_frames, out_dir=args.out, checkpoint=checkpoint,
                                 face=args.face, pose_backend=args.pose_backend)
        title, header, rows = frames_table(json_safe(report))
        print(format_table(None, header, rows, title))
        out = args.out or os.path.join(args.frames, FRAMES_OUT)
        print(f"wrote {os.path.join(out, 'metrics.json')} and {os.path.join(out, 'index.html')}")
        return
    report = evaluate(args.name or "target", dataroot=args.dataroot, holdout=args.holdout, device=args.device,
                      compare=args.compare, max_frames=args.max_frames, out_dir=args.out,
                      pose_backend=args.pose_backend, worst_by=args.worst_by)
    print(format_table(json_safe(report)))
    out = args.out or os.path.join(RESULT_DIR, report["runs"][0]["name"], "eval")
    print(f"wrote {os.path.join(out, 'metrics.json')} and {os.path.join(out, 'index.html')}")


if __name__ == "__main__":
    run_main(main)
