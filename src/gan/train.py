"""Training of the target person's model (Chan et al., "Everybody Dance Now", ICCV 2019).

Body stage, one step on a pair of consecutive frames (t, t+1):
    fake_t   = G(label_t,   zeros)          the first frame has no previous frame
    fake_t+1 = G(label_t+1, fake_t)         temporal smoothing: G sees its previous output
    D judges pairs: real (label_t, label_t+1, image_t, image_t+1) vs fake (..., fake_t, fake_t+1)
    G loss = LSGAN + 10 * feature matching + 10 * VGG16 perceptual;  D loss = LSGAN (real + fake) / 2
Plate mode (when make_target.py found a static camera; src/plate/background.py, src/plate/window.py): G draws
only a window that follows the person, as colour + alpha over the background plate, and every
frame above is that composite (src/plate/composite.py); G loss + lambda_alpha * L1(alpha, person mask).
Face stage (after the body stage, G frozen): a square crop around the face of each generated
frame is refined by the face generator, face = crop(fake) + F(crop(label), crop(fake)), judged by
its own discriminator against the real crop; F loss = LSGAN + 10 * feature matching + 10 * VGG16
perceptual (lambda_feat, lambda_face_vgg), the body's losses on the face pair. F's residual starts
at zero: refinement starts as the identity.
Adam (lr 2e-4, betas 0.5, 0.999). Learning rates as in pix2pixHD: the full rate, lowered by
lr / niter_decay at the end of each epoch after the first niter, so the last epoch runs at
lr / niter_decay; the face stage decays over its second half the same way.

Files in <checkpoints_dir>/<name>/: latest.pt, epoch_N.pt, face_epoch_N.pt (src/gan/checkpoint.py),
loss_log.csv, options.txt and web/index.html (src/gan/web.py). Under torchrun, rank 0 alone writes.
"""
import contextlib
import dataclasses
import math
import os
import time

import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from src.gan import checkpoint, losses, networks, web
from src import device as devices
from src.plate.composite import composite
from src.gan.options import merge_with_checkpoint
from src.gan.dataset import EpochSampler, PairDataset, TargetFrames, make_loader, plate_windows, split_indices
from src.gan.images import FACE_FEATHER, crop, paste, to_model, to_rgb
from src.errors import UserError
from src.io.files import remove_temporaries, write_bytes


class PairGenerator(nn.Module):
    """G applied to a pair of consecutive labels with the temporal feed.

    One module call per step, so that DistributedDataParallel sees one forward per backward.
    fake_t is not detached: the losses on fake_t+1 also train G to produce a previous frame that
    serves the next one, which is how G is used at inference (it feeds its own outputs).
    With a plate (plate mode) each frame is G's colour composited over it with G's alpha, and the
    composite is what the next frame is fed. Returns (fake_t, fake_t1, alpha_t, alpha_t1); the
    alphas are None without a plate.
    """

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def forward(self, label_t, label_t1, plate=None):
        fake_t, alpha_t = self._frame(torch.cat([label_t, torch.zeros_like(label_t)], dim=1), plate)
        fake_t1, alpha_t1 = self._frame(torch.cat([label_t1, fake_t.to(label_t1.dtype)], dim=1), plate)
        return fake_t, fake_t1, alpha_t, alpha_t1

    def _frame(self, inputs, plate):
        out = self.generator(inputs)
        return (out, None) if plate is None else composite(out, plate)


class FaceRefiner(nn.Module):
    """The face generator's refine() as a module call (for DistributedDataParallel)."""

    def __init__(self, face_generator):
        super().__init__()
        self.face_generator = face_generator

    def forward(self, label_crop, fake_crop):
        return self.face_generator.refine(label_crop, fake_crop)


