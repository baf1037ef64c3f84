"""Training speed and peak memory of the body stage, on synthetic frames.

    python bench/bench_train.py [--device auto] [--presets paper,cpu] [--sizes 256x256,512x512]
                                [--steps 3] [--warmup 1] [--batch_size 1] [--vgg preset|on|off]
                                [--precision auto|float32|both]

One training step = G on a pair of frames (temporal feed) + D + VGG losses + both Adam updates,
exactly src.gan.stages.BodyStage.step (the VGG loss as the preset sets it: on for paper, off for cpu,
unless --vgg says otherwise). A sample is one frame pair. Each (preset, size) runs in its own
process so that the CPU peak (max RSS, which includes torch itself and the VGG16 weights) belongs to
that configuration alone; on CUDA the peak is torch.cuda.max_memory_allocated. Reported: median
seconds per step after the warm-up steps, samples/s from it, peak memory; with --precision both,
also the bf16 step's speed-up over float32's, measured one after the other in the same run.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def measure(preset, size, device, steps, warmup, batch_size, vgg, bf16=True):
    """Time BodyStage steps for one configuration; returns a dict of figures."""
    import torch

    from src.device import Dist, pick_device
    from src.gan import losses, networks
    from src.gan.options import make_options
    from src.gan.stages import BodyStage, Runtime

    overrides = {"on": {"lambda_vgg": 10.0}, "off": {"lambda_vgg": 0.0}}.get(vgg, {})
    opt = make_options(preset=preset, size=size, device=device, batch_size=batch_size, bf16=bf16, **overrides)
    vgg = opt.lambda_vgg > 0
    dev = pick_device(device)
    rt = Runtime(opt, Dist(0, 1, dev))
    torch.manual_seed(0)
    G, D = rt.place(networks.build_generator(opt)), rt.place(networks.build_discriminator(opt))
    stage = BodyStage(opt, rt, G, D, rt.place(losses.VGGLoss(opt.vgg_layer_weights)) if vgg else None)
    w, h = opt.wh
    gen = torch.Generator().manual_seed(0)
    batch = {"label": torch.randint(0, 256, (batch_size, 2, 3, h, w), dtype=torch.uint8, generator=gen),
             "image": torch.randint(0, 256, (batch_size, 2, 3, h, w), dtype=torch.uint8, generator=gen),
             "box": torch.zeros(batch_size, 2, 4, dtype=torch.long), "index": torch.arange(batch_size)}
    times = []
    for i in range(warmup + steps):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        tic = time.perf_counter()
        named, _ = stage.step(batch)
        float(named["D_fake"])  # wait for the device
        if i >= warmup:
            times.append(time.perf_counter() - tic)
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev) / 2 ** 20
        peak_kind = "CUDA max allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
        peak_kind = "process max RSS"
    step = statistics.median(times)
    return {"preset": preset, "size": size, "device": str(dev), "batch": batch_size, "vgg": vgg,
            "precision": "bf16" if rt.bf16 else "float32",
            "threads": torch.get_num_threads(), "s_per_step": step, "samples_per_s": batch_size / step,
            "peak_mib": peak, "peak_kind": peak_kind, "steps": len(times),
            "G_params_M": sum(p.numel() for p in G.parameters()) / 1e6}


def main():
    ap = argparse.ArgumentParser(description="Training samples/s and peak memory of the body stage "
                                             "on synthetic data, per preset and size.")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    ap.add_argument("--presets", default="paper,cpu", help="comma-separated presets (default paper,cpu)")
    ap.add_argument("--sizes", default="256x256,512x512", help="comma-separated WxH (default 256x256,512x512)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per configuration (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--batch_size", type=int, default=1, help="frame pairs per step (default 1)")
    ap.add_argument("--vgg", choices=["preset", "on", "off"], default="preset",
                    help="VGG perceptual loss as the preset sets it (paper on, cpu off), or forced on/off")
    ap.add_argument("--precision", choices=["auto", "float32", "both"], default="auto",
                    help="auto: as training picks it (bf16 on CUDA and on CPUs with bf16 instructions); "
                         "float32; both: each configuration in float32, then auto, with the speed-up")
    ap.add_argument("--one", nargs=2, metavar=("PRESET", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.device, args.steps, args.warmup, args.batch_size, args.vgg,
                                 bf16=args.precision != "float32")))
        return
    print(f"{'preset':<7} {'size':>9} {'device':>7} {'G params':>9} {'VGG':>4} {'precision':>9} {'s/step':>8} "
          f"{'samples/s':>10} {'peak MiB':>9}")
    precisions = ["float32", "auto"] if args.precision == "both" else [args.precision]
    peak_kind = "peak memory"
    for preset in args.presets.split(","):
        for size in args.sizes.split(","):
            first = None
            for precision in precisions:
                cmd = [sys.executable, os.path.abspath(__file__), "--one", preset, size, "--device", args.device,
                       "--steps", str(args.steps), "--warmup", str(args.warmup), "--batch_size",
                       str(args.batch_size), "--vgg", args.vgg, "--precision", precision]
                out = subprocess.run(cmd, capture_output=True, text=True)
                if out.returncode:
                    print(f"{preset:<7} {size:>9}  failed: {out.stderr.strip().splitlines()[-1:]}")
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                peak_kind = r["peak_kind"]
                first = first or r
                speedup = f"  {first['s_per_step'] / r['s_per_step']:.2f}x" if r is not first else ""
                print(f"{preset:<7} {size:>9} {r['device']:>7} {r['G_params_M']:>8.1f}M "
                      f"{'on' if r['vgg'] else 'off':>4} {r['precision']:>9} {r['s_per_step']:>8.3f} "
                      f"{r['samples_per_s']:>10.3f} {r['peak_mib']:>9.0f}{speedup}", flush=True)
    print(f"(median of {args.steps} steps after {args.warmup} warm-up; a sample is one frame pair; "
          f"peak = {peak_kind})")


if __name__ == "__main__":
    main()
