"""Global pose normalization (Chan et al., "Everybody Dance Now", sec. 3.3), on keypoints.

The source dancer is moved and scaled so that they stand where the target stood in the training
frames, with the target's body size at each depth. Depth is read from the ankle height: the
lower the ankles are in the frame (larger y), the closer the person is to the camera.

Per frame:   a = ankle height (the larger y of the two ankles), h = body height (head, i.e. the
             nose or else the ears' midpoint, to the ankles' midpoint).
Per video:   close = max a; far = the smallest a that lies no further above the median than half
             of (close - median) (so jumps do not count as depth); h_close, h_far = the largest h
             among frames whose a lies within a small band of close / far (the largest, because
             crouching and bending only make h smaller).
Per source frame, with p = (a_s - far_s) / (close_s - far_s):
             translation b = far_t + p (close_t - far_t) - a_s
             scale       s = scale_far + p (scale_close - scale_far),
                             scale_close = h_close,t / h_close,s, scale_far = h_far,t / h_far,s
             every point (body, face, hands): x' = s (x - c_x) + c_x, y' = s (y - c_y) + c_y + b,
             about the ankle anchor c = (ankles' mid x, a_s).

Choices beyond the paper (each keeps the paper's result where the paper is well defined):
- Frame sizes: the source's pixels are first converted into the target's frame: scaled by
  target height / source height and centred horizontally. All fitting happens in target pixels.
- Outside the source's far..close band (ankles above the far line: jumps, mostly), p is held at
  0 for the scale and the extra height is carried over at that scale, so a jump keeps its natural
  height instead of being stretched by the ratio of the two depth ranges.
- Narrow source range: when the source's depth range, at body scale (span_s * scale_close), is
  narrower than the target's, stretching it over the target's whole range would turn small
  steps (or detector jitter) into big walks. Its range is mapped instead onto the part of the
  target's range that ends at the target's close line and has that body-scale width; the target's
  body height at the new far line is interpolated between h_far,t and h_close,t.
- Single-depth source (close_s == far_s, e.g. a dancer who stays on one spot): the narrow rule
  with zero width: every frame is placed on the target's close line at scale_close; no division
  by zero.
- Frames without an ankle take the whole transform of the nearest frame that has one.
- A frame with one ankle missing gets it back for the measurement: the other ankle plus the
  offset between the two, interpolated over time from the frames that show both. Otherwise the
  anchor would jump to the remaining ankle and move the whole figure by (s - 1) x the jump.
"""
import dataclasses

import numpy as np

from src.errors import UserError
from src.pose.keypoints import B

ANKLES = [B["RAnkle"], B["LAnkle"]]
EARS = [B["REar"], B["LEar"]]
FAR_MEDIAN_FRACTION = 0.5  # the paper's robust far: within half of (close - median) of the median
DEFAULT_BAND = 0.05        # band around close / far for the heights, as a fraction of the
                           # video's median body height (so it scales with the dancer)


def to_target_frame(kps, source_size, target_size):
    """Source keypoints (..., 137, 3) in target-frame pixels: scaled to the target's frame height
    and centred horizontally. Missing points stay (0, 0, 0).

    A plain scale about the frame's corner, x * ratio + dx, as normalization has always placed the
    source; src/pose/keypoints.py's rescale would put it half a pixel x (ratio - 1) elsewhere."""
    ratio = target_size[1] / source_size[1]
    dx = (target_size[0] - source_size[0] * ratio) / 2
    return apply_transforms(kps, np.broadcast_to([ratio, dx, 0.0], kps.shape[:-2] + (3,)))


def fill_one_ankle(ankles):
    """(T, 2, 3) ankles with a missing one estimated where the other is present (see the module
    docstring); unchanged when no frame shows both."""
    ankles = np.array(ankles, np.float64)
    ok = ankles[..., 2] > 0
    both = ok.all(1)
    if not both.any():
        return ankles
    t = np.arange(len(ankles))
    offset = ankles[both, 1, :2] - ankles[both, 0, :2]
    offset = np.stack([np.interp(t, t[both], offset[:, k]) for k in range(2)], axis=1)
    for have, lost, sign in ((0, 1, 1.0), (1, 0, -1.0)):
        only = ok[:, have] & ~ok[:, lost]
        ankles[only, lost, :2] = ankles[only, have, :2] + sign * offset[only]
        ankles[only, lost, 2] = ankles[only, have, 2]
    return ankles


