"""Every option of train_pose2vid.py, with its default and a one-line comment.

This file is the one place options live: edit a default here (for example
`load_pretrain: str = "./checkpoints/target/"`) or override it on the command line (`--niter 5`).
Precedence, lowest first: the defaults below, then `--preset`, then the flags given on the command line.
When a run continues a checkpoint (`--resume`, `--face`) the checkpoint's own options replace the
defaults and the preset, and only the flags given on the command line change them.
The argparse flags and their --help text are generated from the fields and comments below.
"""
import argparse
import dataclasses
import inspect
import re
from fractions import Fraction

from src.errors import UserError
from src.layout import CHECKPOINTS_DIR, TARGET_DIR
from src.pose.keypoints import face_crop_side


@dataclasses.dataclass
class TrainOptions:
    # --- experiment ---
    name: str = "target"  # experiment name: its checkpoints, web page and loss log go to <checkpoints_dir>/<name>/
    dataroot: str = TARGET_DIR  # folder written by make_target.py (train/train_img, train/train_label, pose.npy, keypoints.npz)
    checkpoints_dir: str = CHECKPOINTS_DIR  # parent folder of the experiment folders
    preset: str = ""  # 'paper' or 'cpu': a named set of the options below (flags given on the command line still win)
    resume: bool = False  # continue <checkpoints_dir>/<name>/latest.pt exactly (weights, optimisers, schedule, RNG, data order); starts fresh when there is none
    load_pretrain: str = ""  # checkpoint folder (or .pt file) whose weights start a new run, e.g. './checkpoints/target/'; a global model initialises --netG local
    face: bool = False  # run only the face GAN stage, on the trained generator in <checkpoints_dir>/<name>/ (a new one may set other --face_* network sizes)
    # --- data ---
    size: str = "512x256"  # training resolution WIDTHxHEIGHT; frames and labels are resized to it
    holdout: float = 0.0  # fraction of the target's last frames never trained on (kept for evaluation), e.g. 0.2
    flip: bool = False  # random horizontal flips; labels are re-drawn from the flipped keypoints so left and right swap
    background: str = "auto"  # 'auto': the generator draws only a window that follows the person, over the background plate, when make_target.py made a plate (static camera), else the full frame; 'plate': require the plate; 'none': always the full frame
    batch_size: int = 1  # frame pairs per step (per process under torchrun)
    num_workers: int = 2  # data loader worker processes that read and resize frames (0 = in the main process)
    # --- generator ---
    netG: str = "global"  # 'global' (pix2pixHD G1) or 'local' (G1 + local enhancer at twice its resolution)
    ngf: int = 64  # filters in the first layer of the global generator (the local enhancer's own branch has ngf/2)
    n_downsample: int = 4  # stride-2 downsamplings of the global generator
    n_blocks: int = 9  # residual blocks of the global generator
    n_blocks_local: int = 3  # residual blocks of the local enhancer branch (--netG local only)
    # --- discriminator ---
    ndf: int = 64  # filters in the first layer of each discriminator
    num_D: int = 2  # discriminator scales (full, half, ... resolution)
    n_layers_D: int = 3  # stride-2 layers of each PatchGAN discriminator
    # --- losses and optimiser ---
    lambda_feat: float = 10.0  # weight of the discriminator feature-matching loss
    lambda_vgg: float = 10.0  # weight of the VGG16 perceptual loss of the body generator (0 = off, faster)
    vgg_weights: str = "1/32,1/16,1/8,1/4,1"  # weights of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in the VGG16 perceptual losses (body and face; pix2pixHD's by default); 0 drops a layer, and VGG stops after the last layer used
    lambda_alex: float = 0.0  # body stage: weight of a perceptual loss on AlexNet's features (LPIPS's form, every channel alike; 0 = off); a tenth of the VGG16 loss's cost
    lambda_l1: float = 0.0  # body stage: weight of the L1 loss between the generated and the real frames, pix2pix's pixel term (0 = off, as in pix2pixHD)
    lambda_alpha: float = 1.0  # plate mode: weight of the L1 loss between the generator's alpha and the person mask (10x away from the person, left out in a band under the feet: shadows, reflections)
    alpha_gate: bool = True  # plate mode: alpha is 0 farther than a tenth of the window's height from the drawn pose (under the feet: fading out by 12% of the figure's height), so no dust or haze shows over the plate away from the person
    d_augment: bool = False  # body stage: the discriminator sees each step's real and fake pairs shifted (up to 1/8) and with a hole cut out alike (DiffAugment), so on a short target it does not learn the frames by heart
    r1_gamma: float = 0.0  # body stage: weight of the R1 penalty, gamma / 2 x the squared gradient of the discriminator at the real pairs (0 = off); it keeps the discriminator smooth around the real frames, so it cannot simply win
    chroma_sigma: float = 0.0  # the generators blur the colour (not the brightness) of what they draw by a Gaussian of this many pixels (0 = off), as a video keeps colour at a lower resolution; it removes the red and blue dots a short training leaves on faces and clothes
    ema_decay: float = 0.0  # body stage: frames come from the moving average of the generator's weights with this decay per step, e.g. 0.999 (0 = the last step's weights); it averages out the step-to-step noise of GAN training
    lr: float = 0.0002  # Adam learning rate of generators and discriminators
    beta1: float = 0.5  # Adam beta1
    niter: int = 20  # body-stage epochs at the full learning rate (pix2pixHD starts lowering it after the next epoch); 20 + 20, not pix2pixHD's 100 + 100: a target video has thousands of frames, so 40 epochs are already ~100k+ steps (docs/benchmarks.md compares the two)
    niter_decay: int = 20  # further body-stage epochs with the learning rate decaying linearly, by lr/niter_decay per epoch, to lr/niter_decay in the last
    # --- face GAN stage (after the body stage) ---
    face_epochs: int = 5  # epochs of the face GAN stage after the body stage (0 = no face stage)
    face_ngf: int = 64  # filters in the first layer of the face residual generator (64, 3 downsamplings and 5 blocks: the EDN authors' 27 M parameters)
    face_n_downsample: int = 3  # stride-2 downsamplings of the face generator (the face crop's side must be a multiple of 2 ** this)
    face_n_blocks: int = 5  # residual blocks of the face generator
    face_ndf: int = 64  # filters in the first layer of the face discriminator
    face_num_D: int = 1  # face discriminator scales
    lambda_face_vgg: float = 10.0  # weight of the VGG16 perceptual loss of the face GAN (0 = off)
    # --- running ---
    device: str = "auto"  # 'auto' (CUDA when present), 'cpu' or 'cuda'
    bf16: bool = True  # bfloat16 autocast on CUDA and on CPUs with bf16 instructions (AVX512-BF16 or AMX); float32 on other CPUs
    seed: int = 0  # seed of weight init and data order; each epoch's order is derived from seed + epoch
    max_steps: int = 0  # stop (and save) once the global step count reaches this (0 = run every epoch); for tests and benchmarks
    max_minutes: float = 0.0  # stop (and save) after this many minutes of training in this run (0 = no limit; resume continues); for benchmarks and runs on a time budget
    display_freq: int = 200  # steps between sample rows (label | generated | real) on the web page
    save_latest_freq: int = 1000  # steps between saves of latest.pt inside an epoch (it is also saved after every epoch)
    save_epoch_freq: int = 10  # keep epoch_N.pt every this many epochs (face stage: face_epoch_N.pt)

    @property
    def wh(self):
        """The training size as a (width, height) tuple."""
        return parse_size(self.size)

    @property
    def vgg_layer_weights(self):
        """--vgg_weights as a tuple of 5 floats."""
        return parse_vgg_weights(self.vgg_weights)


