"""Checkpoints: everything an exact resume needs, written atomically.

A checkpoint is one torch file (a dict of tensors and plain values, loaded with weights_only=True):
  options     the TrainOptions of the run (a dict); they rebuild the networks
  G, D        body generator and discriminator state_dicts; optG, optD their Adam states
  G_ema       the moving average of G's weights (--ema_decay): what makes frames when present
  faceG, faceD, optFG, optFD   the face GAN (absent before the face stage starts)
  stage       'body' or 'face': the stage being trained
  epoch       epochs of that stage completed; done: samples of the next epoch already trained
              on (by each process), skipped when resuming in the middle of an epoch
  step        global step count (both stages); lr: the learning rate of the next step
  rng         python, numpy, torch CPU (and CUDA) random states; augment_rng: the body stage's
              discriminator-augmentation generator (src/gan/augment.py)
  plate, window   plate mode only: the background plate (H, W, 3) uint8 at the training size and
              the window's (w, h); frame_plate: the plate at the target's frame size
The data order needs no state of its own: each epoch's permutation comes from seed + epoch.
Files in <checkpoints_dir>/<name>/: latest.pt (always the newest), epoch_N.pt every
save_epoch_freq body epochs and face_epoch_N.pt for the face stage.
"""
import os
import random

import numpy as np
import torch

from src.errors import UserError
from src.gan.options import TrainOptions, saved_options
from src.io.files import atomic_path

LATEST = "latest.pt"


def checkpoint_file(checkpoint_dir, which="latest"):
    """Path of checkpoint `which` ('latest', 'epoch_N', 'face_epoch_N' or a .pt path) in a folder."""
    if str(which).endswith(".pt") and os.path.isfile(which):
        return which
    if os.path.isfile(checkpoint_dir) and checkpoint_dir.endswith(".pt"):
        return checkpoint_dir
    return os.path.join(checkpoint_dir, f"{which}.pt")


def save(path, state):
    """Write `state` atomically: a kill during the save leaves the previous file as it was."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


# What generating frames needs, and what resuming training needs (train.Trainer._state); the
# face stage adds faceG, faceD and their optimisers.
INFERENCE_KEYS = ("options", "step", "G")
TRAINING_KEYS = INFERENCE_KEYS + ("stage", "epoch", "done", "rng", "D", "optG", "optD")


def frame_generator(state):
    """The generator weights that make frames: the moving average when training kept one."""
    return state.get("G_ema", state["G"])


def load(path, hint="run train_pose2vid.py first", require=()):
    """Read a checkpoint onto the CPU; UserError when it is missing or unreadable."""
    if not os.path.isfile(path):
        folder = os.path.dirname(path) or "."
        raise UserError(f"{path}: no checkpoint in {folder}; {hint}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated file, not a torch file, foreign pickle
        raise UserError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err}); "
                        f"delete it and use another checkpoint") from None
    missing = [k for k in require if not isinstance(state, dict) or k not in state]
    if missing:
        raise UserError(f"{path}: not a checkpoint of this version of train_pose2vid.py (no "
                        f"{', '.join(missing)}); train again under another --name")
    return state


def options_of(state):
    """The TrainOptions stored in a checkpoint (unknown keys from other versions are dropped)."""
    return TrainOptions(**saved_options(state["options"]))


def rng_state():
    """All random states that training touches, as tensors and plain values."""
    np_state = np.random.get_state()
    state = {"python": random.getstate(),
             "numpy": (np_state[0], torch.from_numpy(np_state[1].copy()), *map(_plain, np_state[2:])),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def set_rng_state(state):
    random.setstate(_tuples(state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"][:torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda_states)


def _tuples(value):
    """random.setstate needs tuples where torch.load may give lists."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def load_pretrained(path, netG, G, D, FG=None, FD=None):
    """Start G and D (and the face pair, when given and present) from the weights of another
    checkpoint, for --load_pretrain: a new schedule, nothing else is kept. A global generator's
    weights start the global part of a local enhancer. Returns (what was loaded, the file)."""
    file = checkpoint_file(path)
    state = load(file, hint="check --load_pretrain")
    pre = options_of(state)
    try:
        if netG == "local" and pre.netG == "global":
            G.load_global(state["G"])
            what = "the global part of the local enhancer"
        elif netG == pre.netG:
            G.load_state_dict(state["G"])
            D.load_state_dict(state["D"])
            what = "G and D"
            if FG is not None and "faceG" in state:
                FG.load_state_dict(state["faceG"])
                FD.load_state_dict(state["faceD"])
                what += " and the face GAN"
        else:
            raise UserError(f"--load_pretrain {path}: a {pre.netG} model cannot start --netG {netG}")
    except RuntimeError as err:  # shape mismatch
        first = str(err).strip().splitlines()[-1].strip()
        raise UserError(f"--load_pretrain {path}: its networks do not fit these options ({first}); "
                        f"use that run's --ngf/--n_downsample/--n_blocks/--ndf/--num_D") from None
    return what, file
