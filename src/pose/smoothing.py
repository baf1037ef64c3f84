"""Temporal clean-up of a keypoint track (T, 137, 3): jitter filter, then gap filling.

Jitter: a confidence-weighted Savitzky-Golay filter. For every frame t and point, a quadratic
is fitted by weighted least squares to that point's x (and y) over frames t-k .. t+k, with the
detector's confidence as the weight (missing points weigh 0), and the fit's value at t replaces
the detected one. With equal weights this is exactly the classic Savitzky-Golay filter: it does
not lag (the window is centred, the video is processed offline), it keeps the curvature of
real motion better than a moving average, and a sudden step stays a step over about 2k frames.
The strength is k, the half-width of the window in frames (0 = off). Noise that is independent
from frame to frame shrinks by a factor of about 0.7 at k = 2 (the default) and 0.5 at k = 4.
Missing points stay missing; a point is only refitted when at least QUADRATIC_MIN_SUPPORT
frames of its window have it (else it keeps its detected value).

Gaps: a point missing for at most `max_gap` consecutive frames, with the point present just
before and just after, is filled by linear interpolation between those two frames, takes the
smaller of their two confidences, and is marked in the `interpolated` mask. Longer gaps and gaps
at the start or end of the video stay missing (confidence 0). Smoothing runs first, so the
filled-in stretch starts and ends on smoothed values rather than on one jittery frame.
"""
import numpy as np

DEFAULT_STRENGTH = 2
DEFAULT_MAX_GAP = 8
QUADRATIC_MIN_SUPPORT = 4   # frames with the point needed to fit a quadratic (3 would interpolate)
BLOCK_FRAMES = 1024


def smooth(kps, strength=DEFAULT_STRENGTH):
    """Confidence-weighted Savitzky-Golay over time; returns a new (T, P, 3) float32 array."""
    kps = np.asarray(kps, np.float32)
    half = int(round(strength))
    out = kps.copy()
    if half <= 0 or len(kps) < 2:
        return out
    # Blocks of frames (with `half` frames of context on each side) keep the working memory
    # independent of the video's length.
    for start in range(0, len(kps), BLOCK_FRAMES):
        stop = min(start + BLOCK_FRAMES, len(kps))
        lo, hi = max(0, start - half), min(len(kps), stop + half)
        out[start:stop, :, :2] = _smooth_block(kps[lo:hi], half)[start - lo:stop - lo]
    return out


def _window_sums(values, half, powers):
    """For each t: sum over tau in [-half, half] of values[t + tau] * tau**j, j < powers.

    Frames outside the array count as 0. Returns (powers, T, ...).
    """
    padded = np.pad(values, [(half, half)] + [(0, 0)] * (values.ndim - 1))
    total = np.zeros((powers,) + values.shape)
    for i, tau in enumerate(range(-half, half + 1)):
        factors = (float(tau) ** np.arange(powers)).reshape((powers,) + (1,) * values.ndim)
        total += padded[i:i + len(values)][None] * factors
    return total


def _smooth_block(kps, half):
    """Smoothed x, y (T, P, 2) of a block; points that cannot be fitted keep their values."""
    weight = np.where(kps[..., 2] > 0, kps[..., 2], 0.0).astype(np.float64)     # (T, P)
    moments = _window_sums(weight, half, 5)                                       # (5, T, P)
    weighted_xy = _window_sums(weight[..., None] * kps[..., :2], half, 3)         # (3, T, P, 2)
    support = _window_sums((weight > 0).astype(np.float64), half, 1)[0]           # (T, P)
    out = kps[..., :2].astype(np.float64)
    fit = (support >= QUADRATIC_MIN_SUPPORT) & (weight > 0)
    if fit.any():
        # Normal equations of the fit a + b*tau + c*tau^2: sum_j moments[i+j] coef_j = xy_i.
        # Its value at tau = 0 (this frame) is a.
        normal = np.stack([np.stack([moments[i + j][fit] for j in range(3)], -1)
                           for i in range(3)], -2)                                # (n, 3, 3)
        rhs = np.stack([weighted_xy[i][fit] for i in range(3)], -2)               # (n, 3, 2)
        out[fit] = np.linalg.solve(normal, rhs)[:, 0, :]
    return out


def fill_gaps(kps, max_gap=DEFAULT_MAX_GAP):
    """Linear interpolation over short gaps.

    Returns (filled (T, P, 3), interpolated (T, P) bool).
    """
    kps = np.asarray(kps, np.float32)
    out = kps.copy()
    interpolated = np.zeros(kps.shape[:2], bool)
    if max_gap <= 0 or len(kps) < 3:
        return out, interpolated
    frames = np.arange(len(kps))
    present = kps[..., 2] > 0
    for p in np.flatnonzero(present.any(axis=0) & ~present.all(axis=0)):
        have = np.flatnonzero(present[:, p])
        # Consecutive present frames more than one apart enclose a gap.
        for before, after in zip(have[:-1], have[1:]):
            gap = after - before - 1
            if 0 < gap <= max_gap:
                inside = frames[before + 1:after]
                share = ((inside - before) / (after - before))[:, None]
                out[inside, p, :2] = (1 - share) * kps[before, p, :2] + share * kps[after, p, :2]
                out[inside, p, 2] = min(kps[before, p, 2], kps[after, p, 2])
                interpolated[inside, p] = True
    return out, interpolated


def clean_track(kps, strength=DEFAULT_STRENGTH, max_gap=DEFAULT_MAX_GAP):
    """The stages' clean-up: smooth(strength), then fill_gaps(max_gap).

    Returns (kps, interpolated) like fill_gaps.
    """
    return fill_gaps(smooth(kps, strength), max_gap)
