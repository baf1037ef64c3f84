"""The face measures of transferred frames (src/evaluate/face.py) on hand-made crops and poses."""
import numpy as np
import pytest

from src.evaluate.face import FaceMeter, colour_noise, crop_noise, face_box


def test_one_wrong_pixel_in_a_flat_crop_is_its_error_over_the_crop():
    crop = np.full((5, 5, 3), 100, np.uint8)
    assert crop_noise(crop) == 0.0
    crop[2, 2] = 200           # the 3x3 median there is 100; every other median stays 100
    assert crop_noise(crop) == pytest.approx(100 * 3 / 75)


def test_colour_noise_sees_a_red_dot_and_not_a_grey_one():
    crop = np.full((5, 5, 3), 128, np.uint8)
    crop[2, 2] = (255, 128, 128)
    # OpenCV's 8-bit YCrCb: Y = 0.299 R + 0.587 G + 0.114 B = 165.97, Cr = (R - Y) 0.713 + 128 = 191.5
    # -> 191, Cb = (B - Y) 0.564 + 128 = 106.6 -> 107; the 3x3 medians stay 128:
    # (|191 - 128| + |107 - 128|) / (25 pixels x 2 channels)
    assert colour_noise(crop) == pytest.approx((63 + 21) / 50, abs=0.05)
    crop[2, 2] = (200, 200, 200)   # a grey dot: brightness noise only
    assert colour_noise(crop) == 0.0 and crop_noise(crop) > 0


def test_face_box_is_the_16_px_square_around_the_nose_at_64x32():
    kp = np.zeros((137, 3), np.float32)
    assert face_box(kp, (64, 32)) is None
    kp[0] = (32, 16, 1)        # the nose alone: the head centre
    assert face_box(kp, (64, 32)) == (24, 8, 40, 24)


def test_face_meter_flicker_noise_and_hit_rate():
    kp = np.zeros((137, 3), np.float32)
    kp[0] = (32, 16, 1)
    meter = FaceMeter()
    frames = [np.full((32, 64, 3), v, np.uint8) for v in (100, 110, 130)]
    for frame in frames:
        meter.add(frame, face_box(kp, (64, 32)))
    meter.add(frames[0], None)                              # no head in this pose
    found = np.zeros((4, 137, 3), np.float32)
    found[0, 25:65, 2] = 1                                  # 40 of the 70 face points: found
    found[1, 25:35, 2] = 1                                  # 10: not found
    found[2, 25:60, 2] = 1                                  # 35: found
    s = meter.summary(found)
    assert s["flicker"] == pytest.approx(15.0)             # (10 + 20) / 2
    assert s["noise"] == 0.0 and s["colour_noise"] == 0.0 and s["frames"] == 3
    assert s["hit_rate"] == pytest.approx(2 / 3)
    assert meter.detector_view(frames[0]).shape == (128, 256, 3)
