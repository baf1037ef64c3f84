"""Still-image mode (src/still): rig, layout, refusals, and the whole chain on generated data.

The rig tests use a stick figure drawn here with a skeleton written out by hand (pixels), so the
expected positions are literals, not outputs of the code under test.
"""
import math
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from src.pose.keypoints import B, N_POINTS, PoseTrack
from src.still import layout, mesh, render, rig, skirt, stage, transfer as still_transfer
from src.still.transfer import Animator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = (512, 448)

# A figure facing the camera with both arms held out sideways (the person's right arm on the
# image's left), legs apart; pixels.
SKELETON = {
    "Nose": (256, 120), "Neck": (256, 160),
    "RShoulder": (216, 160), "RElbow": (166, 160), "RWrist": (116, 160),
    "LShoulder": (296, 160), "LElbow": (346, 160), "LWrist": (396, 160),
    "MidHip": (256, 280), "RHip": (236, 280), "LHip": (276, 280),
    "RKnee": (226, 350), "RAnkle": (221, 410), "LKnee": (286, 350), "LAnkle": (291, 410),
    "RBigToe": (206, 422), "LBigToe": (306, 422),
}
MARKER = (0, 255, 0)   # a green dot painted on the right wrist


def figure_keypoints(overrides=None):
    kp = np.zeros((N_POINTS, 3), np.float32)
    for name, xy in {**SKELETON, **(overrides or {})}.items():
        kp[B[name]] = (*xy, 1.0)
    return kp


def draw_figure():
    """(photo, mask) of the stick figure: a colour gradient texture inside drawn limbs."""
    w, h = SIZE
    mask = np.zeros((h, w), np.uint8)
    j = {k: tuple(int(v) for v in xy) for k, xy in SKELETON.items()}
    cv2.fillConvexPoly(mask, np.array([(208, 152), (304, 152), (280, 284), (232, 284)]), 255)
    cv2.circle(mask, (256, 112), 24, 255, -1)
    cv2.line(mask, j["Neck"], j["Nose"], 255, 14)
    for a, b, width in (("RShoulder", "RElbow", 16), ("RElbow", "RWrist", 14),
                        ("LShoulder", "LElbow", 16), ("LElbow", "LWrist", 14),
                        ("RHip", "RKnee", 20), ("RKnee", "RAnkle", 18),
                        ("LHip", "LKnee", 20), ("LKnee", "LAnkle", 18),
                        ("RAnkle", "RBigToe", 12), ("LAnkle", "LBigToe", 12)):
        cv2.line(mask, j[a], j[b], 255, width)
    cv2.circle(mask, (104, 160), 11, 255, -1)   # hands
    cv2.circle(mask, (408, 160), 11, 255, -1)
    ys, xs = np.mgrid[0:h, 0:w]
    texture = np.stack([xs * 255 // w, ys * 255 // h, 255 - xs * 255 // w], axis=2).astype(np.uint8)
    photo = np.full((h, w, 3), 255, np.uint8)
    photo[mask > 0] = texture[mask > 0]
    cv2.circle(photo, j["RWrist"], 3, MARKER, -1)
    return photo, mask


@pytest.fixture(scope="module")
def figure():
    photo, mask = draw_figure()
    still = stage.build(photo, mask, figure_keypoints(), background="plain")
    return photo, mask, still


def marker_centre(img):
    green = (img[..., 1] > 200) & (img[..., 0] < 60) & (img[..., 2] < 60)
    ys, xs = np.nonzero(green)
    assert len(xs) > 5, "the wrist marker is not in the frame"
    return xs.mean(), ys.mean()


def test_mesh_covers_the_mask_without_flips(figure):
    _, mask, still = figure
    areas = mesh.signed_areas(still.vertices, still.triangles)
    assert (areas > 0).all()
    covered = np.zeros(mask.shape, np.uint8)
    for tri in np.round(still.vertices[still.triangles]).astype(np.int32):
        cv2.fillConvexPoly(covered, tri, 255)
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8))
    assert (covered[inner > 0] > 0).mean() > 0.999          # no holes inside
    assert (covered[cv2.dilate(mask, np.ones((7, 7), np.uint8)) == 0] == 0).all()  # no spill


def test_same_pose_gives_the_photo_back(figure):
    photo, mask, still = figure
    frame = Animator(still).frame(figure_keypoints())
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0
    diff = np.abs(frame.astype(int) - photo.astype(int))
    assert diff[inner].max() <= 2
    assert diff.mean() < 1.0