def decayed_lr(lr, epoch, n_constant, n_decay):
    """pix2pixHD's schedule at 0-based `epoch`. pix2pixHD lowers the rate by lr / n_decay at the end of
    each epoch after the first n_constant, so epochs 0 ... n_constant run at `lr` and the last epoch
    (n_constant + n_decay - 1) runs at lr / n_decay; the rate never reaches 0."""
    if n_decay == 0:
        return lr
    return lr * (1.0 - max(0, epoch - n_constant) / n_decay)


def body_lr(opt, epoch):
    """Learning rate of body epoch `epoch` (0-based): decayed_lr with niter and niter_decay."""
    return decayed_lr(opt.lr, epoch, opt.niter, opt.niter_decay)


def face_lr(opt, epoch):
    """Learning rate of face epoch `epoch` (0-based): the body's schedule over face_epochs, split in
    half: face_epochs // 2 epochs at the full rate, then the decay over the rest."""
    half = opt.face_epochs // 2
    return decayed_lr(opt.lr, epoch, half, opt.face_epochs - half)


def _adam(params, opt):
    # The fused kernel updates every tensor in one pass: on the CPU the paper preset's Adam step
    # (180 M parameters) takes a fifth of the time of the per-tensor loop, with the same arithmetic.
    return torch.optim.Adam(params, lr=opt.lr, betas=(opt.beta1, 0.999), fused=True)


class Runtime:
    """Device-dependent settings shared by the stages: autocast, memory format, DDP wrapping."""

    def __init__(self, opt, dist):
        self.dist, self.device = dist, dist.device
        self.cuda = self.device.type == "cuda"
        self.bf16 = self.cuda and opt.bf16
        # channels_last speeds up cuDNN convolutions (tensor cores); on the CPU it only adds copies.
        self.memory_format = torch.channels_last if self.cuda else torch.contiguous_format
        if self.cuda:
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

    def autocast(self):
        if self.bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def place(self, module):
        return module.to(self.device, memory_format=self.memory_format)

    def ddp(self, module):
        """The module wrapped for DDP training (itself in a single process)."""
        if not self.dist.enabled:
            return module
        return DistributedDataParallel(module, device_ids=[self.device.index] if self.cuda else None)

    def batch(self, batch):
        """uint8 batch -> (label_t, label_t1, image_t, image_t1, boxes) on the device, in [-1, 1]."""
        label = to_model(batch["label"], self.device)
        image = to_model(batch["image"], self.device)
        fmt = lambda x: x.contiguous(memory_format=self.memory_format)  # noqa: E731
        return fmt(label[:, 0]), fmt(label[:, 1]), fmt(image[:, 0]), fmt(image[:, 1]), batch["box"]

    def plate_batch(self, batch):
        """Plate mode: (plate (N, 3, h, w) in [-1, 1], masks (N, 2, h, w) in [0, 1]); else (None, None)."""
        if "plate" not in batch:
            return None, None
        plate = to_model(batch["plate"], self.device).contiguous(memory_format=self.memory_format)
        return plate, batch["mask"][:, :, 0].to(self.device).float().div_(255)


def _loss_values(named, dist):
    """{name: float} of the step's losses, averaged over processes (one device sync per step)."""
    names = list(named)
    values = torch.stack([named[n].detach().float() for n in names])
    return dict(zip(names, devices.average(values, dist).tolist()))


