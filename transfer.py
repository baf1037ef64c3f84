"""Make the target person dance: run the trained model over the normalized source labels, or,
for a still target (make_target.py --image), deform the photo into each normalized source pose.

Frames go to <out>/00000.png... as they are made (see src/gan/transfer.py). An interrupted run
continues where it stopped when started again with the same arguments.

Live mode: --camera 0 drives the target from webcam 0 in real time instead (--camera dance.mp4
plays a video as if it were a webcam); see src/live/.
"""
import argparse

from src.errors import run_main


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="target",
                        help="experiment name given to train_pose2vid.py: the model is read from "
                             "<checkpoints>/<name>/ (default: target)")
    parser.add_argument("--source", default="data/source",
                        help="source folder written by normalization.py: test_label/, "
                             "pose_source_norm.npy, keypoints_norm.npz (default: data/source)")
    parser.add_argument("--out", default=None,
                        help="folder for the frames 00000.png... (default: result/<name>)")
    parser.add_argument("--target", default="data/target",
                        help="target folder: when it holds a still target (make_target.py --image) "
                             "the photo is animated and no model is needed (default: data/target)")
    parser.add_argument("--checkpoints", default="checkpoints",
                        help="parent folder of the experiment folders (default: checkpoints)")
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
