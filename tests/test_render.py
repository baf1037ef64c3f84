import numpy as np
import pytest

from src.io.files import read_image
from src.pose.keypoints import B
from src.pose.render import (BODY_COLORS, BODY_LIMBS, HAND_COLORS, LIMB_FILL, render_label,
                             render_patch, write_label)

SIZE = (1024, 512)
# A standing person in a 1024x512 frame: joint name -> (x, y).
POSE = {
    "Nose": (512, 80), "Neck": (512, 120), "RShoulder": (470, 122), "RElbow": (450, 190),
    "RWrist": (440, 260), "LShoulder": (554, 122), "LElbow": (580, 190), "LWrist": (600, 260),
    "MidHip": (512, 240), "RHip": (490, 240), "RKnee": (480, 330), "RAnkle": (478, 420),
    "LHip": (534, 240), "LKnee": (545, 330), "LAnkle": (550, 420), "REye": (504, 72),
    "LEye": (520, 72), "REar": (496, 78), "LEar": (528, 78), "LBigToe": (575, 432),
    "LSmallToe": (565, 436), "LHeel": (545, 430), "RBigToe": (455, 432), "RSmallToe": (465, 436),
    "RHeel": (484, 430),
}


def body_pose(scale=1.0):
    kp = np.zeros((137, 3), np.float32)
    for name, (x, y) in POSE.items():
        kp[B[name]] = (x * scale, y * scale, 1)
    return kp


def limb_index(a, b):
    return BODY_LIMBS.index((B[a], B[b]))


def pixel(img, xy):
    return tuple(int(v) for v in img[int(round(xy[1])), int(round(xy[0]))])


def midpoint(kp, a, b):
    return (kp[B[a], :2] + kp[B[b], :2]) / 2


def test_shape_dtype_and_white_background():
    img = render_label(body_pose(), SIZE)
    assert img.shape == (512, 1024, 3) and img.dtype == np.uint8
    assert (img[:20] == 255).all() and (img[:, :300] == 255).all()
    assert render_label(body_pose(0.5), (512, 256)).shape == (256, 512, 3)
    assert render_label(body_pose(), (640, 480)).shape == (480, 640, 3)


# OpenPose's published BODY_25 render tables (include/openpose/pose/poseParametersRender.hpp):
# POSE_BODY_25_PAIRS_RENDER_GPU and POSE_BODY_25_COLORS_RENDER_GPU (RGB, one per keypoint; a limb
# is drawn in the colour of its second keypoint).
OPENPOSE_PAIRS = [(1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10),
                  (10, 11), (8, 12), (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16),
                  (16, 18), (14, 19), (19, 20), (14, 21), (11, 22), (22, 23), (11, 24)]
OPENPOSE_COLORS = [(255, 0, 85), (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0),
                   (170, 255, 0), (85, 255, 0), (0, 255, 0), (255, 0, 0), (0, 255, 85),
                   (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255),
                   (255, 0, 170), (170, 0, 255), (255, 0, 255), (85, 0, 255), (0, 0, 255),
                   (0, 0, 255), (0, 0, 255), (0, 255, 255), (0, 255, 255), (0, 255, 255)]
# OpenPose's hand colours (POSE_HAND_COLORS_RENDER), one per hand keypoint.
OPENPOSE_HAND_COLORS = [(100, 100, 100), (100, 0, 0), (150, 0, 0), (200, 0, 0), (255, 0, 0),
                        (100, 100, 0), (150, 150, 0), (200, 200, 0), (255, 255, 0), (0, 100, 50),
                        (0, 150, 75), (0, 200, 100), (0, 255, 125), (0, 50, 100), (0, 75, 150),
                        (0, 100, 200), (0, 125, 255), (100, 0, 100), (150, 0, 150), (200, 0, 200),
                        (255, 0, 255)]
FOOT_POINTS = range(19, 25)   # feet: the labels give each foot limb its own shade
LIGHTEN = 0.6                 # limbs are blended with the white background: 0.6 colour + 0.4 white


def test_limbs_are_openposes_pairs_in_its_order():
    assert [tuple(p) for p in BODY_LIMBS] == OPENPOSE_PAIRS


