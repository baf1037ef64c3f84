"""Quality at a fixed training budget: full-frame vs plate-mode models, trained side by side.

    python bench/quality_budget.py [--budget-min 30] [--configs full,plate] [--work /tmp/edn_budget]
                                   [--size 256x128] [--frames 1000]
                                   [--transfer-source ../shared/data/source_aerobics.mp4]
                                   [--face-min 10 --face-epochs 1 --face-flags="--face_ngf 64 ..."]
                                   [--evaluate-only]

1. make_target.py on the first --frames (1000) frames of EDN subject 4
   (../shared/data/target_edn_subject4.mp4) at --size (256x128), once (kept in --work): frames, labels,
   person masks, background plate.
2. Every configuration (CONFIGS: a preset and flags) trains on the first 80% of them (frames 0-799;
   --holdout 0.2) for the same wall-clock budget, all at the same time, each with an equal share of the cores
   (torch threads = cores / configurations). Training side by side means a busy moment of the
   machine slows every configuration alike. The learning rate stays constant (the budget, not an
   epoch count, ends the run) and the face stage is off, so the rows compare the body generators.
   The schedule configurations (plate_e20, plate_e100) instead run their epochs with pix2pixHD's
   decay; give them --budget-min 0 (no wall-clock limit) and a short --frames.
   With --face-min, each model's face stage then runs for that long (side by side again), and the
   evaluation reports the face crop before and after the face GAN. --face-flags gives that stage
   other face networks (e.g. the paper preset's) than the configuration's preset.
3. FLOPs of one training step (G forward + backward through the pair, D, losses, both updates),
   counted exactly with torch's FlopCounterMode on a real batch of each configuration.
4. src.evaluate on the held-out last 20% (frames 800-999): LPIPS (AlexNet and VGG) and SSIM of the
   body crop, the face crop and the whole frame, tLP and background flicker (generated and real),
   and for plate-mode models the speckle and the window edge (src/evaluate/plate.py).
5. With --transfer-source: the source video's poses are normalized onto the target and each model
   transfers them; src.evaluate measures the flicker, speckle and window edge of those frames (no
   ground truth). With --face-min, each model transfers them a second time without its face stage
   (its body weights alone), and the face crop of both transfers is measured (src/evaluate/face.py).
--evaluate-only skips training and measures the checkpoints already in --work.

Prints one row per configuration; everything lands in --work (checkpoints, eval pages, logs).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from src.layout import KEYPOINTS, NORM_KEYPOINTS  # noqa: E402

CPU30 = ["--preset", "cpu", "--background", "plate", "--niter", "8", "--niter_decay", "4"]
CONFIGS = {
    "full": ["--preset", "cpu", "--background", "none"],     # the cpu preset on the full frame
    "plate": ["--preset", "cpu", "--background", "plate"],   # plate + person-following window
    "plate_vgg": ["--preset", "cpu", "--background", "plate", "--lambda_vgg", "10"],  # + perceptual loss
    # Perceptual loss weight and layers: a third of the weight, and only relu1_2 ... relu3_3 (VGG
    # stops there, so a step costs less).
    "plate_vgg3": ["--preset", "cpu", "--background", "plate", "--lambda_vgg", "3"],
    "plate_vgg_shallow": ["--preset", "cpu", "--background", "plate", "--lambda_vgg", "10",
                          "--vgg_weights", "1/32,1/16,1/8,0,0"],
    # What fewer epochs cost: our paper preset's 20 + 20 against pix2pixHD's 100 + 100, each with its
    # own decay (after COMMON, so these win), on the cpu preset's networks.
    "plate_e20": ["--preset", "cpu", "--background", "plate", "--niter", "20", "--niter_decay", "20"],
    "plate_e100": ["--preset", "cpu", "--background", "plate", "--niter", "100", "--niter_decay", "100"],
    # The cpu preset's 30-minute run on 2 cores: 8 + 4 epochs of 800 frames with the decay, in
    # bf16 on a CPU with bf16 instructions (give it --budget-min 0, and --face-epochs 3 --face-min 6
    # for the face stage). The others leave one of the preset's choices out.
    "cpu30": [*CPU30],
    "cpu30_fp32": [*CPU30[:4], "--niter", "6", "--niter_decay", "3", "--no-bf16"],  # float32: 9 epochs fit
    "cpu30_no_r1": [*CPU30, "--r1_gamma", "0"],   # without the R1 penalty on the discriminator
    "cpu30_r1x10": [*CPU30, "--r1_gamma", "1e-3"],   # the R1 penalty 10 times the preset's
    "cpu30_no_l1": [*CPU30, "--lambda_l1", "0"],   # without the L1 to the real frames
    "cpu30_no_flip": [*CPU30, "--no-flip"],   # without the mirrored frames
    # A wider generator in the same half hour: 1.5x the filters (2.25x G's weights), a step 1.65x
    # as dear (bf16), so 5 + 2 epochs.
    "cpu30_ngf48": [*CPU30[:4], "--niter", "5", "--niter_decay", "2", "--ngf", "48"],
    # pix2pixHD's two discriminator scales instead of one: a step 1.07x as dear (bf16).
    "cpu30_d2": [*CPU30, "--num_D", "2"],
    "cpu30_no_alex": [*CPU30, "--lambda_alex", "0"],   # without the perceptual loss on AlexNet
    "cpu30_alex5": [*CPU30, "--lambda_alex", "5"],     # that loss at twice the preset's weight
    "cpu30_seed1": [*CPU30, "--seed", "1"],   # the preset again from other initial weights and data order
    "cpu30_no_chroma": [*CPU30, "--chroma_sigma", "0"],   # without the generators' colour blur
    "paper": ["--preset", "paper", "--background", "plate"],  # the paper's networks in plate mode
    # The GAN loss averaged over D's 2 scales instead of summed (pix2pixHD): the generator's GAN
    # term halves next to the others, which is the same, for Adam, as doubling all the others.
    "plate_ganmean": ["--preset", "cpu", "--background", "plate", "--lambda_feat", "20",
                      "--lambda_alpha", "2"],
}
COMMON = ["--holdout", "0.2", "--face_epochs", "0",
          "--niter", "1000", "--niter_decay", "0", "--num_workers", "1", "--device", "cpu",
          "--display_freq", "500", "--save_latest_freq", "1000"]


def body_flags(args, name):
    """train_pose2vid.py flags of configuration `name`'s body stage (the size given wins over its preset's)."""
    return [*COMMON, *CONFIGS[name], "--size", args.size]


def run(cmd, log, env=None, wait=True):
    """Run a command with its output in a log file; returns the Popen (waited for unless wait=False)."""
    f = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    if wait and proc.wait():
        raise SystemExit(f"failed: {' '.join(cmd)} (see {log})")
    return proc


def prepare_target(args):
    target = os.path.join(args.work, "target")
    if not os.path.isfile(os.path.join(target, KEYPOINTS)):
        print(f"make_target: {args.video} -> {target}", flush=True)
        run([sys.executable, "make_target.py", "--video", args.video, "--out", target, "--size", args.size,
             "--max-frames", str(args.frames)], os.path.join(args.work, "make_target.log"))
    return target


def side_by_side(args, commands, what):
    """Run {name: command} all at once, each with an equal share of the cores; logs in --work as
    <what>_<name>.log."""
    threads = max(1, (os.cpu_count() or 2) // len(commands))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    procs = {name: run(cmd, os.path.join(args.work, f"{what}_{name}.log"), env=env, wait=False)
             for name, cmd in commands.items()}
    print(f"{what}: {', '.join(commands)} side by side ({threads} thread(s) each)", flush=True)
    for name, proc in procs.items():
        if proc.wait():
            raise SystemExit(f"{what} {name} failed (see {args.work}/{what}_{name}.log)")


def train_all(args, target):
    """Train every configuration for the budget at once; returns {name: steps}."""
    side_by_side(args, {name: [sys.executable, "train_pose2vid.py", *body_flags(args, name), "--name", name,
                               "--dataroot", target, "--checkpoints_dir", os.path.join(args.work, "ckpt"),
                               "--max_minutes", str(args.budget_min), "--resume"]
                        for name in args.configs}, "train")
    return trained_steps(args)


def trained_steps(args):
    """{name: body steps} of the models in --work (their loss logs' last body step)."""
    import csv
    steps = {}
    for name in args.configs:
        with open(os.path.join(args.work, "ckpt", name, "loss_log.csv")) as f:
            steps[name] = max(int(r["step"]) for r in csv.DictReader(f) if r["stage"] == "body")
    return steps


def train_faces(args, target):
    """Run the face stage on every trained configuration for --face-min minutes, side by side."""
    side_by_side(args, {name: [sys.executable, "train_pose2vid.py", "--name", name, "--dataroot", target,
                               "--checkpoints_dir", os.path.join(args.work, "ckpt"), "--face", "--face_epochs",
                               str(args.face_epochs), "--max_minutes", str(args.face_min),
                               *shlex.split(args.face_flags)]
                        for name in args.configs}, "face")


def flops_per_step(args, target, name):
    """Exact FLOPs of one body training step of configuration `name` on a real batch (a step
    without the lazy R1 penalty: the counter cannot follow its double backward)."""
    from torch.utils.data import default_collate
    from torch.utils.flop_counter import FlopCounterMode

    from src.device import setup, teardown
    from src.gan.options import parse
    from src.gan.train import Trainer

    opt, given = parse([*body_flags(args, name), "--name", "flops_" + name, "--dataroot", target,
                        "--checkpoints_dir", os.path.join(args.work, "flops")])
    dist = setup("cpu")
    try:
        trainer = Trainer(opt, given, dist)
        batch = default_collate([trainer.dataset[0]])
        trainer.body.steps = 1
        counter = FlopCounterMode(display=False)
        with counter:
            trainer.body.step(batch)
        return counter.get_total_flops(), trainer.windows.size if trainer.windows else opt.wh
    finally:
        teardown(dist)


def evaluate(args, target, name):
    out = os.path.join(args.work, "eval", name)
    run([sys.executable, "-m", "src.evaluate", "--name", os.path.join(args.work, "ckpt", name), "--dataroot",
         target, "--out", out, "--device", "cpu"], os.path.join(args.work, f"eval_{name}.log"))
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f)


