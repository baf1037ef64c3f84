"""Throughput and peak memory of the pose stage (make_target.py's work) on one video.

    .venv/bin/python bench/bench_pose_stage.py --video ../shared/data/target_edn_subject4.mp4
    .venv/bin/python bench/bench_pose_stage.py --video ../shared/data/source_aerobics.mp4 --runs 3
    .venv/bin/python bench/bench_pose_stage.py --max-frames 200 --fsync both --runs 5

Each run is a fresh process running the whole stage into a temporary folder: model start,
pre-pass, decoding, frame writes, detection, clean-up, label rendering and writes. Printed per
run and as the median: frames/s (frames / wall time of the whole stage) and peak memory (max
RSS of the stage process, and of its ffmpeg child processes). The machine's load average is
printed too: on a shared machine, compare runs taken at similar load. CPU time per frame (all
threads and processes of the run) is steadier under load: the stage keeps about two cores busy,
so 2 x 1000 / (CPU ms per frame) is roughly the frame rate an idle 2-core machine reaches.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def one_run(args):
    from src import files, pose_stage
    files.SYNC = args.fsync == "on"
    with tempfile.TemporaryDirectory() as out:
        options = pose_stage.StageOptions(
            video=args.video, out=out, size=pose_stage.parse_size(args.size),
            pose=args.pose, max_frames=args.max_frames, smooth=args.smooth)
        start = time.perf_counter()
        track = pose_stage.run_stage(args.role, options)
        seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    print(json.dumps({"frames": len(track), "seconds": seconds, "cpu_seconds": cpu,
                      "rss_mb": own.ru_maxrss / 1024, "child_rss_mb": children.ru_maxrss / 1024}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", default=os.path.join(ROOT, "..", "shared", "data",
                                                    "target_edn_subject4.mp4"),
                    help="video to process (default: ../shared/data/target_edn_subject4.mp4)")
    ap.add_argument("--max-frames", type=int, default=None, help="only the first N frames")
    ap.add_argument("--size", default="1024x512", help="output frame size (default: 1024x512)")
    ap.add_argument("--pose", default="mediapipe", help="pose backend (default: mediapipe)")
    ap.add_argument("--role", default="target", choices=("source", "target"),
                    help="which stage's layout to write (default: target)")
    ap.add_argument("--smooth", type=float, default=2, help="--smooth of the stage (default: 2)")
    ap.add_argument("--runs", type=int, default=3, help="number of runs; the median is shown")
    ap.add_argument("--fsync", choices=("on", "off", "both"), default="on",
                    help="flush every written file to disk (on, the stage's default), not (off), "
                         "or alternate runs of both and print the cost (default: on)")
    ap.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one_run:
        return one_run(args)

    print(f"video {args.video}, size {args.size}, max frames {args.max_frames}, "
          f"{os.cpu_count()} cores, load average before {os.getloadavg()[0]:.2f}")
    modes = ("on", "off") if args.fsync == "both" else (args.fsync,)
    results = {mode: [] for mode in modes}
    for i in range(args.runs):
        for mode in modes:   # alternated, so both see the same machine load
            cmd = [sys.executable, os.path.abspath(__file__), *sys.argv[1:], "--one-run",
                   "--fsync", mode]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if proc.returncode:
                sys.exit(f"run {i + 1} failed:\n{proc.stderr[-2000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["fps"] = r["frames"] / r["seconds"]
            results[mode].append(r)
            print(f"run {i + 1} (fsync {mode}): {r['frames']} frames in {r['seconds']:.1f} s = "
                  f"{r['fps']:.1f} frames/s; CPU {1000 * r['cpu_seconds'] / r['frames']:.0f} "
                  f"ms/frame (all cores, ffmpeg included); peak RSS {r['rss_mb']:.0f} MB (ffmpeg "
                  f"{r['child_rss_mb']:.0f} MB); load average {os.getloadavg()[0]:.2f}")
    for mode in modes:
        print(f"median (fsync {mode}): {statistics.median(r['fps'] for r in results[mode]):.1f} "
              f"frames/s, peak RSS {statistics.median(r['rss_mb'] for r in results[mode]):.0f} MB")
    if len(modes) == 2:
        on, off = (statistics.median(r["seconds"] for r in results[m]) for m in modes)
        # Each pair ran back to back: its ratio is steadier than the medians on a busy machine.
        pairs = sorted(a["seconds"] / b["seconds"] for a, b in zip(results["on"], results["off"]))
        print(f"fsync cost: median wall time {on:.2f} s with, {off:.2f} s without = "
              f"{100 * (on / off - 1):+.1f}%; per pair (with / without): "
              f"{', '.join(f'{r:.2f}' for r in pairs)}, median {statistics.median(pairs):.2f}")


if __name__ == "__main__":
    main()
