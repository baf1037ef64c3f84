"""Synthetic "dancer" videos for the demo and the tests, with their ground-truth keypoints.

A person is drawn procedurally (head with face and hair, neck, shirt, sleeves, hands, trousers,
shoes, a floor shadow, a little rim shading) on a plain light background, and moved by 2D
forward kinematics: every joint angle is a sum of slow sines, the pelvis sways left and right,
the knees bend in turn (one foot lifts, the other stays on the floor) and both knees dip to the
beat. Two looks and motions exist: "target" (the person the model learns) and "source" (the
dancer whose motion is transferred; smaller and placed elsewhere in the frame so that pose
normalization has work to do).

Ground truth is in the project's 137-point layout (src/pose/keypoints.py): body 25 straight from the
skeleton, the 70 face points where the face features are drawn, and 21 points per hand along the
drawn fingers; every point is drawn, so every confidence is 1.

    python -m src.demo.data --out data/demo [--frames-target 300 --frames-source 150 --size 512x256]
"""
import argparse
import dataclasses
import math
import os
import tempfile
import wave

import cv2
import numpy as np
from tqdm import tqdm

from src.errors import UserError, run_main
from src.io.files import write_image
from src.io.video import VideoWriter
from src.pose.keypoints import B, N_POINTS, PoseTrack


@dataclasses.dataclass(frozen=True)
class Person:
    """Look, proportions and motion of one synthetic dancer.

    Lengths are fractions of the body height (head top to soles), which is `height` of the frame
    height; `center_x` and `floor_y` place the person in the frame (fractions of width/height).
    `motion` maps each joint angle (degrees) or offset to sine terms (amplitude, Hz, phase);
    a term (a, 0, pi/2) is the constant a.
    """
    height: float
    center_x: float
    floor_y: float
    head: float          # half-width of the head; the face is laid out in these units
    neck: float          # chin to shoulder line
    torso: float         # shoulder line to hip line
    shoulder: float      # half-width between shoulder joints
    hip: float           # half-width between hip joints
    upper_arm: float
    forearm: float
    hand: float          # wrist to the tip of the middle finger
    thigh: float
    shin: float
    skin: tuple
    hair: tuple
    shirt: tuple
    trousers: tuple
    shoes: tuple
    lips: tuple
    iris: tuple
    wall: tuple
    floor: tuple
    long_sleeves: bool
    long_hair: bool
    motion: dict


TARGET = Person(
    height=0.75, center_x=0.47, floor_y=0.91,
    head=0.052, neck=0.045, torso=0.30, shoulder=0.115, hip=0.056,
    upper_arm=0.175, forearm=0.15, hand=0.10, thigh=0.245, shin=0.235,
    skin=(226, 176, 140), hair=(70, 45, 30), shirt=(200, 45, 50), trousers=(45, 60, 110),
    shoes=(50, 48, 52), lips=(190, 95, 90), iris=(80, 55, 35),
    wall=(236, 234, 229), floor=(214, 209, 200), long_sleeves=False, long_hair=False,
    motion={
        "sway": [(0.10, 0.07, 0.0), (0.025, 0.4, 1.0)],          # pelvis x, frame widths
        "lean": [(4.0, 0.4, 0.3)],
        "head": [(6.0, 0.25, 0.0), (3.0, 0.6, 1.0)],
        "r_shoulder": [(45.0, 0.0, math.pi / 2), (32.0, 0.4, 0.0), (15.0, 0.27, 1.0)],
        "l_shoulder": [(45.0, 0.0, math.pi / 2), (32.0, 0.4, math.pi), (15.0, 0.31, 2.0)],
        "r_elbow": [(45.0, 0.0, math.pi / 2), (35.0, 0.4, 0.5)],
        "l_elbow": [(45.0, 0.0, math.pi / 2), (35.0, 0.4, 0.5 + math.pi)],
        "r_wrist": [(12.0, 0.7, 0.0)],
        "l_wrist": [(12.0, 0.7, 1.5)],
        "r_hip": [(7.0, 0.0, math.pi / 2), (4.0, 0.4, 0.0)],
        "l_hip": [(7.0, 0.0, math.pi / 2), (4.0, 0.4, math.pi)],
        "r_knee": [(14.0, 0.0, math.pi / 2), (14.0, 0.4, 0.0)],
        "l_knee": [(14.0, 0.0, math.pi / 2), (14.0, 0.4, math.pi)],
        "dip": [(5.0, 0.0, math.pi / 2), (5.0, 0.8, 0.0)],        # both knees, to the beat
    })

