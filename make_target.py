"""Pose stage for the target: a video (processed frames, poses, labels; see src/pose/stage.py)
or, with --image, one photo (a still target; see src/still/stage.py).

    python make_target.py [--video data/target/mv.mp4] [--out data/target] [--size 1024x512] ...
    python make_target.py --image me.jpg [--out data/target] [--size 1024x512] [--background inpaint]
                           [--person N] [--keypoints pose.json]
"""
import argparse

from src.errors import run_main
from src.pose import options as pose_options, stage as pose_stage
from src.still import stage as still_stage


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    pose_options.add_arguments(parser, "target")
    still_stage.add_arguments(parser)
    args = parser.parse_args()
    if args.keypoints and not args.image:
        parser.error("--keypoints goes with --image; a video's poses come with --pose json --json-dir DIR")
    if args.image:
        still_stage.run(args.image, args.out, pose_options.parse_size(args.size), args.background,
                        args.person, keypoints=args.keypoints)
    else:
        pose_stage.run_stage("target", pose_options.options_from_args(args))


if __name__ == "__main__":
    run_main(main)
