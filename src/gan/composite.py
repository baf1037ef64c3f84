"""Alpha compositing of the generated person over the background plate (plate mode).

In plate mode the body generator has four output channels: colour (3, in [-1, 1]) and alpha (the
fourth channel's tanh mapped to [0, 1]). Inside the person-following window (src/gan/window.py):

    frame = alpha * colour + (1 - alpha) * plate

Alpha fades to 0 over the window's outer EDGE pixels, so the window's border never shows as a seam
when it moves; everything outside the window is the plate. Given the window's label, alpha is also
gated by the drawn pose (pose_gate): 0 beyond GATE_REACH of the stick figure, so a generator that
has not learnt alpha = 0 everywhere cannot leave dust or a haze over the plate far from the person,
least of all in poses it never saw. Below the figure's lowest drawn pixel (the feet) the gate holds the
contact shadow, then fades out (floor_fade): a floor's reflection of the legs fades instead of ending in
a line, and no dust is drawn far under the feet.
Training, transfer and evaluation all composite through composite() below.
"""
import torch
import torch.nn.functional as F

EDGE = 4  # pixels over which alpha fades to 0 at the window's border
GATE_REACH = 0.10    # share of the window's height: how far from the drawn pose alpha may be non-zero
GATE_FEATHER = 0.03  # share of the window's height over which the gate fades
FLOOR_HOLD = 0.04    # share of the drawn figure's height below its lowest pixel where the gate stays open
FLOOR_END = 0.12     # ... and where it has faded linearly to 0
DRAWN = 0.9          # label values (in [-1, 1]) below this in some channel are the stick figure, not its white ground


def edge_taper(h, w, device=None):
    """(1, 1, h, w) weights: 0 on the border, rising linearly to 1 at EDGE pixels inside."""
    def ramp(n):
        r = ((torch.arange(n, device=device, dtype=torch.float32)) / EDGE).clamp(max=1.0)
        return torch.minimum(r, r.flip(0))
    return torch.minimum(ramp(h)[:, None], ramp(w)[None, :])[None, None]


def _grow(x, up, down, side):
    """Binary maps (N, 1, h, w) grown `up`, `down` and `side` pixels (a rectangle, row then column)."""
    x = F.max_pool2d(F.pad(x, (0, 0, down, up)), (up + down + 1, 1), stride=1)
    return F.max_pool2d(F.pad(x, (side, side, 0, 0)), (1, 2 * side + 1), stride=1)


def _blur(x, r):
    """Box blur of (N, 1, h, w) over (2r + 1)^2, edges replicated (row then column)."""
    x = F.avg_pool2d(F.pad(x, (0, 0, r, r), mode="replicate"), (2 * r + 1, 1), stride=1)
    return F.avg_pool2d(F.pad(x, (r, r, 0, 0), mode="replicate"), (1, 2 * r + 1), stride=1)


def floor_fade(drawn):
    """(N, 1, h, 1) weights per row for drawn-figure maps (N, 1, h, w): 1 down to FLOOR_HOLD x the
    figure's height (its top drawn row to its lowest) below its lowest drawn row, falling linearly
    to 0 at FLOOR_END x that height. Shadows and reflections scale with the person, not the window."""
    h = drawn.shape[-2]
    rows = torch.arange(h, device=drawn.device, dtype=torch.float32)
    present = drawn.amax(-1) > 0                                       # (N, 1, h)
    bottom = torch.where(present, rows, torch.full_like(rows, -1)).amax(-1, keepdim=True)
    top = torch.where(present, rows, torch.full_like(rows, h)).amin(-1, keepdim=True)
    height = (bottom - top + 1).clamp(min=1)
    below = rows - bottom                                              # rows under the lowest drawn one
    fade = 1 - (below - FLOOR_HOLD * height) / ((FLOOR_END - FLOOR_HOLD) * height)
    return fade.clamp(0, 1)[..., None]


def pose_gate(label):
    """(N, 1, h, w) in [0, 1] for window labels (N, 3, h, w) in [-1, 1] (white ground): 1 within
    GATE_REACH x h of the drawn pose (a square around each drawn pixel), fading to 0 over
    2 GATE_FEATHER x h across that border, and under the figure's lowest drawn pixel faded out by
    floor_fade. The stick figure's bones run inside the limbs, so the reach covers the person's
    outline, loose hair and clothes."""
    h = label.shape[-2]
    drawn = (label.float().amin(1, keepdim=True) < DRAWN).float()
    reach = round(GATE_REACH * h)
    return _blur(_grow(drawn, reach, reach, reach), max(1, round(GATE_FEATHER * h))) * floor_fade(drawn)


def colour_and_alpha(out, label=None):
    """Generator output (N, 4, h, w) -> (colour (N, 3, h, w) in [-1, 1], alpha (N, 1, h, w) in [0, 1]);
    with the window's label (N, 3, h, w), alpha is gated by the drawn pose (pose_gate)."""
    h, w = out.shape[-2:]
    alpha = (out[:, 3:4].float() + 1) / 2 * edge_taper(h, w, out.device)
    if label is not None:
        alpha = alpha * pose_gate(label)
    return out[:, :3], alpha


def composite(out, plate, label=None, quantize=False):
    """(frame, alpha): the generator output `out` (N, 4, h, w) over `plate` (N or 1, 3, h, w),
    alpha gated by the drawn pose when the window's `label` is given (see pose_gate).

    quantize=True rounds alpha to steps of 1/255 (as an 8-bit alpha): where it rounds to 0 the
    frame is the plate exactly, so the background does not shimmer at inference.
    """
    colour, alpha = colour_and_alpha(out, label)
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
