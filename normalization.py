"""Place the source dancer like the target: the paper's global pose normalization.

Re-renders the source's labels at the target's frame size into data/source/test_label/
(see src/normalize/maths.py for the method, src/normalize/stage.py for the files).
"""
import argparse

from src.errors import run_main
from src.layout import SOURCE_DIR, TARGET_DIR


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=SOURCE_DIR,
                        help=f"source folder written by make_source.py (default: {SOURCE_DIR})")
    parser.add_argument("--target", default=TARGET_DIR,
                        help=f"target folder written by make_target.py (default: {TARGET_DIR})")
    parser.add_argument("--no-normalize", action="store_true",
                        help="keep the source's placement and size; only resize the poses to the "
                             "target's frame height and re-render the labels")
    parser.add_argument("--band", type=float, default=0.05,
                        help="frames whose ankle row lies within BAND x the dancer's median body "
                             "height of the closest / farthest row give the body height there "
                             "(default: 0.05)")
    args = parser.parse_args()
    if not 0 <= args.band < 1:
        parser.error("--band must be between 0 and 1 (a fraction of the body height)")

    from src.normalize.stage import run
    run(args.source, args.target, normalize=not args.no_normalize, band=args.band)


if __name__ == "__main__":
    run_main(main)