def body_only(args, name):
    """A copy of model `name`'s checkpoint without its face stage (body.pt beside it): the face stage
    leaves the body's weights as they were, so this is the model before it."""
    import torch
    folder = os.path.join(args.work, "ckpt", name)
    state = torch.load(os.path.join(folder, "latest.pt"), map_location="cpu", weights_only=True)
    for key in ("faceG", "faceD", "optFG", "optFD"):
        state.pop(key, None)
    path = os.path.join(folder, "body.pt")
    torch.save(state, path)
    return path


def measure_transfer(args, target, name):
    """{with_face: metrics.json of src.evaluate --frames} of transfers of --transfer-source by model
    `name`: with its face stage (True) and, with --face-min, without it (False)."""
    source = os.path.join(args.work, "source")
    if not os.path.isfile(os.path.join(source, KEYPOINTS)):
        run([sys.executable, "make_source.py", "--video", args.transfer_source, "--out", source, "--size",
             args.size], os.path.join(args.work, "make_source.log"))
    if not os.path.isfile(os.path.join(source, NORM_KEYPOINTS)):
        run([sys.executable, "normalization.py", "--source", source, "--target", target],
            os.path.join(args.work, "normalization.log"))
    reports = {}
    for with_face in ([True, False] if args.face_min > 0 else [True]):
        tag = name if with_face else name + "_noface"
        frames = os.path.join(args.work, "transfer", tag)
        which = "latest" if with_face else body_only(args, name)
        run([sys.executable, "transfer.py", "--name", name, "--checkpoints", os.path.join(args.work, "ckpt"),
             "--which", which, "--source", source, "--out", frames, "--device", "cpu", "--restart"],
            os.path.join(args.work, f"transfer_{tag}.log"))
        out = os.path.join(args.work, "eval_transfer", tag)
        run([sys.executable, "-m", "src.evaluate", "--frames", frames, "--keypoints",
             os.path.join(source, NORM_KEYPOINTS), "--out", out, "--device", "cpu",
             "--name", os.path.join(args.work, "ckpt", name)] + (["--face"] if args.face_min > 0 else []),
            os.path.join(args.work, f"eval_transfer_{tag}.log"))
        with open(os.path.join(out, "metrics.json")) as f:
            reports[with_face] = json.load(f)
    return reports