def measure(kps):
    """Per-frame ankle height a, ankle anchor x and body height h (T,) each; NaN where missing."""
    kps = np.asarray(kps, np.float64)
    ankles = fill_one_ankle(kps[:, ANKLES])
    ok = ankles[..., 2] > 0
    n_ok = ok.sum(1)
    has_ankle = n_ok > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(has_ankle, np.where(ok, ankles[..., 1], -np.inf).max(1), np.nan)
        mid = (ankles[..., :2] * ok[..., None]).sum(1) / n_ok[:, None]
        ears = kps[:, EARS]
        ears_ok = ears[..., 2] > 0
        ear_mid = (ears[..., :2] * ears_ok[..., None]).sum(1) / ears_ok.sum(1)[:, None]
    nose = kps[:, B["Nose"]]
    head = np.where((nose[:, 2] > 0)[:, None], nose[:, :2], ear_mid)  # NaN: no nose, no ear
    h = np.linalg.norm(head - mid, axis=1)                             # NaN: no head or ankle
    cx = np.where(has_ankle, mid[:, 0], np.nan)
    return a, cx, h


@dataclasses.dataclass
class DepthRange:
    """Where one video's dancer stands: ankle rows close (nearest) and far, body heights there."""
    close: float
    far: float
    h_close: float
    h_far: float

    @property
    def span(self):
        return self.close - self.far


def fit_depth_range(a, h, band=DEFAULT_BAND, name="keypoints"):
    """DepthRange of one video from its per-frame ankle heights a and body heights h (pixels).

    Frames whose a lies within `band` x (median body height) of close / far give the body
    height there.
    """
    valid = ~np.isnan(a)
    if not valid.any():
        raise UserError(f"{name}: no frame shows an ankle, so the dancer's depth is unknown; "
                        "use a video that shows the whole body including the feet")
    av = a[valid]
    close = float(av.max())
    median = float(np.median(av))
    far = float(av[av >= median - FAR_MEDIAN_FRACTION * (close - median)].min())
    with_h = valid & ~np.isnan(h)
    if not with_h.any():
        raise UserError(f"{name}: no frame shows both the head and an ankle, so the body height "
                        "is unknown; use a video that shows the whole body")
    band_px = band * float(np.median(h[with_h]))

    def height_near(row):
        dist = np.abs(a[with_h] - row)
        # Frames within the band; if none has a head, those nearest to the row instead.
        near = dist <= max(band_px, dist.min())
        return float(h[with_h][near].max())

    return DepthRange(close, far, height_near(close), height_near(far))


@dataclasses.dataclass
class Mapping:
    """How source ankle rows and body sizes map onto the target's (see the module docstring)."""
    source: DepthRange
    target: DepthRange
    scale_close: float      # h_close,t / h_close,s
    scale_far: float        # scale at the source's far line (the paper's h_far,t / h_far,s
                            # unless the source range is narrow)
    target_far: float       # target row the source's far line goes to (target.far unless narrow)
    narrow: bool            # the source's range was mapped onto part of the target's only

    @property
    def single_depth(self):
        return self.source.span <= 0

    def describe(self):
        s, t = self.source, self.target
        lines = [
            f"source (target pixels): ankle rows close {s.close:.1f}, far {s.far:.1f}; "
            f"body height {s.h_close:.1f} close, {s.h_far:.1f} far",
            f"target: ankle rows close {t.close:.1f}, far {t.far:.1f}; "
            f"body height {t.h_close:.1f} close, {t.h_far:.1f} far",
            f"scale {self.scale_far:.3f} at far .. {self.scale_close:.3f} at close",
        ]
        if self.single_depth:
            lines.append(f"source stays at one depth: placed on the target's close row {t.close:.1f}")
        elif self.narrow:
            lines.append(f"source depth range is narrower than the target's: mapped onto rows "
                         f"{self.target_far:.1f} .. {t.close:.1f} (target: {t.far:.1f} .. {t.close:.1f})")
        return "\n".join(lines)


