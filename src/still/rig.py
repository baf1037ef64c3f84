"""The skeleton of a still: binding the mesh to BODY_25 bones, retargeting a driving pose onto it,
and deforming the mesh.

Bones (start joint -> end joint) form a tree rooted at the torso. The torso is one piece: neck,
shoulders and hips keep the photo's layout, squeezed across as the driving body turns sideways
(torso_width), and turn as the driving pose's torso joints do (a least-squares fit of the turn).
Every other bone keeps the photo's length and takes its direction from the driving pose
(retargeting), so a short or long-limbed source does not squash or stretch the person. A bone whose joints the driving pose lacks keeps its photo angle relative
to its parent bone, and so does a bone the caller fixes (one reaching out of the photo's view);
feet and hands turn at most TURN_LIMIT from theirs. The head tilts with the
line between the eyes (at most HEAD_TURN_LIMIT), not with the nose, which swings aside when the
face turns; a face turned sideways or away (eye line short or swapped) leaves the head upright
on the torso.

The figure is then moved so that its torso joints and ankles sit, on average, where the driving
pose has them: with other limb lengths not every joint can match, and this spreads the
difference over the body and the feet, while the arms (which move most) do not shift the body.

Binding: each vertex belongs to the nearest bone that it can "see" through the mask (the
straight line to the bone stays inside the person: primary_bones), then these one-hot weights
are averaged over the mesh's neighbours SMOOTH_STEPS times, so they blend over about BLEND x the
body height around each joint. Weights under MIN_WEIGHT are dropped, so what is away from a joint
does not move at all. Head, hands and feet are rigid: beyond BLEND x the body height from their
joint, their vertices keep weight 1.

Deformation: a vertex turns by the weighted mean of its bones' angles, about the joint between
its two strongest bones, then moves with the weighted positions of that joint. Blending angles
about the joint (not the matrices of linear blend skinning) keeps bent elbows and knees from
collapsing.
"""
import dataclasses

import cv2
import numpy as np

from src.pose.keypoints import B, LHAND, MIRROR, RHAND
from src.still import mesh

# Rig points: the 25 BODY_25 joints, then the far end of each hand (for the hand bones).
R_HAND_END, L_HAND_END = 25, 26
HAND_ENDS = (R_HAND_END, L_HAND_END)
N_RIG_POINTS = 27
HAND_MIDDLE_BASE = 9      # hand keypoint at the base of the middle finger

