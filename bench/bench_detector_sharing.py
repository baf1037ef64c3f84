"""How much MediaPipe Holistic slows down when another thread of the same process works beside it.

    .venv/bin/python bench/bench_detector_sharing.py --video ../shared/data/target_edn_subject4.mp4

The pose stage runs the detector on the main thread while other threads decode and write PNGs. This
times the detector (with segmentation, as for a target) on --frames decoded frames three ways: alone,
beside a thread that encodes PNGs without pause (numpy and zlib, which release the GIL: the two
compete for cores only), and beside a thread running a pure-Python loop (which holds the GIL: the
detector's Python-side calls wait for it). Printed: frames/s of each, and the busy thread's rate.
"""
import argparse
import os
import sys
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main():
    from src.io.files import encode_png
    from src.io.video import VideoReader
    from src.pose.mediapipe_backend import MediaPipeBackend

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", default=os.path.join(ROOT, "..", "shared", "data", "target_edn_subject4.mp4"))
    ap.add_argument("--frames", type=int, default=150)
    args = ap.parse_args()
    reader = VideoReader(args.video, max_frames=args.frames)
    try:
        frames = [np.ascontiguousarray(f) for f in reader]
    finally:
        reader.close()
    backend = MediaPipeBackend(segment=True)

    def detect_all():
        tic, cpu = time.perf_counter(), time.process_time()
        for frame in frames:
            backend.detect_batch_with_masks([frame])
        return time.perf_counter() - tic, time.process_time() - cpu

    detect_all()  # warm-up
    wall, cpu = detect_all()
    print(f"{len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}; detector alone: "
          f"{len(frames) / wall:.1f} frames/s, CPU {1000 * cpu / len(frames):.0f} ms/frame "
          f"({cpu / wall:.2f} cores)")
    stop, done = threading.Event(), [0]

    def busy(kind):
        while not stop.is_set():
            if kind == "png":
                encode_png(frames[done[0] % len(frames)])
            else:
                total = 0
                for i in range(20000):
                    total += i
            done[0] += 1

    for kind in ("png", "python"):
        stop.clear()
        done[0] = 0
        thread = threading.Thread(target=busy, args=(kind,))
        thread.start()
        wall, _ = detect_all()
        stop.set()
        thread.join()
        print(f"detector beside a {kind} thread: {len(frames) / wall:.1f} frames/s "
              f"(the thread did {done[0] / wall:.1f} items/s)")
    tic, n = time.perf_counter(), 0
    while time.perf_counter() - tic < 5:
        encode_png(frames[n % len(frames)])
        n += 1
    print(f"PNG encoding alone: {n / (time.perf_counter() - tic):.1f} frames/s")
    backend.close()


if __name__ == "__main__":
    main()
