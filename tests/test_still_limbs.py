"""Still mode with the arms against the body: each arm taken off the body onto a mesh of its own,
the body under it filled in, a hidden hand replaced (src/still/limbs.py).

The photos are a figure drawn here standing with its arms hanging at its sides, over the edges of
its torso, with a skeleton written out by hand (pixels), so that where the arm was and where it
goes are literals worked out by hand.
"""
import cv2
import numpy as np
import pytest

from src.pose.keypoints import B, LHAND, N_POINTS, RHAND
from src.still import layout, limbs, rig, stage
from src.still.transfer import Animator

SIZE = (512, 448)
SHIRT, TROUSERS, SKIN, MARKER = (40, 70, 190), (70, 70, 70), (225, 170, 140), (0, 255, 0)
SHIRT_CORNERS = [(210, 150), (302, 150), (314, 286), (198, 286)]   # widening to the hips
SKELETON = {
    "Nose": (256, 112), "Neck": (256, 160),
    # The arms hang straight down: upper arms 60 px, forearms 50 px long.
    "RShoulder": (216, 160), "RElbow": (216, 220), "RWrist": (216, 270),
    "LShoulder": (296, 160), "LElbow": (296, 220), "LWrist": (296, 270),
    "MidHip": (256, 280), "RHip": (226, 280), "LHip": (286, 280),
    "RKnee": (221, 350), "RAnkle": (219, 410), "LKnee": (291, 350), "LAnkle": (293, 410),
    "RBigToe": (204, 422), "LBigToe": (308, 422),
}
FOREARM_MARK = (216, 250)                # a green dot on the right forearm, 30 px below the elbow
# The right arm raised sideways: straight out to the image's left from the shoulder (216, 160).
RAISED = {"RElbow": (156, 160), "RWrist": (106, 160)}


def hand_points(wrist):
    """21 hand points (found by the detector) of a hand hanging down from `wrist`: the finger
    bases 10 px below the wrist (the middle one, point 9, straight below), the tips 36 px below."""
    x, y = wrist
    pts = [(x, y)]
    for f in range(5):
        for k in range(4):
            pts.append((x - 8 + 4 * f, y + 10 + 26 * k / 3))
    return np.array([(*p, 1.0) for p in pts], np.float32)


def keypoints(overrides=None, hands=()):
    kp = np.zeros((N_POINTS, 3), np.float32)
    for name, xy in {**SKELETON, **(overrides or {})}.items():
        kp[B[name]] = (*xy, 1.0)
    for hand, wrist in ((RHAND, "RWrist"), (LHAND, "LWrist")):
        if hand in hands:
            kp[hand] = hand_points(SKELETON[wrist])
    return kp


def draw(sleeve=SKIN, right_hand=True):
    """(photo, mask): shirt, trousers, head, and arms of colour `sleeve` hanging over the shirt's
    sides, with skin-coloured hands (37 px long ellipses below the wrists); right_hand=False: the
    right hand is in a pocket (not drawn)."""
    w, h = SIZE
    photo = np.full((h, w, 3), 255, np.uint8)
    j = {k: tuple(int(v) for v in xy) for k, xy in SKELETON.items()}
    for hip, knee, ankle, toe in (("RHip", "RKnee", "RAnkle", "RBigToe"),
                                  ("LHip", "LKnee", "LAnkle", "LBigToe")):
        cv2.line(photo, j[hip], j[knee], TROUSERS, 22)
        cv2.line(photo, j[knee], j[ankle], TROUSERS, 20)
        cv2.line(photo, j[ankle], j[toe], TROUSERS, 12)
    cv2.fillConvexPoly(photo, np.array(SHIRT_CORNERS), SHIRT)
    cv2.line(photo, j["Neck"], (256, 130), SKIN, 16)
    cv2.circle(photo, j["Nose"], 24, SKIN, -1)
    for s, hand in (("R", right_hand), ("L", True)):
        if hand:
            x, y = j[f"{s}Wrist"]
            cv2.ellipse(photo, (x, y + 18), (9, 19), 0, 0, 360, SKIN, -1)
        cv2.line(photo, j[f"{s}Shoulder"], j[f"{s}Elbow"], sleeve, 16)
        cv2.line(photo, j[f"{s}Elbow"], j[f"{s}Wrist"], sleeve, 14)
    cv2.circle(photo, FOREARM_MARK, 3, MARKER, -1)
    mask = np.where((photo != 255).any(axis=2), 255, 0).astype(np.uint8)
    return photo, mask