def test_arm_raised_90_degrees(figure):
    photo, mask, still = figure
    # The right arm turned about the shoulder (216, 160) from pointing left to pointing up.
    raised = figure_keypoints({"RElbow": (216, 110), "RWrist": (216, 60)})
    animator = Animator(still)
    pose = rig.retarget(animator.rest, rig.rig_points(raised))
    assert pose.points[B["RElbow"]] == pytest.approx((216, 110), abs=1e-3)
    assert pose.points[B["RWrist"]] == pytest.approx((216, 60), abs=1e-3)
    assert pose.angles[rig.BONE_INDEX["r_upper_arm"]] == pytest.approx(math.pi / 2, abs=1e-6)
    frame = animator.frame(raised)
    assert marker_centre(photo) == pytest.approx((116, 160), abs=0.5)
    x, y = marker_centre(frame)
    assert abs(x - 216) <= 2 and abs(y - 60) <= 2
    # The torso away from the shoulders does not move: its vertices stay put, its pixels keep
    # their values (up to the remap's fixed-point rounding).
    vertices = animator.deform(raised)
    x0, y0, x1, y1 = 236, 185, 276, 265
    inside = ((still.vertices[:, 0] >= x0) & (still.vertices[:, 0] <= x1)
              & (still.vertices[:, 1] >= y0) & (still.vertices[:, 1] <= y1))
    assert inside.sum() > 10
    assert np.abs(vertices[inside] - still.vertices[inside]).max() < 1e-3
    torso = (slice(y0, y1), slice(x0, x1))
    assert np.abs(frame[torso].astype(int) - photo[torso]).max() <= 1
    left_arm = np.zeros(mask.shape, bool)
    left_arm[150:171, 330:420] = True
    left_arm &= cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0     # inside, off the soft edge
    assert np.abs(frame[left_arm].astype(int) - photo[left_arm]).max() <= 2
    # Where the arm was is background now.
    assert (frame[155:166, 130:150] == 255).all()


def test_retarget_keeps_the_photo_lengths_and_shortens_foreshortened_limbs():
    rest = rig.rig_points(figure_keypoints())
    # The driving upper arm is 100 px long, pointing up-left at (-0.8, -0.6); its forearm 30 px
    # long, pointing straight down. The torso is the photo's (neck to mid-hip 120 px): scale 1.
    driving = rig.rig_points(figure_keypoints({"RElbow": (136, 100), "RWrist": (136, 130)}))
    pose = rig.retarget(rest, driving)
    # Photo lengths: upper arm 50, forearm 50. The upper arm, longer than the photo's, keeps 50;
    # the forearm is 30 / 50 = 0.6 of it, over 0.9 (drawn full from there): 0.667 x 50 = 33.3 px.
    assert pose.points[B["RElbow"]] == pytest.approx((216 - 40, 160 - 30), abs=1e-3)
    assert pose.points[B["RWrist"]] == pytest.approx((176, 130 + 100 / 3), abs=1e-3)
    assert pose.lengths[rig.BONE_INDEX["r_forearm"]] == pytest.approx(2 / 3)
    assert pose.lengths[rig.BONE_INDEX["r_upper_arm"]] == 1.0


def test_a_shortened_bone_squeezes_its_skin_along_itself_only():
    rest = rig.rig_points(figure_keypoints())
    forearm = rig.BONE_INDEX["r_forearm"]
    # One vertex on the forearm, 25 px out from the elbow (166, 160) and 3 px below the bone.
    weights = np.zeros((1, len(rig.BONES)), np.float32)
    weights[0, forearm] = 1
    binding = rig.Binding(weights, np.array([B["RElbow"]], np.int32), np.array([forearm], np.int32))
    # The driving forearm points the same way, 25 px long: 0.5 / 0.9 of the photo's 50 px.
    pose = rig.retarget(rest, rig.rig_points(figure_keypoints({"RWrist": (141, 160)})))
    moved = rig.deform(np.array([[141.0, 163.0]]), binding, rest, pose)
    assert moved[0] == pytest.approx((166 - 25 * 5 / 9, 163), abs=1e-3)


def test_a_side_view_narrows_the_torso_as_a_turned_ellipse():
    rest = rig.rig_points(figure_keypoints())
    torso = rig.BONE_INDEX["torso"]
    # Shoulders 12 px apart (the photo's 80), hips 6 (its 40), the torso as long: the body turned
    # until its spans are 0.15 of the photo's; over 0.9, the cosine of the turn is 1/6. Width
    # and a depth of 0.7 x the width mixed: sqrt(1/36 + 0.49 * 35/36) = 0.710047.
    side = figure_keypoints({"RShoulder": (250, 160), "LShoulder": (262, 160),
                             "RHip": (253, 280), "LHip": (259, 280)})
    pose = rig.retarget(rest, rig.rig_points(side))
    assert pose.widths[torso] == pytest.approx(0.710047, abs=1e-6)
    assert pose.points[B["LShoulder"]] - pose.points[B["RShoulder"]] == pytest.approx((56.8038, 0), abs=1e-3)
    assert pose.points[B["LHip"]] - pose.points[B["RHip"]] == pytest.approx((28.4019, 0), abs=1e-3)
    # A torso vertex 30 px right of the mid-hip's line and 60 px above it comes 21.30 px right.
    weights = np.zeros((1, len(rig.BONES)), np.float32)
    weights[0, torso] = 1
    binding = rig.Binding(weights, np.array([B["MidHip"]], np.int32), np.array([torso], np.int32))
    moved = rig.deform(np.array([[286.0, 220.0]]), binding, rest, pose)
    assert moved[0] - pose.points[B["MidHip"]] == pytest.approx((21.3014, -60), abs=1e-3)
    # Facing the camera, spans over 0.9 of the photo's: full width.
    assert rig.retarget(rest, rig.rig_points(figure_keypoints())).widths[torso] == 1.0


