"""Image metrics on known cases and pose distance on labels rendered from known keypoints."""
import math

import numpy as np
import pytest

from src.evaluate.metrics import PSNR_CAP, Lpips, pose_distance, psnr, ssim
from src.pose.render import JOINT_COLORS, render_label

SIZE = (128, 128)


def textured(seed=0, size=SIZE):
    """A smooth image with structure at several scales, values kept inside 40..215."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    img = np.zeros((h, w, 3))
    for c in range(3):
        for f in (2, 5, 11):
            img[..., c] += np.sin(2 * np.pi * (f * x + rng.random()) + 3 * y * rng.random())
    img = 128 + 87 * img / np.abs(img).max()
    return np.round(img).astype(np.uint8)


def noisy(img, sigma, seed=1):
    rng = np.random.default_rng(seed)
    return np.clip(np.round(img + rng.normal(0, sigma, img.shape)), 0, 255).astype(np.uint8)


def test_identical_images():
    img = textured()
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    assert psnr(img, img) == PSNR_CAP  # capped, not infinite


def test_psnr_constant_shift_equals_formula():
    img = textured()
    for shift in (1, 5, 20):
        assert psnr(img, img + np.uint8(shift)) == pytest.approx(20 * math.log10(255 / shift), abs=1e-9)


def test_psnr_of_gaussian_noise_is_close_to_formula():
    img = textured()
    for sigma in (2.0, 8.0, 16.0):
        # rounding to integers adds variance 1/12
        expected = 10 * math.log10(255 ** 2 / (sigma ** 2 + 1 / 12))
        assert psnr(img, noisy(img, sigma)) == pytest.approx(expected, abs=0.15)


def test_ssim_falls_with_noise_and_is_symmetric():
    img = textured()
    values = [ssim(img, noisy(img, s)) for s in (1, 4, 16, 48)]
    assert all(a > b for a, b in zip(values, values[1:])), values
    assert values[0] > 0.95 and values[-1] < 0.6
    other = noisy(img, 10)
    assert ssim(img, other) == pytest.approx(ssim(other, img), abs=1e-12)


def test_ssim_rejects_mismatched_or_tiny_images():
    with pytest.raises(ValueError):
        ssim(np.zeros((20, 20, 3)), np.zeros((20, 21, 3)))
    with pytest.raises(ValueError):
        ssim(np.zeros((8, 20, 3)), np.zeros((8, 20, 3)))


@pytest.fixture(scope="module")
def lpips():
    import torch
    torch.set_num_threads(1)
    return Lpips("cpu")


def test_lpips_identical_zero_and_monotonic_in_noise(lpips):
    img = textured(size=(96, 64))
    assert lpips(img, img) == pytest.approx(0.0, abs=1e-6)
    values = [lpips(img, noisy(img, s)) for s in (4, 16, 48)]
    assert 0 < values[0] < values[1] < values[2], values


def test_lpips_upscales_small_crops(lpips):
    img = textured(size=(16, 16))
    assert lpips(img, img) == pytest.approx(0.0, abs=1e-6)
    assert lpips(img, noisy(img, 30)) > 0


# --- pose distance ---------------------------------------------------------------------------

# A spread-out pose with integer coordinates, so every joint dot lies clear of the others.
BODY_POINTS = {
    0: (64, 20), 1: (64, 40), 2: (44, 42), 3: (32, 62), 4: (24, 82), 5: (84, 42), 6: (96, 62),
    7: (104, 82), 9: (52, 90), 10: (50, 112), 12: (76, 90), 13: (78, 112),
}


def known_pose(shift=(0, 0)):
    kp = np.zeros((137, 3), np.float32)
    for j, (x, y) in BODY_POINTS.items():
        kp[j] = (x + shift[0], y + shift[1], 1.0)
    return kp


def detect_joints(label):
    """A stand-in detector for rendered labels: each body joint is a dot of its own colour."""
    kp = np.zeros((137, 3), np.float32)
    for j in BODY_POINTS:
        mask = (label == JOINT_COLORS[j]).all(axis=2)
        if mask.any():
            ys, xs = np.nonzero(mask)
            kp[j] = (xs.mean(), ys.mean(), 1.0)
    return kp


@pytest.mark.parametrize("shift", [(0, 0), (3, 0), (0, -5), (3, 4)])
def test_pose_distance_equals_shift_of_rendered_pose(shift):
    ref = known_pose()
    detected = detect_joints(render_label(known_pose(shift), (160, 140)))
    out = pose_distance(ref, detected)
    assert out["body"]["distance"] == pytest.approx(math.hypot(*shift), abs=0.05)
    assert out["body"]["missed"] == 0.0
    assert out["body"]["points"] == len(BODY_POINTS)
    # no face or hand points in the reference: nothing to measure there
    assert math.isnan(out["face"]["distance"]) and math.isnan(out["hands"]["missed"])
    assert out["all"]["distance"] == pytest.approx(out["body"]["distance"])


def test_points_the_detector_misses_are_counted():
    ref = known_pose()
    drawn = ref.copy()
    drawn[[3, 4, 10], 2] = 0  # the detector cannot find what is not in the frame
    detected = detect_joints(render_label(drawn, (160, 140)))
    out = pose_distance(ref, detected)
    assert out["body"]["missed"] == pytest.approx(3 / len(BODY_POINTS))
    assert out["body"]["distance"] == pytest.approx(0.0, abs=0.05)
    # points the detector finds beyond the reference do not count
    extra = detected.copy()
    extra[[30, 100], :] = (5, 5, 1)
    assert pose_distance(ref, extra)["all"] == out["all"] == out["body"]


def test_pose_distance_pools_frames_per_group():
    ref = np.zeros((2, 137, 3), np.float32)
    ref[:, :, 2] = 1
    ref[:, :, :2] = 50
    det = ref.copy()
    det[0, 0:25, 0] += 2     # body off by 2 px in frame 0, exact in frame 1
    det[:, 25:95, 1] += 6    # face off by 6 px
    det[1, 95:137, 2] = 0    # hands missed in frame 1
    out = pose_distance(ref, det)
    assert out["body"]["distance"] == pytest.approx(1.0)
    assert out["face"]["distance"] == pytest.approx(6.0)
    assert out["hands"]["distance"] == pytest.approx(0.0) and out["hands"]["missed"] == pytest.approx(0.5)
    assert out["all"]["points"] == 2 * 137
    assert out["all"]["missed"] == pytest.approx(42 / 274)
