"""How cleanly a plate-mode model leaves the background alone.

- speckle: the share of the pixels outside the person's box (the keypoints' box, its sides moved
  out by SPECKLE_SIDE of its height, top and bottom by SPECKLE_UPDOWN) whose grey level differs
  from the background plate's by more than SPECKLE_LEVELS. A model that draws only the person
  leaves 0 there; dust on the floor and haze in the window count. Real frames give the floor that
  camera noise and lighting set.
- window_edge: the rectangle the generator's window leaves. The step across a side of the window is
  the mean grey level of a band EDGE_BAND pixels deep just inside (past the EDGE_GAP pixels where
  alpha fades out) minus that of a band just outside; window_edge is how far the frame's step
  departs from the real frame's step across the same line (the scene's own shading cancels),
  averaged over the sides that lie inside the frame.
"""
import math

import numpy as np

from src.evaluate.metrics import grey, nanmean, outside_box, person_box

SPECKLE_LEVELS = 12     # grey levels (0-255) from the plate that count as a wrong pixel
SPECKLE_SIDE = 0.25     # the person's box grown sideways by this share of its height
SPECKLE_UPDOWN = 0.15   # and up and down by this share
EDGE_BAND = 4           # pixels: depth of the bands either side of the window's border
EDGE_GAP = 4            # pixels inside the border skipped (alpha fades to 0 there; src.gan.composite.EDGE)


def speckle_box(kp):
    """The person's box that speckle leaves out, for one pose (137, 3) in the frame's pixels."""
    return person_box(kp, margin=SPECKLE_SIDE, vertical=SPECKLE_UPDOWN)


def speckle(frame, plate, box, levels=SPECKLE_LEVELS):
    """Share (0-1) of the pixels outside box (x0, y0, x1, y1; None: the whole frame) whose grey
    level differs from the plate's by more than `levels`; NaN if no pixel lies outside."""
    g, p = grey(frame), grey(plate)
    if g.shape != p.shape:
        raise ValueError(f"frame {np.shape(frame)} and plate {np.shape(plate)} differ in size")
    keep = outside_box(box, (g.shape[1], g.shape[0]))
    if not keep.any():
        return math.nan
    return float((np.abs(g - p)[keep] > levels).mean())


def _side_bands(window, frame_size, band, gap):
    """{side: (inside band, outside band)} as (y slice, x slice) pairs, for the sides of the window
    (x0, y0, x1, y1) whose outside band lies in a frame of frame_size (w, h). Each band runs along
    its side, short of the corners by gap + band."""
    x0, y0, x1, y1 = (int(v) for v in window)
    fw, fh = frame_size
    along_x = slice(x0 + gap + band, x1 - gap - band)
    along_y = slice(y0 + gap + band, y1 - gap - band)
    sides = {}
    if y0 - band >= 0:
        sides["top"] = ((slice(y0 + gap, y0 + gap + band), along_x), (slice(y0 - band, y0), along_x))
    if y1 + band <= fh:
        sides["bottom"] = ((slice(y1 - gap - band, y1 - gap), along_x), (slice(y1, y1 + band), along_x))
    if x0 - band >= 0:
        sides["left"] = ((along_y, slice(x0 + gap, x0 + gap + band)), (along_y, slice(x0 - band, x0)))
    if x1 + band <= fw:
        sides["right"] = ((along_y, slice(x1 - gap - band, x1 - gap)), (along_y, slice(x1, x1 + band)))
    return sides


def side_steps(frame, window, band=EDGE_BAND, gap=EDGE_GAP):
    """{side: mean grey just inside - just outside} of the window (x0, y0, x1, y1 in the frame's
    pixels), for its sides that lie inside the frame."""
    g = grey(frame)
    return {side: float(g[inner].mean()) - float(g[outer].mean())
            for side, (inner, outer) in _side_bands(window, (g.shape[1], g.shape[0]), band, gap).items()
            if g[inner].size and g[outer].size}


def window_edge(frame, reference, window, band=EDGE_BAND, gap=EDGE_GAP):
    """Mean over the window's sides of |the frame's step across it - the reference's step across the
    same line| (grey levels): the rectangle the window adds to what the scene itself shows there.
    NaN if no side lies inside the frame."""
    a = side_steps(frame, window, band, gap)
    b = side_steps(reference, window, band, gap)
    return float(np.mean([abs(a[k] - b[k]) for k in a])) if a else math.nan


class PlateMeter:
    """Speckle and window edge of one plate-mode model's frames, fed a frame at a time. With the real
    frames to compare with, the window edge is measured against them, and the plate's own speckle
    and edge against them are the reference (what a perfect plate-mode model would score)."""

    KEYS = ("speckle", "window_edge", "reference_speckle", "reference_window_edge")

    def __init__(self, plate):
        self.plate = plate
        self.per_frame = {k: [] for k in self.KEYS}

    def add(self, frame, box, window, real=None):
        """frame: uint8 RGB at the plate's size; box: speckle_box of its pose; window: where the
        generator drew, (x0, y0, x1, y1); real: the real frame (None for a transfer: the plate is
        the reference)."""
        reference = self.plate if real is None else real
        self.per_frame["speckle"].append(speckle(frame, self.plate, box))
        self.per_frame["window_edge"].append(window_edge(frame, reference, window))
        self.per_frame["reference_speckle"].append(speckle(reference, self.plate, box))
        self.per_frame["reference_window_edge"].append(window_edge(self.plate, reference, window))

    def summary(self):
        """Means over the frames (NaN-free), and the per-frame values."""
        return {**{k: nanmean(v) for k, v in self.per_frame.items()}, "frames": len(self.per_frame["speckle"]),
                "per_frame": self.per_frame}