def main():
    ap = argparse.ArgumentParser(description="Full-frame vs plate-mode models at the same training budget, "
                                             "evaluated on held-out frames of EDN subject 4.")
    ap.add_argument("--video", default=os.path.join(ROOT, "..", "shared", "data", "target_edn_subject4.mp4"))
    ap.add_argument("--budget-min", type=float, default=30.0, help="wall-clock minutes of training per "
                    "configuration, all at once (default 30; 0: no limit, the configurations' epochs end them)")
    ap.add_argument("--configs", default="full,plate", help=f"comma-separated, of {', '.join(CONFIGS)}")
    ap.add_argument("--work", default="/tmp/edn_budget", help="working folder (kept; the target is reused)")
    ap.add_argument("--transfer-source", default=None, help="also transfer this source video with each "
                    "model and measure the result's flicker")
    ap.add_argument("--face-min", type=float, default=0.0, help="then run each model's face stage for "
                    "this many minutes, all at once, and report the face crop before and after it (default 0: "
                    "no face stage)")
    ap.add_argument("--face-flags", default="", help="extra train_pose2vid.py flags for the face stage, given with =, e.g. "
                    "the paper preset's face networks: '--face_ngf 64 --face_n_downsample 3 --face_n_blocks 5 "
                    "--face_ndf 64'")
    ap.add_argument("--size", default="256x128", help="frame size WIDTHxHEIGHT of the target and of training "
                    "(default 256x128; a --work folder keeps the target of one size)")
    ap.add_argument("--frames", type=int, default=1000, help="frames of the target video used (default "
                    "1000); the last 20%% are held out for evaluation (a --work folder keeps the target of one length)")
    ap.add_argument("--face-epochs", type=int, default=1, help="face-stage epochs (its learning-rate "
                    "schedule; --face-min may end it first)")
    ap.add_argument("--evaluate-only", action="store_true", help="no training: measure the checkpoints "
                    "already in --work/ckpt")
    args = ap.parse_args()
    args.configs = args.configs.split(",")
    os.makedirs(args.work, exist_ok=True)
    target = prepare_target(args)
    flops = {name: flops_per_step(args, target, name) for name in args.configs}
    if args.evaluate_only:
        steps = trained_steps(args)
    else:
        tic = time.time()
        steps = train_all(args, target)
        print(f"trained in {(time.time() - tic) / 60:.1f} min", flush=True)
        if args.face_min > 0:
            train_faces(args, target)
    reports = {name: evaluate(args, target, name) for name in args.configs}
    transfers = ({name: measure_transfer(args, target, name) for name in args.configs}
                 if args.transfer_source else {})
    moved = {name: t[True]["temporal"]["flicker"] for name, t in transfers.items()}

    head = (f"{'config':<17} {'window':>8} {'steps':>6} {'GFLOP/step':>10} | {'LPIPS body':>10} {'face':>6} "
            f"{'whole':>6} | {'VGG body':>8} {'face':>6} {'whole':>6} | {'SSIM body':>9} {'face':>6} "
            f"{'whole':>6} | {'tLP':>6} {'flicker':>7}" + (f" {'transfer flicker':>16}" if moved else "")
            + (f" | {'face LPIPS before/after face GAN':>33}" if args.face_min > 0 else ""))
    print(head)
    for name in args.configs:
        m = reports[name]["runs"][0]["metrics"]
        t = reports[name]["runs"][0]["temporal"]
        (f, (w, h)) = flops[name]
        row = (f"{name:<17} {f'{w}x{h}':>8} {steps[name]:>6} {f / 1e9:>10.2f} | {m['body']['lpips']:>10.3f} "
               f"{m['face']['lpips']:>6.3f} {m['whole']['lpips']:>6.3f} | {m['body']['lpips_vgg']:>8.3f} "
               f"{m['face']['lpips_vgg']:>6.3f} {m['whole']['lpips_vgg']:>6.3f} | {m['body']['ssim']:>9.3f} "
               f"{m['face']['ssim']:>6.3f} {m['whole']['ssim']:>6.3f} | {t['tlp']:>6.3f} {t['flicker']:>7.2f}")
        if moved:
            row += f" {moved[name]:>16.2f}"
        if args.face_min > 0:
            u = m["face_unrefined"]
            row += f" | {u['lpips']:.3f}/{m['face']['lpips']:.3f} (VGG {u['lpips_vgg']:.3f}/{m['face']['lpips_vgg']:.3f})"
        print(row)
    real = reports[args.configs[0]]["real_temporal"]
    print(f"real held-out frames: flicker {real['flicker']:.2f}")
    print_cleanliness(args, reports, transfers)
    held_out = f"{args.frames - round(0.2 * args.frames)}-{args.frames - 1}"
    print(f"(budget {args.budget_min:g} min per configuration, trained side by side; held-out frames {held_out}; "
          f"results in {args.work})")


