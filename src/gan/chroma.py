"""Colour at a lower resolution than brightness: a Gaussian blur of the chroma of generated images.

A camera's video keeps colour at half the resolution of brightness (4:2:0), and a scene's colour
changes slowly anyway: in the real frames of a target, the colour of a 3x3 patch barely differs
from its median. A generator at a CPU budget draws pixel-sized colour noise instead (red and blue
dots on a face a dozen pixels wide). Blurring only the chroma of its output removes that noise and
keeps the brightness, where edges and features are, untouched.

The image (N, 3 or more, H, W) in RGB is split as BT.601 YCbCr, a linear map:
    Y  =  0.299 R + 0.587 G + 0.114 B
    Cb = -0.168736 R - 0.331264 G + 0.5 B
    Cr =  0.5 R - 0.418688 G - 0.081312 B
Cb and Cr are blurred with a separable Gaussian (sigma in pixels, 3 sigma each side, reflected at
the border) and mapped back (R = Y + 1.402 Cr, G = Y - 0.344136 Cb - 0.714136 Cr, B = Y + 1.772 Cb).
Y is kept exactly. Channels after the first three (plate mode's alpha) pass through. No weights:
it sits in the generators' output head and adds nothing to a checkpoint.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

TO_CHROMA = ((-0.168736, -0.331264, 0.5),     # Cb from R, G, B
             (0.5, -0.418688, -0.081312))     # Cr
FROM_CHROMA = ((0.0, 1.402),                  # R from Cb, Cr
               (-0.344136, -0.714136),        # G
               (1.772, 0.0))                  # B


def gaussian_taps(sigma):
    """The normalised 1-D Gaussian of `sigma` pixels over -ceil(3 sigma)..ceil(3 sigma)."""
    radius = math.ceil(3 * sigma)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return (taps / taps.sum()).float()


class ChromaBlur(nn.Module):
    """Blur the chroma (Cb, Cr) of the first three channels by a Gaussian of `sigma` pixels."""

    def __init__(self, sigma):
        super().__init__()
        self.sigma = float(sigma)
        taps = gaussian_taps(self.sigma)
        self.radius = len(taps) // 2
        self.register_buffer("taps", taps, persistent=False)
        self.register_buffer("to_chroma", torch.tensor(TO_CHROMA), persistent=False)
        self.register_buffer("from_chroma", torch.tensor(FROM_CHROMA), persistent=False)

    def forward(self, x):
        rgb, rest = x[:, :3], x[:, 3:]
        chroma = torch.einsum("cr,nrhw->nchw", self.to_chroma.to(rgb.dtype), rgb)
        blurred = self._blur(chroma)
        # Y is unchanged, so only the change in chroma goes back into R, G, B.
        rgb = rgb + torch.einsum("rc,nchw->nrhw", self.from_chroma.to(rgb.dtype), blurred - chroma)
        return torch.cat([rgb, rest], dim=1) if rest.shape[1] else rgb

    def _blur(self, chroma):
        r, taps = self.radius, self.taps.to(chroma.dtype)
        rows = taps.view(1, 1, 1, -1).expand(2, 1, 1, -1)
        cols = taps.view(1, 1, -1, 1).expand(2, 1, -1, 1)
        chroma = F.conv2d(F.pad(chroma, (r, r, 0, 0), mode="reflect"), rows, groups=2)
        return F.conv2d(F.pad(chroma, (0, 0, r, r), mode="reflect"), cols, groups=2)

    def extra_repr(self):
        return f"sigma={self.sigma}"
