"""Arms that touch the body in the photo, taken off it: each gets its own layer of the mesh, and
the body under it is filled in.

Where an arm touches or lies over the torso, the head, a leg or the other arm, one mesh would
glue them together. Such an arm is cut out instead (src/still/stage.py decides which):

- Its region. Geometry first: round-ended bands along its bones (shoulder to elbow, elbow to
  wrist, wrist to the finger tips) inside the person mask. A band's half width is measured on the
  mask: from points along the bone, the distance across it to the mask's edge on the nearer side
  (an arm at the side shows its outer edge), the median of these, kept between MIN_HALF_WIDTH
  and MAX_HALF_WIDTH x the body height (an arm lying wholly over the body shows no edge: it gets
  the largest), plus EDGE for the arm's soft edge. A found hand's band is the outline of its
  points, grown by HAND_GROW. Then colour, where it can tell: a band keeps the pixels nearer to
  the arm's colour (along the bone) than to the body's around it, unless much of the body around
  has the arm's colour (a sleeve of the shirt's colour): then geometry alone carries it.
- The background between arm and body, which the person mask often covers: pixels near the arms
  of the colour just outside the person (looked for only where the arms' and the body's colours
  stand apart from it) leave the person mask, which is the texture's alpha (src/still/render.py):
  they are not drawn, in the arm's layer nor in the body's.
- The body under it. Its outline there is the widest of: the line from the shoulder (moved in by
  the upper arm's half width, to the armpit) down to the hip's outer side (HIP_OUT x the hips'
  distance beyond the hip joint), continued; the convex hull of the torso left beside the arms
  between the shoulders and the arms' lowest point (strips thinner than EDGE left out); and the
  holes an arm leaves inside the body (a hand over the face). What the arm covered of that, and
  the arm's soft edge left on the body, is painted from the body's own pixels around it, away
  from the body's and the arms' edges (cv2.inpaint; a patch-based fill looked no better here and
  took several seconds).
- Its hand, when it is hidden (in a pocket, behind the hip): the detector found no hand there
  but found the other one, and the end of the arm is not the other hand's colour. The arm then
  ends at the wrist, and the other hand, mirrored, is hung on the wrist and drawn behind the
  body: in the photo's pose the body hides it where it lies over the body, and it shows when
  the arm swings out.
"""
import dataclasses

import cv2
import numpy as np

from src.pose.keypoints import B, LHAND, RHAND
from src.still import rig

MIN_HALF_WIDTH = 0.012   # x body height: the thinnest arm band's half width
MAX_HALF_WIDTH = 0.04    # x body height: the widest (a sleeve), and an arm with no edge in view
WIDTH_SAMPLES = (0.2, 0.35, 0.5, 0.65, 0.8)   # where along a bone its width is measured
FINGERS_PER_HAND_END = 1.5   # a hand not found: the finger tips lie this x wrist-to-hand-end out
HAND_PER_FOREARM = 1.25  # a hand not found: its band is this x as wide as the forearm's
CORE = 0.3               # the core of a bone's band, whose colour is the arm's: x its width
ARM_COLOUR = 20.0        # Lab distance: an arm further than this from the body's colour around
                         # it is told apart by colour
BODY_COLOURS = 3         # colours of the body around an arm (k-means)
SAME_SHARE = 0.3         # the arm is told apart by colour unless this share of the body around
                         # it has its colour
GAP_REACH = 0.03         # x body height: how far from the arms gaps are looked for
GAP_COLOUR = 12.0        # Lab distance: a pixel this near the colour outside the person is a gap
GAP_APART = 35.0         # Lab distance: the least between that colour and the arms' or body's
BACKGROUND_COLOURS = 2   # colours of what is just outside the person near the arms (k-means)
MIN_RING = 20            # pixels of body around a band needed to tell its colour
EDGE = 0.005             # x body height: a band reaches this much beyond the edge measured (the
                         # arm's soft edge), which is painted over on the body; strips of the body
                         # this thin beside an arm are not the torso's outline
HAND_GROW = 0.025        # x body height: the outline of a found hand's points, grown
HAND_COLOUR = 25.0       # Lab distance: an arm's end further than this from the other hand's
                         # colour is not a hand