def print_cleanliness(args, reports, transfers):
    """The plate-mode table: speckle and window edge on the held-out frames (the real frames' own
    beside them) and on the transfer, and the transfer's face crop with / without the face stage."""
    def pct(v):
        return f"{100 * v:.3f}%" if v is not None else "-"
    print(f"{'config':<17} | {'speckle held-out (real)':>24} {'window edge (plate)':>20} | "
          f"{'speckle transfer':>16} {'window edge':>11} | {'face noise':>13} {'colour noise':>13} "
          f"{'face flicker':>13} {'face found':>13}   (transfer, with / without face stage)")
    for name in args.configs:
        p = reports[name]["runs"][0].get("plate")
        if p is None:
            print(f"{name:<17} | full frame")
            continue
        held = f"{pct(p['speckle'])} ({pct(p['reference_speckle'])})"
        edge = f"{p['window_edge']:.2f} ({p['reference_window_edge']:.2f})"
        row = f"{name:<17} | {held:>24} {edge:>20} |"
        if name in transfers:
            moved, bare = transfers[name][True], transfers[name].get(False)
            row += f" {pct(moved['plate']['speckle']):>16} {moved['plate']['window_edge']:>11.2f} |"
            if bare is not None and moved.get("face"):
                f, b = moved["face"], bare["face"]
                noise = f"{f['noise']:.2f} / {b['noise']:.2f}"
                colour = f"{f['colour_noise']:.2f} / {b['colour_noise']:.2f}"
                flicker = f"{f['flicker']:.2f} / {b['flicker']:.2f}"
                found = f"{100 * f['hit_rate']:.0f}% / {100 * b['hit_rate']:.0f}%"
                row += f" {noise:>13} {colour:>13} {flicker:>13} {found:>13}"
        print(row)


if __name__ == "__main__":
    main()