PRESETS = {
    # The paper's global pix2pixHD stage (182 M generator parameters) and the EDN authors' face
    # generator (27 M). The perceptual loss keeps pix2pixHD's weight and layers, which did no worse
    # than the alternatives compared by bench/quality_budget.py (docs/benchmarks.md).
    "paper": dict(size="512x256", netG="global", ngf=64, n_downsample=4, n_blocks=9, ndf=64, num_D=2,
                  n_layers_D=3, lambda_feat=10.0, lambda_vgg=10.0, lambda_face_vgg=10.0, face_ngf=64,
                  face_n_downsample=3, face_n_blocks=5, face_ndf=64, face_num_D=1, niter=20, niter_decay=20, face_epochs=5,
                  display_freq=200, save_latest_freq=1000),
    # Small enough to show a person after a few minutes on two CPU cores (the demo uses it). The
    # body's VGG loss is off: it makes a step more than twice as dear, and at one time budget the
    # model without it ends with the better body LPIPS. The face GAN keeps its VGG loss (its small
    # crops make it cheap), and its stage stays on because it improves the face crop
    # (bench/quality_budget.py; docs/benchmarks.md). The R1 penalty keeps its discriminator from
    # winning on a short target: at a 30-minute budget the body came out sharper and cleaner. Frames
    # come from the moving average of the generator's weights, a small gain for no cost. Mirrored
    # frames double the poses seen in the same steps: the held-out body and face came out sharper
    # (--no-flip for a target whose two sides differ, e.g. a print on one side of a shirt). pix2pix's
    # L1 to the real frames, free next to the rest of a step, raised the held-out body SSIM and
    # lowered its VGG LPIPS and the transferred face's noise at the same budget. A perceptual loss on
    # AlexNet, a tenth of VGG's cost, sharpened the held-out body and face (AlexNet and VGG LPIPS).
    # The generators' colour blurred by a pixel (brightness kept) took the red and blue dots off the
    # faces and lowered the held-out body and face LPIPS.
    "cpu": dict(size="256x128", netG="global", ngf=32, n_downsample=3, n_blocks=4, ndf=32, num_D=1,
                n_layers_D=3, lambda_feat=10.0, lambda_vgg=0.0, lambda_l1=10.0, lambda_alex=2.5,
                r1_gamma=1e-4, ema_decay=0.999, chroma_sigma=1.0,
                flip=True, lambda_face_vgg=10.0, face_ngf=16,
                face_n_downsample=2, face_n_blocks=3, face_ndf=32, face_num_D=1, niter=2, niter_decay=2, face_epochs=1,
                display_freq=50, save_latest_freq=200),
}