HIP_OUT = 0.4            # x the distance of the hip joints: the hip's outline beyond its joint
FILL_INSET = 0.008       # x body height: the body's edge and the arms' (blended with what is
                         # behind them) are not painted from
FILL_RADIUS = 0.01       # x body height: the reach of the painting of what an arm covered
SIDES = {"r_arm": ("R", RHAND, rig.R_HAND_END), "l_arm": ("L", LHAND, rig.L_HAND_END)}
OTHER = {"r_arm": "l_arm", "l_arm": "r_arm"}


@dataclasses.dataclass
class Hand:
    """The other hand, mirrored onto an arm whose hand is hidden."""
    arm: str                 # "r_arm" or "l_arm": the arm it is hung on
    mask: np.ndarray         # (H, W) uint8: where it lies in the photo's frame
    to_photo: np.ndarray     # (2, 3) affine: a point of it -> where its pixel is in the photo


@dataclasses.dataclass
class Separation:
    mask: np.ndarray         # (H, W) uint8: the person mask without the gaps between arms and body
    body: np.ndarray         # (H, W) uint8: the person without the separated arms, filled in
    texture: np.ndarray      # (H, W, 3) the photo with what the arms covered of the body painted
    arms: dict               # "r_arm"/"l_arm" -> (H, W) uint8 region of that arm
    hands: list              # Hand for each hidden hand


def half_width(mask, a, b, low, high):
    """Half width (pixels) of the band of the mask along the segment a-b (see the module
    docstring), between `low` and `high`."""
    d = b - a
    length = float(np.hypot(*d))
    if length < 1:
        return high
    normal = np.array([-d[1], d[0]]) / length
    h, w = mask.shape
    steps = np.arange(1, int(np.ceil(high)) + 1)
    found = []
    for t in WIDTH_SAMPLES:
        centre = a + t * d
        reach = []
        for sign in (1, -1):
            pts = np.round(centre + sign * steps[:, None] * normal).astype(int)
            ok = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
            off = ~ok | (mask[pts[:, 1].clip(0, h - 1), pts[:, 0].clip(0, w - 1)] == 0)
            reach.append(steps[np.argmax(off)] if off.any() else high)
        found.append(min(reach))
    return float(np.clip(np.median(found), low, high))


def hand_found(kp, hand):
    return int((kp[hand, 2] > 0).sum()) >= 10


def hand_outline(kp, hand, wrist, height, shape):
    """The outline of a found hand's points and its wrist (uint8, 255), grown by HAND_GROW x
    `height` (not at all for 0)."""
    pts = np.vstack([kp[hand][kp[hand, 2] > 0, :2], wrist])
    out = cv2.fillConvexPoly(np.zeros(shape, np.uint8),
                             cv2.convexHull(np.round(pts).astype(np.int32)), 255)
    grow = int(round(HAND_GROW * height))
    return cv2.dilate(out, np.ones((2 * grow + 1,) * 2, np.uint8)) if grow else out


def hand_tips(rest, kp, arm):
    """Where the hand's band ends: the far end of the found hand's points, else the hand end
    continued."""
    side, hand, end = SIDES[arm]
    wrist = rest[B[side + "Wrist"], :2]
    if hand_found(kp, hand):
        pts = kp[hand][kp[hand, 2] > 0, :2]
        return pts[np.argmax(np.hypot(*(pts - wrist).T))].astype(np.float64)
    return wrist + FINGERS_PER_HAND_END * (rest[end, :2] - wrist)