SOURCE = Person(
    height=0.63, center_x=0.58, floor_y=0.86,
    head=0.054, neck=0.05, torso=0.29, shoulder=0.10, hip=0.062,
    upper_arm=0.165, forearm=0.145, hand=0.095, thigh=0.25, shin=0.235,
    skin=(170, 115, 80), hair=(30, 22, 20), shirt=(40, 140, 130), trousers=(35, 35, 40),
    shoes=(120, 60, 40), lips=(150, 70, 70), iris=(45, 30, 20),
    wall=(226, 232, 238), floor=(200, 205, 212), long_sleeves=True, long_hair=True,
    motion={
        "sway": [(0.06, 0.1, 1.0), (0.03, 0.6, 0.0)],
        "lean": [(5.0, 0.6, 1.2)],
        "head": [(8.0, 0.3, 0.5)],
        "r_shoulder": [(70.0, 0.0, math.pi / 2), (45.0, 0.35, 0.0), (15.0, 0.6, 0.0)],
        "l_shoulder": [(60.0, 0.0, math.pi / 2), (40.0, 0.3, 2.0), (15.0, 0.6, 1.0)],
        "r_elbow": [(40.0, 0.0, math.pi / 2), (30.0, 0.6, 2.0)],
        "l_elbow": [(50.0, 0.0, math.pi / 2), (30.0, 0.45, 0.0)],
        "r_wrist": [(15.0, 0.8, 0.3)],
        "l_wrist": [(15.0, 0.8, 2.0)],
        "r_hip": [(9.0, 0.0, math.pi / 2), (5.0, 0.6, 0.0)],
        "l_hip": [(9.0, 0.0, math.pi / 2), (5.0, 0.6, math.pi)],
        "r_knee": [(12.0, 0.0, math.pi / 2), (12.0, 0.6, math.pi / 2)],
        "l_knee": [(12.0, 0.0, math.pi / 2), (12.0, 0.6, -math.pi / 2)],
        "dip": [(6.0, 0.0, math.pi / 2), (6.0, 1.2, 0.0)],
    })

PERSONS = {"target": TARGET, "source": SOURCE}

# The 70 face points in head units: x to the image right, y down, origin between the eyes
# (iBUG 68 order, then the right and left pupil; the person's right is the image left).
_JAW = [(-0.98 * math.cos(s), 1.22 * math.sin(s) - 0.02)
        for s in np.linspace(-0.12, math.pi + 0.12, 17)]
_BROWS = [(-0.78 + 0.15 * i, -0.40 - 0.06 * math.sin(math.pi * i / 4)) for i in range(5)]
_BROWS += [(-x, y) for x, y in reversed(_BROWS)]
_NOSE = [(0.0, -0.25 + 0.19 * i) for i in range(4)] + [(x, 0.40 + 0.03 * (1 - abs(x) / 0.2))
                                                      for x in np.linspace(-0.2, 0.2, 5)]
_EYE = [(-0.2, 0.0), (-0.08, -0.085), (0.08, -0.085), (0.2, 0.0), (0.08, 0.07), (-0.08, 0.07)]
_R_EYE = [(x - 0.40, y - 0.08) for x, y in _EYE]                     # outer corner first
_L_EYE = [(0.40 - x, y - 0.08) for x, y in _EYE[3::-1] + _EYE[:3:-1]]  # inner corner first
_LIPS = ([(-0.34, 0.70), (-0.22, 0.63), (-0.08, 0.60), (0.0, 0.62), (0.08, 0.60), (0.22, 0.63),
          (0.34, 0.70), (0.22, 0.80), (0.09, 0.84), (0.0, 0.85), (-0.09, 0.84), (-0.22, 0.80)]
         + [(-0.26, 0.70), (-0.1, 0.68), (0.0, 0.685), (0.1, 0.68), (0.26, 0.70), (0.1, 0.73),
            (0.0, 0.735), (-0.1, 0.73)])
FACE_LAYOUT = np.array(_JAW + _BROWS + _NOSE + _R_EYE + _L_EYE + _LIPS + [(-0.40, -0.08),
                                                                         (0.40, -0.08)])
assert FACE_LAYOUT.shape == (70, 2)

# Hands in hand lengths: finger (index of its base point, base across the palm, angle in
# degrees toward the thumb side, length); the thumb starts at the wrist, the others at the palm.
_FINGERS = [(1, 0.16, 55.0, 0.52), (5, 0.17, 10.0, 0.50), (9, 0.05, 0.0, 0.55),
            (13, -0.07, -8.0, 0.50), (17, -0.17, -18.0, 0.42)]
