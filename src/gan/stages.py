"""One training step of each stage, the learning-rate schedules and where the step runs (device,
bf16, DDP): what train.py's Trainer repeats.

Body stage, one step on a pair of consecutive frames (t, t+1):
    fake_t   = G(label_t,   zeros)          the first frame has no previous frame
    fake_t+1 = G(label_t+1, fake_t)         temporal smoothing: G sees its previous output
    D judges pairs: real (label_t, label_t+1, image_t, image_t+1) vs fake (..., fake_t, fake_t+1)
    G loss = LSGAN + 10 * feature matching + 10 * VGG16 perceptual (+ lambda_l1 * L1 to the real
    frames with --lambda_l1);  D loss = LSGAN (real + fake) / 2
    With --d_augment, D sees every pair of the step moved and cut alike (src/gan/augment.py).
    With --r1_gamma, D loss + r1_gamma / 2 * |grad of D at the real pairs|^2 (R1), every R1_EVERY
    steps weighted R1_EVERY times.
    With --ema_decay, a moving average of G's weights follows each step (src/gan/ema.py); it, not
    G, makes the frames, the face stage's included.
Plate mode (when make_target.py found a static camera; src/pose/background.py, src/gan/window.py): G draws
only a window that follows the person, as colour + alpha over the background plate, and every
frame above is that composite (src/gan/composite.py); G loss + lambda_alpha * L1(alpha, person mask),
weighed 10x away from the person and left out under the feet, where shadows and reflections are the
generator's to draw (losses.alpha_loss).
Face stage (after the body stage, G frozen): a square crop around the face of each generated
frame is refined by the face generator, face = crop(fake) + F(crop(label), crop(fake)), judged by
its own discriminator against the real crop; F loss = LSGAN + 10 * feature matching + 10 * VGG16
perceptual (lambda_feat, lambda_face_vgg), the body's losses on the face pair. F's residual starts
at zero: refinement starts as the identity.
Adam (lr 2e-4, betas 0.5, 0.999). Learning rates as in pix2pixHD: the full rate, lowered by
lr / niter_decay at the end of each epoch after the first niter, so the last epoch runs at
lr / niter_decay; the face stage decays over its second half the same way.
"""

import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from src import device as devices
from src.gan import losses
from src.gan.augment import Augment
from src.gan.composite import composite
from src.gan.ema import WeightAverage
from src.gan.images import FACE_FEATHER, crop, paste, to_model


# Lazy R1 (as in StyleGAN2): the penalty every 16th step at 16 times the weight pulls D as hard
# on average for a sixteenth of the extra passes.
R1_EVERY = 16