def by_colour(lab, mask, band, core, half, arm_bands):
    """The part of a bone's band (bool) nearer to the arm's colour (median along the bone's core)
    than to the body's around the band (BODY_COLOURS of them, those within ARM_COLOUR of the
    arm's left out), unless over SAME_SHARE of the body around has the arm's colour: then the
    band as it is. What is kept hangs together with the core."""
    ring = (cv2.dilate(band.astype(np.uint8), np.ones((2 * half + 1,) * 2, np.uint8)) > 0) \
        & ~arm_bands & (mask > 0)
    if ring.sum() < MIN_RING or not (core & band).any():
        return band
    arm = np.median(lab[core & band], axis=0)
    # The body around may be of several colours (shirt, trousers, the other hand): a few.
    k = min(BODY_COLOURS, int(ring.sum()))
    _, labels, body = cv2.kmeans(lab[ring], k, None, (cv2.TERM_CRITERIA_MAX_ITER, 10, 0), 1,
                                 cv2.KMEANS_PP_CENTERS)
    share = np.bincount(labels.ravel(), minlength=k) / len(labels)
    like = [lab_distance(arm, c) <= ARM_COLOUR for c in body]
    if share[like].sum() > SAME_SHARE:
        return band
    body = body[~np.array(like)]
    nearest_body = np.min([lab_distance(lab, c) for c in body], axis=0)
    keep = band & (lab_distance(lab, arm) <= nearest_body)
    keep = cv2.morphologyEx((keep | (core & band)).astype(np.uint8), cv2.MORPH_CLOSE,
                            np.ones((3, 3), np.uint8))
    _, labels = cv2.connectedComponents(keep, connectivity=8)
    hold = np.unique(labels[core & band & (keep > 0)])
    return np.isin(labels, hold[hold > 0]) & band


def lab_distance(a, b):
    """Colour distance in Lab with the lightness counted half (shading changes it most)."""
    d = np.asarray(a, np.float32) - np.asarray(b, np.float32)
    return np.sqrt((d[..., 0] / 2) ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2)


def arm_region(photo, mask, kp, arm, height, with_hand=True):
    """The arm's region (uint8, 255) in the person mask (see the module docstring) and the half
    width of its upper arm (pixels)."""
    side, hand, _ = SIDES[arm]
    rest = rig.rig_points(kp)
    lab = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB).astype(np.float32)
    low, high = MIN_HALF_WIDTH * height, MAX_HALF_WIDTH * height
    joints = [rest[B[side + n], :2] for n in ("Shoulder", "Elbow", "Wrist")]
    bones = [(joints[0], joints[1]), (joints[1], joints[2])]
    widths = [half_width(mask, a, b, low, high) + EDGE * height for a, b in bones]
    if with_hand and not hand_found(kp, hand):
        bones.append((joints[2], hand_tips(rest, kp, arm)))
        widths.append(HAND_PER_FOREARM * widths[-1])
    bands, cores = [], []
    for (a, b), half in zip(bones, widths):
        band, core = np.zeros_like(mask), np.zeros_like(mask)
        ends = tuple(np.round(a).astype(int)), tuple(np.round(b).astype(int))
        cv2.line(band, *ends, 255, max(1, int(round(2 * half))))
        cv2.line(core, *ends, 255, max(1, int(round(2 * CORE * half))))
        bands.append((band > 0) & (mask > 0))
        cores.append(core > 0)
    if with_hand and hand_found(kp, hand):     # its points' outline, grown, is the hand's band
        bands.append((hand_outline(kp, hand, joints[2], height, mask.shape) > 0) & (mask > 0))
        cores.append(hand_outline(kp, hand, joints[2], 0, mask.shape) > 0)
        widths.append(HAND_GROW * height)
    everything = np.any(bands, axis=0)
    region = np.zeros(mask.shape, bool)
    for band, core, half in zip(bands, cores, widths):
        region |= by_colour(lab, mask, band, core, int(np.ceil(half)), everything)
    return np.where(region & (mask > 0), 255, 0).astype(np.uint8), widths[0]


def medial(shape, kp, arm, shoulder_in):
    """Pixels (bool) on the body's side of the torso's outline on the arm's side: the line from
    the shoulder moved in by shoulder_in pixels down to the hip's outer side, continued."""
    side, _, _ = SIDES[arm]
    other = "L" if side == "R" else "R"
    shoulder, hip = kp[B[side + "Shoulder"], :2], kp[B[side + "Hip"], :2]
    across = kp[B[other + "Shoulder"], :2] - shoulder
    top = shoulder + shoulder_in * across / max(1e-9, float(np.hypot(*across)))
    bottom = hip - HIP_OUT * (kp[B[other + "Hip"], :2] - hip)
    centre = (kp[B["MidHip"], :2] + kp[B["Neck"], :2]) / 2
    d = bottom - top
    cross = lambda x, y: d[0] * (y - top[1]) - d[1] * (x - top[0])
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    return cross(xs, ys) * cross(*centre) > 0