_PALM = 0.47  # wrist to the finger bases


def _wave(t, terms):
    return sum(a * math.sin(2 * math.pi * f * t + p) for a, f, p in terms)


def _rot(deg):
    """Unit vectors (along, across) of a limb `deg` degrees from straight down, turning to +x."""
    r = math.radians(deg)
    return np.array([math.sin(r), math.cos(r)]), np.array([math.cos(r), -math.sin(r)])


@dataclasses.dataclass
class DancerPose:
    """Everything needed to draw one frame: the 137 keypoints plus drawing geometry."""
    keypoints: np.ndarray     # (137, 3)
    person: Person
    unit: float               # body height in pixels
    head_angle: float         # degrees, head tilt (positive turns the crown toward +x)


def dancer_pose(person, t, size):
    """The pose of `person` ("target"/"source" or a Person) at time t seconds in a frame (w, h)."""
    p = PERSONS[person] if isinstance(person, str) else person
    w, h = size
    H = p.height * h
    m = {name: _wave(t, terms) for name, terms in p.motion.items()}
    kp = np.zeros((N_POINTS, 3), np.float64)

    def put(name, xy):
        kp[B[name], :2] = xy

    # Torso from the pelvis (at the origin for now; the feet place it on the floor below).
    down, side = _rot(m["lean"])
    up = -down
    put("MidHip", (0.0, 0.0))
    neck = up * p.torso * H
    put("Neck", neck)
    put("RHip", -side * p.hip * H)
    put("LHip", side * p.hip * H)
    put("RShoulder", neck - side * p.shoulder * H)
    put("LShoulder", neck + side * p.shoulder * H)

    # Arms: angles away from the body in the torso's frame; the elbow bends outward/upward.
    for s, sign in (("R", -1), ("L", 1)):
        low = s.lower()
        a_upper = m["lean"] + sign * m[f"{low}_shoulder"]
        a_fore = a_upper + sign * m[f"{low}_elbow"]
        elbow = kp[B[f"{s}Shoulder"], :2] + _rot(a_upper)[0] * p.upper_arm * H
        wrist = elbow + _rot(a_fore)[0] * p.forearm * H
        put(f"{s}Elbow", elbow)
        put(f"{s}Wrist", wrist)
        along, across = _rot(a_fore + sign * m[f"{low}_wrist"])
        thumb = across * sign  # thumb on the outer side when the palm faces the camera
        lo = 95 if s == "L" else 116
        kp[lo:lo + 21, :2] = _hand_points(wrist, along, thumb, p.hand * H)

    # Legs in the world frame: thighs out, shins back in (knees over toes).
    for s, sign in (("R", -1), ("L", 1)):
        low = s.lower()
        bend = m[f"{low}_knee"] + m["dip"]
        a_thigh = sign * (m[f"{low}_hip"] + 0.5 * bend)
        knee = kp[B[f"{s}Hip"], :2] + _rot(a_thigh)[0] * p.thigh * H
        ankle = knee + _rot(a_thigh - sign * bend)[0] * p.shin * H
        put(f"{s}Knee", knee)
        put(f"{s}Ankle", ankle)
        # Front view of a foot turned slightly out: heel just below the ankle, toes lower.
        put(f"{s}Heel", ankle + np.array([0.004 * sign, 0.030]) * H)
        put(f"{s}BigToe", ankle + np.array([-0.012 * sign, 0.052]) * H)
        put(f"{s}SmallToe", ankle + np.array([0.030 * sign, 0.047]) * H)

    # Head: tilts on the neck; face features in head units.
    head_angle = m["lean"] + m["head"]
    hdown, hside = _rot(head_angle)
    a = p.head * H
    center = neck + up * p.neck * H - hdown * a * FACE_LAYOUT[8, 1]
    face = center + a * (FACE_LAYOUT[:, :1] * hside + FACE_LAYOUT[:, 1:] * hdown)
    kp[25:95, :2] = face
    put("Nose", face[30])
    put("REye", face[68])
    put("LEye", face[69])
    put("REar", center + a * (-1.0 * hside + 0.08 * hdown))
    put("LEar", center + a * (1.0 * hside + 0.08 * hdown))

    # Place: the lower foot stands on the floor, the pelvis sways sideways.
    sole = max(kp[B["RAnkle"], 1], kp[B["LAnkle"], 1]) + 0.066 * H
    kp[:, 0] += (p.center_x + m["sway"]) * w
    kp[:, 1] += p.floor_y * h - sole
    kp[:, 2] = 1.0
    return DancerPose(kp.astype(np.float32), p, H, head_angle)


