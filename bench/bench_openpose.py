"""Speed of the OpenPose backend: the network per frame (CPU, and batched on CUDA when present)
and the PAF decoder per frame for 1-3 people.

    .venv/bin/python bench/bench_openpose.py [--size 368x368] [--runs 3] [--weights FILE]

Network time is OpenPoseBackend.network_maps: resizing, the network at every scale and the
resizing and averaging of its outputs, at a frame of --size (368 px high = scale 1). Without
--weights, random weights are used (the speed does not depend on the values). Figures are the
median of --runs runs after one warm-up run.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from src.pose import openpose_net, paf_decode  # noqa: E402
from src.pose.openpose_backend import BOX_SIZE, DEFAULT_SCALES, OpenPoseBackend  # noqa: E402


def median_time(fn, runs, sync=lambda: None):
    fn()                                      # warm-up: allocations, kernel selection
    sync()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def random_weights_file(folder):
    path = os.path.join(folder, "random_pose_model.pth")
    torch.save({k: torch.randn(shape) * 0.01
                for k, shape in openpose_net.expected_shapes("rtpose").items()}, path)
    return path


def bench_network(weights, device, size, runs, batch_sizes):
    w, h = size
    frame = np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for scales in ((1.0,), DEFAULT_SCALES):
        backend = OpenPoseBackend(device=device, weights=weights, scales=scales)
        for n in batch_sizes:
            frames = [frame] * n
            t = median_time(lambda: backend.network_maps(frames), runs, sync)
            label = ",".join(f"{s:g}" for s in scales)
            print(f"network {device:4s} scales {label:12s} batch {n:2d}: "
                  f"{t / n * 1000:9.1f} ms/frame  ({n / t:6.2f} frames/s)")
        backend.close()


def bench_decoder(size, runs):
    w, h = size
    map_w = round(w * BOX_SIZE / h)           # the decoder works at 368 px height
    height = 0.8 * BOX_SIZE
    for n_people in (1, 2, 3):
        people = [paf_decode.standing_pose(map_w * (i + 1) / (n_people + 1), 0.1 * BOX_SIZE,
                                           height / (1 + 0.3 * i)) for i in range(n_people)]
        heat, paf = paf_decode.render_maps(people, BOX_SIZE, map_w, sigma=7, paf_half_width=7)
        found = paf_decode.decode(heat, paf)
        t = median_time(lambda: paf_decode.decode(heat, paf), runs)
        print(f"decoder {n_people} people ({map_w}x{BOX_SIZE} maps, {len(found)} found): "
              f"{t * 1000:7.1f} ms/frame")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="368x368",
                        help="frame size WIDTHxHEIGHT; the network sees it at 368 px height x scale")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--weights", help="weight file (default: random weights)")
    parser.add_argument("--batch-sizes", default="1,4,8",
                        help="frames per network pass on CUDA (the CPU uses 1)")
    parser.add_argument("--skip-cpu", action="store_true", help="time the network on CUDA only")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"CUDA: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")
    bench_decoder(size, max(args.runs, 10))
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or random_weights_file(tmp)
        if not args.skip_cpu:
            bench_network(weights, "cpu", size, args.runs, [1])
        if torch.cuda.is_available():
            bench_network(weights, "cuda", size, args.runs,
                          [int(b) for b in args.batch_sizes.split(",")])


if __name__ == "__main__":
    main()
