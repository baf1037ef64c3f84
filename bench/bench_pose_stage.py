"""Throughput and peak memory of the pose stage (make_target.py's work) on one video, against
the detector alone.

    .venv/bin/python bench/bench_pose_stage.py --video ../shared/data/target_edn_subject4.mp4
    .venv/bin/python bench/bench_pose_stage.py --video ../shared/data/source_aerobics.mp4 --runs 3
    .venv/bin/python bench/bench_pose_stage.py --max-frames 200 --no-detector --fsync-cost

Each round runs two fresh processes, one after the other:
  detector: MediaPipe Holistic alone (segmentation on for --role target, as the stage runs it) on
      the same frames the stage feeds it (same window, same size), decoded into memory
      beforehand; only the detector calls are timed (no model start, decoding or writing).
  stage: the whole stage into a temporary folder: model start, pre-pass, decoding, frame (and
      mask) writes, detection, clean-up, label rendering and writes, background plate.
The rounds alternate the two, so both see the same load on a shared machine; the figure that
counts is the ratio stage frames/s / detector frames/s of each round, and its median. Printed
per run: frames/s, CPU time per frame (all threads and processes of the run, ffmpeg included)
and peak memory (max RSS of the process, and of its ffmpeg child processes). The machine's
load average is printed too. --no-detector times the stage alone.
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

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def detector_run(args):
    """Time the detector alone on the frames the stage would feed it."""
    from src.io.video import VideoReader
    from src.pose import crop, make_backend, options as pose_options
    options = pose_options.StageOptions(video=args.video, out="", size=pose_options.parse_size(args.size),
                                      pose=args.pose, max_frames=args.max_frames)
    reader = VideoReader(args.video, max_frames=args.max_frames)
    box, pad_color = crop.prepass(options, reader, None)
    window = crop.choose_window(reader.size, options.size, box, options.fit)
    cutter = crop.FrameCutter(crop.detection_window(window), pad_color)
    frames = [np.array(cutter(frame)) for frame in reader]
    backend = make_backend(args.pose, segment=args.role == "target")
    try:
        detect = (backend.detect_batch_with_masks if args.role == "target"
                  else backend.detect_batch)
        start = time.perf_counter()
        cpu0 = cpu_seconds()
        for k in range(0, len(frames), backend.batch_size):
            detect(frames[k:k + backend.batch_size])
        seconds = time.perf_counter() - start
        cpu = cpu_seconds() - cpu0
    finally:
        backend.close()
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"frames": len(frames), "seconds": seconds, "cpu_seconds": cpu,
                      "rss_mb": own.ru_maxrss / 1024, "child_rss_mb": 0.0}))


def cpu_seconds():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def one_run(args, sync=True):
    from src.io import files
    from src.pose import options as pose_options, stage as pose_stage
    files.SYNC = sync
    with tempfile.TemporaryDirectory() as out:
        options = pose_options.StageOptions(
            video=args.video, out=out, size=pose_options.parse_size(args.size),
            pose=args.pose, max_frames=args.max_frames, smooth=args.smooth)
        start = time.perf_counter()
        track = pose_stage.run_stage(args.role, options)
        seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"frames": len(track), "seconds": seconds, "cpu_seconds": cpu_seconds(),
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
    ap.add_argument("--no-detector", action="store_true",
                    help="time the stage only, without the detector-alone runs")
    ap.add_argument("--fsync-cost", action="store_true",
                    help="also run the stage without flushing files to disk, alternating, and print "
                         "the cost of flushing")
    ap.add_argument("--one-run", choices=("stage", "nosync", "detector"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one_run in ("stage", "nosync"):
        return one_run(args, sync=args.one_run == "stage")
    if args.one_run == "detector":
        return detector_run(args)

    print(f"video {args.video}, role {args.role}, size {args.size}, max frames {args.max_frames}, "
          f"{os.cpu_count()} cores, load average before {os.getloadavg()[0]:.2f}")
    kinds = (("stage",) if args.no_detector else ("detector", "stage")) + (("nosync",) if args.fsync_cost else ())
    results = {kind: [] for kind in kinds}
    ratios = []
    for i in range(args.runs):
        for kind in kinds:
            r = run_once(args, kind)
            results[kind].append(r)
            print(f"round {i + 1} {kind:8s}: {r['frames']} frames in {r['seconds']:.1f} s = "
                  f"{r['fps']:.1f} frames/s; CPU {1000 * r['cpu_seconds'] / r['frames']:.0f} "
                  f"ms/frame; peak RSS {r['rss_mb']:.0f} MB (ffmpeg {r['child_rss_mb']:.0f} MB); "
                  f"load average {os.getloadavg()[0]:.2f}", flush=True)
        if not args.no_detector:
            ratios.append(results["stage"][-1]["fps"] / results["detector"][-1]["fps"])
            print(f"round {i + 1} ratio stage/detector: {ratios[-1]:.2f}", flush=True)
    for kind in kinds:
        print(f"median {kind}: {statistics.median(r['fps'] for r in results[kind]):.1f} frames/s, "
              f"CPU {statistics.median(1000 * r['cpu_seconds'] / r['frames'] for r in results[kind]):.0f}"
              f" ms/frame, peak RSS {statistics.median(r['rss_mb'] for r in results[kind]):.0f} MB")
    if args.fsync_cost:
        pairs = [a["seconds"] / b["seconds"] for a, b in zip(results["stage"], results["nosync"])]
        print(f"flushing to disk: stage time with / without, per round: "
              f"{', '.join(f'{r:.2f}' for r in pairs)}, median {statistics.median(pairs):.2f}")
    if ratios:
        print(f"median ratio stage/detector: {statistics.median(ratios):.2f} "
              f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}); load average now "
              f"{os.getloadavg()[0]:.2f}")


def run_once(args, kind):
    """One fresh process timing the stage or the detector alone; its JSON result with fps."""
    cmd = [sys.executable, os.path.abspath(__file__), "--one-run", kind] + [
        a for a in sys.argv[1:] if a not in ("--no-detector", "--fsync-cost")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        sys.exit(f"{kind} run failed:\n{proc.stderr[-2000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    r["fps"] = r["frames"] / r["seconds"]
    return r

if __name__ == "__main__":
    main()
