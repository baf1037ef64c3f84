"""Alpha compositing of the generated person over the background plate (plate mode).

In plate mode the body generator has four output channels: colour (3, in [-1, 1]) and alpha (the
fourth channel's tanh mapped to [0, 1]). Inside the person-following window (src/gan/window.py):

    frame = alpha * colour + (1 - alpha) * plate

Alpha fades to 0 over the window's outer EDGE pixels, so the window's border never shows as a seam
when it moves; everything outside the window is the plate. Training, transfer and evaluation all
composite through composite() below.
"""
import torch

EDGE = 4  # pixels over which alpha fades to 0 at the window's border


def edge_taper(h, w, device=None):
    """(1, 1, h, w) weights: 0 on the border, rising linearly to 1 at EDGE pixels inside."""
    def ramp(n):
        r = ((torch.arange(n, device=device, dtype=torch.float32)) / EDGE).clamp(max=1.0)
        return torch.minimum(r, r.flip(0))
    return torch.minimum(ramp(h)[:, None], ramp(w)[None, :])[None, None]


def colour_and_alpha(out):
    """Generator output (N, 4, h, w) -> (colour (N, 3, h, w) in [-1, 1], alpha (N, 1, h, w) in [0, 1])."""
    h, w = out.shape[-2:]
    alpha = (out[:, 3:4].float() + 1) / 2 * edge_taper(h, w, out.device)
    return out[:, :3], alpha


def composite(out, plate, quantize=False):
    """(frame, alpha): the generator output `out` (N, 4, h, w) over `plate` (N or 1, 3, h, w).

    quantize=True rounds alpha to steps of 1/255 (as an 8-bit alpha): where it rounds to 0 the
    frame is the plate exactly, so the background does not shimmer at inference.
    """
    colour, alpha = colour_and_alpha(out)
    if quantize:
        alpha = torch.round(alpha * 255) / 255
    frame = alpha * colour.float() + (1 - alpha) * plate.float()
    return frame.to(out.dtype), alpha


def cut(images, corners, size):
    """Windows (N, C, h, w) of images (N, C, H, W) at corners (N, 2) x0, y0; size (w, h)."""
    w, h = size
    return torch.stack([img[:, int(y):int(y) + h, int(x):int(x) + w] for img, (x, y) in zip(images, corners)])


def paste_window(image, window, corner):
    """A copy of image (C, H, W) with window (C, h, w) written at corner (x0, y0)."""
    out = image.clone()
    x, y = int(corner[0]), int(corner[1])
    out[:, y:y + window.shape[-2], x:x + window.shape[-1]] = window
    return out
