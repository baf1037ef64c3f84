"""Make the target person dance: run the trained model over the normalized source labels, or,
for a still target (make_target.py --image), deform the photo into each normalized source pose.

Frames go to <out>/00000.png... as they are made (see src/gan/transfer.py). An interrupted run
continues where it stopped when started again with the same arguments.

Live mode: --camera 0 drives the target from webcam 0 in real time instead (--camera dance.mp4
plays a video as if it were a webcam); see src/live/.
"""
import argparse

from src.errors import run_main
from src.layout import (CHECKPOINTS_DIR, NORM_HEADS, NORM_KEYPOINTS, NORM_LABELS, RESULT_DIR,
                        SOURCE_DIR, TARGET_DIR)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="target",
                        help="experiment name given to train_pose2vid.py: the model is read from "
                             "<checkpoints>/<name>/ (default: target)")
    parser.add_argument("--source", default=SOURCE_DIR,
                        help=f"source folder written by normalization.py: {NORM_LABELS}/, "
                             f"{NORM_HEADS}, {NORM_KEYPOINTS} (default: {SOURCE_DIR})")
    parser.add_argument("--out", default=None,
                        help=f"folder for the frames 00000.png... (default: {RESULT_DIR}/<name>)")
    parser.add_argument("--target", default=TARGET_DIR,
                        help="target folder: when it holds a still target (make_target.py --image) "
                             f"the photo is animated and no model is needed (default: {TARGET_DIR})")
    parser.add_argument("--checkpoints", default=CHECKPOINTS_DIR,
                        help=f"parent folder of the experiment folders (default: {CHECKPOINTS_DIR})")
    parser.add_argument("--which", default="latest",
                        help="checkpoint to use: latest, epoch_N, face_epoch_N or a .pt file "
                             "(default: latest)")
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA when present, with bf16), cpu or cuda (default: auto)")
    parser.add_argument("--restart", action="store_true",
                        help="make every frame again instead of continuing after the frames an "
                             "earlier run of the same model on the same labels left")
    from src.live.session import add_arguments, run_from_args
    add_arguments(parser)
    args = parser.parse_args()

    if args.camera is not None:
        return run_from_args(args)
    from src.gan.transfer import run
    run(args.name, args.source, args.out, args.checkpoints, device=args.device, which=args.which,
        restart=args.restart, target_dir=args.target)


if __name__ == "__main__":
    run_main(main)
