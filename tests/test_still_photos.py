"""Still mode on photos that are not ideal: feet or hair on the photo's edge, toes not found,
legs out of view, several people, a person the first look misses, --size auto.

The photos are the stick figure of tests/test_still.py (skeleton and mask drawn by hand);
a fake detector stands in for MediaPipe and "finds" the figures still unpainted in the image it
is given, so that the expected joints, paddings and choices are literals worked out by hand.
"""

import cv2
import numpy as np
import pytest

from src.errors import UserError
from src.pose.keypoints import B, N_POINTS, PoseTrack
from src.still import framing, joints, people, rig, stage
from src.still.transfer import Animator
from test_still import draw_figure, figure_keypoints


def without(kp, *names):
    kp = kp.copy()
    for n in names:
        kp[B[n]] = 0
    return kp


class FakeDetector:
    """Finds, in the image it is given, the first of `figures` (keypoints, mask) whose pixels
    are all still there as in `photo`; `needs` (img -> bool) may make it blind to some looks."""

    def __init__(self, photo, figures, needs=None):
        self.photo, self.figures, self.needs, self.looks = photo, figures, needs, 0

    def __call__(self, img, max_side=None):
        self.looks += 1
        if img.shape == self.photo.shape and (self.needs is None or self.needs(img)):
            for kp, mask in self.figures:
                inside = mask > 0
                if np.abs(img[inside].astype(int).mean(axis=1)
                          - self.photo[inside].astype(int).mean(axis=1)).max() <= 1:
                    return kp.copy(), (mask > 0).astype(np.float32)
        return np.zeros((N_POINTS, 3), np.float32), None

    def segment(self, img):
        """The selfie segmenter's stand-in: every figure's mask, where it sees no more."""
        union = np.zeros(img.shape[:2], np.float32)
        for _, mask in self.figures:
            if mask.shape == union.shape:
                union[mask > 0] = 1
        return union