class _GANStage:
    """What the body and face stages share: the discriminator update and the learning rate."""
    optims = ()

    def set_lr(self, lr):
        for optim in self.optims:
            for group in optim.param_groups:
                group["lr"] = lr

    def judge(self, D_train, real, fake):
        """D's predictions on real and (detached) fake inputs in one call, its graph kept for
        update_discriminator. Call it outside any other autocast block: leaving autocast drops the
        weight casts it cached, which would otherwise carry D's graph into the generator's backward."""
        with self.rt.autocast():
            return D_train(torch.cat([real, fake.detach()]))

    def generator_losses(self, D, preds, fake, num_D):
        """The generator's LSGAN and feature-matching losses on `fake`, judged by D frozen (the raw
        module, not the DDP one: D's own update is the only D backward of the step), against the
        real half of judge()'s predictions. Call inside autocast; D's gradients are back on after
        the generator's step."""
        n = len(fake)
        real_feats = [[f[:n].detach() for f in scale] for scale in preds]
        D.requires_grad_(False)
        fake_feats = D(fake)
        feat = losses.feature_matching_loss(fake_feats, real_feats, num_D, self.opt.n_layers_D)
        return self.gan(fake_feats, True), self.opt.lambda_feat * feat

    def update_discriminator(self, optD, preds, n):
        """One LSGAN step of D on judge()'s predictions (the first n real); returns (d_real, d_fake)."""
        d_real = self.gan([scale[-1][:n] for scale in preds], True)
        d_fake = self.gan([scale[-1][n:] for scale in preds], False)
        optD.zero_grad(set_to_none=True)
        (0.5 * (d_real + d_fake)).backward()
        optD.step()
        return d_real, d_fake


class BodyStage(_GANStage):
    """One optimisation step of G and D on a batch of frame pairs."""
    losses = ("G_GAN", "G_feat", "G_VGG", "D_real", "D_fake")  # and G_alpha in plate mode

    def __init__(self, opt, rt, G, D, vgg):
        self.opt, self.rt, self.G, self.D, self.vgg = opt, rt, G, D, vgg
        self.pair = rt.ddp(PairGenerator(G))
        self.D_train = rt.ddp(D)
        self.optG, self.optD = _adam(G.parameters(), opt), _adam(D.parameters(), opt)
        self.optims = (self.optG, self.optD)
        self.gan = losses.GANLoss()

    def step(self, batch):
        """Train on one batch; returns ({loss name: value}, sample images (label, fake, real))."""
        opt, rt, D = self.opt, self.rt, self.D
        label_t, label_t1, real_t, real_t1, _ = rt.batch(batch)
        plate, masks = rt.plate_batch(batch)
        with rt.autocast():
            fake_t, fake_t1, alpha_t, alpha_t1 = self.pair(label_t, label_t1, plate)
        real = torch.cat([label_t, label_t1, real_t, real_t1], dim=1)
        fake = torch.cat([label_t, label_t1, fake_t, fake_t1], dim=1)
        # D judges the real and the (detached) fake pairs once, as in pix2pixHD: the real half serves
        # feature matching now and, with the fake half, D's own update after G's.
        preds = self.judge(self.D_train, real, fake)
        n = real.shape[0]

        with rt.autocast():
            g_gan, g_feat = self.generator_losses(D, preds, fake, opt.num_D)
            g_vgg = (opt.lambda_vgg * self.vgg(torch.cat([fake_t, fake_t1]), torch.cat([real_t, real_t1]))
                     if opt.lambda_vgg > 0 else torch.zeros((), device=rt.device))
            # Plate mode: alpha follows the person mask (weakly: the other losses may still draw
            # what the mask misses, such as the shadow), so G cannot redraw the background.
            g_alpha = (opt.lambda_alpha * (torch.cat([alpha_t, alpha_t1], 1) - masks).abs().mean()
                       if plate is not None else torch.zeros((), device=rt.device))
            loss_G = g_gan + g_feat + g_vgg + g_alpha
        self.optG.zero_grad(set_to_none=True)
        loss_G.backward()
        self.optG.step()
        D.requires_grad_(True)

        d_real, d_fake = self.update_discriminator(self.optD, preds, n)

        named = {"G_GAN": g_gan, "G_feat": g_feat, "G_VGG": g_vgg, "D_real": d_real, "D_fake": d_fake}
        if plate is not None:
            named["G_alpha"] = g_alpha
        return named, (label_t1[0], fake_t1[0], real_t1[0])

    def state(self):
        return {"optG": self.optG.state_dict(), "optD": self.optD.state_dict()}

    def load_state(self, state):
        self.optG.load_state_dict(state["optG"])
        self.optD.load_state_dict(state["optD"])