def test_a_bone_the_driving_pose_lacks_keeps_its_angle_to_its_parent():
    rest = rig.rig_points(figure_keypoints())
    driving = figure_keypoints({"RElbow": (216, 110)})
    driving[B["RWrist"]] = 0                            # wrist not found
    pose = rig.retarget(rest, rig.rig_points(driving))
    # The forearm stays straight along the raised upper arm: wrist 50 px above the elbow.
    assert pose.points[B["RWrist"]] == pytest.approx((216, 60), abs=1e-3)


def test_an_arm_the_driving_pose_does_not_show_hangs_behind_the_torso():
    rest = rig.rig_points(figure_keypoints())
    driving = figure_keypoints()
    driving[B["RElbow"]] = driving[B["RWrist"]] = 0     # the far arm of a side view
    assert rig.unseen_arms(driving) == ["r_arm"]
    pose = rig.retarget(rest, rig.rig_points(driving))
    # From the shoulder (216, 160) towards the hip (236, 280): direction (20, 120) / 121.655.
    # Upper arm and forearm, 50 px each, along it.
    step = 50 / math.hypot(20, 120)
    assert pose.points[B["RElbow"]] == pytest.approx((216 + 20 * step, 160 + 120 * step), abs=1e-3)
    assert pose.points[B["RWrist"]] == pytest.approx((216 + 40 * step, 160 + 240 * step), abs=1e-3)
    # ... drawn behind the torso; the other arm stays in front.
    parts = [rig.PARTS.index(n) for n in ["r_hand_hidden", "l_hand_hidden", "r_arm", "r_leg", "l_leg",
                                          "torso", "head", "l_arm"]]
    assert render.front_back(driving, figure_keypoints()) == parts
    # Only the wrist missing: the forearm keeps its photo angle (the test above), in front.
    driving = figure_keypoints()
    driving[B["RWrist"]] = 0
    assert rig.unseen_arms(driving) == []


def test_head_tilts_with_the_eyes_not_with_the_nose():
    eyes = {"REye": (246, 112), "LEye": (266, 112)}
    rest = rig.rig_points(figure_keypoints(eyes))
    head = rig.BONE_INDEX["head"]
    # The face turns aside: the nose swings 15 px to the image's right, the eyes stay level.
    turned = rig.retarget(rest, rig.rig_points(figure_keypoints({**eyes, "Nose": (271, 120)})))
    assert turned.angles[head] == pytest.approx(0, abs=1e-9)
    # The head tilts 20 degrees: the eye line turns 20 degrees (clockwise on screen).
    a = math.radians(20)
    tilted = {"REye": (256 - 10 * math.cos(a), 112 - 10 * math.sin(a)),
              "LEye": (256 + 10 * math.cos(a), 112 + 10 * math.sin(a))}
    pose = rig.retarget(rest, rig.rig_points(figure_keypoints(tilted)))
    assert pose.angles[head] == pytest.approx(a, abs=1e-6)
    # The nose, 40 px above the neck (256, 160), turns with the head about the neck.
    assert pose.points[B["Nose"]] == pytest.approx((256 + 40 * math.sin(a), 160 - 40 * math.cos(a)),
                                                   abs=1e-3)


def test_head_stays_upright_when_the_face_turns_away():
    eyes = {"REye": (246, 112), "LEye": (266, 112)}       # a 20-px eye line in the photo
    rest = rig.rig_points(figure_keypoints(eyes))
    head = rig.BONE_INDEX["head"]
    # A back view: the detector's eyes come out swapped, and tilted 30 degrees.
    a = math.radians(30)
    back = {"REye": (256 + 10 * math.cos(a), 112 + 10 * math.sin(a)),
            "LEye": (256 - 10 * math.cos(a), 112 - 10 * math.sin(a))}
    assert rig.retarget(rest, rig.rig_points(figure_keypoints(back))).angles[head] == 0
    # A side view: the eye line shrinks to 8 px (less than half of 20 at the same torso length)
    # and tilts 30 degrees: the head keeps its photo angle.
    side = {"REye": (256 - 4 * math.cos(a), 112 - 4 * math.sin(a)),
            "LEye": (256 + 4 * math.cos(a), 112 + 4 * math.sin(a))}
    assert rig.retarget(rest, rig.rig_points(figure_keypoints(side))).angles[head] == 0
    # 12 px (over half) is still a face to the camera: the head tilts the 30 degrees.
    near = {"REye": (256 - 6 * math.cos(a), 112 - 6 * math.sin(a)),
            "LEye": (256 + 6 * math.cos(a), 112 + 6 * math.sin(a))}
    pose = rig.retarget(rest, rig.rig_points(figure_keypoints(near)))
    assert pose.angles[head] == pytest.approx(a, abs=1e-6)


