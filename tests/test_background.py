"""Background plates (src/pose/background.py) on generated frames whose true background is known."""
import json

import numpy as np
import pytest

from src.demo.data import dancer_pose, draw_dancer
from src.pose import background
from src.pose.keypoints import B

SIZE = (256, 128)


def texture(w, h, seed=0):
    """A wall with strong detail (a pan over it changes every pixel)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 220, size=(h // 8 + 1, w // 8 + 1, 3)).astype(np.uint8)
    return np.kron(base, np.ones((8, 8, 1), np.uint8))[:h, :w]


def clip(n, pan=0):
    """n frames of the target dancer over a textured wall (panning `pan` px per frame), with
    the keypoint masks drawn from the true poses, and the true background of frame 0."""
    wall = texture(SIZE[0] + pan * n + 8, SIZE[1])
    frames, masks = [], []
    for t in range(n):
        pose = dancer_pose("target", 0.4 * t, SIZE)
        bg = np.ascontiguousarray(wall[:, pan * t:pan * t + SIZE[0]])
        frames.append(draw_dancer(pose, SIZE, bg))
        masks.append(background.keypoint_mask(pose.keypoints, SIZE))
    return frames, masks, wall[:, :SIZE[0]]


def test_masked_median_ignores_covered_samples():
    stack = np.array([10, 20, 200, 30, 250], np.uint8).reshape(5, 1, 1, 1).repeat(3, axis=3)
    valid = np.array([True, True, False, True, False]).reshape(5, 1, 1)
    med, count = background.masked_median(stack, valid)
    assert count[0, 0] == 3 and (med[0, 0] == 20).all()      # median of 10, 20, 30
    med, count = background.masked_median(stack, np.zeros((5, 1, 1), bool))
    assert count[0, 0] == 0 and (med[0, 0] == 0).all()


def test_masked_median_of_an_even_count_with_black_samples_is_the_lower_middle():
    # Pixel 0: valid 0, 5, 7 (the covered ones are 255 and 0) -> 5. Pixel 1: valid 9, 0, 3, 200
    # -> sorted 0, 3, 9, 200 -> lower middle 3. Channel 2 of pixel 1 is all black: 0.
    stack = np.zeros((5, 1, 2, 3), np.uint8)
    stack[:, 0, 0, :] = np.array([0, 255, 5, 7, 0])[:, None]
    stack[:, 0, 1, :2] = np.array([9, 0, 3, 200, 77])[:, None]
    valid = np.array([[True, False, True, True, False], [True, True, True, True, False]]).T
    med, count = background.masked_median(stack, valid.reshape(5, 1, 2))
    assert count.tolist() == [[3, 4]]
    assert med[0].tolist() == [[5, 5, 5], [3, 3, 0]]


def test_keypoint_mask_covers_the_limbs_and_nothing_far_away():
    pose = dancer_pose("target", 1.0, SIZE)
    mask = background.keypoint_mask(pose.keypoints, SIZE)
    kp = pose.keypoints
    mid_thigh = ((kp[B["RHip"], :2] + kp[B["RKnee"], :2]) / 2).round().astype(int)
    assert mask[mid_thigh[1], mid_thigh[0]] == 255
    assert mask[0, 0] == 0 and mask[0, -1] == 0
    assert 0.02 < (mask > 0).mean() < 0.4
    assert not background.keypoint_mask(np.zeros((137, 3), np.float32), SIZE).any()


def test_plate_recovers_the_background_behind_a_moving_person():
    frames, masks, truth = clip(40)
    plate = background.estimate_plate(lambda t: frames[t], lambda t: masks[t], len(frames))
    assert plate.ok and plate.reason == "static camera"
    assert plate.disagreeing_share == 0.0
    # The dancer covers a few pixels in every sample (they are inpainted, and reported).
    assert 0.0 < plate.inpainted_share < 0.1
    err = np.abs(plate.image.astype(int) - truth.astype(int))
    assert err.mean() < 4.0, err.mean()


def test_panning_camera_gives_no_plate(tmp_path):
    frames, masks, _ = clip(30, pan=3)
    plate = background.estimate_plate(lambda t: frames[t], lambda t: masks[t], len(frames))
    assert not plate.ok and plate.disagreeing_share > 0.5
    assert plate.reason.startswith("the camera moves")
    background.write_plate(tmp_path, plate)
    info = json.loads((tmp_path / "background.json").read_text())
    assert info["plate"] is False and "camera moves" in info["reason"]
    assert not (tmp_path / "background.png").exists()
    assert background.load_plate(tmp_path)[0] is None


def test_plate_written_and_read_back(tmp_path):
    frames, masks, _ = clip(12)
    plate = background.estimate_plate(lambda t: frames[t], lambda t: masks[t], len(frames))
    background.write_plate(tmp_path, plate)
    image, reason = background.load_plate(tmp_path)
    assert reason == "static camera" and np.array_equal(image, plate.image)
    info = json.loads((tmp_path / "background.json").read_text())
    assert info["size"] == [256, 128] and info["samples"] == 12
    missing, why = background.load_plate(tmp_path / "nothing")
    assert missing is None and "not found" in why


@pytest.mark.parametrize("n, expected", [(5, [0, 1, 2, 3, 4]), (121, list(range(0, 121, 2)))])
def test_sample_indices_spread_over_the_video(n, expected):
    assert list(background.sample_indices(n, 61 if n > 100 else 60)) == expected


def test_unreadable_plate_record_means_no_plate(tmp_path):
    (tmp_path / "background.json").write_text("{not json")
    plate, why = background.load_plate(tmp_path)
    assert plate is None and "background.json is not readable" in why and "re-run make_target.py" in why