class FaceStage(_GANStage):
    """One optimisation step of the face generator F and its discriminator; G is frozen."""
    losses = ("F_GAN", "F_feat", "F_VGG", "FD_real", "FD_fake")

    def __init__(self, opt, rt, G, FG, FD, vgg):
        self.opt, self.rt, self.FD, self.vgg = opt, rt, FD, vgg
        # G is frozen here by running it under no_grad (its weights stay trainable for the body stage).
        self.pair = PairGenerator(G)
        self.refiner = rt.ddp(FaceRefiner(FG))
        self.FD_train = rt.ddp(FD)
        self.optF, self.optFD = _adam(FG.parameters(), opt), _adam(FD.parameters(), opt)
        self.optims = (self.optF, self.optFD)
        self.gan = losses.GANLoss()

    def step(self, batch):
        opt, rt, FD = self.opt, self.rt, self.FD
        label_t, label_t1, real_t, real_t1, boxes = rt.batch(batch)
        plate, _ = rt.plate_batch(batch)
        with torch.no_grad(), rt.autocast():
            fake_t, fake_t1, _, _ = self.pair(label_t, label_t1, plate)  # as at inference: the temporal feed
        # Both frames of each pair are face samples.
        boxes = torch.cat([boxes[:, 0], boxes[:, 1]])
        fakes = torch.cat([fake_t, fake_t1]).float()
        labels, reals = torch.cat([label_t, label_t1]), torch.cat([real_t, real_t1])
        label_c, fake_c, real_c = crop(labels, boxes), crop(fakes, boxes), crop(reals, boxes)
        with rt.autocast():
            face = self.refiner(label_c, fake_c)
        real, fake = torch.cat([label_c, real_c], dim=1), torch.cat([label_c, face], dim=1)
        # The body stage's losses on the face pair (label crop, face crop): LSGAN, feature matching
        # against D's features of the real crop, and the perceptual loss.
        preds = self.judge(self.FD_train, real, fake)
        n = real.shape[0]
        with rt.autocast():
            f_gan, f_feat = self.generator_losses(FD, preds, fake, opt.face_num_D)
            f_vgg = (opt.lambda_face_vgg * self.vgg(face, real_c) if opt.lambda_face_vgg > 0
                     else torch.zeros((), device=rt.device))
            loss_F = f_gan + f_feat + f_vgg
        self.optF.zero_grad(set_to_none=True)
        loss_F.backward()
        self.optF.step()
        FD.requires_grad_(True)

        d_real, d_fake = self.update_discriminator(self.optFD, preds, n)

        k = len(label_t)  # first item, frame t+1: the whole frame with the refined face, and the crops
        refined = paste(fakes[k:k + 1], face[k:k + 1].detach().float(), boxes[k:k + 1], FACE_FEATHER)[0]
        sample = (labels[k], refined, reals[k], label_c[k], fake_c[k], face[k].detach(), real_c[k])
        named = {"F_GAN": f_gan, "F_feat": f_feat, "F_VGG": f_vgg, "FD_real": d_real, "FD_fake": d_fake}
        return named, sample

    def state(self):
        return {"optFG": self.optF.state_dict(), "optFD": self.optFD.state_dict()}

    def load_state(self, state):
        self.optF.load_state_dict(state["optFG"])
        self.optFD.load_state_dict(state["optFD"])


def _params(module):
    return sum(p.numel() for p in module.parameters())