def colour_near(pixel, colour, tolerance=12):
    return bool(np.abs(np.asarray(pixel, int) - colour).max() <= tolerance)


def marker_centre(img):
    green = (img[..., 1] > 200) & (img[..., 0] < 60) & (img[..., 2] < 60)
    ys, xs = np.nonzero(green)
    assert len(xs) > 5, "the forearm's marker is not in the frame"
    return xs.mean(), ys.mean()


def test_half_width_is_measured_to_the_nearer_edge():
    mask = np.zeros((100, 100), np.uint8)
    mask[10:90, 42:59] = 255          # a bar 17 px wide (columns 42-58) about column 50
    mask[10:90, 59:90] = 255          # the body beside it, touching
    a, b = np.array([50.0, 20.0]), np.array([50.0, 80.0])
    # The first column off the mask on the nearer (left) side is 41: 9 px from the bone.
    assert limbs.half_width(mask, a, b, 2, 30) == 9
    mask[10:90, 10:42] = 255          # the bar wholly over the body: no edge within reach
    assert limbs.half_width(mask, a, b, 2, 30) == 30
    assert limbs.half_width(mask, a, b, 2, 12) == 12


def test_straight_narrow_band_meshes_without_slivers():
    from src.still import mesh
    mask = np.zeros((100, 300), np.uint8)
    mask[40:60, 20:280] = 255         # 20 px wide, straight sides: Delaunay fans slivers along them
    vertices, triangles = mesh.triangulate(mask, 9.0)
    assert len(triangles) > 20
    assert mesh.min_altitudes(vertices, triangles).min() >= 1.0


@pytest.fixture(scope="module")
def arms_down():
    photo, mask = draw()
    return photo, mask, stage.build(photo, mask, keypoints(), background="plain")


def test_arms_at_the_sides_get_their_own_layers(arms_down):
    photo, mask, still = arms_down
    parts = {p: still.parts == rig.PARTS.index(p) for p in ("torso", "r_arm", "l_arm")}
    assert parts["r_arm"].sum() > 20 and parts["l_arm"].sum() > 20
    # No vertex is shared between an arm and the rest: the arms are pieces of their own.
    for arm in ("r_arm", "l_arm"):
        rest = np.unique(still.triangles[~parts[arm]])
        assert not np.isin(still.triangles[parts[arm]], rest).any(), arm
    # In the photo's pose the photo comes back, but for the 2-px rings of the body around the
    # arms (their soft edges, painted over from the body) where the body's colour changes there
    # (shirt to trousers at the hands): under 1% of the pixels.
    frame = Animator(still).frame(keypoints())
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0
    off = np.abs(frame.astype(int) - photo).max(axis=2)[inner] > 2
    assert off.mean() < 0.01


def test_raised_arm_leaves_the_torso_behind(arms_down):
    photo, mask, still = arms_down
    frame = Animator(still).frame(keypoints(RAISED))
    # The marker 30 px below the elbow (216, 220) on the forearm: the forearm now points left
    # from the raised elbow (156, 160), so the marker is at (126, 160).
    x, y = marker_centre(frame)
    assert abs(x - 126) <= 2 and abs(y - 160) <= 2
    assert colour_near(frame[160, 186], SKIN)           # the upper arm, half-way out
    assert colour_near(frame[160, 96], SKIN)            # the hand, beyond the wrist (106, 160)
    # Where the arm (columns 208-224) lay over the shirt, shirt now: the arm is told apart from
    # the shirt by its colour, and the shirt's edge beside it continues under it.
    for y in (200, 240, 265):
        for x in (209, 216, 222):
            assert colour_near(frame[y, x], SHIRT), (x, y)
    # The left arm stays where it was.
    assert colour_near(frame[200, 290], SKIN) and colour_near(frame[200, 302], SKIN)