# The figure seen from behind, as a detector names its joints: the person's right side on the
# image's right. Its arm on the image's right (the person's right) is raised straight up.
BACK_VIEW = {
    "Nose": (256, 120), "Neck": (256, 160),
    "RShoulder": (296, 160), "RElbow": (296, 110), "RWrist": (296, 60),
    "LShoulder": (216, 160), "LElbow": (166, 160), "LWrist": (116, 160),
    "MidHip": (256, 280), "RHip": (276, 280), "LHip": (236, 280),
    "RKnee": (286, 350), "RAnkle": (291, 410), "LKnee": (226, 350), "LAnkle": (221, 410),
    "RBigToe": (306, 422), "LBigToe": (206, 422),
}


def test_seen_from_behind_by_the_shoulders_and_hips_together():
    photo = figure_keypoints()
    assert not rig.seen_from_behind(photo, photo)
    assert rig.seen_from_behind(figure_keypoints(BACK_VIEW), photo)
    # Shoulders swapped by 4 px (a side view), hips 40 px the photo's way: still the front.
    side = figure_keypoints({"RShoulder": (258, 160), "LShoulder": (254, 160)})
    assert not rig.seen_from_behind(side, photo)
    # Shoulders swapped 80 px apart, hips 40 px apart the photo's way: the back.
    assert rig.seen_from_behind(figure_keypoints({"RShoulder": (296, 160), "LShoulder": (216, 160)}),
                                photo)


def test_a_back_view_moves_the_limb_on_its_own_side_of_the_image(figure):
    photo, mask, still = figure
    back = figure_keypoints(BACK_VIEW)
    back[B["REye"]], back[B["LEye"]] = (266, 112, 1), (246, 112, 1)   # guessed from behind
    animator = Animator(still)
    # The photo's left arm (on the image's right) rises; its right arm, with the green marker on
    # the wrist, stays out to the image's left instead of swinging up across the body.
    frame = animator.frame(back)
    x, y = marker_centre(frame)
    assert abs(x - 116) <= 2 and abs(y - 160) <= 2
    pose = rig.retarget(animator.rest, rig.rig_points(rig.facing_front(back, still.keypoints)))
    assert pose.points[B["LWrist"]] == pytest.approx((296, 60), abs=1e-3)
    assert pose.points[B["RWrist"]] == pytest.approx((116, 160), abs=1e-3)
    # The head keeps its photo angle: the face points of a head seen from behind are dropped.
    assert pose.angles[rig.BONE_INDEX["head"]] == 0
    assert pose.points[B["Nose"]] == pytest.approx((256, 120), abs=1e-3)
    # The legs stay on their sides: the left ankle (photo 291, 410) is not drawn on the right.
    assert pose.points[B["LAnkle"]] == pytest.approx((291, 410), abs=1e-3)


def test_limbs_in_front_or_behind():
    photo = figure_keypoints()
    parts = lambda names: [rig.PARTS.index(n) for n in names]
    hidden = ["r_hand_hidden", "l_hand_hidden"]     # hands hidden in the photo: always behind
    facing = render.front_back(photo, photo)
    assert facing == parts(hidden + ["r_leg", "l_leg", "torso", "head", "r_arm", "l_arm"])
    # Seen from the back: the right shoulder is on the image's right.
    back = figure_keypoints({"RShoulder": (296, 160), "LShoulder": (216, 160)})
    assert render.front_back(back, photo)[2:4] == parts(["r_arm", "l_arm"])
    # Side view (shoulders 10 px apart, photo 80), nose toward the image right, the left
    # shoulder's side: the left arm is the far one.
    side = figure_keypoints({"RShoulder": (251, 160), "LShoulder": (261, 160), "Nose": (270, 120)})
    assert render.front_back(side, photo) == parts(hidden + ["l_arm", "r_leg", "l_leg", "torso", "head",
                                                   "r_arm"])


def test_layout_round_trip(tmp_path, figure):
    photo, mask, still = figure
    out = str(tmp_path / "target")
    track = PoseTrack(keypoints=still.keypoints[None], fps=1.0, size=SIZE, crop=(0, 0, *SIZE),
                      video_size=SIZE, backend="mediapipe")
    stage.write(out, still, track)
    for name in ("still/photo.png", "still/mask.png", "still/background.png", "still/mesh.npz",
                 "still/preview.png", "keypoints.npz"):
        assert os.path.isfile(os.path.join(out, name)), name
    assert layout.mesh_matches(out)
    back = layout.load(out)
    assert np.array_equal(back.photo, photo)
    assert (back.background == 255).all()               # "plain": the white around the figure
    for field in ("keypoints", "vertices", "triangles", "weights", "pivot", "primary", "parts"):
        assert np.array_equal(getattr(back, field), getattr(still, field)), field
    assert cv2.imread(os.path.join(out, "still", "mask.png"), 0).tolist() == mask.tolist()
    # A video target written over it later is no longer a still.
    PoseTrack(keypoints=np.repeat(still.keypoints[None], 2, 0), fps=15, size=SIZE,
              crop=(0, 0, *SIZE), video_size=SIZE, backend="mediapipe").save(
        os.path.join(out, "keypoints.npz"))
    assert not layout.mesh_matches(out)


