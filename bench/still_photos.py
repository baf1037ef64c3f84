"""Still mode on a folder of photos: which ones make_target.py --image accepts, and why the
others are refused.

    .venv/bin/python bench/still_photos.py --photos ../shared/data/photos [--size 512x1024 auto]
                                           [--work /tmp/still_photos]

Each photo goes through make_target.py --image (as a user runs it, one process per photo and
size) into its own folder under --work. Printed: a Markdown table, one row per photo, one column
per size: "ok WxH" (accepted, the still's size) plus the notes it printed, "refused: ..." (the
error line) or "TRACEBACK: ..." (the last line of a crash, which must never happen).
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png")


def outcome(photo, size, out):
    """One table cell for make_target.py --image `photo` --size `size`."""
    done = subprocess.run([sys.executable, "make_target.py", "--image", photo, "--size", size,
                           "--out", out], cwd=ROOT, capture_output=True, text=True)
    lines = done.stderr.splitlines()
    notes = [line[len("note: "):] for line in lines if line.startswith("note: ")]
    notes = [n.split(": ", 1)[1] if n.startswith(photo) else n for n in notes]
    if done.returncode == 0:
        import cv2
        h, w = cv2.imread(os.path.join(out, "still", "photo.png")).shape[:2]
        return "; ".join([f"ok {w}x{h}"] + notes)
    if "Traceback" in done.stderr:
        return "TRACEBACK: " + (lines[-1] if lines else "")
    errors = [line for line in lines if line.startswith("error: ")]
    reason = errors[-1][len("error: "):] if errors else f"exit {done.returncode}"
    reason = reason.split(": ", 1)[1] if reason.startswith(photo) else reason
    return "refused: " + reason.split("; use a photo")[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", required=True, help="folder of JPEG/PNG photos")
    parser.add_argument("--size", nargs="+", default=["512x1024", "auto"],
                        help="the --size values to try (default: 512x1024 auto)")
    parser.add_argument("--work", default="/tmp/still_photos", help="where the targets go")
    args = parser.parse_args()
    photos = sorted(f for f in os.listdir(args.photos) if f.lower().endswith(PHOTO_EXTENSIONS))
    print("| photo | " + " | ".join(f"--size {s}" for s in args.size) + " |")
    print("|---|" + "---|" * len(args.size))
    for name in photos:
        cells = [outcome(os.path.join(args.photos, name), size,
                         os.path.join(args.work, f"{os.path.splitext(name)[0]}_{size}"))
                 for size in args.size]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