# name, start, end, parent, part
BONES = [
    ("torso", B["MidHip"], B["Neck"], None, "torso"),
    ("head", B["Neck"], B["Nose"], "torso", "head"),
    ("r_upper_arm", B["RShoulder"], B["RElbow"], "torso", "r_arm"),
    ("r_forearm", B["RElbow"], B["RWrist"], "r_upper_arm", "r_arm"),
    ("r_hand", B["RWrist"], R_HAND_END, "r_forearm", "r_arm"),
    ("l_upper_arm", B["LShoulder"], B["LElbow"], "torso", "l_arm"),
    ("l_forearm", B["LElbow"], B["LWrist"], "l_upper_arm", "l_arm"),
    ("l_hand", B["LWrist"], L_HAND_END, "l_forearm", "l_arm"),
    ("r_thigh", B["RHip"], B["RKnee"], "torso", "r_leg"),
    ("r_shin", B["RKnee"], B["RAnkle"], "r_thigh", "r_leg"),
    ("r_foot", B["RAnkle"], B["RBigToe"], "r_shin", "r_leg"),
    ("l_thigh", B["LHip"], B["LKnee"], "torso", "l_leg"),
    ("l_shin", B["LKnee"], B["LAnkle"], "l_thigh", "l_leg"),
    ("l_foot", B["LAnkle"], B["LBigToe"], "l_shin", "l_leg"),
]
BONE_NAMES = [b[0] for b in BONES]
BONE_INDEX = {name: i for i, name in enumerate(BONE_NAMES)}
START = np.array([b[1] for b in BONES])
END = np.array([b[2] for b in BONES])
PARENT = np.array([-1 if b[3] is None else BONE_INDEX[b[3]] for b in BONES])
# The last two: a hidden hand replaced by the other one, drawn behind the body (src/still/limbs.py).
PARTS = ["torso", "head", "r_arm", "l_arm", "r_leg", "l_leg", "r_hand_hidden", "l_hand_hidden"]
BONE_PART = np.array([PARTS.index(b[4]) for b in BONES])
RIGID = {BONE_INDEX[n] for n in ("head", "r_hand", "l_hand", "r_foot", "l_foot")}
TORSO_POINTS = [B[n] for n in ("MidHip", "Neck", "RShoulder", "LShoulder", "RHip", "LHip")]
SPANS = ((B["RShoulder"], B["LShoulder"]), (B["RHip"], B["LHip"]))   # right -> left across the torso
ANCHORS = TORSO_POINTS + [B["RAnkle"], B["LAnkle"]]
# A foot or hand turns at most this far (degrees) from its photo angle to its parent bone: the
# detectors' foot and hand directions are noisy, and wilder turns fold the ankle and wrist. A foot
# seen from the front turned sideways in the picture plane is a shoe smeared into a wedge: a
# dancer's foot turning shows mostly in depth, which the photo cannot show.
TURN_LIMIT = {BONE_INDEX["r_foot"]: 20.0, BONE_INDEX["l_foot"]: 20.0,
              BONE_INDEX["r_hand"]: 120.0, BONE_INDEX["l_hand"]: 120.0}
# Limbs drawn shorter as the driver's look shorter (turned towards or away from the camera).
FORESHORTENED = {BONE_INDEX[n] for n in ("r_upper_arm", "r_forearm", "l_upper_arm", "l_forearm",
                                         "r_thigh", "r_shin", "l_thigh", "l_shin")}
FULL_LENGTH = 0.9       # driving length over the photo's (at the driver's size) drawn at full length
SHORTEST = 0.25         # the shortest a limb is drawn, x the photo's
DEPTH = 0.7             # a torso's depth, front to back, x its width: its width in a side view
HEAD_TURN_LIMIT = 45.0  # degrees the head tilts at most from its photo angle to the torso
EYE_SPAN_MIN = 0.5      # eye line shorter than this x the photo's (at the same size): face turned
HELD = 0.25  # confidence of a joint the photo hides (made up): its bone keeps the photo's angle
# The joints a still needs (the rig has no bone without them; src/still/joints.py completes them).
REQUIRED = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
            "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "RBigToe", "LBigToe"]

BLEND = 0.05          # joints blend over about this fraction of the body height
SMOOTH_STEPS = 6      # neighbour averages of the weights (with vertices ~1/40 body height apart)
MIN_WEIGHT = 0.02     # smaller weights are dropped
SEE_SAMPLES = 8       # points tested along a vertex's line of sight to a bone
SEE_REACH = 0.8       # share of that line tested, from the vertex
SEE_SLACK = 0.1       # x body height: a bone seen this much farther than the nearest one loses to it


def body_height(kp):
    """Nose to the ankles' midpoint, in pixels (the height normalize.py measures), x 1.2 to
    reach from the crown to the soles."""
    ankles = (kp[B["RAnkle"], :2] + kp[B["LAnkle"], :2]) / 2
    return 1.2 * float(np.hypot(*(kp[B["Nose"], :2] - ankles)))