# Options that fix the shape of the networks, the data split or the frame size: a run that continues
# a checkpoint keeps the checkpoint's values and refuses different ones on the command line.
LOCKED_ON_RESUME = ("background", "netG", "ngf", "n_downsample", "n_blocks", "n_blocks_local", "ndf",
                    "num_D", "n_layers_D", "face_ngf", "face_n_downsample", "face_n_blocks", "face_ndf",
                    "face_num_D", "size", "chroma_sigma",
                    "holdout")
# The face networks' shape: a new face stage (--face without --resume) builds them afresh, so it may
# change these.
FACE_NETWORK = ("face_ngf", "face_n_downsample", "face_n_blocks", "face_ndf", "face_num_D")


def parse_size(text):
    """'512x256' -> (512, 256)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match or int(match[1]) <= 0 or int(match[2]) <= 0:
        raise UserError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 512x256")
    return int(match[1]), int(match[2])


def parse_vgg_weights(text):
    """'1/32,1/16,1/8,0,0' -> (0.03125, 0.0625, 0.125, 0.0, 0.0): five non-negative numbers or
    fractions, at least one of them positive."""
    parts = str(text).split(",")
    try:
        if len(parts) != 5:
            raise ValueError
        weights = tuple(float(Fraction(p.strip())) for p in parts)
    except (ValueError, ZeroDivisionError):
        weights = None
    if weights is None or min(weights) < 0 or max(weights) <= 0:
        raise UserError(f"--vgg_weights {text!r}: expected 5 comma-separated weights for relu1_2 ... relu5_3, "
                        "none negative and one positive, e.g. 1/32,1/16,1/8,1/4,1")
    return weights


def field_comments():
    """{field name: its one-line comment above}, read from this file's source (the --help text)."""
    source = inspect.getsource(TrainOptions)
    pattern = re.compile(r"^\s+(\w+): \w+ = .*?  # (.*)$")
    return {m[1]: m[2] for m in map(pattern.match, source.splitlines()) if m}


def validate(opt):
    """Check option values that argparse cannot; raise UserError naming the flag."""
    w, h = opt.wh
    if opt.preset and opt.preset not in PRESETS:
        raise UserError(f"--preset {opt.preset!r}: expected one of {', '.join(PRESETS)}")
    if opt.background not in ("auto", "plate", "none"):
        raise UserError(f"--background {opt.background!r}: expected auto, plate or none")
    if opt.netG not in ("global", "local"):
        raise UserError(f"--netG {opt.netG!r}: expected 'global' or 'local'")
    if opt.device not in ("auto", "cpu", "cuda") and not opt.device.startswith("cuda:"):
        raise UserError(f"--device {opt.device!r}: expected auto, cpu or cuda")
    factor = 2 ** (opt.n_downsample + (opt.netG == "local"))
    if w % factor or h % factor:
        raise UserError(f"--size {opt.size}: width and height must be multiples of {factor} "
                        f"(2 ** n_downsample{' + 1 for --netG local' if opt.netG == 'local' else ''})")
    if opt.netG == "local" and opt.ngf % 2:
        raise UserError(f"--ngf {opt.ngf}: must be even for --netG local")
    if not 0.0 <= opt.holdout < 1.0:
        raise UserError(f"--holdout {opt.holdout}: expected a fraction in [0, 1)")
    for name in ("batch_size", "ngf", "ndf", "num_D", "n_layers_D", "face_ngf", "face_ndf",
                 "face_num_D", "display_freq", "save_latest_freq", "save_epoch_freq"):
        if getattr(opt, name) < 1:
            raise UserError(f"--{name} {getattr(opt, name)}: must be at least 1")
    for name in ("niter", "niter_decay", "face_epochs", "num_workers", "max_steps", "n_blocks",
                 "n_downsample", "n_blocks_local", "face_n_downsample", "face_n_blocks"):
        if getattr(opt, name) < 0:
            raise UserError(f"--{name} {getattr(opt, name)}: must not be negative")
    if opt.max_minutes < 0:
        raise UserError(f"--max_minutes {opt.max_minutes}: must not be negative")
    if not 0.0 <= opt.chroma_sigma <= 8.0:
        raise UserError(f"--chroma_sigma {opt.chroma_sigma}: expected pixels from 0 (off) to 8")
    side = face_crop_side(opt.wh)
    if side % 2 ** opt.face_n_downsample:
        raise UserError(f"--face_n_downsample {opt.face_n_downsample}: the {side}-pixel face crop at "
                        f"--size {opt.size} is not a multiple of {2 ** opt.face_n_downsample}; use fewer")
    if opt.lr <= 0:
        raise UserError(f"--lr {opt.lr}: must be positive")
    parse_vgg_weights(opt.vgg_weights)
    return opt


