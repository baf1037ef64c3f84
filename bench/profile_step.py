"""Where the time of one body training step goes: data, G forward, D forward, VGG forward, the two
backward passes, the optimisers and the rest, on synthetic frames.

    python bench/profile_step.py [--presets paper,cpu] [--size 256x256] [--steps 3] [--warmup 1]
                                 [--rounds 2] [--roots .,/path/to/another/checkout]

Each (round, root, preset) runs in its own process, the roots alternating within each round, so that
two versions of the code (--roots: source trees holding src/) are compared on the same machine at the
same moment. A step is src.gan.stages.BodyStage.step on a batch from the real data path (PNG frames read
and resized by src.gan.dataset.PairDataset, in the main process). Sections are timed with forward hooks on
G, D and the VGG network, optimiser step hooks and a wrapper around Tensor.backward (the step's first
backward is G's, through D, VGG and G; the second is D's). "G own bwd" is the part of G's backward
spent in G's layers, from the first gradient reaching G's output to the end of that backward (D's and
VGG's backward come before it). "rest" is the step's time outside the other sections.
Printed: per section the median over every measured step of every round, in ms; the median over the
processes of their peak memory (max RSS); the step's FLOPs (counted exactly with torch's
FlopCounterMode on an extra, untimed step) and the speed they ran at. Against that stands the machine's
own ceiling: the speed of a large float32 matrix product (4096 x 4096 x 4096, timed in the parent
process before each round, when nothing else runs), and what the step would take if all of its FLOPs
ran at that speed.
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
SECTIONS = ("data", "G fwd", "D fwd", "VGG fwd", "G backward", "D backward", "optimisers", "rest", "step",
            "G own bwd")
PARTS = ("G own bwd",)  # sections inside another section, left out of "rest"
RECORDED = SECTIONS + ("peak RSS", "FLOP")  # what a worker reports: the sections' seconds, its peak MB
# and the FLOPs of one step


def write_frames(folder, n, size):
    """n frames of a moving figure with their stick-figure labels, as make_target.py lays them out."""
    import cv2
    import numpy as np

    from src.io.files import frame_name, save_npy, write_image
    from src.layout import FACE_BOXES, KEYPOINTS, TARGET_FRAMES, TARGET_LABELS
    from src.pose.keypoints import N_POINTS, PoseTrack
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    for t in range(n):
        frame = np.stack([(xx * 255 // w), (yy * 255 // h), np.full_like(xx, 90)], -1).astype(np.uint8)
        label = np.zeros((h, w, 3), np.uint8)
        cx = int(w * (0.4 + 0.02 * t))
        cv2.ellipse(frame, (cx, h // 2), (w // 10, h // 3), 0, 0, 360, (200, 60, 60), -1)
        cv2.circle(frame, (cx, h // 6), h // 14, (230, 190, 160), -1)
        cv2.line(label, (cx, h // 6), (cx, h // 2), (255, 0, 0), max(1, h // 64))
        cv2.line(label, (cx, h // 2), (cx - w // 12, h - h // 8), (0, 255, 0), max(1, h // 64))
        write_image(os.path.join(folder, TARGET_FRAMES, frame_name(t)), frame)
        write_image(os.path.join(folder, TARGET_LABELS, frame_name(t)), label)
    save_npy(os.path.join(folder, FACE_BOXES), np.tile(np.array([[0, 0, h // 4, h // 4]], np.int32), (n, 1)))
    PoseTrack(keypoints=np.zeros((n, N_POINTS, 3), np.float32), fps=15, size=size, crop=(0, 0, *size),
              video_size=size, backend="synthetic").save(os.path.join(folder, KEYPOINTS))


class Timers:
    """Accumulated seconds per section within the current step."""

    def __init__(self):
        self.total, self.starts, self.backwards = {}, {}, 0

    def start(self, name):
        self.starts[name] = time.perf_counter()

    def stop(self, name):
        self.total[name] = self.total.get(name, 0.0) + time.perf_counter() - self.starts.pop(name)

    def timed_forward(self, module, name):
        module.register_forward_pre_hook(lambda *_: self.start(name))
        module.register_forward_hook(lambda *_: self.stop(name))


def worker(preset, size, steps, warmup):
    """Profile `steps` body steps in this process; print {section: [seconds per step]} as JSON."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from src.device import Dist, pick_device
    from src.gan import losses, networks
    from src.gan.dataset import EpochSampler, PairDataset, TargetFrames, make_loader
    from src.gan.options import make_options
    from src.gan.stages import BodyStage, Runtime

    # float32: the step's FLOP rate is compared with a float32 matrix product's.
    opt = make_options(preset=preset, size=size, device="cpu", num_workers=0, bf16=False)
    dev = pick_device("cpu")
    rt = Runtime(opt, Dist(0, 1, dev))
    torch.manual_seed(0)
    G, D = rt.place(networks.build_generator(opt)), rt.place(networks.build_discriminator(opt))
    vgg = rt.place(losses.VGGLoss(opt.vgg_layer_weights)) if opt.lambda_vgg > 0 else None
    stage = BodyStage(opt, rt, G, D, vgg)

    timers = Timers()
    timers.timed_forward(G, "G fwd")
    timers.timed_forward(D, "D fwd")
    if vgg is not None:
        timers.timed_forward(vgg.vgg, "VGG fwd")
    for optim in (stage.optG, stage.optD):
        optim.register_step_pre_hook(lambda *_: timers.start("optimisers"))
        optim.register_step_post_hook(lambda *_: timers.stop("optimisers"))
    backward = torch.Tensor.backward

    def reached_G(*_):
        if timers.backwards == 1 and "G own bwd" not in timers.starts and "G own bwd" not in timers.total:
            timers.start("G own bwd")
    G.register_full_backward_pre_hook(reached_G)

    def timed_backward(tensor, *args, **kwargs):
        name = "G backward" if timers.backwards == 0 else "D backward"
        timers.backwards += 1
        timers.start(name)
        backward(tensor, *args, **kwargs)
        timers.stop(name)
        if "G own bwd" in timers.starts:
            timers.stop("G own bwd")
    torch.Tensor.backward = timed_backward

    w, h = opt.wh
    with tempfile.TemporaryDirectory() as folder:
        n_frames = warmup + steps + 2  # one more pair for the counted step
        write_frames(folder, n_frames, (2 * w, 2 * h))  # frames are shrunk to the training size
        dataset = PairDataset(TargetFrames(folder), range(n_frames), opt.wh)
        sampler = EpochSampler(dataset, 1, 0, opt.seed)
        sampler.start_epoch(0)
        batches = iter(make_loader(dataset, sampler, opt.batch_size, 0))
        counter = FlopCounterMode(display=False)
        # The lazy R1 penalty runs on every 16th step from step 0; its torch.autograd.grad cannot run
        # under the FLOP counter, so the counted step is one of the 15 without it.
        stage.steps = 1
        with counter:
            stage.step(next(batches))
        per_step = {name: [] for name in SECTIONS}
        for i in range(warmup + steps):
            timers.total, timers.backwards = {}, 0
            tic = time.perf_counter()
            batch = next(batches)
            data = time.perf_counter() - tic
            tic = time.perf_counter()
            named, _ = stage.step(batch)
            float(named["D_fake"])
            step = time.perf_counter() - tic
            if i < warmup:
                continue
            parts = dict(timers.total, data=data)
            parts["rest"] = step - sum(v for k, v in timers.total.items() if k not in PARTS)
            parts["step"] = step + data
            for name in SECTIONS:
                per_step[name].append(parts.get(name, 0.0))
    per_step["peak RSS"] = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]  # MB
    per_step["FLOP"] = [counter.get_total_flops()]
    print(json.dumps(per_step))