def test_a_sleeve_of_the_shirt_colour_separates_too():
    photo, mask = draw(sleeve=SHIRT)
    still = stage.build(photo, mask, keypoints(), background="plain")
    frame = Animator(still).frame(keypoints(RAISED))
    x, y = marker_centre(frame)
    assert abs(x - 126) <= 2 and abs(y - 160) <= 2
    # The sleeve went up with the arm: shirt colour along the raised arm, background below it.
    for x in (140, 170, 190):
        assert colour_near(frame[160, x], SHIRT), x
        assert (frame[182, x] == 255).all(), x
    # The hand (skin) at the end of the forearm: the wrist is at (106, 160).
    assert colour_near(frame[160, 96], SKIN)
    # Where the sleeve was: the torso's outline under it runs from the shoulder moved in by the
    # upper arm's half width to 0.4 x the hips' distance (24 px) beyond the right hip (202, 280).
    # That half width is 11 px to the shirt's edge (the median across the bone) and 1.8 for a
    # soft edge (0.005 x the body height, 1.2 x 298 px from the nose to the ankles): the line
    # starts at (228.8, 160) and crosses rows 200 and 240 at columns 219.9 and 210.9. Shirt
    # inside, background beyond.
    for y in (200, 240):
        assert colour_near(frame[y, 224], SHIRT) and (frame[y, 206] == 255).all()


def test_a_hand_in_a_pocket_gets_the_other_hand():
    photo, mask = draw(right_hand=False)
    kp = keypoints(hands=(LHAND,))
    still = stage.build(photo, mask, kp, background="plain")
    hidden = still.parts == rig.PARTS.index("r_hand_hidden")
    assert hidden.sum() > 5
    raised = keypoints(RAISED, hands=(LHAND,))
    frame = Animator(still).frame(raised)
    # The left hand's middle, 18 px below its wrist, mirrored onto the right wrist, which is at
    # (106, 160) with the forearm pointing left: at (88, 160).
    assert colour_near(frame[160, 88], SKIN)
    assert colour_near(frame[160, 96], SKIN) and colour_near(frame[156, 88], SKIN)
    # Without a hidden hand (the right hand found as well) nothing is mirrored.
    both = stage.build(photo, mask, keypoints(hands=(LHAND, RHAND)), background="plain")
    assert not (both.parts == rig.PARTS.index("r_hand_hidden")).any()


def test_a_photo_with_the_arms_at_the_sides_is_accepted(tmp_path):
    from test_still_photos import make
    photo, mask = draw()
    still = make(tmp_path, photo, [(keypoints(), mask)], SIZE)
    target = tmp_path / "target"
    assert layout.mesh_matches(str(target))
    back = layout.load(str(target))
    for field in ("uv", "body", "body_mask", "mask"):
        assert np.array_equal(getattr(back, field), getattr(still, field)), field
    # The body texture: shirt where the right arm's inner half lay over it, the photo elsewhere.
    assert colour_near(back.body[200, 222], SHIRT) and colour_near(photo[200, 222], SKIN)
    assert np.array_equal(back.body[:, 240:280], photo[:, 240:280])


def test_a_gap_of_the_background_between_arm_and_body_is_not_carried_along():
    photo, mask = draw()
    # A green wall, and a strip of it (a shade lighter) showing between the right arm and the
    # shirt, which the person mask covers (as a segmentation mask does).
    wall, gap = (30, 120, 30), (33, 124, 33)
    photo[mask == 0] = wall
    photo[170:261, 225:227] = gap
    still = stage.build(photo, mask, keypoints(), background="plain")
    assert (still.background == wall).all()
    frame = Animator(still).frame(keypoints(RAISED))
    x, y = marker_centre(frame)
    assert abs(x - 126) <= 2 and abs(y - 160) <= 2
    # The strip did not go up with the arm (nor stay behind): no pixel has its colour.
    assert not (np.abs(frame.astype(int) - gap).max(axis=2) <= 2).any()