def build_parser():
    """An argparse parser with one flag per option; unset flags stay absent from the namespace."""
    parser = argparse.ArgumentParser(
        description="Train the pose-to-video model of the target person (pix2pixHD with temporal "
                    "smoothing and a face GAN). Defaults live in src/gan/options.py.",
        argument_default=argparse.SUPPRESS)
    comments = field_comments()
    defaults = TrainOptions()
    for field in dataclasses.fields(TrainOptions):
        help_text = comments[field.name].replace("%", "%%")
        default = getattr(defaults, field.name)
        if field.type in (bool, "bool"):
            parser.add_argument(f"--{field.name}", action=argparse.BooleanOptionalAction,
                                help=f"{help_text} (default: {default})")
        else:
            kind = {"int": int, "float": float, "str": str}.get(field.type, field.type)
            parser.add_argument(f"--{field.name}", type=kind, metavar=field.name.upper(),
                                help=f"{help_text} (default: {default!r})")
    return parser


def parse(argv=None):
    """Command line -> (TrainOptions, set of option names given on the command line)."""
    given = vars(build_parser().parse_args(argv))
    return make_options(**given), set(given)


def make_options(**overrides):
    """Defaults, then the preset named in `overrides` (if any), then `overrides`; validated."""
    preset = overrides.get("preset", TrainOptions.preset)
    if preset and preset not in PRESETS:
        raise UserError(f"--preset {preset!r}: expected one of {', '.join(PRESETS)}")
    values = dict(PRESETS.get(preset, {}))
    values.update(overrides)
    names = {f.name for f in dataclasses.fields(TrainOptions)}
    unknown = set(values) - names
    if unknown:
        raise UserError(f"unknown option(s) {', '.join(sorted(unknown))}")
    return validate(TrainOptions(**values))


# Values of options that a checkpoint may not record (it was written before the option existed): the
# networks it holds were built with these.
UNRECORDED = {"face_n_downsample": 2, "background": "none",  # before plate mode: the full frame
              "chroma_sigma": 0.0}  # before the chroma blur: none


def saved_options(saved):
    """A checkpoint's options as a dict of TrainOptions fields (unknown keys dropped)."""
    names = {f.name for f in dataclasses.fields(TrainOptions)}
    return {**UNRECORDED, **{k: v for k, v in saved.items() if k in names}}


def merge_with_checkpoint(saved, opt, given):
    """Options of a run that continues a checkpoint: the saved ones, changed by the flags in `given`.

    Flags in LOCKED_ON_RESUME must agree with the checkpoint (the networks and the held-out frames
    are fixed by it), except the face networks' for a new face stage (--face without --resume).
    """
    values = saved_options(saved)
    new_face_stage = opt.face and not opt.resume
    locked = [n for n in LOCKED_ON_RESUME if not (new_face_stage and n in FACE_NETWORK)]
    for name in sorted(given):
        if name in locked and name in values and values[name] != getattr(opt, name):
            raise UserError(f"--{name} {getattr(opt, name)!r}: the checkpoint was trained with "
                            f"{values[name]!r}; drop the flag, or start a new --name")
        if name != "preset":
            values[name] = getattr(opt, name)
    # What this run does, and where it stops, is never inherited from the run that wrote the checkpoint.
    for name in ("resume", "face", "load_pretrain", "max_steps", "max_minutes"):
        values[name] = getattr(opt, name)
    values["preset"] = saved.get("preset", "")
    return validate(TrainOptions(**values))