def body_under(mask, arms, free, kp, height):
    """(body, covered): the body without the separated arms (uint8), its outline completed where
    they covered it, and the pixels of an arm the body now holds (bool). arms: {arm: (region,
    half width of its upper arm)} of the separated arms; free: the regions of the other arms."""
    top = int(np.floor(kp[[B["RShoulder"], B["LShoulder"]], 1].min() - MAX_HALF_WIDTH * height))
    bottom = max(int(np.flatnonzero(r.any(axis=1)).max()) + 1 for r, _ in arms.values())
    rows = np.zeros(mask.shape, bool)
    rows[max(0, top):max(0, bottom)] = True
    body = mask.copy()
    for region, _ in arms.values():
        body[region > 0] = 0
    taken = np.zeros(mask.shape, bool)      # what the arms took
    inside = np.zeros(mask.shape, bool)     # of it, what lies inside the line on its side
    for arm, (region, upper) in arms.items():
        taken |= region > 0
        inside |= (region > 0) & medial(mask.shape, kp, arm, upper) & rows
    grow = int(np.ceil(EDGE * height))
    # The outline of what is left of the torso beside the arms (thin leftovers opened away).
    bare = np.where(rows & (body > 0), 255, 0).astype(np.uint8)
    for region in free:
        bare[region > 0] = 0
    bare = cv2.morphologyEx(bare, cv2.MORPH_OPEN, np.ones((2 * grow + 1,) * 2, np.uint8))
    ys, xs = np.nonzero(bare)
    hull = np.zeros_like(mask)
    if len(xs):
        cv2.fillConvexPoly(hull, cv2.convexHull(np.stack([xs, ys], 1).astype(np.int32)), 255)
    # Holes the arms leave inside the body.
    contours, _ = cv2.findContours(body, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    closed = np.zeros_like(mask)
    cv2.drawContours(closed, contours, -1, 255, -1)
    covered = taken & (inside | (hull > 0) | (closed > 0))
    body[covered] = 255
    # The arms' soft edges on the body (blended with the arm) are painted over as well.
    covered |= (cv2.dilate(taken.astype(np.uint8), np.ones((2 * grow + 1,) * 2, np.uint8)) > 0) \
        & (body > 0)
    return body, covered


def paint(photo, body, covered, taken, height):
    """The photo with the `covered` pixels painted from the body's pixels around them (but those
    next to `taken`, the arms' regions)."""
    out = photo.copy()
    if not covered.any():
        return out
    ys, xs = np.nonzero(covered)
    margin = int(np.ceil(3 * MAX_HALF_WIDTH * height))
    h, w = body.shape
    y0, y1 = max(0, ys.min() - margin), min(h, ys.max() + margin + 1)
    x0, x1 = max(0, xs.min() - margin), min(w, xs.max() + margin + 1)
    # Not painted from: the body's edge, nor the arms' soft edges left on it.
    inset = max(1, int(round(FILL_INSET * height)))
    box = (slice(y0, y1), slice(x0, x1))
    source = cv2.erode(body[box], np.ones((2 * inset + 1,) * 2, np.uint8)) > 0
    source &= cv2.dilate(taken[box].astype(np.uint8), np.ones((2 * inset + 1,) * 2, np.uint8)) == 0
    hole = (covered[y0:y1, x0:x1] | ~source).astype(np.uint8)
    radius = max(3.0, FILL_RADIUS * height)
    filled = cv2.inpaint(np.ascontiguousarray(photo[y0:y1, x0:x1]), hole, radius, cv2.INPAINT_TELEA)
    out[y0:y1, x0:x1][covered[y0:y1, x0:x1]] = filled[covered[y0:y1, x0:x1]]
    return out


def hidden_hand(photo, mask, kp, arm, height):
    """The Hand mirrored onto `arm` when its hand is hidden (see the module docstring), or None."""
    side, hand, _ = SIDES[arm]
    other = OTHER[arm]
    o_side, o_hand, o_end = SIDES[other]
    if hand_found(kp, hand) or not hand_found(kp, o_hand):
        return None
    rest = rig.rig_points(kp)
    full, _ = arm_region(photo, mask, kp, arm, height)
    bare, _ = arm_region(photo, mask, kp, arm, height, with_hand=False)
    end = (full > 0) & (bare == 0)
    o_wrist = rest[B[o_side + "Wrist"], :2]
    # The other hand: its arm's region near its points; its colour, that among its points.
    o_region, _ = arm_region(photo, mask, kp, other, height)
    o_mask = np.where((hand_outline(kp, o_hand, o_wrist, height, mask.shape) > 0) & (o_region > 0),
                      255, 0).astype(np.uint8)
    o_core = (hand_outline(kp, o_hand, o_wrist, 0, mask.shape) > 0) & (mask > 0)
    lab = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB).astype(np.float32)
    if not o_core.any() or end.any() and lab_distance(
            np.median(lab[end], axis=0), np.median(lab[o_core], axis=0)) <= HAND_COLOUR:
        return None     # the arm's end looks like the other hand: a hand the detector missed
    wrist, elbow = rest[B[side + "Wrist"], :2], rest[B[side + "Elbow"], :2]
    o_dir = rest[o_end, :2] - o_wrist
    mirrored = np.array([-o_dir[0], o_dir[1]])
    turn = np.arctan2(*(wrist - elbow)[::-1]) - np.arctan2(*mirrored[::-1])
    c, s = np.cos(turn), np.sin(turn)
    linear = np.array([[c, -s], [s, c]]) @ np.diag([-1.0, 1.0])   # mirror, then turn
    to_here = np.hstack([linear, (wrist - linear @ o_wrist)[:, None]])
    here = cv2.warpAffine(o_mask, to_here, mask.shape[::-1], flags=cv2.INTER_NEAREST)
    back = np.linalg.inv(linear)
    to_photo = np.hstack([back, (o_wrist - back @ wrist)[:, None]])
    return Hand(arm, here, to_photo)


