"""Pose stage for the source video: processed frames, poses, label images (see src/pose/stage.py).

    python make_source.py [--video data/source/mv.mp4] [--out data/source] [--size 1024x512] ...
"""
import argparse

from src.errors import run_main
from src.pose import options as pose_options, stage as pose_stage


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    pose_options.add_arguments(parser, "source")
    args = parser.parse_args()
    pose_stage.run_stage("source", pose_options.options_from_args(args))


if __name__ == "__main__":
    run_main(main)
