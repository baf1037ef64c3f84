"""One body training step of the paper preset on random data, for ../shared/bench-ref/bench_vs_ref.py.

bench_vs_ref.py calls build(w, h, vgg_on, seed) and times the step function it returns. The step is
src.gan.stages.BodyStage.step exactly as training builds it (paper preset, batch 1, start of epoch 1).

    EDN_BENCH_WINDOW=128x128 python ../shared/bench-ref/bench_vs_ref.py --size 256x128

With EDN_BENCH_WINDOW set, the step is plate mode's: the generator draws only a window of that size
(the person-following window) and the frames are composites over a plate; without it, the full frame.
For EDN subject 4 at 256x128 the window is 128x128.
"""
import os
import subprocess

import torch

from src.device import Dist, pick_device
from src.gan import losses, networks
from src.gan.options import make_options
from src.gan.stages import BodyStage, Runtime, body_lr


def _n_params(net):
    return sum(p.numel() for p in net.parameters()) / 1e6


def build(w, h, vgg_on, seed):
    """(step function, description, generated frames per step) of one paper-preset body step."""
    window = os.environ.get("EDN_BENCH_WINDOW")
    ww, wh = (int(v) for v in window.split("x")) if window else (w, h)
    overrides = {} if vgg_on else {"lambda_vgg": 0.0}
    # float32, as the reference code runs (the harness times both in float32).
    opt = make_options(preset="paper", size=f"{w}x{h}", device="cpu", batch_size=1, bf16=False,
                       background="plate" if window else "none", **overrides)
    rt = Runtime(opt, Dist(0, 1, pick_device("cpu")))
    torch.manual_seed(seed)
    G, D = networks.build_generator(opt), networks.build_discriminator(opt)
    for net in (G, D):
        rt.place(net)
    vgg = rt.place(losses.VGGLoss(opt.vgg_layer_weights)) if opt.lambda_vgg > 0 else None
    stage = BodyStage(opt, rt, G, D, vgg)
    stage.set_lr(body_lr(opt, 0))

    gen = torch.Generator().manual_seed(seed)
    # What the loader yields (src/gan/dataset.py): uint8 labels and images of a frame pair, cut to the
    # window in plate mode, with the plate under the window and the person masks.
    batch = {"label": torch.randint(0, 256, (1, 2, 3, wh, ww), dtype=torch.uint8, generator=gen),
             "image": torch.randint(0, 256, (1, 2, 3, wh, ww), dtype=torch.uint8, generator=gen),
             "box": torch.zeros(1, 2, 4, dtype=torch.long), "index": torch.arange(1)}
    if window:
        batch["plate"] = torch.randint(0, 256, (1, 3, wh, ww), dtype=torch.uint8, generator=gen)
        batch["mask"] = torch.randint(0, 2, (1, 2, 1, wh, ww), dtype=torch.uint8, generator=gen) * 255

    def step():
        return stage.step(batch)[0]

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    where = f"plate mode, window {ww}x{wh} of the {w}x{h} frame" if window else f"full frame {w}x{h}"
    desc = (f"A (git {commit}), preset paper, {where}: G {_n_params(G):.1f} M params, D {_n_params(D):.2f} M, "
            + ("VGG16->relu5_3 perceptual" if vgg is not None else "no VGG loss"))
    return step, desc, 2
