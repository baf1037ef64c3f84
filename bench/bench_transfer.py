"""Transfer speed: frames/s of transfer.py's loop (label read, generator, face refinement, PNG write).

    .venv/bin/python bench/bench_transfer.py [--device auto] [--configs cpu:256x128,paper:512x512]
                                             [--frames 5] [--warmup 1] [--precision auto|float32|both]

For each preset:size, a randomly initialised checkpoint of that preset (body generator + face
generator, as train_pose2vid.py saves them) and normalized labels of a synthetic dancer are written
to a temporary folder; then src.gan.transfer.generate runs over them exactly as transfer.py does, and
the time between consecutive frames is taken after the warm-up frames. Weights do not change the
speed, so random ones measure what a trained model costs. Reported: median ms per frame, frames/s
from it, and the load average (the machine may be shared: compare runs taken at similar load).
"""
import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def write_checkpoint(folder, preset, size, device, bf16=True):
    """<folder>/latest.pt of an untrained model of `preset` at `size`, with a face generator."""
    import torch

    from src.gan import checkpoint, networks
    from src.gan.options import make_options
    opt = make_options(preset=preset, size=size, device=device, bf16=bf16)
    torch.manual_seed(0)
    state = {"options": dataclasses.asdict(opt), "step": 0,
             "G": networks.build_generator(opt).state_dict(),
             "faceG": networks.build_face_generator(opt).state_dict()}
    checkpoint.save(os.path.join(folder, checkpoint.LATEST), state)
    return opt.wh


def measure(preset, size, device, frames, warmup, bf16=True):
    from src.demo.data import write_normalized_source
    from src.gan.inference import FramePredictor
    from src.gan.transfer import SourceLabels, generate
    with tempfile.TemporaryDirectory() as tmp:
        wh = write_checkpoint(os.path.join(tmp, "ckpt"), preset, size, device, bf16)
        write_normalized_source(os.path.join(tmp, "source"), warmup + frames, wh)
        predictor = FramePredictor(os.path.join(tmp, "ckpt"), device=device)
        if predictor.device.type == "cuda":
            import torch
            torch.backends.cudnn.benchmark = True  # as src.gan.transfer.run does
        source = SourceLabels(os.path.join(tmp, "source"))
        stamps = [time.perf_counter()]
        for _ in generate(predictor, source, os.path.join(tmp, "out")):
            stamps.append(time.perf_counter())
    steps = [b - a for a, b in zip(stamps, stamps[1:])][warmup:]
    seconds = statistics.median(steps)
    params = sum(p.numel() for p in predictor.generator.parameters()) / 1e6
    return {"preset": preset, "size": f"{wh[0]}x{wh[1]}", "device": str(predictor.device),
            "bf16": predictor.bf16,
            "G_params_M": round(params, 1), "ms_per_frame": 1000 * seconds, "frames_per_s": 1 / seconds,
            "frames_timed": len(steps)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda (default: auto)")
    ap.add_argument("--configs", default="cpu:256x128,paper:512x512",
                    help="comma-separated PRESET:WIDTHxHEIGHT to measure (default: the CPU preset at "
                         "its size, the paper preset at 512x512)")
    ap.add_argument("--frames", type=int, default=5, help="frames timed per configuration (default: 5)")
    ap.add_argument("--warmup", type=int, default=2,
                    help="frames run before timing: the first pays one-off set-up, and writes only "
                         "start to queue up after the first frames (default: 2)")
    ap.add_argument("--precision", choices=["auto", "float32", "both"], default="auto",
                    help="auto: as transfer.py picks it (bf16 on CUDA and on CPUs with bf16 instructions); "
                         "float32; both: each configuration in float32, then auto")
    args = ap.parse_args()
    if args.frames < 1 or args.warmup < 0:
        ap.error("--frames must be at least 1 and --warmup not negative")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    for config in args.configs.split(","):
        preset, _, size = config.partition(":")
        for precision in (["float32", "auto"] if args.precision == "both" else [args.precision]):
            r = measure(preset, size, args.device, args.frames, args.warmup, bf16=precision != "float32")
            print(f"{r['preset']:>6} {r['size']:>9} on {r['device']}{' bf16' if r['bf16'] else ''}: "
                  f"{r['frames_per_s']:.2f} frames/s ({r['ms_per_frame']:.0f} ms/frame, median of "
                  f"{r['frames_timed']}; G {r['G_params_M']} M parameters, face refinement and PNG "
                  f"write included)")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