@pytest.mark.parametrize("a, b", [p for p in OPENPOSE_PAIRS if p[1] not in FOOT_POINTS])
def test_limb_midpoint_has_openposes_colour_lightened(a, b):
    kp = body_pose()
    img = render_label(kp, SIZE)
    mid = (kp[a, :2] + kp[b, :2]) / 2
    expected = tuple(int(round(c * LIGHTEN + 255 * (1 - LIGHTEN))) for c in OPENPOSE_COLORS[b])
    assert pixel(img, mid) == expected


@pytest.mark.parametrize("joint", [j for j in range(25) if j not in FOOT_POINTS])
def test_joints_are_dots_of_openposes_colour(joint):
    kp = body_pose()
    img = render_label(kp, SIZE)
    assert pixel(img, kp[joint, :2]) == OPENPOSE_COLORS[joint]


def test_foot_limbs_keep_their_sides_hue():
    # OpenPose draws the left foot blue (0, 0, 255) and the right one cyan (0, 255, 255).
    for (a, b), colour in zip(BODY_LIMBS, BODY_COLORS.tolist()):
        if b in range(19, 22):
            assert colour[2] > colour[0] and colour[2] > colour[1]       # blue dominates
        elif b in range(22, 25):
            assert colour[1] > colour[0] and colour[2] > colour[0]       # green and blue
    assert HAND_COLORS.tolist() == [list(c) for c in OPENPOSE_HAND_COLORS]


def test_left_and_right_differ_and_all_limbs_distinct():
    assert len({tuple(c) for c in BODY_COLORS.tolist()}) == len(BODY_LIMBS) == 24
    for left, right in [(("LElbow", "LWrist"), ("RElbow", "RWrist")),
                        (("LKnee", "LAnkle"), ("RKnee", "RAnkle")),
                        (("LShoulder", "LElbow"), ("RShoulder", "RElbow"))]:
        assert (LIMB_FILL[limb_index(*left)] != LIMB_FILL[limb_index(*right)]).any()


def test_missing_points_draw_nothing():
    assert (render_label(np.zeros((137, 3)), SIZE) == 255).all()
    kp = body_pose()
    kp[B["LWrist"], 2] = 0
    img = render_label(kp, SIZE)
    # The forearm needs both ends: its midpoint stays white, the missing wrist too.
    assert pixel(img, midpoint(kp, "LElbow", "LWrist")) == (255, 255, 255)
    assert pixel(img, kp[B["LWrist"], :2]) == (255, 255, 255)
    # A lone point with no partner is still drawn as a joint dot.
    lone = np.zeros((137, 3))
    lone[B["Nose"]] = (100, 100, 1)
    img = render_label(lone, SIZE)
    assert pixel(img, (100, 100)) == OPENPOSE_COLORS[0]           # the nose
    assert (img != 255).any(axis=2).sum() < 100


def test_points_outside_the_image_and_nan_do_not_crash():
    kp = body_pose()
    kp[B["LWrist"]] = (5000, -3000, 1)
    kp[B["RWrist"]] = (np.nan, np.nan, 1)
    img = render_label(kp, SIZE)
    assert img.shape == (512, 1024, 3)


def test_widths_scale_with_image_size():
    def limb_pixels(scale, size):
        kp = body_pose(scale)
        only = np.zeros_like(kp)
        only[[B["Neck"], B["MidHip"]]] = kp[[B["Neck"], B["MidHip"]]]
        img = render_label(only, size)
        y = int(midpoint(kp, "Neck", "MidHip")[1])
        return ((img[y] != 255).any(axis=1)).sum()  # width of the torso across one row
    small, big = limb_pixels(0.5, (512, 256)), limb_pixels(2.0, (2048, 1024))
    assert 2 <= small < big
    assert 3 <= limb_pixels(1.0, SIZE) <= 7   # about 5 px at 1024x512 like the reference labels
    assert big >= 2 * small


