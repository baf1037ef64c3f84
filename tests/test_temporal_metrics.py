"""Temporal metrics (background flicker, tLP) and LPIPS with the VGG16 heads, on cases worked out by hand."""
import math

import numpy as np
import pytest

from src.evaluate.metrics import (Lpips, background_flicker, flicker_pair, grey, outside_box,
                                  person_box, temporal_lpips, tlp)

H, W = 40, 60
# Present points span x 20..30, y 10..30: a box 20 px high, grown by a quarter of that (5 px) on
# every side -> x 15..35, y 5..35 (pixel centres, edges included).
POINTS = [(20, 10), (30, 30), (25, 20)]
GROWN = (15.0, 5.0, 35.0, 35.0)


def pose(points=POINTS, shift=(0, 0)):
    kp = np.zeros((137, 3), np.float32)
    for j, (x, y) in enumerate(points):
        kp[j] = (x + shift[0], y + shift[1], 1.0)
    kp[100] = (0, 0, 0)  # a missing hand point: ignored
    return kp


def background(seed=0):
    """A textured RGB frame, values 20-200 so that later shifts stay inside 0-255."""
    return np.random.default_rng(seed).integers(20, 201, (H, W, 3)).astype(np.uint8)


def inside(box):
    x0, y0, x1, y1 = (int(v) for v in box)
    return np.s_[y0:y1 + 1, x0:x1 + 1]


def test_person_box_is_the_keypoint_box_grown_by_a_quarter_of_its_height():
    assert person_box(pose()) == pytest.approx(GROWN)
    assert person_box(np.zeros((137, 3), np.float32)) is None
    mask = outside_box(GROWN, (W, H))
    assert mask.shape == (H, W)
    assert (~mask).sum() == 21 * 31                      # x 15..35, y 5..35
    assert mask[5, 14] and mask[4, 15] and mask[36, 35] and mask[5, 36]
    assert not mask[5, 15] and not mask[35, 35]
    assert outside_box(None, (W, H)).all()


def test_identical_consecutive_frames_give_zero_flicker():
    frame = background()
    assert background_flicker([frame, frame.copy(), frame.copy()], [GROWN] * 3) == 0.0
    assert background_flicker([frame, frame.copy()], [None, None]) == 0.0


def test_known_change_outside_the_box_is_measured_exactly():
    rng = np.random.default_rng(1)
    base = background().astype(np.int16)
    frames = []
    for offset in (0, 2, 7):      # grey change 2, then 5: mean 3.5
        f = base + offset
        f[inside(GROWN)] = rng.integers(0, 256, (31, 21, 3))   # the person: changes wildly
        frames.append(f.astype(np.uint8))
    assert flicker_pair(frames[0], frames[1], GROWN, GROWN) == pytest.approx(2.0, abs=1e-9)
    assert flicker_pair(frames[1], frames[2], GROWN, GROWN) == pytest.approx(5.0, abs=1e-9)
    assert background_flicker(frames, [GROWN] * 3) == pytest.approx(3.5, abs=1e-9)
    # the boxes from the keypoints give the same; an ungrown box lets the person's pixels in
    boxes = [person_box(pose())] * 3
    assert background_flicker(frames, boxes) == pytest.approx(3.5, abs=1e-9)
    assert background_flicker(frames, [person_box(pose(), margin=0)] * 3) > 10


def test_change_only_inside_the_person_box_gives_zero():
    rng = np.random.default_rng(2)
    frames = []
    for _ in range(4):
        f = background()
        f[inside(GROWN)] = rng.integers(0, 256, (31, 21, 3))
        frames.append(f)
    assert background_flicker(frames, [person_box(pose())] * 4) == 0.0


def test_grey_levels_use_bt601_weights():
    a = background()
    b = a.copy()
    b[..., 0] += 10                 # red +10: grey +2.99 (0.299 * 10)
    assert flicker_pair(a, b, None, None) == pytest.approx(2.99, abs=1e-9)
    b = a.copy()
    b[..., 2] += 10                 # blue +10: grey +1.14
    assert flicker_pair(a, b, None, None) == pytest.approx(1.14, abs=1e-9)
    assert grey(np.full((2, 2, 3), 100, np.uint8)) == pytest.approx(np.full((2, 2), 100.0))


def test_a_pixel_counts_only_if_outside_the_box_in_both_frames():
    box_a = (0.0, 0.0, 9.0, 39.0)    # the person moves from the left edge ...
    box_b = (10.0, 0.0, 19.0, 39.0)  # ... to the next 10 columns
    a = background().astype(np.int16)
    b = a + 4
    b[:, 0:20] = a[:, 0:20] + 100    # what either box covers changes a lot
    assert flicker_pair(a.astype(np.uint8), b.clip(0, 255).astype(np.uint8), box_a, box_b) == \
        pytest.approx(4.0, abs=1e-9)


def test_masks_can_replace_boxes():
    a = background()
    b = a.copy()
    keep = np.zeros((H, W), bool)
    keep[:, 40:] = True              # background: the right third
    b[:, 40:] += 7
    b[:, :40] = 0
    assert flicker_pair(a, b, keep, keep) == pytest.approx(7.0, abs=1e-9)
    assert math.isnan(flicker_pair(a, b, np.zeros((H, W), bool), keep))
    with pytest.raises(ValueError, match="mask of shape"):
        flicker_pair(a, b, keep[:10], keep)


# --- tLP and VGG LPIPS -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def nets():
    import torch
    torch.set_num_threads(1)
    return {"alex": Lpips("cpu"), "vgg": Lpips("cpu", net="vgg")}


def textured(seed, size=(64, 48)):
    """Smooth random colours with a few hard-edged rectangles, uint8 RGB (h, w) = size."""
    import cv2
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 256, (size[0] // 8, size[1] // 8, 3)).astype(np.uint8),
                     (size[1], size[0]), interpolation=cv2.INTER_CUBIC)
    for _ in range(3):
        y, x = rng.integers(0, size[0] - 12), rng.integers(0, size[1] - 12)
        img[y:y + 12, x:x + 12] = rng.integers(0, 256, 3)
    return img


def test_tlp_from_step_distances():
    assert tlp([0.1, 0.3], [0.2, 0.2]) == pytest.approx(0.1)
    assert tlp([0.5], [0.5]) == 0.0
    with pytest.raises(ValueError):
        tlp([0.1, 0.2], [0.1])


def test_tlp_of_the_real_sequence_against_itself_is_zero(nets):
    real = [textured(s) for s in range(3)]
    assert temporal_lpips(real, [f.copy() for f in real], nets["alex"]) == pytest.approx(0.0, abs=1e-7)
    # a generated video that freezes has no frame-to-frame change: its tLP is the real change
    frozen = [real[0]] * 3
    steps = [nets["alex"](real[1], real[0]), nets["alex"](real[2], real[1])]
    assert min(steps) > 0
    assert temporal_lpips(frozen, real, nets["alex"]) == pytest.approx(np.mean(steps), abs=1e-6)


def test_vgg_lpips_zero_for_identical_positive_and_unlike_alex_for_different(nets):
    a, b = textured(10), textured(11)
    assert nets["vgg"](a, a) == pytest.approx(0.0, abs=1e-6)
    vgg, alex = nets["vgg"](a, b), nets["alex"](a, b)
    assert vgg > 0.05 and alex > 0.05
    assert abs(vgg - alex) > 1e-3
    small = textured(12, size=(16, 16))      # a face crop: upscaled to 32 px first
    assert nets["vgg"](small, small) == pytest.approx(0.0, abs=1e-6)
