"""Training of the target person's model (Chan et al., "Everybody Dance Now", ICCV 2019).

The steps, the schedules and the losses of the body and face stages are src/gan/stages.py; this
module sets a run up (fresh, resumed or from pretrained weights), runs the epochs, saves
checkpoints and keeps the log and the web page.

Files in <checkpoints_dir>/<name>/: latest.pt, epoch_N.pt, face_epoch_N.pt (src/gan/checkpoint.py),
loss_log.csv, options.txt and web/index.html (src/gan/web.py). Under torchrun, rank 0 alone writes.
"""
import dataclasses
import math
import os
import time

import torch
from tqdm import tqdm

from src import device as devices
from src.errors import UserError
from src.gan import checkpoint, losses, networks, web
from src.gan.dataset import (EpochSampler, PairDataset, TargetFrames, make_loader, plate_windows,
                             split_indices)
from src.gan.images import to_rgb
from src.gan.options import merge_with_checkpoint
from src.gan.stages import BodyStage, FaceStage, Runtime, body_lr, face_lr, loss_values
from src.io.files import remove_temporaries, write_bytes


def _params(module):
    return sum(p.numel() for p in module.parameters())


class Trainer:
    """Sets up data, networks and state (fresh, resumed or pretrained) and runs the stages.

    One class of about 270 lines, because set-up, the epoch loop, saving and the web page all read
    and advance the same run state (stage, epoch, step, networks, optimisers); the steps themselves
    are src/gan/stages.py, and no method is longer than about 60 lines.
    """

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
            what, file = checkpoint.load_pretrained(opt.load_pretrain, opt.netG, self.G, self.D,
                                                    self.FG, self.FD)
            if self.main:
                print(f"initialised {what} from {file}")
        for net in (self.G, self.D, self.FG, self.FD):
            if net is not None:
                rt.place(net)
        uses_vgg = opt.lambda_vgg > 0 or (face_needed and opt.lambda_face_vgg > 0)
        self.vgg = rt.place(losses.VGGLoss(opt.vgg_layer_weights)) if uses_vgg else None
        self.body = BodyStage(opt, rt, self.G, self.D, self.vgg)
        if state is not None:
            self.body.load_state(state)
        # The face stage refines the frames of the generator that makes them.
        self.face = (FaceStage(opt, rt, self.body.frame_generator, self.FG, self.FD, self.vgg)
                     if self.FG is not None else None)
        if state is not None:
            if self.face is not None and "optFG" in state:
                self.face.load_state(state)
            checkpoint.set_rng_state(state["rng"])

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
        loader = make_loader(self.dataset, sampler, opt.batch_size, opt.num_workers, self.rt.cuda,
                             opt.seed)
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
                    values = loss_values(named, dist)
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