def fit_mapping(source, target):
    """Mapping from a source DepthRange onto a target DepthRange."""
    scale_close = target.h_close / source.h_close
    width = max(source.span, 0.0) * scale_close  # source depth range in target pixels
    narrow = width < target.span
    if not narrow:
        return Mapping(source, target, scale_close, target.h_far / source.h_far, target.far, False)
    target_far = target.close - width
    w = (target_far - target.far) / target.span
    h_t = target.h_far + w * (target.h_close - target.h_far)  # target's body height on that row
    return Mapping(source, target, scale_close, h_t / source.h_far, target_far, True)


def frame_transforms(mapping, a, cx):
    """Per-frame (s, ox, oy) with x' = s x + ox, y' = s y + oy, for source ankle rows a and ankle
    anchors cx (target pixels, NaN where missing: those frames take the nearest frame's)."""
    m, src = mapping, mapping.source
    a = np.asarray(a, np.float64)
    p = (a - src.far) / src.span if src.span > 0 else np.ones_like(a)
    pc = np.clip(p, 0.0, 1.0)
    s = m.scale_far + pc * (m.scale_close - m.scale_far)
    # The paper's ankle row inside the band, plus whatever lies beyond it at the frame's scale.
    mapped = m.target_far + pc * (m.target.close - m.target_far) + s * (a - np.clip(a, src.far, src.close))
    # Scaling about the anchor (cx, a) and moving the anchor to `mapped`.
    params = np.stack([s, (1 - s) * cx, mapped - s * a], axis=1)
    return fill_from_nearest(params)


def fill_from_nearest(params):
    """Rows with NaN take the values of the nearest row (by index) without NaN."""
    ok = ~np.isnan(params).any(1)
    if ok.all() or not ok.any():
        return params
    good = np.flatnonzero(ok)
    idx = np.arange(len(params))
    return params[good[np.abs(idx[:, None] - good[None]).argmin(1)]]


def apply_transforms(kps, params):
    """Apply per-frame (s, ox, oy) to keypoints (T, 137, 3); missing points stay (0, 0, 0)."""
    kps = np.asarray(kps, np.float32)
    params = np.asarray(params, np.float64)
    out = np.zeros_like(kps)
    s, ox, oy = (params[..., i, None] for i in range(3))
    present = kps[..., 2] > 0
    out[..., 0] = np.where(present, s * kps[..., 0] + ox, 0)
    out[..., 1] = np.where(present, s * kps[..., 1] + oy, 0)
    out[..., 2] = kps[..., 2]
    return out


@dataclasses.dataclass
class Result:
    keypoints: np.ndarray   # (T, 137, 3) normalized source keypoints, target pixels
    mapping: Mapping
    ankle: np.ndarray       # (T,) source ankle row in target pixels before (NaN where missing)
    params: np.ndarray      # (T, 3) per-frame (s, ox, oy)

    @property
    def mapped_ankle(self):
        return self.params[:, 0] * self.ankle + self.params[:, 2]


def normalize(source_kps, source_size, target_kps, target_size, band=DEFAULT_BAND,
              source_name="source", target_name="target"):
    """Normalize source keypoints onto the target's placement; returns a Result.

    band: see fit_depth_range.
    """
    src = to_target_frame(source_kps, source_size, target_size)
    a_s, cx_s, h_s = measure(src)
    a_t, _, h_t = measure(target_kps)
    mapping = fit_mapping(fit_depth_range(a_s, h_s, band, source_name),
                          fit_depth_range(a_t, h_t, band, target_name))
    params = frame_transforms(mapping, a_s, cx_s)
    return Result(apply_transforms(src, params), mapping, a_s, params)