def matmul_speed(n=4096, repeats=5):
    """FLOP/s of this machine's float32 n x n x n matrix product: the median of `repeats` after one warm-up."""
    import torch
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - tic)
    return 2 * n ** 3 / statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="paper,cpu")
    parser.add_argument("--size", default="256x256")
    parser.add_argument("--steps", type=int, default=3, help="measured steps per process")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--roots", default=ROOT, help="comma-separated source trees to compare")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        sys.path.insert(0, args.worker)
        worker(args.presets, args.size, args.steps, args.warmup)
        return
    roots = [os.path.abspath(r) for r in args.roots.split(",")]
    results = {}  # (preset, root) -> {section: [seconds]}
    peaks = []
    for rnd in range(args.rounds):
        peaks.append(matmul_speed())
        for preset in args.presets.split(","):
            for root in roots:
                out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", root,
                                      "--presets", preset, "--size", args.size, "--steps", str(args.steps),
                                      "--warmup", str(args.warmup)],
                                     capture_output=True, text=True, check=True, cwd=root)
                got = json.loads(out.stdout.strip().splitlines()[-1])
                acc = results.setdefault((preset, root), {name: [] for name in RECORDED})
                for name in RECORDED:
                    acc[name].extend(got[name])
                print(f"round {rnd + 1}: {preset} {root}: step {statistics.median(got['step']) * 1e3:.0f} ms",
                      file=sys.stderr)
    for preset in args.presets.split(","):
        print(f"\n{preset} preset at {args.size}, median ms per step "
              f"({args.rounds} rounds x {args.steps} steps):")
        print(f"{'section':<12}" + "".join(f"{os.path.basename(r) or r:>16}" for r in roots)
              + ("   ratio" if len(roots) == 2 else ""))
        for name in SECTIONS:
            meds = [statistics.median(results[(preset, r)][name]) * 1e3 for r in roots]
            ratio = f"{meds[1] / meds[0]:8.2f}" if len(roots) == 2 and meds[0] > 0 else ""
            print(f"{name:<12}" + "".join(f"{m:>16.0f}" for m in meds) + ratio)
        meds = [statistics.median(results[(preset, r)]["peak RSS"]) for r in roots]
        ratio = f"{meds[1] / meds[0]:8.2f}" if len(roots) == 2 else ""
        print(f"{'peak RSS MB':<12}" + "".join(f"{m:>16.0f}" for m in meds) + ratio)
        flops = [statistics.median(results[(preset, r)]["FLOP"]) for r in roots]
        steps = [statistics.median(results[(preset, r)]["step"]) for r in roots]
        print(f"{'GFLOP/step':<12}" + "".join(f"{f / 1e9:>16.1f}" for f in flops))
        print(f"{'GFLOP/s':<12}" + "".join(f"{f / s / 1e9:>16.1f}" for f, s in zip(flops, steps)))
        peak = statistics.median(peaks)
        print(f"{'ms at peak':<12}" + "".join(f"{f / peak * 1e3:>16.0f}" for f in flops)
              + "   (every FLOP at the matrix-product speed)")
    print(f"\nmatrix product 4096^3, float32: {statistics.median(peaks) / 1e9:.1f} GFLOP/s "
          f"(median of {len(peaks)}, one per round: {', '.join(f'{p / 1e9:.1f}' for p in peaks)})")


if __name__ == "__main__":
    main()