def background_gaps(photo, mask, taken, height):
    """Pixels of the mask next to the arms (bool) that have the colour of what is just outside
    the person there (BACKGROUND_COLOURS of them): the gap between an arm and the body, which the
    mask often fills. Looked for only when the arms' and the body's colours (medians) both stand
    GAP_APART from it (not a white shirt against a white wall, a brown one among brown rocks)."""
    lab = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB).astype(np.float32)
    reach = max(3, int(round(GAP_REACH * height)))
    near = cv2.dilate(taken.astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8)) > 0
    outside = near & (cv2.dilate(mask, np.ones((7, 7), np.uint8)) > 0) & (mask == 0)
    none = np.zeros(mask.shape, bool)
    if outside.sum() < MIN_RING:
        return none
    _, _, colours = cv2.kmeans(lab[outside], BACKGROUND_COLOURS, None,
                               (cv2.TERM_CRITERIA_MAX_ITER, 10, 0), 1, cv2.KMEANS_PP_CENTERS)
    beside = near & (mask > 0) & ~taken
    if not beside.any():
        return none
    for part in (taken, beside):       # the arms' and the body's colours must stand apart
        if min(lab_distance(np.median(lab[part], axis=0), c) for c in colours) < GAP_APART:
            return none
    like = np.min([lab_distance(lab, c) for c in colours], axis=0) <= GAP_COLOUR
    return like & near & (mask > 0)


def separate(photo, mask, kp, arms, height):
    """The Separation of the `arms` ("r_arm", "l_arm") from the body of a photo (RGB), its person
    mask (uint8) and pose (137, 3)."""
    hands = [h for h in (hidden_hand(photo, mask, kp, arm, height) for arm in arms) if h]
    hidden = {h.arm for h in hands}
    regions = {arm: arm_region(photo, mask, kp, arm, height, with_hand=arm not in hidden)
               for arm in arms}
    free = [arm_region(photo, mask, kp, arm, height)[0] for arm in SIDES if arm not in arms]
    taken = np.any([r > 0 for r, _ in regions.values()], axis=0)
    # The gaps stay in the arms' regions (their meshes keep whole) but leave the person's mask,
    # which is the photo's alpha: they are not drawn.
    gaps = background_gaps(photo, mask, taken, height)
    gaps = cv2.dilate(gaps.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0   # their soft edges
    mask = np.where(gaps, 0, mask).astype(np.uint8)
    body, covered = body_under(mask, regions, free, kp, height)
    return Separation(mask=mask, body=body, texture=paint(photo, body, covered, taken, height),
                      arms={arm: region for arm, (region, _) in regions.items()}, hands=hands)