def _hand_points(wrist, along, thumb, length):
    """21 hand points: wrist, then 4 per finger from its base to its tip.

    The fingers fan out from the palm and close up a little toward the tips, as relaxed
    fingers do.
    """
    pts = [wrist]
    for base, offset, spread, flen in _FINGERS:
        start = wrist + (0.12 if base == 1 else _PALM) * length * along + offset * length * thumb
        fracs = (0.3, 0.62, 0.83, 1.0) if base == 1 else (0.0, 0.45, 0.75, 1.0)
        for k, frac in enumerate(fracs):
            ang = math.radians(spread * (1 - 0.15 * k))
            pts.append(start + frac * flen * length * (math.cos(ang) * along + math.sin(ang) * thumb))
    return np.array(pts)


# ---- drawing ----
_SHIFT = 4
_ONE = 1 << _SHIFT
_LIGHT = np.array([-0.55, -0.83])  # light from the upper left: shaded rims on the lower right


def _fix(pts):
    return np.round(np.asarray(pts, np.float64) * _ONE).astype(np.int32)


def _shade(color, f):
    c = np.asarray(color, np.float64)
    return tuple(int(v) for v in (np.clip(c * f, 0, 255) if f < 1 else c + (255 - c) * (f - 1)))


def _capsule(img, a, b, ra, rb, color):
    """A tapered limb from a (radius ra) to b (radius rb), round at both ends."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = b - a
    n = np.array([-d[1], d[0]]) / (np.hypot(*d) + 1e-9)
    cv2.fillConvexPoly(img, _fix([a + n * ra, b + n * rb, b - n * rb, a - n * ra]), color,
                       cv2.LINE_AA, _SHIFT)
    for c, r in ((a, ra), (b, rb)):
        cv2.circle(img, tuple(_fix(c)), int(round(r * _ONE)), color, -1, cv2.LINE_AA, _SHIFT)


def _limb(img, a, b, ra, rb, color):
    """A capsule with a darker rim away from the light and a soft highlight toward it."""
    _capsule(img, a, b, ra, rb, _shade(color, 0.72))
    off = _LIGHT * 0.18 * (ra + rb) / 2
    _capsule(img, a + off, b + off, ra * 0.8, rb * 0.8, color)
    off = _LIGHT * 0.35 * (ra + rb) / 2
    _capsule(img, a + off, b + off, ra * 0.3, rb * 0.3, _shade(color, 1.12))


def _polygon(img, pts, color, shaded=True):
    pts = np.asarray(pts, np.float64)
    if shaded:
        cv2.fillPoly(img, [_fix(pts)], _shade(color, 0.75), cv2.LINE_AA, _SHIFT)
        mid = pts.mean(axis=0)
        span = np.ptp(pts, axis=0).mean()
        pts = mid + (pts - mid) * 0.86 + _LIGHT * 0.05 * span
    cv2.fillPoly(img, [_fix(pts)], color, cv2.LINE_AA, _SHIFT)


def _ellipse(img, center, axes, angle, color, thickness=-1, arc=(0, 360)):
    cv2.ellipse(img, tuple(_fix(center)), tuple(_fix(np.maximum(axes, 0.5))), angle, arc[0], arc[1],
                color, thickness, cv2.LINE_AA, _SHIFT)


def _background(person, size):
    """Wall with a soft vertical gradient and a slightly darker floor."""
    w, h = size
    y = np.linspace(0, 1, h)[:, None]
    horizon = person.floor_y - 0.12
    wall = np.asarray(person.wall, np.float32) * (0.96 + 0.05 * y)
    floor = np.asarray(person.floor, np.float32) * (0.97 + 0.03 * (y - horizon) / (1 - horizon))
    col = np.where(y < horizon, wall, floor)
    return np.broadcast_to(col[:, None, :], (h, w, 3)).astype(np.uint8)


def _floor_shadow(img, x, y, half_width):
    """Darken an elliptic, soft-edged patch of floor under the feet."""
    h, w = img.shape[:2]
    rx, ry = half_width * 1.6, half_width * 0.28
    x0, x1 = int(max(0, x - 2 * rx)), int(min(w, x + 2 * rx + 1))
    y0, y1 = int(max(0, y - 2 * ry)), int(min(h, y + 2 * ry + 1))
    if x1 <= x0 or y1 <= y0:
        return
    gx = ((np.arange(x0, x1) - x) / rx)[None, :]
    gy = ((np.arange(y0, y1) - y) / ry)[:, None]
    dark = 1 - 0.28 * np.exp(-(gx ** 2 + gy ** 2) * 1.5)
    img[y0:y1, x0:x1] = (img[y0:y1, x0:x1] * dark[..., None]).astype(np.uint8)


def draw_dancer(pose, size, background=None):
    """Draw one frame (RGB uint8, (h, w, 3)) of the dancer in `pose` (a DancerPose)."""
    p, kp, H = pose.person, pose.keypoints[:, :2].astype(np.float64), pose.unit
    img = (_background(p, size) if background is None else background).copy()
    j = {name: kp[B[name]] for name in B}
    feet_y = max(j["RHeel"][1], j["LHeel"][1]) + 0.03 * H
    _floor_shadow(img, (j["RAnkle"][0] + j["LAnkle"][0]) / 2, feet_y,
                  abs(j["RAnkle"][0] - j["LAnkle"][0]) / 2 + 0.06 * H)

    hdown, hside = _rot(pose.head_angle)
    a = p.head * H
    center = kp[25 + 27] - hdown * a * FACE_LAYOUT[27, 1]  # head centre from the nose bridge
    if p.long_hair:  # hair falling behind the shoulders
        _limb(img, center - hdown * a * 0.4, center + hdown * a * 1.9, a * 1.12, a * 1.05, p.hair)

    # Legs (trousers) and shoes, then the pelvis.
    for s in "RL":
        _limb(img, j[f"{s}Hip"], j[f"{s}Knee"], 0.066 * H, 0.048 * H, p.trousers)
        _limb(img, j[f"{s}Knee"], j[f"{s}Ankle"], 0.048 * H, 0.036 * H, p.trousers)
    for s, sign in (("R", -1), ("L", 1)):
        shoe = (j[f"{s}BigToe"] + j[f"{s}SmallToe"] + 2 * j[f"{s}Heel"]) / 4
        _ellipse(img, shoe + [0, 0.004 * H], (0.05 * H, 0.028 * H), 0, _shade(p.shoes, 0.7))
        _ellipse(img, shoe - [0, 0.002 * H], (0.045 * H, 0.022 * H), 0, p.shoes)
        _ellipse(img, shoe + [0, 0.02 * H], (0.048 * H, 0.008 * H), 0, _shade(p.shoes, 0.45))
    up = j["Neck"] - j["MidHip"]
    up = up / np.hypot(*up)
    across = np.array([-up[1], up[0]])  # toward the person's left (image right)
    hw = p.hip * H
    crotch = j["MidHip"] - up * 0.07 * H
    waist = j["MidHip"] + up * 0.1 * H
    _polygon(img, [waist - across * (hw + 0.05 * H), waist + across * (hw + 0.05 * H),
                   j["LHip"] + across * 0.06 * H - up * 0.04 * H, crotch,
                   j["RHip"] - across * 0.06 * H - up * 0.04 * H], p.trousers)

    # Neck, then the shirt over its base.
    _limb(img, center + hdown * a * 0.6, j["Neck"] + up * 0.01 * H, 0.03 * H, 0.034 * H, p.skin)
    torso = [j["RShoulder"] - across * 0.03 * H + up * 0.025 * H,
             j["Neck"] - across * 0.045 * H + up * 0.02 * H, j["Neck"] - up * 0.025 * H,
             j["Neck"] + across * 0.045 * H + up * 0.02 * H,
             j["LShoulder"] + across * 0.03 * H + up * 0.025 * H,
             j["LShoulder"] + across * 0.02 * H - up * 0.1 * H,
             waist + across * (hw + 0.045 * H) - up * 0.02 * H,
             j["MidHip"] + across * (hw + 0.05 * H) + up * 0.02 * H,
             j["MidHip"] - across * (hw + 0.05 * H) + up * 0.02 * H,
             waist - across * (hw + 0.045 * H) - up * 0.02 * H,
             j["RShoulder"] - across * 0.02 * H - up * 0.1 * H]
    _polygon(img, torso, p.shirt)
    cv2.polylines(img, [_fix([j["Neck"] - across * 0.045 * H + up * 0.02 * H,
                              j["Neck"] - up * 0.025 * H,
                              j["Neck"] + across * 0.045 * H + up * 0.02 * H])],
                  False, _shade(p.shirt, 0.6), max(1, int(0.006 * H)), cv2.LINE_AA, _SHIFT)

    _draw_head(img, pose, center, hdown, hside, a)

    # Arms over the body: skin, then sleeves; hands last.
    for s, lo in (("R", 116), ("L", 95)):
        sh, el, wr = j[f"{s}Shoulder"], j[f"{s}Elbow"], j[f"{s}Wrist"]
        _limb(img, sh, el, 0.034 * H, 0.027 * H, p.skin)
        _limb(img, el, wr, 0.027 * H, 0.02 * H, p.skin)
        if p.long_sleeves:
            _limb(img, sh, el, 0.04 * H, 0.032 * H, p.shirt)
            _limb(img, el, wr - (wr - el) * 0.06, 0.032 * H, 0.024 * H, p.shirt)
        else:
            _limb(img, sh, sh + (el - sh) * 0.45, 0.04 * H, 0.033 * H, p.shirt)
        _draw_hand(img, kp[lo:lo + 21], p.skin, H)

    sigma = max(0.5, size[1] / 700)  # a camera's softness; also blends the shading bands
    return cv2.GaussianBlur(img, (0, 0), sigma)


def _draw_head(img, pose, center, hdown, hside, a):
    p, face = pose.person, pose.keypoints[25:95, :2].astype(np.float64)
    ang = pose.head_angle
    tilt = -ang  # cv2.ellipse angles turn clockwise on screen; our angle turns the crown to +x

    def at(u, v):
        return center + a * (u * hside + v * hdown)

    for u in (-1.0, 1.0):  # ears
        _ellipse(img, at(u * 0.98, 0.12), (0.2 * a, 0.32 * a), tilt, _shade(p.skin, 0.8))
        _ellipse(img, at(u * 0.96, 0.12), (0.12 * a, 0.22 * a), tilt, p.skin)
    skull = at(0, 0.05)
    _ellipse(img, at(0, -0.1), (1.08 * a, 1.3 * a), tilt, p.hair)  # hair behind the face
    _ellipse(img, skull, (0.97 * a, 1.2 * a), tilt, _shade(p.skin, 0.8))
    _ellipse(img, skull + _LIGHT * 0.06 * a, (0.88 * a, 1.12 * a), tilt, p.skin)
    _ellipse(img, at(0.1, -0.2), (0.5 * a, 0.6 * a), tilt, _shade(p.skin, 1.06))
    # Fringe: the upper part of the hair ellipse over the forehead.
    _ellipse(img, at(0, -0.52), (1.02 * a, 0.62 * a), tilt, p.hair, arc=(180, 360))
    _ellipse(img, at(-0.25, -0.7), (0.6 * a, 0.18 * a), tilt + 12, p.hair)

    thin = max(1, int(round(a * 0.09)))
    for eye, pupil in ((face[36:42], face[68]), (face[42:48], face[69])):
        cv2.fillConvexPoly(img, _fix(eye), (245, 245, 240), cv2.LINE_AA, _SHIFT)
        cv2.circle(img, tuple(_fix(pupil)), int(0.075 * a * _ONE) + 4, p.iris, -1,
                   cv2.LINE_AA, _SHIFT)
        cv2.circle(img, tuple(_fix(pupil)), int(0.035 * a * _ONE) + 2, (10, 10, 10), -1,
                   cv2.LINE_AA, _SHIFT)
        cv2.polylines(img, [_fix(eye[:4])], False, (40, 30, 25), thin, cv2.LINE_AA, _SHIFT)
    for brow in (face[17:22], face[22:27]):
        cv2.polylines(img, [_fix(brow)], False, _shade(p.hair, 0.9), thin + 1, cv2.LINE_AA, _SHIFT)
    # Nose: a shaded ridge and the nostril line; mouth: lips and the dark line between them.
    cv2.polylines(img, [_fix(face[[28, 29, 30]] + hside * 0.08 * a)], False,
                  _shade(p.skin, 0.82), thin, cv2.LINE_AA, _SHIFT)
    cv2.polylines(img, [_fix(face[31:36])], False, _shade(p.skin, 0.65), thin, cv2.LINE_AA, _SHIFT)
    cv2.fillPoly(img, [_fix(face[48:60])], p.lips, cv2.LINE_AA, _SHIFT)
    cv2.polylines(img, [_fix(face[[60, 61, 62, 63, 64]])], False, _shade(p.lips, 0.45), thin,
                  cv2.LINE_AA, _SHIFT)


def _draw_hand(img, pts, skin, H):
    palm = pts[[0, 1, 5, 9, 13, 17]].astype(np.float64)
    wrist = pts[0]
    palm = np.vstack([palm, wrist + (pts[17] - wrist) * 0.4])
    cv2.fillConvexPoly(img, _fix(cv2.convexHull(palm.astype(np.float32))[:, 0]),
                       _shade(skin, 0.85), cv2.LINE_AA, _SHIFT)
    width = 0.0095 * H
    for f in range(5):
        chain = pts[([0] if f == 0 else []) + list(range(1 + 4 * f, 5 + 4 * f))]
        for k in range(len(chain) - 1):
            _capsule(img, chain[k], chain[k + 1], width * (1.25 if f == 0 else 1.0), width * 0.9,
                     skin)


# ---- videos ----

def _write_tune(path, seconds, seed=0, rate=22050):
    """A short looping melody (pentatonic, 120 bpm, with a bass on the beat) as 16-bit mono WAV."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros(n, np.float64)
    scale = [0, 2, 4, 7, 9, 12, 14, 16]
    beat = 0.5
    phrase = rng.integers(0, len(scale), 8)
    k = 0
    while k * beat / 2 < seconds:
        start = int(k * beat / 2 * rate)
        dur = int(beat / 2 * rate)
        t = np.arange(min(dur, n - start)) / rate
        note = 440.0 * 2 ** ((scale[phrase[k % 8]] - 9) / 12)
        env = np.exp(-t * 6) * np.minimum(1, t * 200)
        out[start:start + len(t)] += 0.3 * env * (np.sin(2 * np.pi * note * t)
                                                  + 0.3 * np.sin(4 * np.pi * note * t))
        if k % 2 == 0:
            bass = 110.0 * 2 ** ((0, 5, 7, 5)[(k // 8) % 4] / 12)
            out[start:start + len(t)] += 0.25 * np.exp(-t * 3) * np.sin(2 * np.pi * bass * t)
        k += 1
    pcm = (np.clip(out, -1, 1) * 32000).astype("<i2")
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.tobytes())


def make_dancer_video(path, person, n_frames, size=(512, 256), fps=15, seed=0, audio=False,
                      progress=False):
    """Write a dancer video to `path` (mp4), its ground truth to <path minus .mp4>_gt.npz and its
    clean background (the frame without the dancer) to <path minus .mp4>_background.png.

    `seed` shifts the dance in time, so different seeds give different clips of the same person.
    With audio=True a generated tune is muxed in. Returns the ground-truth PoseTrack.
    """
    if person not in PERSONS:
        raise UserError(f"person {person!r}: unknown; use one of {', '.join(PERSONS)}")
    if n_frames < 1:
        raise UserError(f"{path}: n_frames must be >= 1, got {n_frames}")
    size = (int(size[0]), int(size[1]))
    if min(size) < 32:
        raise UserError(f"{path}: frame size {size[0]}x{size[1]} is too small; use at least 32x32")
    background = _background(PERSONS[person], size)
    t0 = 7.3 * seed
    kps = np.zeros((n_frames, N_POINTS, 3), np.float32)
    tune = None
    try:
        if audio:
            fd, tune = tempfile.mkstemp(suffix=".wav")
            os.close(fd)
            _write_tune(tune, n_frames / fps + 0.5, seed)
        with VideoWriter(path, fps, size, audio_from=tune, duration=n_frames / fps) as writer:
            for i in tqdm(range(n_frames), desc=f"{person} video", unit="frame",
                          disable=not progress):
                pose = dancer_pose(person, t0 + i / fps, size)
                kps[i] = pose.keypoints
                writer.write(draw_dancer(pose, size, background))
    finally:
        if tune:
            os.remove(tune)
    track = PoseTrack(keypoints=kps, fps=fps, size=size, crop=(0, 0, size[0], size[1]),
                      video_size=size, backend="synthetic")
    track.save(gt_path(path))
    write_image(background_path(path), background)
    return track


def gt_path(video_path):
    """Where make_dancer_video puts the ground truth of `video_path`."""
    return os.path.splitext(os.fspath(video_path))[0] + "_gt.npz"


def background_path(video_path):
    """Where make_dancer_video puts the clean background (no dancer) of `video_path`."""
    return os.path.splitext(os.fspath(video_path))[0] + "_background.png"


def write_normalized_source(folder, n, size, seconds_per_frame=1 / 15):
    """What normalization.py leaves in `folder` (labels, head centres, keypoints_norm.npz), drawn
    from n poses of the source dancer: lets transfer be tested or measured without earlier stages."""
    from src.io.files import frame_name, save_npy, write_image
    from src.layout import (NORM_HEADS as HEADS_NORM, NORM_KEYPOINTS as KEYPOINTS_NORM,
                            NORM_LABELS as LABEL_DIR)
    from src.pose.keypoints import head_centers
    from src.pose.render import render_label
    kps = np.stack([dancer_pose("source", t * seconds_per_frame, size).keypoints
                    for t in range(n)]).astype(np.float32)
    for t in range(n):
        write_image(os.path.join(folder, LABEL_DIR, frame_name(t)), render_label(kps[t], size))
    save_npy(os.path.join(folder, HEADS_NORM), head_centers(kps).astype(np.float32))
    PoseTrack(keypoints=kps, fps=15, size=size, crop=(0, 0, *size), video_size=size,
              backend="normalized").save(os.path.join(folder, KEYPOINTS_NORM))
    return str(folder)


# The still photo's arms: hanging at the sides, over the edges of the shirt (still mode takes them
# off the body; see src/still/limbs.py). Degrees, as in Person.motion.
ARMS_AT_SIDES = {"r_shoulder": [(4.0, 0.0, math.pi / 2)], "l_shoulder": [(4.0, 0.0, math.pi / 2)],
                 "r_elbow": [(-6.0, 0.0, math.pi / 2)], "l_elbow": [(-6.0, 0.0, math.pi / 2)],
                 "r_wrist": [(0.0, 0.0, 0.0)], "l_wrist": [(0.0, 0.0, 0.0)]}


def still_time(person="target", candidates=300, fps=15):
    """The moment, among the first `candidates` frames, when the dancer stands straightest (the
    knees least bent): the moment of the still demo's photo."""
    terms = PERSONS[person].motion
    bend = lambda t: sum(_wave(t, terms[k]) for k in ("r_knee", "l_knee", "dip"))
    return min((i / fps for i in range(candidates)), key=bend)


def still_person(person="target"):
    """The dancer as in the still demo's photo: standing with the arms at the sides."""
    p = PERSONS[person]
    return dataclasses.replace(p, motion={**p.motion, **ARMS_AT_SIDES})


def still_photo(size, person="target"):
    """The photo of the still demo: the dancer at still_time(), standing with the arms at the
    sides (the hard case for still mode: arms against the body). Returns (RGB, DancerPose)."""
    pose = dancer_pose(still_person(person), still_time(person), size)
    return draw_dancer(pose, size), pose


def _parse_size(text):
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w >= 32 and h >= 32:
            return w, h
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"size {text!r}: write WIDTHxHEIGHT, e.g. 512x256")


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m src.demo.data",
        description="Write the demo's synthetic dancer videos (target.mp4, source.mp4 with music) "
                    "and their ground-truth keypoints (*_gt.npz).")
    ap.add_argument("--out", default="data/demo", help="output folder (default: data/demo)")
    ap.add_argument("--frames-target", type=int, default=300,
                    help="frames of the target video (default: 300)")
    ap.add_argument("--frames-source", type=int, default=150,
                    help="frames of the source video (default: 150)")
    ap.add_argument("--size", type=_parse_size, default=(512, 256),
                    help="frame size WIDTHxHEIGHT (default: 512x256)")
    ap.add_argument("--fps", type=float, default=15, help="frame rate (default: 15)")
    ap.add_argument("--seed", type=int, default=0,
                    help="start the dances at another moment (default: 0)")
    ap.add_argument("--still", action="store_true",
                    help="also write still.png: the target standing with its arms at its sides, "
                         "the photo of the still demo (make_target.py --image)")
    args = ap.parse_args(argv)
    if args.still:
        from src.io.files import write_image
        path = os.path.join(args.out, "still.png")
        write_image(path, still_photo(args.size)[0])
        print(f"wrote {path}")
    for person, frames, audio in (("target", args.frames_target, False),
                                  ("source", args.frames_source, True)):
        path = os.path.join(args.out, f"{person}.mp4")
        make_dancer_video(path, person, frames, args.size, args.fps, args.seed, audio=audio,
                          progress=True)
        print(f"wrote {path} ({frames} frames) and {gt_path(path)}")


if __name__ == "__main__":
    run_main(main)
