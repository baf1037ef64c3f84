"""Pose stage for the target video: processed frames, poses, label images (see src/pose_stage.py).

    python make_target.py [--video data/target/mv.mp4] [--out data/target] [--size 1024x512] ...
"""
import argparse

from src.errors import run_main
from src import pose_stage


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    pose_stage.add_arguments(parser, "target")
    args = parser.parse_args()
    pose_stage.run_stage("target", pose_stage.options_from_args(args))


if __name__ == "__main__":
    run_main(main)
