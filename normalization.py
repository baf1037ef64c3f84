"""Place the source dancer like the target: the paper's global pose normalization.

Re-renders the source's labels at the target's frame size into data/source/test_label/
(see src/normalize/maths.py for the method, src/normalize/stage.py for the files).
"""
import argparse

from src.errors import run_main


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="data/source",
                        help="source folder written by make_source.py (default: data/source)")
    parser.add_argument("--target", default="data/target",
                        help="target folder written by make_target.py (default: data/target)")
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