def test_transfer_streams_and_resumes(tmp_path, figure):
    photo, mask, still = figure
    target = str(tmp_path / "target")
    stage.write(target, still, PoseTrack(keypoints=still.keypoints[None], fps=1.0, size=SIZE,
                                               crop=(0, 0, *SIZE), video_size=SIZE,
                                               backend="mediapipe"))
    angles = np.radians([0, 30, 60, 90])
    kps = np.stack([figure_keypoints({"RElbow": (216 - 50 * math.cos(a), 160 - 50 * math.sin(a)),
                                      "RWrist": (216 - 100 * math.cos(a), 160 - 100 * math.sin(a))})
                    for a in angles])
    source = tmp_path / "source"
    PoseTrack(keypoints=kps, fps=15, size=SIZE, crop=(0, 0, *SIZE), video_size=SIZE,
              backend="normalized").save(str(source / "keypoints_norm.npz"))
    out = str(tmp_path / "out")
    assert still_transfer.run(target, str(source), out)["made"] == 4
    first = [cv2.imread(os.path.join(out, f"{i:05d}.png")) for i in range(4)]
    os.remove(os.path.join(out, "00002.png"))
    os.remove(os.path.join(out, "00003.png"))
    summary = still_transfer.run(target, str(source), out)
    assert (summary["made"], summary["kept"]) == (2, 2)
    for i in range(4):
        assert np.array_equal(cv2.imread(os.path.join(out, f"{i:05d}.png")), first[i])
    x, y = marker_centre(cv2.cvtColor(first[3], cv2.COLOR_BGR2RGB))
    assert abs(x - 216) <= 2 and abs(y - 60) <= 2


def swing_left_leg(degrees):
    """The figure's keypoints with the left leg turned out (to the image's right) about its hip."""
    a = math.radians(-degrees)
    turn = lambda x, y: (276 + (x - 276) * math.cos(a) - (y - 280) * math.sin(a),
                         280 + (x - 276) * math.sin(a) + (y - 280) * math.cos(a))
    return figure_keypoints({"LKnee": turn(286, 350), "LAnkle": turn(291, 410),
                             "LBigToe": turn(306, 422)})


def test_legs_joined_in_the_photo_part_when_they_move():
    photo, mask = draw_figure()
    cv2.rectangle(mask, (226, 380), (286, 390), 255, -1)     # the shins touch (a bridge)
    photo[mask > 0] = np.where(photo[mask > 0] == 255, 128, photo[mask > 0])
    still = stage.build(photo, mask, figure_keypoints(), background="plain")
    spread = swing_left_leg(20)      # about its hip (276, 280)
    animator = Animator(still)
    frame = animator.frame(spread)
    assert (frame[383:388, 262:285] == 255).all()            # the bridge came apart
    edges = lambda v: np.hypot(*(v[still.triangles] - v[still.triangles[:, [1, 2, 0]]]).T)
    assert edges(animator.deform(spread)).max() < 1.5 * edges(still.vertices).max()  # none stretched


DRESS = (128, 0, 128)


def dressed_figure(floor_from=None):
    """The figure in a purple dress from the hips to row 395 (the ankles are at row 410), whose
    cloth fills the gap between the legs; from row `floor_from` down, the gap shows a light grey
    floor that the mask takes for the person (as a segmenter does between legs close together)."""
    photo, mask = draw_figure()
    dress = np.array([(226, 270), (286, 270), (316, 395), (196, 395)])
    cv2.fillConvexPoly(mask, dress, 255)
    cv2.fillConvexPoly(photo, dress, DRESS)
    if floor_from is not None:
        photo[floor_from:396, 226:287] = (220, 220, 220)
    return photo, mask


def test_a_dress_between_the_legs_stretches_instead_of_tearing():
    photo, mask = dressed_figure()
    bridge = skirt.find(photo, mask, figure_keypoints())
    assert bridge is not None and abs(bridge.top - 280) <= 1 and abs(bridge.bottom - 395) <= 1
    still = stage.build(photo, mask, figure_keypoints(), background="plain")
    spread = swing_left_leg(25)
    frame = Animator(still).frame(spread)
    # Midway between the legs' centre lines (hip, knee, ankle), up the hem: cloth, not the white
    # background of a tear.
    line = lambda side, y: np.interp(y, *spread[[B[side + j] for j in ("Hip", "Knee", "Ankle")]]
                                     [:, [1, 0]].T)
    for y in (360, 375, 390):
        x = int(round((line("R", y) + line("L", y)) / 2))
        middle = frame[y, x - 2:x + 3]
        assert (np.abs(middle.astype(int) - DRESS).max(axis=1) <= 10).all(), (y, x, middle)
    # Below the hem the legs still part: the floor between the shins shows.
    assert (frame[402:406, 250:262] == 255).all()


