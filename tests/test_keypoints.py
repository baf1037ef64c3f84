"""The pixel convention of keypoints (pixel centres on integers) and the person box, checked with
numbers worked out by hand."""
import numpy as np
import pytest

from src.gan.window import keypoints_at
from src.pose.keypoints import person_box, person_boxes, rescale, resize_keypoints, unscale


def points(*xy):
    """A (len, 3) array of present points."""
    return np.array([(x, y, 1.0) for x, y in xy], np.float32)


def test_doubling_a_frame_moves_pixel_centres_onto_the_new_pixel_centres():
    # A 4x2 frame doubled to 8x4: small pixel 0 spans [-0.5, 0.5], which becomes [-0.5, 1.5]
    # with its centre at 0.5; small pixel 3 becomes [5.5, 7.5], centre 6.5; the frame's left
    # edge -0.5 stays -0.5 and its right edge 3.5 becomes 7.5.
    got = resize_keypoints(points((0, 0), (3, 1), (-0.5, -0.5), (3.5, 1.5)), (4, 2), (8, 4))
    np.testing.assert_allclose(got[:, :2], [(0.5, 0.5), (6.5, 2.5), (-0.5, -0.5), (7.5, 3.5)])
    np.testing.assert_array_equal(got[:, 2], 1.0)


def test_a_crop_and_halving_maps_two_video_pixels_onto_one():
    # A window whose top-left video pixel is (10, 20), shrunk by 2: output pixel 0 covers video
    # pixels 10 and 11, so its centre is video x = 10.5 (and y = 20.5); video pixel 13's centre
    # lies at output x = (13 + 0.5 - 10) * 0.5 - 0.5 = 1.25.
    video = points((10.5, 20.5), (13, 20), (10, 20))
    frame = rescale(video, (0.5, 0.5), (10, 20))
    np.testing.assert_allclose(frame[:, :2], [(0.0, 0.0), (1.25, -0.25), (-0.25, -0.25)])
    np.testing.assert_allclose(unscale(frame, (0.5, 0.5), (10, 20)), video, atol=1e-6)


def test_missing_points_stay_zero_and_equal_sizes_change_nothing():
    kps = np.array([[12.3, 4.7, 0.9], [5.0, 6.0, 0.0]], np.float32)
    moved = rescale(kps, (2.0, 3.0), (1, 1))
    np.testing.assert_array_equal(moved[1], [0, 0, 0])
    np.testing.assert_array_equal(resize_keypoints(kps, (64, 32), (64, 32)), kps)


def test_the_plate_window_places_keypoints_by_a_plain_scale():
    # keypoints_at keeps x * s: (10, 20) of a 100x50 frame is (5, 10) of a 50x25 one.
    np.testing.assert_allclose(keypoints_at(points((10, 20))[None], (100, 50), (50, 25))[0, 0],
                               (5.0, 10.0, 1.0))


def test_person_box_runs_through_the_outermost_present_points():
    kp = np.zeros((137, 3), np.float32)
    kp[0], kp[3], kp[7] = (3, 4, 0.8), (10, 2, 0.5), (7, 9, 1.0)
    kp[9] = (50, 60, 0.0)   # missing: its coordinates do not count
    assert person_box(kp) == pytest.approx((3, 2, 10, 9))
    assert person_box(np.zeros((137, 3), np.float32)) is None
    # Several poses: the box around all of them.
    other = np.zeros((137, 3), np.float32)
    other[1] = (20, 1, 1.0)
    assert person_box(np.stack([kp, other])) == pytest.approx((3, 1, 20, 9))
    boxes = person_boxes(np.stack([kp, np.zeros((137, 3), np.float32)]))
    np.testing.assert_allclose(boxes[0], (3, 2, 10, 9))
    assert np.isnan(boxes[1]).all()
