"""The person-following window: the part of each frame that the generator draws over the plate.

With a background plate (src/pose/background.py) the generator does not redraw the whole frame, only a
window of fixed size that follows the person; the rest of the frame is the plate.

    size  = window_size(kps, frame_size, multiple)       one (w, h) per model
    track = window_track(kps, size, frame_size)          (T, 2) int top-left corner per frame
    share = coverage(kps, track, size)                   how much of the person the windows hold

Size: the person's box (every point found, grown by MARGIN x the person's median height: at the sides for loose
clothes and hair, above for the top of the head, which lies beyond the eyes and ears, below for the
soles and the shadow at the feet) in COVER_QUANTILE of the frames fits the window;
its sides are rounded up to a multiple the generator needs and capped at the frame.
Position: the box centre per frame (frames without a person take the nearest frame's), smoothed
over time with a Gaussian of SMOOTH_SIGMA frames so that the window itself does not jitter, then
moved just enough to hold that frame's box where the smoothing left part of it out, and kept
inside the frame. Positions are whole pixels, so cutting and pasting are exact.
"""
import numpy as np

from src.pose.keypoints import person_boxes

MARGIN = (0.06, 0.12, 0.10)  # share of the person's height added to the keypoint box: sides, top, bottom
COVER_QUANTILE = 0.98  # share of frames whose grown box the window holds (the rest: outliers)
SMOOTH_SIGMA = 3.0     # frames: Gaussian smoothing of the window's path


def keypoints_at(kps, from_size, to_size):
    """Keypoints (T, 137, 3) of frames of from_size (w, h), placed in frames of to_size for the
    window: x * (w' / w), a plain scale (see src/pose/keypoints.py on pixels). Training and
    inference place the window through this one function; a model's windows stay where it was
    trained to draw them."""
    sx, sy = to_size[0] / from_size[0], to_size[1] / from_size[1]
    return np.asarray(kps, np.float32) * np.array([sx, sy, 1], np.float32)


def grown_boxes(kps, margin=MARGIN):
    """person_boxes grown by (sides, top, bottom) `margin` x the person's median box height over the
    track (not each frame's: raised arms make a box taller, not the head or the feet larger)."""
    boxes = person_boxes(kps)
    heights = boxes[:, 3] - boxes[:, 1]
    scale = np.median(heights[~np.isnan(heights)]) if not np.isnan(heights).all() else 0.0
    side, top, bottom = np.asarray(margin, np.float64) * scale
    return boxes + np.array([-side, -top, side, bottom])


def _round_up(value, multiple):
    return int(np.ceil(value / multiple) * multiple)


def window_size(kps, frame_size, multiple=16, quantile=COVER_QUANTILE):
    """(w, h) of the window for a track of poses in a frame of frame_size (w, h).

    Both sides are multiples of `multiple` (the generator's 2 ** downsamplings) and at most the
    frame's side rounded down to that multiple (the whole frame when no person is found).
    """
    fw, fh = frame_size
    max_w, max_h = fw // multiple * multiple, fh // multiple * multiple
    boxes = grown_boxes(kps)
    found = ~np.isnan(boxes[:, 0])
    if not found.any():
        return max_w, max_h
    w = np.quantile(boxes[found, 2] - boxes[found, 0], quantile)
    h = np.quantile(boxes[found, 3] - boxes[found, 1], quantile)
    return min(max_w, _round_up(w, multiple)), min(max_h, _round_up(h, multiple))


def _fill_nearest(values):
    """Rows of NaN take the nearest row that has a value (all NaN stays NaN)."""
    ok = ~np.isnan(values[:, 0])
    if ok.all() or not ok.any():
        return values
    have = np.flatnonzero(ok)
    nearest = have[np.abs(np.arange(len(values))[:, None] - have[None]).argmin(1)]
    return values[nearest]


def smooth(values, sigma=SMOOTH_SIGMA):
    """Gaussian smoothing along axis 0 of (T, k), reflecting at the ends (no lag, no drift)."""
    if sigma <= 0 or len(values) < 2:
        return values.astype(np.float64)
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(values.astype(np.float64), ((radius, radius), (0, 0)), mode="reflect"
                    if len(values) > radius else "edge")
    return np.stack([np.convolve(padded[:, k], taps, mode="valid") for k in range(values.shape[1])],
                    axis=1)


def window_track(kps, size, frame_size, sigma=SMOOTH_SIGMA):
    """(T, 2) int64 top-left corners (x0, y0) of a window of `size` following the person."""
    ww, wh = size
    fw, fh = frame_size
    boxes = grown_boxes(kps)
    centres = _fill_nearest(np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2],
                                     axis=1))
    if np.isnan(centres).all():
        centres = np.tile([fw / 2, fh / 2], (len(kps), 1))
    corner = smooth(centres, sigma) - [ww / 2, wh / 2]
    # Hold the frame's own box where it fits: move no more than needed.
    filled = _fill_nearest(boxes)
    if not np.isnan(filled).all():
        lo = np.stack([filled[:, 2] - ww, filled[:, 3] - wh], axis=1)   # the box's far side inside
        hi = np.stack([filled[:, 0], filled[:, 1]], axis=1)             # its near side inside
        fits = lo <= hi
        corner = np.where(fits, np.clip(corner, lo, hi), (lo + hi) / 2)
    corner = np.round(corner)
    corner[:, 0] = np.clip(corner[:, 0], 0, fw - ww)
    corner[:, 1] = np.clip(corner[:, 1], 0, fh - wh)
    return corner.astype(np.int64)


def coverage(kps, track, size, masks=None):
    """(share of keypoints inside their frame's window, share of mask pixels inside, or None).

    masks: an iterable of (h, w) uint8 person masks of the same frames (255 = person), or None.
    """
    kps = np.asarray(kps, np.float32)
    ok = kps[..., 2] > 0
    x0, y0 = track[:, 0:1].astype(np.float32), track[:, 1:2].astype(np.float32)
    inside = ((kps[..., 0] >= x0) & (kps[..., 0] < x0 + size[0])
              & (kps[..., 1] >= y0) & (kps[..., 1] < y0 + size[1]))
    point_share = float(inside[ok].mean()) if ok.any() else 1.0
    if masks is None:
        return point_share, None
    held = total = 0.0
    for (x, y), mask in zip(track, masks):
        person = mask.astype(np.float64)
        total += person.sum()
        held += person[y:y + size[1], x:x + size[0]].sum()
    return point_share, (held / total if total else 1.0)