class Trainer:
    """Sets up data, networks and state (fresh, resumed or pretrained) and runs the stages."""

    def __init__(self, opt, given, dist):
        self.dist, self.main = dist, dist.is_main
        self.dir = os.path.join(opt.checkpoints_dir, opt.name)
        self.latest = os.path.join(self.dir, checkpoint.LATEST)
        state = self._previous_state(opt, given)
        if state is not None:
            opt = merge_with_checkpoint(state["options"], opt, given)
        self.opt = opt
        self.rt = Runtime(opt, dist)
        self.stage, self.epoch, self.done, self.step = "body", 0, 0, 0
        self.saved_step = None  # step of the newest checkpoint on disk
        if state is not None:
            self.saved_step = state["step"]
            self.stage, self.epoch, self.done, self.step = (state["stage"], state["epoch"],
                                                            state["done"], state["step"])
            if opt.face and not (opt.resume and state["stage"] == "face"):
                # --face: a new face stage on the trained generator.
                self.stage, self.epoch, self.done = "face", 0, 0
                state = {k: v for k, v in state.items() if k not in ("faceG", "faceD", "optFG", "optFD")}
        elif opt.face or opt.niter + opt.niter_decay == 0:
            self.stage = "face"
        face_needed = opt.face_epochs > 0 or self.stage == "face"
        self.frames = TargetFrames(opt.dataroot, need_face_boxes=face_needed)
        (fw, fh), (w, h) = self.frames.track.size, opt.wh
        if abs((fw / fh) / (w / h) - 1) > 0.01:  # e.g. a portrait target at the landscape default
            raise UserError(f"{opt.dataroot}: the target's frames are {fw}x{fh}, but --size {opt.size} has "
                            f"another shape; pass a --size of the same shape, e.g. --size "
                            f"{fw // 2 // 16 * 16}x{fh // 2 // 16 * 16}")
        self.windows = self._plate_mode()
        opt = self.opt
        self.train_idx, self.held_idx = split_indices(len(self.frames), opt.holdout)
        self.dataset = PairDataset(self.frames, self.train_idx, opt.wh, flip=opt.flip, seed=opt.seed,
                                   windows=self.windows)
        if len(self.dataset) == 0:
            raise UserError(f"{opt.dataroot}: {len(self.train_idx)} training frame(s) make no pair of "
                            f"consecutive frames; use more frames or a smaller --holdout")
        self._build(state, face_needed)

    def _plate_mode(self):
        """PlateWindows in plate mode, else None; opt.background becomes 'plate' or 'none'."""
        opt = self.opt
        if opt.background == "none":
            return None
        multiple = 2 ** (opt.n_downsample + (opt.netG == "local"))
        windows, why = plate_windows(self.frames, opt.wh, multiple)
        if windows is None:
            if opt.background == "plate":
                raise UserError(f"{opt.dataroot}: no background plate ({why}); re-run make_target.py, "
                                f"or train on the full frame with --background none")
            if self.main:
                print(f"note: no background plate ({why}); training on the full frame")
            self.opt = dataclasses.replace(opt, background="none")
            return None
        self.opt = dataclasses.replace(opt, background="plate")
        return windows

    def _previous_state(self, opt, given):
        """The checkpoint this run continues (--resume / --face), or None for a fresh run."""
        if opt.resume or opt.face:
            if os.path.isfile(self.latest):
                return checkpoint.load(self.latest, require=checkpoint.TRAINING_KEYS)
            if opt.face:
                raise UserError(f"{self.latest}: not found; --face refines a trained generator: "
                                f"train one first (train_pose2vid.py --name {opt.name})")
            return None
        if os.path.isfile(self.latest):
            raise UserError(f"{self.latest}: a checkpoint exists; pass --resume to continue it, or start "
                            f"over under another --name (or after deleting {self.dir})")
        return None

    def _build(self, state, face_needed):
        opt, rt = self.opt, self.rt
        torch.manual_seed(opt.seed)  # the same initial weights on every process
        self.G, self.D = networks.build_generator(opt), networks.build_discriminator(opt)
        self.FG = self.FD = None
        if face_needed:
            torch.manual_seed(opt.seed + 1)  # face nets start alike whether or not the run was resumed
            self.FG, self.FD = networks.build_face_generator(opt), networks.build_face_discriminator(opt)
        if state is not None:
            self.G.load_state_dict(state["G"])
            self.D.load_state_dict(state["D"])
            if self.FG is not None and "faceG" in state:
                self.FG.load_state_dict(state["faceG"])
                self.FD.load_state_dict(state["faceD"])
        elif opt.load_pretrain:
            self._load_pretrain(opt.load_pretrain)
        for net in (self.G, self.D, self.FG, self.FD):
            if net is not None:
                rt.place(net)
        uses_vgg = opt.lambda_vgg > 0 or (face_needed and opt.lambda_face_vgg > 0)
        self.vgg = rt.place(losses.VGGLoss(opt.vgg_layer_weights)) if uses_vgg else None
        self.body = BodyStage(opt, rt, self.G, self.D, self.vgg)
        self.face = FaceStage(opt, rt, self.G, self.FG, self.FD, self.vgg) if self.FG is not None else None
        if state is not None:
            self.body.load_state(state)
            if self.face is not None and "optFG" in state:
                self.face.load_state(state)
            checkpoint.set_rng_state(state["rng"])

    def _load_pretrain(self, path):
        """Start from the weights of another checkpoint (a new schedule; nothing else is kept)."""
        file = checkpoint.checkpoint_file(path)
        state = checkpoint.load(file, hint="check --load_pretrain")
        pre = checkpoint.options_of(state)
        try:
            if self.opt.netG == "local" and pre.netG == "global":
                self.G.load_global(state["G"])
                what = "the global part of the local enhancer"
            elif self.opt.netG == pre.netG:
                self.G.load_state_dict(state["G"])
                self.D.load_state_dict(state["D"])
                what = "G and D"
                if self.FG is not None and "faceG" in state:
                    self.FG.load_state_dict(state["faceG"])
                    self.FD.load_state_dict(state["faceD"])
                    what += " and the face GAN"
            else:
                raise UserError(f"--load_pretrain {path}: a {pre.netG} model cannot start "
                                f"--netG {self.opt.netG}")
        except RuntimeError as err:  # shape mismatch
            first = str(err).strip().splitlines()[-1].strip()
            raise UserError(f"--load_pretrain {path}: its networks do not fit these options ({first}); "
                            f"use that run's --ngf/--n_downsample/--n_blocks/--ndf/--num_D") from None
        if self.main:
            print(f"initialised {what} from {file}")

    # --- bookkeeping ---

    def _state(self):
        state = {"options": dataclasses.asdict(self.opt), "stage": self.stage, "epoch": self.epoch,
                 "done": self.done, "step": self.step, "rng": checkpoint.rng_state(),
                 "G": self.G.state_dict(), "D": self.D.state_dict(), **self.body.state()}
        if self.windows is not None:  # what inference needs to composite: the plate and window size
            state.update(plate=torch.from_numpy(self.windows.plate.copy()),
                         frame_plate=torch.from_numpy(self.windows.frame_plate.copy()),
                         window=torch.tensor(self.windows.size))
        if self.face is not None and self.stage == "face":
            state.update(faceG=self.FG.state_dict(), faceD=self.FD.state_dict(), **self.face.state())
        return state

    def save(self, epoch_file=None):
        if self.main:
            state = self._state()
            checkpoint.save(self.latest, state)
            if epoch_file:
                checkpoint.save(os.path.join(self.dir, epoch_file), state)
        self.saved_step = self.step

    def _check_finite(self, values):
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if not bad:
            return
        kind = "NaN" if any(math.isnan(v) for v in bad.values()) else "Inf"
        kept = (f"the last good checkpoint is kept at {self.latest} (step {self.saved_step})"
                if self.saved_step is not None else "no checkpoint had been saved yet")
        losses_text = ", ".join(f"{k}={v}" for k, v in bad.items())
        raise UserError(f"loss became {kind} at step {self.step} ({losses_text}); "
                        f"training stopped; {kept}; lower --lr (now {self.opt.lr:g}) and continue with "
                        f"--resume, or check the data")

    def _sample(self, images):
        """Write a sample row (label | generated | real [| face crops]) and refresh the page."""
        rgb = [to_rgb(img) for img in images]
        if len(rgb) > 3:  # face stage: enlarge the crops to the frame height so faces are visible
            h = rgb[0].shape[0]
            import cv2
            rgb = rgb[:3] + [cv2.resize(c, (h, h), interpolation=cv2.INTER_NEAREST) for c in rgb[3:]]
        web.write_sample_row(self.web_dir, self.step, *rgb)
        self._page()

    def _page(self, status=""):
        try:
            web.update_page(self.web_dir, f"{self.opt.name}: training", self.log.path, status)
        except Exception as err:  # the page is a view of the run: it must never end a long training
            print(f"\nwarning: could not update {self.web_dir}/index.html ({type(err).__name__}: {err})")

    # --- the run ---

    def run(self):
        opt, main = self.opt, self.main
        self.web_dir = os.path.join(self.dir, "web")
        self.started, self.stopped = time.perf_counter(), None  # for --max_minutes
        if main:
            os.makedirs(self.dir, exist_ok=True)
            for folder in (self.dir, self.web_dir, os.path.join(self.web_dir, "images")):
                remove_temporaries(folder)   # a run killed mid-write left these
            write_bytes(os.path.join(self.dir, "options.txt"),
                        "".join(f"{k} = {v!r}\n" for k, v in dataclasses.asdict(opt).items()).encode())
            self.log = web.LossLog(os.path.join(self.dir, "loss_log.csv"))
            self.log.truncate(self.step)  # a resumed run re-trains the steps after its checkpoint
            web.prune_samples(self.web_dir, self.step)
            self._announce()
        try:
            if self.stage == "body":
                if self._run_stage("body", opt.niter + opt.niter_decay):
                    return self._finish(self.stopped)
                if self.face is not None and opt.face_epochs > 0:
                    self.stage, self.epoch, self.done = "face", 0, 0
            if self.stage == "face" and self._run_stage("face", opt.face_epochs):
                return self._finish(self.stopped)
        except KeyboardInterrupt:
            if main:
                kept = (f"{self.latest} (step {self.saved_step}) is kept" if self.saved_step is not None
                        else "no checkpoint was saved yet")
                print(f"\ninterrupted at step {self.step}; {kept}; continue with: "
                      f"python train_pose2vid.py --name {opt.name} --resume")
            raise
        return self._finish("finished")

    def _announce(self):
        opt, dist = self.opt, self.dist
        w, h = opt.wh
        print(f"data: {len(self.frames)} frames in {opt.dataroot}, {len(self.train_idx)} for training "
              f"({len(self.dataset)} pairs), {len(self.held_idx)} held out; training at {w}x{h}")
        nets = f"G ({opt.netG}) {_params(self.G) / 1e6:.2f} M parameters, D {_params(self.D) / 1e6:.2f} M"
        if self.FG is not None:
            nets += f", face G {_params(self.FG) / 1e6:.2f} M, face D {_params(self.FD) / 1e6:.2f} M"
        print(f"networks: {nets}")
        if self.windows is not None:
            (ww, wh), share = self.windows.size, self.windows.point_share
            print(f"plate mode: G draws a {ww}x{wh} window that follows the person ({ww * wh / (w * h):.0%} "
                  f"of the frame; it holds {share:.1%} of the keypoints) over the background plate")
        precision = "bf16 autocast" if self.rt.bf16 else "float32"
        print(f"device: {self.rt.device} ({precision}), {dist.world} process(es), batch {opt.batch_size} "
              f"pair(s) per process")
        where = "resuming" if self.saved_step is not None else "writing"
        print(f"{where} {self.dir}/ at step {self.step} ({self.stage} stage, epoch {self.epoch + 1}); "
              f"samples on {os.path.join(self.web_dir, 'index.html')}")

    def _finish(self, how):
        if self.main:
            self._page(f"{how} at step {self.step} ({self.stage} stage, epoch {self.epoch})")
            print(f"{how} at step {self.step}; checkpoint {self.latest}")
        return {"step": self.step, "stage": self.stage, "epoch": self.epoch, "checkpoint": self.latest}

    def _run_stage(self, stage, n_epochs):
        """Train `stage` until n_epochs are complete; True when --max_steps or --max_minutes stopped
        it first (self.stopped says which)."""
        opt, dist = self.opt, self.dist
        trainer = self.body if stage == "body" else self.face
        sampler = EpochSampler(self.dataset, dist.world, dist.rank, opt.seed)
        loader = make_loader(self.dataset, sampler, opt.batch_size, opt.num_workers, self.rt.cuda)
        per_epoch = math.ceil(sampler.num_samples / opt.batch_size)
        if self.epoch >= n_epochs:
            return False
        if opt.max_steps and self.step >= opt.max_steps:
            self.stopped = "stopped at --max_steps"
            return True
        done_steps = self.epoch * per_epoch + math.ceil(self.done / opt.batch_size)
        bar = tqdm(total=n_epochs * per_epoch, initial=done_steps, desc=stage, unit="step",
                   disable=not self.main, dynamic_ncols=True)
        rate = None
        try:
            while self.epoch < n_epochs:
                lr = body_lr(opt, self.epoch) if stage == "body" else face_lr(opt, self.epoch)
                trainer.set_lr(lr)
                sampler.start_epoch(self.epoch, skip=self.done)
                self.dataset.epoch = self.epoch
                tic = time.perf_counter()
                for batch in loader:
                    named, sample = trainer.step(batch)
                    self.step += 1
                    self.done += len(batch["index"])
                    values = _loss_values(named, dist)
                    self._check_finite(values)
                    # Loading and the step count towards the speed, writing samples and saving do not.
                    speed = len(batch["index"]) * dist.world / (time.perf_counter() - tic)
                    rate = speed if rate is None else 0.9 * rate + 0.1 * speed
                    if self.main:
                        self.log.append({"step": self.step, "stage": stage, "epoch": self.epoch + 1,
                                         "lr": lr, **values, "samples_per_s": speed})
                        bar.set_postfix_str(" ".join(f"{k} {v:.3f}" for k, v in values.items())
                                            + f" | {rate:.2f} samples/s", refresh=False)
                        bar.update(1)
                        if self.step % opt.display_freq == 0 or self.step == 1:
                            self._sample(sample)
                    if opt.max_steps and self.step >= opt.max_steps:
                        self.stopped = "stopped at --max_steps"
                    elif opt.max_minutes and time.perf_counter() - self.started > 60 * opt.max_minutes:
                        self.stopped = f"stopped after --max_minutes {opt.max_minutes:g}"
                    if self.stopped:
                        self.save()
                        return True
                    if self.step % opt.save_latest_freq == 0:
                        self.save()
                    tic = time.perf_counter()
                self.epoch += 1
                self.done = 0
                prefix = "epoch" if stage == "body" else "face_epoch"
                keep = self.epoch % opt.save_epoch_freq == 0
                self.save(f"{prefix}_{self.epoch}.pt" if keep else None)
            return False
        finally:
            bar.close()


def train(opt, given=frozenset()):
    """Train as `opt` says (`given`: the option names set on the command line, which win over a
    resumed checkpoint's options). Returns {'step', 'stage', 'epoch', 'checkpoint'}."""
    dist = devices.setup(opt.device)
    try:
        return Trainer(opt, set(given), dist).run()
    finally:
        devices.teardown(dist)