def test_hands_and_face_are_drawn():
    kp = np.zeros((137, 3), np.float32)
    # Left hand: wrist at (300, 300), index finger (points 5-8) straight up.
    kp[95] = (300, 300, 1)
    for i, j in enumerate(range(5, 9)):
        kp[95 + j] = (300, 280 - 15 * i, 1)
    kp[25 + 30] = (700, 100, 1)  # nose tip
    img = render_label(kp, SIZE)
    assert pixel(img, (300, 247.5)) == tuple(HAND_COLORS[7].tolist())  # between points 6 and 7
    assert pixel(img, (700, 100)) == (128, 128, 128)  # a face dot halves the white under it


def test_face_dots_at_small_sizes_leave_the_head_joints_visible():
    # At 256x128 the face is about 8 px wide: 70 opaque dots there used to make one black disc.
    kp = body_pose(0.25)                              # nose at (128, 20), eyes at (126, 18) and (130, 18)
    rng = np.random.default_rng(0)
    angle, dist = rng.uniform(0, 2 * np.pi, 70), rng.uniform(0, 4, 70)
    kp[25:95] = np.stack([128 + dist * np.cos(angle), 20 + dist * np.sin(angle), np.ones(70)], 1)
    kp[25 + 36] = (126, 18, 1)                        # one face point right on the right eye
    with_face = render_label(kp, (256, 128)).astype(int)
    kp_no_face = kp.copy()
    kp_no_face[25:95, 2] = 0
    without = render_label(kp_no_face, (256, 128)).astype(int)
    # REye's OpenPose colour (255, 0, 170), halved: the joint's hue survives under the face dots.
    assert pixel(without, (126, 18)) == (255, 0, 170)
    assert pixel(with_face, (126, 18)) == (128, 0, 85)
    # No pixel goes darker than half of what it was, however many dots overlap it.
    assert (with_face >= np.floor(without * 0.5)).all()
    assert (with_face <= without).all()
    assert (with_face != without).any(axis=2).sum() >= 40  # the face still shows as a shape


def full_pose(scale=1.0):
    """body_pose with both hands and the face filled in around the wrists and the nose."""
    kp = body_pose(scale)
    rng = np.random.default_rng(1)
    for start, wrist in ((95, "LWrist"), (116, "RWrist")):
        kp[start:start + 21, :2] = kp[B[wrist], :2] + rng.uniform(-25, 25, (21, 2)) * scale
        kp[start:start + 21, 2] = 1
    kp[25:95, :2] = kp[B["Nose"], :2] + rng.uniform(-20, 20, (70, 2)) * scale
    kp[25:95, 2] = 1
    return kp


@pytest.mark.parametrize("scale,size", [(1.0, (1024, 512)), (0.25, (256, 128)), (2.0, (2048, 1024))])
def test_the_drawn_patch_holds_every_shape_whole(scale, size):
    # The label is drawn on the figure's box only. Its border rows and columns must be white:
    # a shape reaching them would have been cut.
    x0, y0, patch = render_patch(full_pose(scale), size)
    assert 0 < x0 and 0 < y0 and x0 + patch.shape[1] < size[0] and y0 + patch.shape[0] < size[1]
    for edge in (patch[0], patch[-1], patch[:, 0], patch[:, -1]):
        assert (edge == 255).all()
    # Left of the left hand's points there is drawing within a few pixels of the box's edge.
    assert (patch[:, :12] != 255).any()


def test_a_figure_cut_by_the_frame_border_and_wild_points(tmp_path):
    kp = full_pose()
    kp[:, 0] -= 500                                  # the left half of the figure is out of view
    kp[B["RWrist"]] = (-1e7, 3e6, 1)                 # a wild detection
    img = render_label(kp, SIZE)
    x0, y0, patch = render_patch(kp, SIZE)
    assert x0 == 0 and img.shape == (512, 1024, 3)
    assert (img[:, x0 + patch.shape[1]:] == 255).all() and (img[:, :30] != 255).any()
    write_label(tmp_path / "l.png", kp, SIZE)
    assert np.array_equal(read_image(tmp_path / "l.png"), img)
    assert render_patch(np.zeros((137, 3)), SIZE)[2].size == 0
    far = full_pose()
    far[:, 0] += 5000                                # everybody far right of the frame
    assert render_patch(far, SIZE)[2].size == 0 and (render_label(far, SIZE) == 255).all()
