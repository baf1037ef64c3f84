"""Discriminator augmentation: DiffAugment's translation and cutout (Zhao et al., "Differentiable
Augmentation for Data-Efficient GAN Training", 2020), for targets of a few hundred frames, where
the discriminator otherwise learns the training frames by heart and wins early.

Every input the discriminator sees in one step (the real pairs, the fake pairs for its own update,
the fake pairs for the generator's losses) is moved by the same random offset, up to TRANSLATE of
each side, with zeros shifted in, and has the same random square of CUTOUT of each side set to 0.
One draw per step keeps feature matching comparing the real and fake features of the same place.
Both operations are differentiable, so the generator learns through them; inference never sees them.
"""
import torch
import torch.nn.functional as F

TRANSLATE = 0.125   # the largest shift, as a share of the side (DiffAugment's 1/8)
CUTOUT = 0.5        # the hole's side, as a share of the image's (DiffAugment's)


def translate(x, dx, dy):
    """x (N, C, h, w) moved dx pixels right and dy down, zeros shifted in."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)))
    y0, x0 = max(-dy, 0), max(-dx, 0)
    return padded[..., y0:y0 + h, x0:x0 + w]


class Augment:
    """One draw of translation and cutout for inputs of `shape` (N, C, h, w), from the torch.Generator
    `rng` (the stage's own, saved in checkpoints, so a resumed run draws what the uninterrupted run
    drew); calling it applies that draw. enabled=False: the identity, and nothing is drawn."""

    def __init__(self, shape, rng, enabled=True):
        self.enabled = enabled
        if not enabled:
            return
        h, w = shape[-2:]
        sx, sy = round(TRANSLATE * w), round(TRANSLATE * h)
        self.dx = int(torch.randint(-sx, sx + 1, (), generator=rng))
        self.dy = int(torch.randint(-sy, sy + 1, (), generator=rng))
        ch, cw = round(CUTOUT * h), round(CUTOUT * w)
        cy = int(torch.randint(0, h - ch + 1, (), generator=rng))
        cx = int(torch.randint(0, w - cw + 1, (), generator=rng))
        self.keep = torch.ones(1, 1, h, w)
        self.keep[..., cy:cy + ch, cx:cx + cw] = 0

    def __call__(self, x):
        if not self.enabled:
            return x
        return translate(x, self.dx, self.dy) * self.keep.to(x.device, x.dtype)