def test_a_notch_in_the_hem_between_the_legs_does_not_tear_open():
    photo, mask = draw_figure()
    # The hem rises in a small V midway between the legs: apex on row 387, 8 rows above the hem.
    dress = np.array([(226, 270), (286, 270), (316, 395), (262, 395), (256, 387), (250, 395),
                      (196, 395)])
    cv2.fillPoly(mask, [dress], 255)
    cv2.fillPoly(photo, [dress], DRESS)
    assert skirt.find(photo, mask, figure_keypoints()).bottom == 387
    still = stage.build(photo, mask, figure_keypoints(), background="plain")
    frame = Animator(still).frame(swing_left_leg(25))
    dress_coloured = np.abs(frame[382, 210:320].astype(int) - DRESS).max(axis=1) <= 10
    assert dress_coloured.all()     # cut right below the apex, the V tore up past row 382


def test_a_dress_ends_where_the_colour_between_the_legs_changes():
    photo, mask = dressed_figure(floor_from=370)
    bridge = skirt.find(photo, mask, figure_keypoints())
    assert abs(bridge.bottom - 369) <= 1


def test_trousers_with_a_gap_below_the_crotch_get_no_bridge(figure):
    photo, mask, _ = figure
    assert skirt.find(photo, mask, figure_keypoints()) is None