def rig_points(kp):
    """(N_RIG_POINTS, 3) x, y, present of one pose (137, 3): BODY_25 plus the hand ends.

    A hand's end is the base of the middle finger when the hand was found, else the forearm
    continued by half its length."""
    pts = np.zeros((N_RIG_POINTS, 3), np.float64)
    pts[:25] = kp[:25]
    for end, hand, wrist, elbow in ((R_HAND_END, RHAND, B["RWrist"], B["RElbow"]),
                                   (L_HAND_END, LHAND, B["LWrist"], B["LElbow"])):
        base = kp[hand][HAND_MIDDLE_BASE]
        if base[2] > 0 and kp[wrist, 2] > 0:
            pts[end] = base
        elif kp[wrist, 2] > 0 and kp[elbow, 2] > 0:
            pts[end, :2] = kp[wrist, :2] + 0.5 * (kp[wrist, :2] - kp[elbow, :2])
            pts[end, 2] = 0.5  # made up (confidence < 1): the hand then follows the forearm
    pts[pts[:, 2] <= 0] = 0
    return pts


def _angle(v):
    return np.arctan2(v[..., 1], v[..., 0])


def _rotate(v, angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


def _wrap(angle):
    return (angle + np.pi) % (2 * np.pi) - np.pi


def _limit(angle, parent_angle, degrees):
    """`angle`, turned back to at most `degrees` from `parent_angle`."""
    limit = np.radians(degrees)
    return parent_angle + np.clip(_wrap(angle - parent_angle), -limit, limit)


def segment_distance(p, a, b):
    """Distance of points p (N, 2) to the segment a-b, and the nearest points (N, 2)."""
    d = b - a
    t = np.clip(((p - a) @ d) / max(float(d @ d), 1e-9), 0, 1)
    near = a + t[:, None] * d
    return np.hypot(*(p - near).T), near


def polygon_distance(p, poly):
    """Distance of points p (N, 2) to a convex polygon (0 inside) and the nearest points."""
    best, near = np.full(len(p), np.inf), p.copy()
    for i in range(len(poly)):
        d, n = segment_distance(p, poly[i], poly[(i + 1) % len(poly)])
        better = d < best
        best[better], near[better] = d[better], n[better]
    inside = np.array([cv2.pointPolygonTest(poly.astype(np.float32), (float(x), float(y)), False) >= 0
                       for x, y in p])
    best[inside], near[inside] = 0, p[inside]
    return best, near


def head_centre(rest):
    """Mean of the nose, eyes and ears found (rig points), else the nose."""
    face = [B[n] for n in ("Nose", "REye", "LEye", "REar", "LEar")]
    found = [j for j in face if rest[j, 2] > 0]
    return rest[found, :2].mean(axis=0) if found else rest[B["Nose"], :2]


def bone_shapes(rest):
    """What each bone covers in the photo, for binding: a segment, or the torso's quadrilateral."""
    shapes = []
    for i, (name, s, e, _, _) in enumerate(BONES):
        a, b = rest[s, :2], rest[e, :2]
        if name == "torso":
            shapes.append(rest[[B["RShoulder"], B["LShoulder"], B["LHip"], B["RHip"]], :2])
        elif name == "head":      # from the neck's top through the head's centre to the crown
            centre = head_centre(rest)
            shapes.append((a + 0.35 * (centre - a), centre + 0.6 * (centre - a)))
        elif name.endswith("hand"):  # to the finger tips
            shapes.append((a, a + 2.0 * (b - a)))
        else:
            shapes.append((a, b))
    return shapes


@dataclasses.dataclass
class Binding:
    """How the mesh hangs on the bones."""
    weights: np.ndarray   # (N, n_bones) float32, rows sum to 1
    pivot: np.ndarray     # (N,) int32 rig point each vertex turns about
    primary: np.ndarray   # (N,) int32 bone each vertex was assigned to


def bone_distances(points, rest):
    """Distances (N, n_bones) of points to each bone's shape and the nearest points on them."""
    dist, near = [], []
    for shape in bone_shapes(rest):
        d, n = polygon_distance(points, shape) if isinstance(shape, np.ndarray) \
            else segment_distance(points, *shape)
        dist.append(d)
        near.append(n)
    return np.stack(dist, 1), np.stack(near, 1)                  # (N, n_bones), (N, n_bones, 2)


def nearest_bone(points, kp, allowed):
    """Index among the `allowed` bones (bool (n_bones,)) of the one nearest to each point."""
    dist, _ = bone_distances(points.astype(np.float64), rig_points(kp))
    return dist[:, allowed].argmin(axis=1)


def primary_bones(vertices, rest, mask, allowed=None):
    """The bone each vertex belongs to: the nearest one its line of sight reaches inside the mask,
    among the `allowed` bones (bool (n_bones,); None: all)."""
    dist, near = bone_distances(vertices, rest)
    if allowed is not None:
        dist[:, ~np.asarray(allowed)] = np.inf
    h, w = mask.shape
    # The last stretch is not tested: a bone's end may lie just outside the person's outline.
    f = np.linspace(0, SEE_REACH, SEE_SAMPLES)[:, None, None, None]
    along = vertices[None, :, None] + f * (near[None] - vertices[None, :, None])
    ij = np.round(along).astype(int)
    seen = (mask[ij[..., 1].clip(0, h - 1), ij[..., 0].clip(0, w - 1)] > 0).all(axis=0)
    ranked = np.where(seen, dist, dist + 1e6)
    primary = ranked.argmin(axis=1)
    # A vertex whose sight to the nearest bone crosses a notch of the outline (where the neck
    # meets the shoulder) would otherwise hang on a bone across the body.
    nearest = dist.argmin(axis=1)
    rows = np.arange(len(vertices))
    far = dist[rows, primary] > dist[rows, nearest] + SEE_SLACK * body_height(rest)
    return np.where(far, nearest, primary).astype(np.int32)


def bind(vertices, triangles, rest, height, primary):
    """Binding of a mesh (vertices (N, 2), triangles (M, 3)) to the rig points `rest` of the photo,
    from the bone each vertex belongs to (primary_bones)."""
    n, nb = len(vertices), len(BONES)
    weights = np.eye(nb)[primary]
    smooth = mesh.neighbour_mean(n, triangles, include_self=True)
    for _ in range(SMOOTH_STEPS):
        weights = smooth @ weights
    weights[weights < MIN_WEIGHT] = 0   # the averaging's far tails: parts away from a joint stay put
    # Rigid parts: full weight beyond BLEND x height from their joint, a ramp before it.
    blend = BLEND * height
    for bone in RIGID:
        own = primary == bone
        d = np.hypot(*(vertices[own] - rest[START[bone], :2]).T)
        ramp = np.clip(d / blend - 1, 0, 1)[:, None]
        weights[own] = (1 - ramp) * weights[own] + ramp * np.eye(nb)[bone]
    weights /= weights.sum(axis=1, keepdims=True)
    return Binding(weights.astype(np.float32), pivots(weights, primary), primary)


def pivots(weights, primary):
    """The rig point each vertex turns about: the joint between its bone and its strongest other
    bone when that one is its child, else its bone's start."""
    others = weights.copy()
    others[np.arange(len(primary)), primary] = -1
    other = others.argmax(axis=1)
    pivot = START[primary].copy()
    child = PARENT[other] == primary
    pivot[child] = START[other[child]]
    return pivot.astype(np.int32)


def triangle_parts(triangles, binding):
    """Body part (index into PARTS) of each triangle: the part with the most weight on its corners."""
    per_part = np.zeros((len(binding.weights), len(PARTS)))
    for p in range(len(PARTS)):
        per_part[:, p] = binding.weights[:, BONE_PART == p].sum(axis=1)
    return per_part[triangles].sum(axis=1).argmax(axis=1).astype(np.int32)


def torso_angle(rest_xy, drv_xy, drv_ok):
    """The turn of the rigid torso that best lays the photo's torso joints (neck, shoulders,
    hips) over the driving pose's (least squares); 0 with fewer than two of them."""
    pts = [j for j in TORSO_POINTS if drv_ok[j]]
    if len(pts) < 2:
        return 0.0
    a = rest_xy[pts] - rest_xy[pts].mean(axis=0)
    b = drv_xy[pts] - drv_xy[pts].mean(axis=0)
    return float(np.arctan2((a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum(), (a * b).sum()))


@dataclasses.dataclass
class Pose:
    """A retargeted pose: per bone angle (radians, relative to the photo), length (x the
    photo's, along the bone) and where each rig point lands."""
    angles: np.ndarray    # (n_bones,)
    points: np.ndarray    # (N_RIG_POINTS, 2)
    lengths: np.ndarray = None   # (n_bones,); None: all 1
    widths: np.ndarray = None    # (n_bones,) across the bone; None: all 1


def foreshortening(i, rest_xy, drv_xy, drv_ok, scale):
    """Length (x the photo's) of limb bone i in the driving pose: its driving length over the
    photo's at the driving figure's size (torso_scale), over FULL_LENGTH (a driver whose limbs
    are a little shorter than the photo's draws them at full length), between SHORTEST and 1. A
    limb pointing at the camera looks short: the photo's limb is drawn short with it."""
    s, e = START[i], END[i]
    if i not in FORESHORTENED or not (drv_ok[s] and drv_ok[e]):
        return 1.0
    rest_len = np.linalg.norm(rest_xy[e] - rest_xy[s]) * scale
    if rest_len <= 0:
        return 1.0
    return float(np.clip(np.linalg.norm(drv_xy[e] - drv_xy[s]) / rest_len / FULL_LENGTH, SHORTEST, 1.0))


def torso_scale(drv_xy, drv_ok, rest_xy):
    """The driving figure's size over the photo's, from neck to mid-hip (1 when unknown). The
    torso's length hardly changes as the body turns, unlike its width."""
    neck, hip = B["Neck"], B["MidHip"]
    if not (drv_ok[neck] and drv_ok[hip]):
        return 1.0
    rest_len = np.linalg.norm(rest_xy[neck] - rest_xy[hip])
    return float(np.linalg.norm(drv_xy[neck] - drv_xy[hip]) / rest_len) if rest_len > 0 else 1.0


def torso_width(drv_xy, drv_ok, rest_xy, scale):
    """Width of the torso (x the photo's) in the driving pose: its shoulder and hip spans over the
    photo's at the driver's size, over FULL_LENGTH (at most 1): the cosine of the body's turn. A
    body turned sideways shows, instead of its width, an ellipse's: its width and DEPTH mixed by
    the turn. The photo's torso is drawn that narrow, and the arms and legs hang closer."""
    spans = []
    for r, l in SPANS:
        rest = np.linalg.norm(rest_xy[l] - rest_xy[r]) * scale
        if drv_ok[r] and drv_ok[l] and rest > 0:
            spans.append(np.linalg.norm(drv_xy[l] - drv_xy[r]) / rest)
    if not spans:
        return 1.0
    turn = min(np.mean(spans) / FULL_LENGTH, 1.0)
    return float(np.sqrt(turn ** 2 + DEPTH ** 2 * (1 - turn ** 2)))


def unseen_arms(pose):
    """Parts ("r_arm", "l_arm") of the arms whose elbow and wrist a pose (BODY_25 or rig points)
    lacks while its shoulder is found: an arm hidden behind the body, as the far arm of a side
    view. It hangs from the shoulder towards the hip, behind the torso, instead of keeping the
    photo's pose (an arm held out in the photo would stick out of a dancer seen side on)."""
    return [part for part, side in (("r_arm", "R"), ("l_arm", "L"))
            if pose[B[side + "Shoulder"], 2] > 0 and pose[B[side + "Elbow"], 2] <= 0
            and pose[B[side + "Wrist"], 2] <= 0]


def facing_camera(across, across_rest, scale):
    """True when the driving eye line `across` (right eye to left) shows a face turned to the
    camera as in the photo: pointing the photo's way, and at least EYE_SPAN_MIN of the photo's
    eye span (x scale) long. A face turned sideways shows its eyes close together, a back view
    shows them swapped (the detector guesses them), and neither tilts reliably with the head."""
    long_enough = np.linalg.norm(across) >= EYE_SPAN_MIN * scale * np.linalg.norm(across_rest)
    return bool(across @ across_rest > 0 and long_enough)


def seen_from_behind(driving, photo):
    """True when a driving pose (137, 3) shows the person's back where the photo's pose (137, 3)
    shows the front: its shoulders and hips, taken together, point the other way across the body
    (the detectors name sides by the body, so a back puts the right side on the image's right)."""
    turn = 0.0
    for r, l in SPANS:
        if driving[r, 2] > 0 and driving[l, 2] > 0:
            turn += float((driving[l, :2] - driving[r, :2]) @ (photo[l, :2] - photo[r, :2]))
    return turn < 0


def facing_front(driving, photo):
    """The driving pose as the photo's front can follow it. A back view has its sides swapped,
    so that each of the photo's limbs follows the one on its own side of the image instead of
    crossing behind the body to the other; its face points, which the detectors guess on a head
    seen from behind, are dropped, so the head keeps its photo angle to the torso."""
    if not seen_from_behind(driving, photo):
        return driving
    out = driving[MIRROR].copy()
    out[[B["Nose"], B["REye"], B["LEye"], B["REar"], B["LEar"]]] = 0
    return out


def retarget(rest, driving, fixed=()):
    """Pose of the photo's skeleton (rig points `rest`) that follows the directions of `driving`
    (rig points of the driving pose, same layout; present = driving[:, 2] > 0). Bones in `fixed`
    (indices) keep their photo angle to their parent."""
    rest_xy, drv_xy, drv_ok = rest[:, :2], driving[:, :2], driving[:, 2] > 0
    points = rest_xy.copy()
    angles = np.zeros(len(BONES))
    lengths = np.ones(len(BONES))
    widths = np.ones(len(BONES))
    scale = torso_scale(drv_xy, drv_ok, rest_xy)
    hanging = {BONE_INDEX[part[0] + "_upper_arm"] for part in unseen_arms(driving)}
    for i, (name, s, e, _, _) in enumerate(BONES):
        d_rest = rest_xy[e] - rest_xy[s]
        parent_angle = angles[PARENT[i]] if PARENT[i] >= 0 else 0.0
        if i in fixed:
            angles[i] = parent_angle
        elif i in hanging:   # from the shoulder to the hip, behind the torso; the forearm follows
            hip = B["RHip"] if name.startswith("r_") else B["LHip"]
            angles[i] = _wrap(_angle(points[hip] - points[s]) - _angle(d_rest))
        elif name == "torso":
            angles[i] = torso_angle(rest_xy, drv_xy, drv_ok)
            widths[i] = torso_width(drv_xy, drv_ok, rest_xy, scale)
        elif name == "head" and rest[B["REye"], 2] > 0 and rest[B["LEye"], 2] > 0 \
                and drv_ok[B["REye"]] and drv_ok[B["LEye"]]:
            # The line between the eyes tilts with the head but not when the face turns aside,
            # which swings the nose off the neck's line. A face turned away from the camera
            # shows no eye line to trust: the head then keeps its photo angle to the torso.
            eyes = [B["REye"], B["LEye"]]
            across_rest = np.subtract(*rest_xy[eyes[::-1]])
            across = np.subtract(*drv_xy[eyes[::-1]])
            if facing_camera(across, across_rest, scale):
                turn = _angle(across) - _angle(across_rest)
                angles[i] = _limit(turn, parent_angle, HEAD_TURN_LIMIT)
            else:
                angles[i] = parent_angle
        elif drv_ok[s] and drv_ok[e] and not (e in HAND_ENDS and min(driving[e, 2], rest[e, 2]) < 1):
            # (A hand whose end was made up, in the photo or the driving pose, follows the forearm.)
            angles[i] = _wrap(_angle(drv_xy[e] - drv_xy[s]) - _angle(d_rest))
            lengths[i] = foreshortening(i, rest_xy, drv_xy, drv_ok, scale)
            if i in TURN_LIMIT:
                angles[i] = _limit(angles[i], parent_angle, TURN_LIMIT[i])
        else:
            angles[i] = parent_angle
        if name == "torso":
            root = drv_xy[s] if drv_ok[s] else rest_xy[s]
            axis = d_rest / max(np.linalg.norm(d_rest), 1e-9)
            for j in TORSO_POINTS:
                rel = rest_xy[j] - rest_xy[s]
                along = (rel @ axis) * axis
                points[j] = root + _rotate(along + widths[i] * (rel - along), angles[i])
        else:
            points[e] = points[s] + lengths[i] * _rotate(d_rest, angles[i])
    # Points of no bone (eyes, ears, heels, small toes) follow the bone they sit on.
    for j, bone in ((B["REye"], "head"), (B["LEye"], "head"), (B["REar"], "head"),
                    (B["LEar"], "head"), (B["RHeel"], "r_foot"), (B["RSmallToe"], "r_foot"),
                    (B["LHeel"], "l_foot"), (B["LSmallToe"], "l_foot")):
        b = BONE_INDEX[bone]
        points[j] = points[START[b]] + _rotate(rest_xy[j] - rest_xy[START[b]], angles[b])
    anchors = [j for j in ANCHORS if drv_ok[j]]
    if anchors:
        points += (drv_xy[anchors] - points[anchors]).mean(axis=0)
    return Pose(angles, points, lengths, widths)


def held_bones(rest, size):
    """Indices of the bones that keep their photo angle to their parent: those whose end lies
    beyond the edges of an image of `size` (w, h) or is a joint the photo hides (confidence
    HELD, src/still/joints.py), and every bone below them."""
    w, h = size
    x, y = rest[END, 0], rest[END, 1]
    beyond = (rest[END, 2] > 0) & ((x < -0.5) | (x > w - 0.5) | (y < -0.5) | (y > h - 0.5))
    held = set(np.flatnonzero(beyond | (rest[END, 2] == HELD)).tolist())
    for i in range(len(BONES)):               # parents come before their children
        if PARENT[i] in held:
            held.add(i)
    return held


def deform(vertices, binding, rest, pose):
    """Vertices (N, 2) of the mesh in the retargeted pose."""
    w = binding.weights
    primary_angle = pose.angles[binding.primary]
    angle = primary_angle + (w * _wrap(pose.angles[None, :] - primary_angle[:, None])).sum(axis=1)
    centre = rest[binding.pivot, :2]
    # Where each bone's motion (turn, and shortening along itself) takes the pivot, weighted.
    start_rest, start_new = rest[START, :2], pose.points[START]
    offset = centre[:, None] - start_rest[None]
    local = vertices - centre
    along = rest[END, :2] - start_rest
    along = along / np.maximum(np.linalg.norm(along, axis=1, keepdims=True), 1e-9)
    across = np.stack([-along[:, 1], along[:, 0]], axis=1)
    for axes, factors in ((along, pose.lengths), (across, pose.widths)):
        if factors is None:
            continue
        offset = offset + ((factors - 1) * (offset * axes).sum(-1))[..., None] * axes
        a, k = axes[binding.primary], factors[binding.primary] - 1
        local = local + (k * (local * a).sum(-1))[:, None] * a
    moved = start_new[None] + _rotate(offset, pose.angles[None, :])
    target = (w[..., None] * moved).sum(axis=1)
    return (target + _rotate(local, angle)).astype(np.float32)