def make(tmp_path, photo, figures, size, person=None, background="plain"):
    """stage.run on a photo written to tmp_path, with the fake detector and segmenter."""
    path = str(tmp_path / "photo.png")
    cv2.imwrite(path, cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    detector = FakeDetector(photo, figures)
    return stage.run(path, str(tmp_path / "target"), size, background=background, person=person,
                     detect=detector, segment=detector.segment)


def test_a_rerun_removes_what_a_killed_run_left_half_written(tmp_path):
    photo, mask = draw_figure()
    still_dir = tmp_path / "target" / "still"
    still_dir.mkdir(parents=True)
    (still_dir / ".mesh.k1ll3d.tmp.npz").write_bytes(b"half")      # atomic_path's naming
    (tmp_path / "target" / ".keypoints.k1ll3d.tmp.npz").write_bytes(b"half")
    make(tmp_path, photo, [(figure_keypoints(), mask)], (512, 448))
    left = [p.name for p in (tmp_path / "target").rglob(".*")]
    assert left == []
    assert sorted(p.name for p in still_dir.iterdir()) == [
        "background.png", "body.png", "mask.png", "mesh.npz", "photo.png", "preview.png"]


# ------------------------------------------------------------------------ room at the edges

def test_feet_on_the_bottom_edge_get_room_below(tmp_path, capsys):
    photo, mask = draw_figure()
    # The toes' lines (12 px wide to (206, 422) and (306, 422)) reach row 428; cut at row 425.
    photo, mask = photo[:425], mask[:425]
    # The head's disc (radius 24 about row 112) starts at row 88: the person is 425 - 88 = 337
    # rows high, and gets ceil(0.1 x 337) = 34 rows of room below.
    pads, cut = framing.room(mask, np.zeros((0, 2)))
    assert pads == (0, 0, 0, 34) and not any(cut.values())
    make(tmp_path, photo, [(figure_keypoints(), mask)], (512, 460))
    # The window holds the whole padded photo (512 x 459, about scale 1): the feet end near row
    # 425, and the 34 rows below them are room.
    out_mask = cv2.imread(str(tmp_path / "target" / "still" / "mask.png"), 0)
    assert out_mask.shape == (460, 512)
    assert not out_mask[-30:].any() and out_mask[-40:].any()
    assert "out of view" not in capsys.readouterr().err


def test_extended_edge_continues_the_background_not_the_person():
    # A background whose red channel is 10 x the column; a person block on the bottom edge in
    # columns 8-11 (5 rows high, so its mask is grown by 2 px on the edge: columns 6-13).
    photo = np.zeros((10, 20, 3), np.uint8)
    photo[..., 0] = np.arange(20) * 10
    mask = np.zeros((10, 20), np.uint8)
    mask[5:, 8:12] = 255
    photo[mask > 0] = (255, 255, 255)
    out, out_mask = framing.extend(photo, mask, (0, 0, 0, 3))
    assert out.shape == (13, 20, 3) and out_mask.shape == (13, 20)
    assert (out[:10] == photo).all()
    # The person's columns 8-11 continue the ramp (a blur keeps a straight ramp where its kernel,
    # 8 px either side at sigma 2, stays inside the line).
    for row in out[10:]:
        assert np.abs(row[8:12, 0].astype(int) - [80, 90, 100, 110]).max() <= 1
    assert not out_mask[10:].any()


def test_extension_fades_the_streaks_of_the_edge_out():
    # An edge of 2-px stripes (0 and 200) repeated outward would draw streaks: the k-th line out
    # is blurred with sigma k / 2, so 20 lines out (sigma 10) it is their mean, 100, within 3.
    photo = np.zeros((10, 60, 3), np.uint8)
    photo[:, ::2] = 200
    out, _ = framing.extend(photo, np.zeros((10, 60), np.uint8), (0, 20, 0, 0))
    assert out.shape == (30, 60, 3) and (out[20:] == photo).all()
    assert np.abs(out[0, 20:40].astype(int) - 100).max() <= 3
    assert np.ptp(out[19, 20:40, 0].astype(int)) > 80             # one line out: still striped


# ----------------------------------------------------------------------- completing the joints

def test_toes_not_found_end_the_feet_below_the_ankles():
    _, mask = draw_figure()
    kp = without(figure_keypoints(), "RBigToe", "LBigToe")
    kp[B["LHeel"]] = (291, 420, 1)
    skeleton = joints.complete("me.png", kp, mask)
    # Right: no heel, the shin (226, 350) -> (221, 410) continued by a quarter: (-1.25, 15).
    assert skeleton.keypoints[B["RBigToe"], :2] == pytest.approx((219.75, 425.0), abs=1e-3)
    # Left: toward the heel, straight down, a quarter of the shin's length sqrt(5^2 + 60^2).
    assert skeleton.keypoints[B["LBigToe"], :2] == pytest.approx((291, 410 + 15.052), abs=1e-2)
    assert skeleton.out_of_view == []
    assert any("RBigToe and LBigToe not found" in n for n in skeleton.notes)


def test_knees_up_photo_keeps_the_legs_out_of_view(tmp_path, capsys):
    photo, mask = draw_figure()
    photo, mask = photo[:380], mask[:380]          # cut between the knees (350) and ankles (410)
    kp = without(figure_keypoints(), "RAnkle", "LAnkle", "RBigToe", "LBigToe")
    skeleton = joints.complete("me.png", kp, mask)
    # Each ankle continues its thigh: right hip (236, 280) -> knee (226, 350) -> (216, 420).
    assert skeleton.keypoints[B["RAnkle"], :2] == pytest.approx((216, 420))
    assert skeleton.keypoints[B["LAnkle"], :2] == pytest.approx((296, 420))
    assert skeleton.keypoints[B["RBigToe"], :2] == pytest.approx((213.5, 437.5))
    assert set(skeleton.out_of_view) == {"RAnkle", "LAnkle", "RBigToe", "LBigToe"}
    assert skeleton.notes == ["me.png: the legs below the knees are out of view; they stay out "
                              "of view"]
    pads, cut = framing.room(mask, skeleton.keypoints[[B["RAnkle"], B["LAnkle"]], :2])
    assert pads == (0, 0, 0, 0) and cut["bottom"] and not cut["top"]

    still = make(tmp_path, photo, [(kp, mask)], (512, 448))
    assert "legs below the knees are out of view" in capsys.readouterr().err
    out_mask = cv2.imread(str(tmp_path / "target" / "still" / "mask.png"), 0)
    assert out_mask[-1].any()                      # the cut stays on the frame's bottom edge
    animator = Animator(still)
    assert animator.fixed == {rig.BONE_INDEX[b] for b in ("r_shin", "l_shin", "r_foot", "l_foot")}
    # A driving pose that swings the right shin forward leaves it along its thigh.
    moved = still.keypoints.copy()
    moved[B["RAnkle"], :2] = moved[B["RKnee"], :2] + (60, 0)
    pose = rig.retarget(animator.rest, rig.rig_points(moved), animator.fixed)
    assert pose.angles[rig.BONE_INDEX["r_shin"]] == pose.angles[rig.BONE_INDEX["r_thigh"]]


def test_upper_body_photo_gets_hips_below_the_edge():
    _, mask = draw_figure()
    mask = mask[:250]                              # cut above the hips (280)
    kp = without(figure_keypoints(), "MidHip", "RHip", "LHip", "RKnee", "LKnee", "RAnkle",
                 "LAnkle", "RBigToe", "LBigToe")
    skeleton = joints.complete("me.png", kp, mask)
    # Shoulders (216, 160) and (296, 160): 80 apart; the mid-hip 1.2 x 80 below the neck.
    assert skeleton.keypoints[B["MidHip"], :2] == pytest.approx((256, 256))
    assert skeleton.keypoints[B["RHip"], :2] == pytest.approx((236, 256))
    assert skeleton.keypoints[B["LHip"], :2] == pytest.approx((276, 256))
    # A knee continues the torso (96 px) by 0.9 of it.
    assert skeleton.keypoints[B["RKnee"], :2] == pytest.approx((236, 256 + 86.4))
    assert skeleton.notes[0] == "me.png: the hips and legs are out of view; they stay out of view"


def test_a_leg_hidden_inside_the_photo_is_held():
    _, mask = draw_figure()
    mask[405:] = 0                                 # no feet: the legs end above the photo's edge
    # The right ankle not found although the photo shows the leg: continuing the thigh puts it
    # at (216, 420), off the person: a leg folded out of sight. It is held, not refused.
    skeleton = joints.complete("me.png", without(figure_keypoints(), "RAnkle"), mask)
    assert skeleton.keypoints[B["RAnkle"]].tolist() == [216, 420, 0.25]
    assert "me.png: RAnkle hidden; the right leg stays as in the photo" in skeleton.notes
    rest = rig.rig_points(skeleton.keypoints)
    assert rig.held_bones(rest, (512, 448)) == {rig.BONE_INDEX["r_shin"], rig.BONE_INDEX["r_foot"]}


def test_a_folded_leg_is_held():
    _, mask = draw_figure()
    # Cross-legged: the right thigh from the hip (236, 280) out to the knee (160, 300) lies
    # atan2(76, 20) = 75 degrees off the torso's line (straight down), past 65; the left one,
    # to (286, 350), 10 degrees.
    kp = figure_keypoints({"RKnee": (160, 300), "RAnkle": (250, 320)})
    skeleton = joints.complete("me.png", kp, mask)
    assert skeleton.keypoints[B["RKnee"]].tolist() == [160, 300, 0.25]
    assert skeleton.keypoints[B["LKnee"]].tolist() == [286, 350, 1.0]
    assert skeleton.notes == ["me.png: the right leg is folded (sitting?); it stays as in the photo"]
    rest = rig.rig_points(skeleton.keypoints)
    assert rig.held_bones(rest, (512, 448)) == {rig.BONE_INDEX[b] for b in ("r_thigh", "r_shin", "r_foot")}


def test_hips_made_up_off_the_person_are_refused():
    _, mask = draw_figure()
    mask[170:] = 0                                 # the person ends at the chest, inside the photo
    kp = without(figure_keypoints(), "MidHip", "RHip", "LHip", "RKnee", "LKnee", "RAnkle",
                 "LAnkle", "RBigToe", "LBigToe")
    with pytest.raises(UserError, match=r"^me.png: the person is cut off or hidden \(not "
                                        r"visible: RHip\)"):
        joints.complete("me.png", kp, mask)


# ----------------------------------------------------------------------- arms the photo hides

def test_an_arm_behind_the_back_hangs_down_and_is_held(tmp_path, capsys):
    photo, mask = draw_figure()
    kp = without(figure_keypoints(), "RElbow", "RWrist")
    skeleton = joints.complete("me.png", kp, mask)
    # Torso: neck (256, 160) to mid-hip (256, 280), 120 px. The elbow hangs 0.6 x 120 = 72 below
    # the right shoulder (216, 160); the wrist continues the upper arm by 0.8 x 72 = 57.6.
    assert skeleton.keypoints[B["RElbow"]].tolist() == pytest.approx([216, 232, 0.25])
    assert skeleton.keypoints[B["RWrist"]].tolist() == pytest.approx([216, 289.6, 0.25])
    assert skeleton.notes == ["me.png: RElbow and RWrist hidden; the right arm stays as in the photo"]
    still = make(tmp_path, photo, [(kp, mask)], (512, 448))
    assert "RElbow and RWrist hidden; the right arm stays as in the photo" in capsys.readouterr().err
    animator = Animator(still)
    assert animator.fixed == {rig.BONE_INDEX[b] for b in ("r_upper_arm", "r_forearm", "r_hand")}
    # A driving pose that raises the right arm leaves it at its photo angle to the torso; the
    # left arm follows the driver.
    moved = still.keypoints.copy()
    moved[B["RElbow"], :2] = moved[B["RShoulder"], :2] + (0, -50)
    moved[B["LElbow"], :2] = moved[B["LShoulder"], :2] + (0, -50)
    pose = rig.retarget(animator.rest, rig.rig_points(moved), animator.fixed)
    assert pose.angles[rig.BONE_INDEX["r_upper_arm"]] == pose.angles[rig.BONE_INDEX["torso"]]
    assert pose.angles[rig.BONE_INDEX["l_upper_arm"]] == pytest.approx(-np.pi / 2)


def test_an_elbow_under_the_hair_lies_half_way_to_the_wrist():
    _, mask = draw_figure()
    skeleton = joints.complete("me.png", without(figure_keypoints(), "LElbow"), mask)
    # Half-way from the left shoulder (296, 160) to the left wrist (396, 160).
    assert skeleton.keypoints[B["LElbow"]].tolist() == [346, 160, 0.25]
    assert skeleton.keypoints[B["LWrist"]].tolist() == [396, 160, 1.0]
    rest = rig.rig_points(skeleton.keypoints)
    assert rig.held_bones(rest, (512, 448)) == {rig.BONE_INDEX[b] for b in ("l_upper_arm", "l_forearm",
                                                                             "l_hand")}


def test_an_arm_beyond_the_edge_stays_out_of_view(tmp_path, capsys):
    photo, mask = draw_figure()
    photo, mask = photo[:, 140:], mask[:, 140:]    # cut between the right elbow (166) and wrist (116)
    kp = figure_keypoints()
    kp[kp[:, 2] > 0, 0] -= 140                     # the right wrist now lies at x = -24
    skeleton = joints.complete("me.png", kp, mask)
    assert skeleton.out_of_view == ["RWrist"]
    assert skeleton.notes == ["me.png: the right arm from the wrist on is out of view; it stays as "
                              "in the photo"]
    still = make(tmp_path, photo, [(kp, mask)], (372, 448))
    assert "the right arm from the wrist on is out of view" in capsys.readouterr().err
    assert Animator(still).fixed == {rig.BONE_INDEX["r_forearm"], rig.BONE_INDEX["r_hand"]}


# ------------------------------------------------------------------------------- several people

def two_people():
    """A 1000 x 448 photo: the figure at the left, the same figure at half size at the right
    (offset (650, 200)). Returns (photo, [(keypoints, mask) of the small one, of the large one])."""
    big_photo, big_mask = draw_figure()
    photo = np.full((448, 1000, 3), 255, np.uint8)
    mask_big = np.zeros((448, 1000), np.uint8)
    photo[:, :512], mask_big[:, :512] = big_photo, big_mask
    small_photo = cv2.resize(big_photo, (256, 224), interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(big_mask, (256, 224), interpolation=cv2.INTER_NEAREST)
    mask_small = np.zeros((448, 1000), np.uint8)
    mask_small[200:424, 650:906] = small_mask
    photo[mask_small > 0] = small_photo[small_mask > 0]
    kp_small = figure_keypoints()
    kp_small[:, :2] = kp_small[:, :2] * 0.5 + (650, 200)
    kp_small[kp_small[:, 2] == 0] = 0
    return photo, [(kp_small, mask_small), (figure_keypoints(), mask_big)]


def test_several_people_the_largest_or_the_one_picked():
    photo, figures = two_people()
    found = people.find(photo, FakeDetector(photo, figures))
    assert len(found) == 2                          # the small one first, then the large one
    chosen, lines = people.choose("two.png", found)
    assert chosen.keypoints[B["Nose"], :2].tolist() == [256, 120]
    assert lines == ["two.png: 2 people found; animating the largest, number 1 from the left "
                     "(--person N picks another); the others stay in the background"]
    chosen, _ = people.choose("two.png", found, 2)
    # The small one's nose: (256, 120) / 2 + (650, 200).
    assert chosen.keypoints[B["Nose"], :2].tolist() == [778, 260]
    with pytest.raises(UserError, match="two.png: --person 3, but the photo shows 2 people"):
        people.choose("two.png", found, 3)


def test_the_other_person_stays_in_the_background(tmp_path):
    photo, figures = two_people()
    still = make(tmp_path, photo, figures, (1000, 448), person=2, background="inpaint")
    # Window = the photo: the large figure's chest (256, 220) is still in the background, the
    # small one's chest (778, 310) is painted out (inpainted from the white around it).
    assert still.keypoints[B["Nose"], :2] == pytest.approx((778, 260), abs=0.5)
    assert (still.background[220, 256] == photo[220, 256]).all()
    assert (still.background[310, 778] >= 250).all()


def test_the_same_person_found_again_is_not_a_second_one():
    photo, mask = draw_figure()
    # What the mask missed (a sleeve next to the right arm) is "found" once the figure is
    # painted out: a pose of 17 joints whose mask lies along the painted-out arm.
    sleeve = np.zeros_like(mask)
    sleeve[170:180, 110:200] = 255                  # just below the right arm (rows 152-168)
    photo[sleeve > 0] = (40, 40, 200)
    class Sleeve(FakeDetector):
        def __call__(self, img, max_side=None):
            kp, prob = super().__call__(img)
            if prob is None:
                return figure_keypoints(), (sleeve > 0).astype(np.float32)
            return kp, prob
    found = people.find(photo, Sleeve(photo, [(figure_keypoints(), mask)]))
    assert len(found) == 1


def test_a_second_look_in_grey_finds_the_person():
    photo, mask = draw_figure()
    grey = lambda img: bool((img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all())
    # The fake detector compares the image with the photo: it sees the grey photo as it is.
    detector = FakeDetector(people.grey(photo), [(figure_keypoints(), mask)], needs=grey)
    found = people.find(photo, detector)
    assert len(found) == 1 and detector.looks == 3  # as it is, in grey, then the second person


# ------------------------------------------------------------------- a second opinion, smaller

def looks(photo, full, small, mirrored):
    """A detector that answers the photo as it is with `full`, the photo smaller (max_side =
    people.SMALL_SIDE) with `small` and the photo mirrored with `mirrored`, each (keypoints,
    mask) or None; anything else (the photo painted out) shows nobody. Records what it saw."""
    seen = []

    def detect(img, max_side=None):
        if max_side == people.SMALL_SIDE:
            seen.append("smaller")
            answer = small
        elif np.array_equal(img, photo):
            seen.append("as it is")
            answer = full
        elif np.array_equal(img, photo[:, ::-1]):
            seen.append("mirrored")
            answer = mirrored
        else:
            answer = None
        if answer is None:
            return np.zeros((N_POINTS, 3), np.float32), None
        return answer[0].copy(), (answer[1] > 0).astype(np.float32)
    detect.seen = seen
    return detect


def mirror(kp, mask):
    """What a detector reports for the mirrored photo: x -> 511 - x, the sides swapped."""
    from src.pose.keypoints import flip_horizontal
    return flip_horizontal(kp, 512), mask[:, ::-1]


def folded_arms():
    """A wrong skeleton of the figure: the arms folded on the chest, the mask without them."""
    kp = figure_keypoints({"RElbow": (236, 200), "RWrist": (256, 220), "LElbow": (276, 200),
                           "LWrist": (256, 230)})
    _, mask = draw_figure()
    mask = mask.copy()
    mask[:, :200] = 0
    mask[:, 312:] = 0
    return kp, mask


def test_a_first_look_the_smaller_and_mirrored_looks_contradict_gives_way():
    photo, mask = draw_figure()
    right = (figure_keypoints(), mask)
    # The right wrists lie |(256, 220) - (116, 160)| = 152 px apart, 1.27 torsos of 120 px: the
    # looks disagree, and the mirrored photo sides with the smaller look.
    detect = looks(photo, folded_arms(), right, mirror(*right))
    found = people.find(photo, detect)
    assert detect.seen[:3] == ["as it is", "smaller", "mirrored"]
    assert len(found) == 1
    assert found[0].keypoints[B["RWrist"], :2].tolist() == [116, 160]
    assert found[0].keypoints[B["LWrist"], :2].tolist() == [396, 160]
    assert found[0].mask[160, 104] == 255 and found[0].mask[160, 408] == 255   # the hands
    assert found[0].note == ("the skeleton is a second look's (the photo smaller, confirmed by "
                             "the photo mirrored): the first one disagreed")


def test_make_target_says_when_a_second_look_changed_the_skeleton(tmp_path, capsys):
    photo, mask = draw_figure()
    right = (figure_keypoints(), mask)
    path = str(tmp_path / "photo.png")
    cv2.imwrite(path, cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    still = stage.run(path, str(tmp_path / "target"), (512, 448), background="plain",
                      detect=looks(photo, folded_arms(), right, mirror(*right)),
                      segment=lambda img: None)
    assert still.keypoints[B["RWrist"], :2] == pytest.approx((116, 160), abs=1)
    assert (f"note: {path}: the skeleton is a second look's (the photo smaller, confirmed by the "
            "photo mirrored): the first one disagreed") in capsys.readouterr().err


def test_a_first_look_the_mirrored_look_confirms_is_kept():
    photo, mask = draw_figure()
    wrong = folded_arms()
    found = people.find(photo, looks(photo, wrong, (figure_keypoints(), mask), mirror(*wrong)))
    assert found[0].keypoints[B["RWrist"], :2].tolist() == [256, 220]
    assert found[0].mask[160, 104] == 0 and found[0].note == ""


def test_looks_that_agree_keep_the_first():
    photo, mask = draw_figure()
    # The smaller look sees the left leg the first look missed, everything 6 px to the right:
    # 0.05 torsos, they agree. The first look stands as it is, hands and face in more detail.
    first = without(figure_keypoints(), "LKnee", "LAnkle", "LBigToe")
    small = figure_keypoints()
    small[:25, 0] += 6
    detect = looks(photo, (first, mask), (small, mask), None)
    found = people.find(photo, detect)
    assert detect.seen[:2] == ["as it is", "smaller"] and "mirrored" not in detect.seen
    kp = found[0].keypoints
    assert kp[B["RWrist"], :2].tolist() == [116, 160] and kp[B["LKnee"], 2] == 0
    assert found[0].note == ""


# ----------------------------------------------------------------- what sticks out of the head

def ears_hat_and_bookcase():
    """The segmenter's view of the figure: its mask plus two ears standing on the head (x 236-244
    and 268-276, rows 60-100: the head's disc, radius 24 about (256, 112), reaches up to row 94
    at those columns), a hat floating apart (x 100-140, rows 40-60) and a bookcase against the
    torso below the nose (x 290-330, rows 200-240; the nose on row 120). Ears 9 pixels wide
    outlast the opening of 9 (a tenth of the 80-pixel shoulders, made odd)."""
    _, mask = draw_figure()
    prob = (mask > 0).astype(np.float32)
    for x0, y0, x1, y1 in ((236, 60, 245, 101), (268, 60, 277, 101), (100, 40, 141, 61),
                           (290, 200, 331, 241)):
        prob[y0:y1, x0:x1] = 1
    return mask, prob


def test_the_segmenter_adds_what_sticks_out_above_the_shoulders():
    from src.still.photo import with_head_extras
    mask, prob = ears_hat_and_bookcase()
    out = with_head_extras(mask, prob, figure_keypoints())
    assert out[70, 240] == 255 and out[70, 272] == 255          # the ears
    assert out[50, 120] == 0                                    # the hat: not touching
    assert out[220, 320] == 0                                   # the bookcase: below the nose
    added = (out > 0) & (mask == 0)
    # The ears' rectangles less what the head already covered: 2 x 9 columns x 41 rows at most.
    assert 0 < added.sum() <= 2 * 9 * 41
    assert added[:, :236].sum() == 0 and added[:, 277:].sum() == 0 and added[101:].sum() == 0


def test_a_detected_still_gets_the_ears(tmp_path):
    photo, mask = draw_figure()
    _, prob = ears_hat_and_bookcase()
    path = str(tmp_path / "photo.png")
    cv2.imwrite(path, cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    still = stage.run(path, str(tmp_path / "target"), (512, 448), background="plain",
                      detect=FakeDetector(photo, [(figure_keypoints(), mask)]),
                      segment=lambda img: prob)
    # The window is the photo (512 x 448, scale 1): the ears are the still's, the hat is not.
    assert still.mask[70, 240] == 255 and still.mask[70, 272] == 255
    assert still.mask[50, 120] == 0 and still.mask[220, 320] == 0


# -------------------------------------------------------------------------------- --size auto

@pytest.mark.parametrize("canvas, expected", [((700, 512), (512, 1024)),
                                              ((448, 640), (1024, 512))])
def test_size_auto_follows_the_photo(tmp_path, canvas, expected):
    """A portrait photo (700 rows x 512) gives a portrait still, a landscape one (448 x 640) a
    landscape still."""
    figure, mask = draw_figure()
    h, w = canvas
    photo = np.full((h, w, 3), 255, np.uint8)
    big_mask = np.zeros((h, w), np.uint8)
    photo[:448, :512], big_mask[:448, :512] = figure, mask
    still = make(tmp_path, photo, [(figure_keypoints(), big_mask)], None)
    assert still.photo.shape == (expected[1], expected[0], 3)
    track = PoseTrack.load(str(tmp_path / "target" / "keypoints.npz"))
    assert tuple(track.size) == expected