def square(x0, y0, x1, y1):
    """The corners of an axis-aligned square, as two triangles' vertices (0, 1, 2), (0, 2, 3)."""
    return np.float32([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


def two_part_renderer(uv_a, uv_b):
    """A renderer of two quads, part 0 drawn first, over a black 16x16 background. Its texture:
    red (200, 0, 0) and opaque in columns 0-7, white and transparent in columns 8-15."""
    texture = np.zeros((16, 16, 4), np.uint8)
    texture[:, :8] = (200, 0, 0, 255)
    texture[:, 8:] = (255, 255, 255, 0)
    triangles = np.array([(0, 1, 2), (0, 2, 3), (4, 5, 6), (4, 6, 7)])
    return render.Renderer(texture, np.zeros((16, 16, 3), np.uint8), np.vstack([uv_a, uv_b]),
                           triangles, np.array([0, 0, 1, 1]))


def test_a_transparent_part_in_front_shows_the_part_behind():
    # Part 1 samples the transparent columns and lies in front of the red part 0, on the same place.
    renderer = two_part_renderer(square(1, 1, 6, 14), square(9, 1, 14, 14))
    place = np.vstack([square(2, 2, 13, 13)] * 2)
    frame = renderer.render(place, np.arange(4))
    assert (frame[5:11, 5:11] == (200, 0, 0)).all()          # red, not the black background
    assert (frame[0, :] == 0).all() and (frame[:, 15] == 0).all()   # outside: the background


def test_the_soft_edge_follows_the_outline_not_the_seam_between_parts():
    # Two red parts side by side, meeting at x = 8: the seam is solid, the outline is soft.
    renderer = two_part_renderer(square(1, 1, 6, 14), square(1, 1, 6, 14))
    place = np.vstack([square(2, 2, 8, 13), square(8, 2, 13, 13)])
    frame = renderer.render(place, np.arange(4))
    assert (frame[6:10, 5:11] == (200, 0, 0)).all()          # across the seam, x 5-10
    assert 0 < frame[8, 2, 0] < 200                          # the outline's column is blended


def test_backgrounds_paint_the_person_out(figure):
    photo, mask, _ = figure
    photo = photo.copy()
    photo[mask == 0] = (200, 210, 220)                       # a plain wall around the figure
    for kind in ("inpaint", "blur", "plain"):
        back = stage.make_background(photo, mask, rig.body_height(figure_keypoints()), kind)
        assert back.shape == photo.shape
        # Where the figure was, only the wall's colour is left: the figure's colours differ from
        # it by up to 200 levels, inpainting's smoothing by a few.
        assert np.abs(back[mask > 0].astype(int) - (200, 210, 220)).max() <= 10, kind


def test_transfer_leaves_a_video_target_to_the_model(tmp_path):
    from src.errors import UserError
    from src.gan.transfer import run
    target = tmp_path / "target"
    PoseTrack(keypoints=np.repeat(figure_keypoints()[None], 3, 0), fps=15, size=SIZE,
              crop=(0, 0, *SIZE), video_size=SIZE, backend="mediapipe").save(
        str(target / "keypoints.npz"))
    source = tmp_path / "source"
    PoseTrack(keypoints=figure_keypoints()[None], fps=15, size=SIZE, crop=(0, 0, *SIZE),
              video_size=SIZE, backend="normalized").save(str(source / "keypoints_norm.npz"))
    with pytest.raises(UserError, match="test_label"):       # the model's path: labels needed
        run("nomodel", str(source), str(tmp_path / "out"), str(tmp_path / "ckpt"),
            target_dir=str(target))


# ---------------------------------------------------------------- the command line (MediaPipe)

def make_target(image, out):
    return subprocess.run([sys.executable, "make_target.py", "--image", str(image), "--out",
                           str(out), "--size", "512x256"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def refusal_images(folder):
    from src.demo.data import TARGET, _background, dancer_pose, draw_dancer
    from src.io.files import write_image
    size = (512, 256)
    pose = dancer_pose(TARGET, 18.8, size)       # a moment of the dance with the arms held out
    photo, truth = draw_dancer(pose, size), pose.keypoints
    # Cut half-way between the neck and the left shoulder: the left shoulder is out of view.
    cut_x = int(round((truth[B["Neck"], 0] + truth[B["LShoulder"], 0]) / 2))
    images = {"empty.png": _background(TARGET, size).copy(), "cut.png": photo[:, :cut_x]}
    for name, img in images.items():
        write_image(os.path.join(folder, name), img)
    with open(os.path.join(folder, "text.png"), "w") as f:
        f.write("not an image")


@pytest.mark.parametrize("name, words", [
    ("empty.png", "no person found"),
    ("cut.png", "cut off"),
    ("text.png", "not a readable image"),
    ("missing.png", "not found"),
])
def test_refusals_exit_2_with_one_line(tmp_path_factory, name, words):
    folder = tmp_path_factory.getbasetemp() / "refusals"
    if not folder.exists():
        folder.mkdir()
        refusal_images(str(folder))
    result = make_target(folder / name, folder / "out")
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"error: {folder / name}: ") and words in lines[0]
    assert "head and shoulders in view" in lines[0] or words in ("not a readable image", "not found")
    assert not os.path.exists(folder / "out" / "keypoints.npz")


def test_end_to_end_on_a_generated_dancer(tmp_path):
    """make_target.py --image on a synthetic dancer (a JPEG turned by its EXIF orientation),
    normalization.py, transfer.py: one frame per source pose, and MediaPipe sees the driving pose."""
    from PIL import Image
    from src.demo.data import dancer_pose, still_photo
    from src.evaluate.metrics import pose_distance
    from src.pose import make_backend
    size = (512, 256)
    photo, truth = still_photo(size)
    # Stored turned a quarter counter-clockwise (a phone held sideways), with EXIF orientation 6
    # ("rotate 90 degrees clockwise to view"): a reader ignoring EXIF would see a lying person.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.rot90(photo, 1)).save(tmp_path / "me.jpg", quality=95, exif=exif)
    target, source, out = tmp_path / "target", tmp_path / "source", tmp_path / "out"
    result = make_target(tmp_path / "me.jpg", target)
    assert result.returncode == 0, result.stderr
    kp = PoseTrack.load(str(target / "keypoints.npz")).keypoints[0]
    assert kp[B["Nose"], 1] < kp[B["Neck"], 1] < kp[B["MidHip"], 1] < kp[B["RAnkle"], 1]
    assert np.abs(kp[:15, :2] - truth.keypoints[:15, :2]).mean() < 6   # upright, in place

    n = 5
    kps = np.stack([dancer_pose("source", 0.4 * t, size).keypoints for t in range(n)])
    PoseTrack(keypoints=kps, fps=15, size=size, crop=(0, 0, *size), video_size=size,
              backend="synthetic").save(str(source / "keypoints.npz"))
    for cmd in (["normalization.py", "--source", str(source), "--target", str(target)],
                ["transfer.py", "--source", str(source), "--target", str(target), "--out", str(out)]):
        done = subprocess.run([sys.executable, *cmd], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
    frames = sorted(os.listdir(out))
    assert [f for f in frames if f.endswith(".png")] == [f"{i:05d}.png" for i in range(n)]
    driving = PoseTrack.load(str(source / "keypoints_norm.npz")).keypoints
    backend = make_backend("mediapipe", video=False)
    try:
        detected = [backend.detect(cv2.cvtColor(cv2.imread(str(out / f"{i:05d}.png")),
                                                cv2.COLOR_BGR2RGB)) for i in range(n)]
    finally:
        backend.close()
    mask = cv2.imread(str(target / "still" / "mask.png"), 0)
    ys = np.flatnonzero(mask.max(axis=1))
    height = ys.max() - ys.min() + 1
    for i, det in enumerate(detected):
        assert det.shape == (N_POINTS, 3) and (det[:25, 2] > 0).sum() >= 15, f"frame {i}"
        assert pose_distance(driving[i], det)["body"]["distance"] <= 0.05 * height, f"frame {i}"


def test_two_dancers_the_larger_or_the_one_picked(tmp_path):
    """Two generated dancers (MediaPipe finds one per look): the larger one is animated, and
    --person 2 picks the other (numbered from the left)."""
    import dataclasses
    from src.demo.data import TARGET, dancer_pose, draw_dancer, still_time
    from src.io.files import write_image
    size, t = (512, 256), still_time()
    left = dancer_pose(dataclasses.replace(TARGET, center_x=0.27, height=0.6), t, size)
    right = dancer_pose(dataclasses.replace(TARGET, center_x=0.73, height=0.45), t, size)
    write_image(str(tmp_path / "two.png"), draw_dancer(right, size, background=draw_dancer(left, size)))
    for extra, nose in (([], left), (["--person", "2"], right)):
        out = tmp_path / f"out{len(extra)}"
        result = subprocess.run([sys.executable, "make_target.py", "--image", str(tmp_path / "two.png"),
                                 "--out", str(out), "--size", "512x256", *extra], cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "note: " in result.stderr and "2 people found" in result.stderr
        kp = PoseTrack.load(str(out / "keypoints.npz")).keypoints[0]
        assert np.abs(kp[B["Nose"], :2] - nose.keypoints[B["Nose"], :2]).max() < 15


def test_a_pose_given_by_hand_replaces_the_detector(tmp_path):
    """make_target.py --image --keypoints: the pose comes from the OpenPose JSON file, not the
    detector, and the mask from the selfie segmenter; a bad file is refused in one line."""
    import dataclasses
    from src.demo.data import TARGET, dancer_pose, draw_dancer, still_time
    from src.io.files import write_image
    from src.pose.openpose_json import pose_to_json
    size = (512, 256)
    dancer = dancer_pose(dataclasses.replace(TARGET, center_x=0.5, height=0.7), still_time(), size)
    write_image(str(tmp_path / "one.png"), draw_dancer(dancer, size))
    given = dancer.keypoints.copy()
    given[B["RWrist"], :2] += (-6, 4)        # a hand-made correction the detector would not find
    (tmp_path / "pose.json").write_text(pose_to_json(given))
    run = lambda pose, out: subprocess.run(
        [sys.executable, "make_target.py", "--image", str(tmp_path / "one.png"), "--keypoints", pose,
         "--out", str(tmp_path / out), "--size", "512x256"], cwd=ROOT, capture_output=True, text=True,
        timeout=120)
    result = run(str(tmp_path / "pose.json"), "out")
    assert result.returncode == 0, result.stderr
    track = PoseTrack.load(str(tmp_path / "out" / "keypoints.npz"))
    assert track.backend == "json"
    for name in ("Nose", "RShoulder", "RWrist", "LAnkle"):
        assert np.abs(track.keypoints[0, B[name], :2] - given[B[name], :2]).max() < 1.5, name
    mask = cv2.imread(str(tmp_path / "out" / "still" / "mask.png"), 0)
    assert mask[int(given[B["Neck"], 1]), int(given[B["Neck"], 0])] > 0   # the segmenter's person

    (tmp_path / "bad.json").write_text('{"people": "nobody"}')
    for pose, words in ((str(tmp_path / "bad.json"), 'no "people" list'), (str(tmp_path / "none.json"), "not found")):
        result = run(pose, "refused")
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith(f"error: {pose}: ") and words in lines[-1]
        assert "Traceback" not in result.stderr


def test_a_vertex_behind_a_notch_hangs_on_the_nearest_bone_not_one_across_the_body():
    rest = rig.rig_points(figure_keypoints())
    vertex = np.array([[300.0, 100.0]])
    # Nearest allowed bone: the torso, its left shoulder corner (296, 160), 60.1 px away. Its line
    # of sight, sampled at 0, 0.8/7, ... 0.8 of the way, passes (298.2, 127.4): a notch (radius 2
    # about (297, 127)) blocks it. The right thigh's nearest point (236, 280) is 191 px away and
    # seen; body height 1.2 x (410 - 120) = 348 px, slack 0.1 x 348 = 34.8 px: too far.
    mask = np.full(SIZE[::-1], 255, np.uint8)
    cv2.circle(mask, (297, 127), 2, 0, -1)
    allowed = np.zeros(len(rig.BONES), bool)
    allowed[[rig.BONE_INDEX["torso"], rig.BONE_INDEX["r_thigh"]]] = True
    assert rig.primary_bones(vertex, rest, mask, allowed).tolist() == [rig.BONE_INDEX["torso"]]
    # Without the notch, the same.
    assert rig.primary_bones(vertex, rest, np.full(SIZE[::-1], 255, np.uint8),
                             allowed).tolist() == [rig.BONE_INDEX["torso"]]


def test_a_foot_turns_at_most_20_degrees_from_its_shin():
    rest = rig.rig_points(figure_keypoints())
    # The photo's right foot points down-left, ankle (221, 410) to toe (206, 422): 141.3 degrees.
    # The driver's points right (0 degrees): a 141.3-degree turn, limited to 20 from the shin,
    # which does not turn.
    pose = rig.retarget(rest, rig.rig_points(figure_keypoints({"RBigToe": (241, 410)})))
    assert pose.angles[rig.BONE_INDEX["r_shin"]] == pytest.approx(0, abs=1e-9)
    assert pose.angles[rig.BONE_INDEX["r_foot"]] == pytest.approx(-np.radians(20))
