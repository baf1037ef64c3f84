"""Temporal clean-up (src/pose/smoothing.py) on keypoint tracks with known values."""
import numpy as np
import pytest

from src.pose import smoothing
from src.pose.smoothing import clean_track, fill_gaps, smooth


def track(xy, conf=1.0):
    """(T, P, 2) positions -> (T, P, 3) track with the given confidence."""
    xy = np.asarray(xy, np.float32)
    out = np.zeros(xy.shape[:-1] + (3,), np.float32)
    out[..., :2] = xy
    out[..., 2] = conf
    return out


def classic_savgol(values, half):
    """Reference: least-squares quadratic over each full window, evaluated at its centre."""
    taus = np.arange(-half, half + 1)
    coef = np.linalg.pinv(np.vander(taus, 3, increasing=True))[0]  # weights giving the value at 0
    return np.array([coef @ values[t - half:t + half + 1]
                     for t in range(half, len(values) - half)])


def test_linear_gap_is_filled_exactly_and_marked():
    t = np.arange(20, dtype=np.float32)
    kps = track(np.stack([3 * t + 1, 100 - 2 * t], -1)[:, None, :])
    kps[:, 0, 2] = np.linspace(0.9, 0.5, 20)
    holed = kps.copy()
    holed[6:11] = 0                      # a gap of 5 frames
    filled, interpolated = fill_gaps(holed, max_gap=5)
    np.testing.assert_allclose(filled[:, 0, :2], kps[:, 0, :2], atol=1e-4)
    assert interpolated[:, 0].tolist() == [6 <= i <= 10 for i in range(20)]
    # An interpolated point takes the smaller confidence of the frames around the gap.
    np.testing.assert_allclose(filled[6:11, 0, 2], kps[11, 0, 2])
    np.testing.assert_array_equal(filled[~interpolated], holed[~interpolated])


def test_long_gaps_and_gaps_at_the_ends_stay_missing():
    kps = track(np.ones((30, 2, 2)) * 50)
    kps[0:3] = 0        # start: nothing before it
    kps[10:20, 0] = 0   # 10 frames: longer than max_gap
    kps[27:] = 0        # end
    kps[12:14, 1] = 0   # 2 frames: filled
    filled, interpolated = fill_gaps(kps, max_gap=8)
    assert (filled[0:3, :, 2] == 0).all() and (filled[27:, :, 2] == 0).all()
    assert (filled[10:20, 0, 2] == 0).all() and not interpolated[10:20, 0].any()
    assert (filled[12:14, 1, 2] > 0).all() and interpolated[12:14, 1].all()
    assert interpolated.sum() == 2
    assert (fill_gaps(kps, max_gap=0)[0] == kps).all()


def test_smoothing_off_is_the_identity():
    rng = np.random.default_rng(0)
    kps = track(rng.normal(100, 5, (50, 137, 2)))
    kps[::7, 3] = 0
    np.testing.assert_array_equal(smooth(kps, 0), kps)
    filled, interpolated = clean_track(kps, strength=0, max_gap=0)
    np.testing.assert_array_equal(filled, kps)
    assert not interpolated.any()


def test_equal_confidences_give_the_classic_savitzky_golay_filter():
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(0, 3, 60))
    kps = track(np.stack([x, -x], -1)[:, None, :])
    for half in (2, 4):
        out = smooth(kps, half)
        np.testing.assert_allclose(out[half:-half, 0, 0], classic_savgol(x, half), atol=1e-3)


def test_jitter_variance_is_reduced():
    rng = np.random.default_rng(2)
    t = np.arange(300)
    truth = np.stack([200 + 80 * np.sin(t / 40), 150 + 40 * np.cos(t / 55)], -1)
    noisy = track((truth + rng.normal(0, 2.0, truth.shape))[:, None, :])
    raw_err = np.std(noisy[:, 0, :2] - truth)
    mild_err = np.std(smooth(noisy, 2)[:, 0, :2] - truth)
    strong_err = np.std(smooth(noisy, 4)[:, 0, :2] - truth)
    assert mild_err < 0.8 * raw_err       # about 0.7 in theory
    assert strong_err < 0.6 * raw_err     # about 0.5
    assert strong_err < mild_err


def test_a_step_is_kept_roughly():
    x = np.where(np.arange(40) < 20, 0.0, 100.0)
    out = smooth(track(np.stack([x, x], -1)[:, None, :]), 2)[:, 0, 0]
    # Away from the step (more than the half-width) nothing moves ...
    np.testing.assert_allclose(out[:18], 0, atol=1e-3)
    np.testing.assert_allclose(out[22:], 100, atol=1e-3)
    # ... and at the step the jump stays steep and overshoots little.
    assert out[21] - out[18] > 70
    assert out.min() > -15 and out.max() < 115


def test_quadratic_motion_is_kept_whatever_the_confidences_and_holes():
    rng = np.random.default_rng(3)
    t = np.arange(40, dtype=np.float64)
    kps = track(np.stack([0.3 * t ** 2 - 4 * t + 7, 50 - 0.1 * t ** 2], -1)[:, None, :])
    kps[:, 0, 2] = rng.uniform(0.2, 1.0, 40)
    kps[[5, 6, 17, 30]] = 0
    out = smooth(kps, 3)
    np.testing.assert_allclose(out[..., :2], kps[..., :2], atol=1e-3)
    np.testing.assert_array_equal(out[..., 2], kps[..., 2])   # confidences and holes unchanged


def test_low_confidence_outliers_pull_less():
    base = np.full((21, 1, 2), 100.0)
    base[10] = 130.0                              # one wild detection
    sure, unsure = track(base), track(base)
    unsure[10, 0, 2] = 0.1
    out_sure, out_unsure = smooth(sure, 3), smooth(unsure, 3)
    # The neighbours are pulled towards the outlier much less when it has a low confidence.
    assert abs(out_unsure[9, 0, 0] - 100) < 0.2 * abs(out_sure[9, 0, 0] - 100)


def test_long_tracks_are_processed_in_blocks_with_the_same_result(monkeypatch):
    rng = np.random.default_rng(4)
    kps = track(rng.normal(0, 10, (100, 3, 2)), rng.uniform(0.3, 1, (100, 3)))
    whole = smooth(kps, 3)
    monkeypatch.setattr(smoothing, "BLOCK_FRAMES", 16)
    np.testing.assert_allclose(smooth(kps, 3), whole, atol=1e-4)


@pytest.mark.parametrize("length", [0, 1, 2, 3])
def test_very_short_tracks(length):
    kps = track(np.ones((length, 137, 2)))
    filled, interpolated = clean_track(kps)
    assert filled.shape == kps.shape and interpolated.shape == (length, 137)
    np.testing.assert_array_equal(filled, kps)