def r1_penalty(D, real):
    """R1 (Mescheder et al., 2018): the squared norm of the gradient of D's output, summed over its
    patches and scales, at the real inputs (N, C, H, W); the batch's mean."""
    real = real.detach().requires_grad_(True)
    out = sum(scale[-1].float().sum() for scale in D(real))
    grad, = torch.autograd.grad(out, real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


class PairGenerator(nn.Module):
    """G applied to a pair of consecutive labels with the temporal feed.

    One module call per step, so that DistributedDataParallel sees one forward per backward.
    fake_t is not detached: the losses on fake_t+1 also train G to produce a previous frame that
    serves the next one, which is how G is used at inference (it feeds its own outputs).
    With a plate (plate mode) each frame is G's colour composited over it with G's alpha, and the
    composite is what the next frame is fed, alpha gated by the drawn pose when `gate` (see
    src/gan/composite.py). Returns (fake_t, fake_t1, alpha_t, alpha_t1); the alphas are None
    without a plate.
    """

    def __init__(self, generator, gate=False):
        super().__init__()
        self.generator, self.gate = generator, gate

    def forward(self, label_t, label_t1, plate=None):
        fake_t, alpha_t = self._frame(torch.cat([label_t, torch.zeros_like(label_t)], dim=1), plate)
        fake_t1, alpha_t1 = self._frame(torch.cat([label_t1, fake_t.to(label_t1.dtype)], dim=1), plate)
        return fake_t, fake_t1, alpha_t, alpha_t1

    def _frame(self, inputs, plate):
        out = self.generator(inputs)
        if plate is None:
            return out, None
        return composite(out, plate, label=inputs[:, :3] if self.gate else None)


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
        self.bf16 = opt.bf16 and devices.bf16_is_fast(self.device)
        # channels_last speeds up cuDNN convolutions (tensor cores); on the CPU it only adds copies.
        self.memory_format = torch.channels_last if self.cuda else torch.contiguous_format
        if self.cuda:
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

    def autocast(self):
        return devices.autocast(self.device, self.bf16)

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


def loss_values(named, dist):
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

    def update_discriminator(self, optD, preds, n, extra=0.0):
        """One LSGAN step of D on judge()'s predictions (the first n real), plus any `extra` loss
        term; returns (d_real, d_fake)."""
        d_real = self.gan([scale[-1][:n] for scale in preds], True)
        d_fake = self.gan([scale[-1][n:] for scale in preds], False)
        optD.zero_grad(set_to_none=True)
        (0.5 * (d_real + d_fake) + extra).backward()
        optD.step()
        return d_real, d_fake


class BodyStage(_GANStage):
    """One optimisation step of G and D on a batch of frame pairs."""

    def __init__(self, opt, rt, G, D, vgg):
        self.opt, self.rt, self.G, self.D, self.vgg = opt, rt, G, D, vgg
        self.pair = rt.ddp(PairGenerator(G, gate=opt.alpha_gate))
        self.D_train = rt.ddp(D)
        self.optG, self.optD = _adam(G.parameters(), opt), _adam(D.parameters(), opt)
        self.optims = (self.optG, self.optD)
        self.gan = losses.GANLoss()
        self.augment_rng = torch.Generator().manual_seed(opt.seed)
        self.steps = 0   # steps taken, for the lazy R1 penalty and the average's ramp
        self.ema = WeightAverage(G, opt.ema_decay) if opt.ema_decay > 0 else None
        self.alex = rt.place(losses.AlexLoss()) if opt.lambda_alex > 0 else None

    @property
    def frame_generator(self):
        """The generator that makes frames: the moving average of G's weights, or G."""
        return self.G if self.ema is None else self.ema.net

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
        augment = Augment(real.shape, self.augment_rng, opt.d_augment)
        preds = self.judge(self.D_train, augment(real), augment(fake))
        n = real.shape[0]

        with rt.autocast():
            g_gan, g_feat = self.generator_losses(D, preds, augment(fake), opt.num_D)
            fakes, reals = torch.cat([fake_t, fake_t1]), torch.cat([real_t, real_t1])
            g_vgg = (opt.lambda_vgg * self.vgg(fakes, reals)
                     if opt.lambda_vgg > 0 else torch.zeros((), device=rt.device))
            g_l1 = opt.lambda_l1 * losses.pixel_loss(fakes, reals) if opt.lambda_l1 > 0 else None
            g_alex = opt.lambda_alex * self.alex(fakes, reals) if self.alex is not None else None
            # Plate mode: alpha follows the person mask (near it weakly: the other losses may still
            # draw what the mask misses, such as hair), so G cannot redraw the background.
            g_alpha = (opt.lambda_alpha * losses.alpha_loss(torch.cat([alpha_t, alpha_t1], 1), masks)
                       if plate is not None else torch.zeros((), device=rt.device))
            loss_G = g_gan + g_feat + g_vgg + g_alpha + sum(g for g in (g_l1, g_alex) if g is not None)
        self.optG.zero_grad(set_to_none=True)
        loss_G.backward()
        self.optG.step()
        if self.ema is not None:
            self.ema.update(self.G, self.steps)
        D.requires_grad_(True)

        r1 = None
        if opt.r1_gamma > 0 and self.steps % R1_EVERY == 0:
            with rt.autocast():
                r1 = r1_penalty(self.D_train, augment(real))
        d_real, d_fake = self.update_discriminator(
            self.optD, preds, n, 0.0 if r1 is None else 0.5 * opt.r1_gamma * R1_EVERY * r1)
        self.steps += 1

        named = {"G_GAN": g_gan, "G_feat": g_feat, "G_VGG": g_vgg, "D_real": d_real, "D_fake": d_fake}
        if g_l1 is not None:
            named["G_L1"] = g_l1
        if g_alex is not None:
            named["G_Alex"] = g_alex
        if plate is not None:
            named["G_alpha"] = g_alpha
        return named, (label_t1[0], fake_t1[0], real_t1[0])

    def state(self):
        state = {"optG": self.optG.state_dict(), "optD": self.optD.state_dict(),
                 "augment_rng": self.augment_rng.get_state(), "steps": self.steps}
        if self.ema is not None:
            state["G_ema"] = self.ema.net.state_dict()
        return state

    def load_state(self, state):
        self.optG.load_state_dict(state["optG"])
        self.optD.load_state_dict(state["optD"])
        if "augment_rng" in state:
            self.augment_rng.set_state(state["augment_rng"])
        self.steps = state.get("steps", 0)
        if self.ema is not None and "G_ema" in state:  # else the average starts from G as loaded
            self.ema.net.load_state_dict(state["G_ema"])


class FaceStage(_GANStage):
    """One optimisation step of the face generator F and its discriminator; G is frozen."""

    def __init__(self, opt, rt, G, FG, FD, vgg):
        self.opt, self.rt, self.FD, self.vgg = opt, rt, FD, vgg
        # G is frozen here by running it under no_grad (its weights stay trainable for the body stage).
        self.pair = PairGenerator(G, gate=opt.alpha_gate)
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
