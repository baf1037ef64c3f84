"""Encode result frames into an H.264 mp4 (plays in browsers and phones) with the source's music.

The frame rate is the source video's (from <source>/keypoints.npz, else the source video);
the audio is the source video's, cut to the video's length or padded with silence up to it
(every frame is kept). A source without audio gives a silent video. See src/encode.py.
"""
import argparse
import os

from src.errors import run_main
from src.layout import KEYPOINTS, RESULT_DIR, SOURCE_DIR, VIDEO


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    frames = os.path.join(RESULT_DIR, "target")
    parser.add_argument("--frames", default=frames,
                        help=f"folder of frames 00000.png... written by transfer.py "
                             f"(default: {frames})")
    parser.add_argument("--out", default=None,
                        help="video to write (default: the frames folder's name + .mp4, "
                             "e.g. result/target.mp4)")
    parser.add_argument("--source", default=SOURCE_DIR,
                        help=f"source folder of make_source.py / normalization.py: frame rate from "
                             f"its {KEYPOINTS}, panels for --layout side-by-side "
                             f"(default: {SOURCE_DIR})")
    parser.add_argument("--source-video", default=None,
                        help=f"video to take the audio (and, without {KEYPOINTS}, the frame rate) "
                             f"from (default: <source>/{VIDEO}, the source video as make_source.py "
                             "keeps it; if that is missing the video is silent, while a missing "
                             "file given here is an error)")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate of the video (default: the source video's)")
    parser.add_argument("--no-audio", action="store_true", help="write a silent video")
    parser.add_argument("--layout", choices=["single", "side-by-side"], default="single",
                        help="single: the result frames only; side-by-side: source frame | label "
                             "| result at the same height (default: single)")
    parser.add_argument("--gif", action="store_true",
                        help="also write a small GIF preview (320 px wide, first 5 s, at most "
                             "10 frames/s) next to the video, same name with .gif")
    args = parser.parse_args()
    if args.fps is not None and not args.fps > 0:
        parser.error("--fps must be a positive number")
    out = args.out or args.frames.rstrip("/\\") + ".mp4"

    from src.encode import encode
    encode(args.frames, out, source_dir=args.source, source_video=args.source_video, fps=args.fps,
           audio=not args.no_audio, layout=args.layout, gif=args.gif)


if __name__ == "__main__":
    run_main(main)
