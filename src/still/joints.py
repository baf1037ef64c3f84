"""Completing the photo's skeleton: the joints the rig needs that the photo does not show.

The rig has a bone for every limb (rig.REQUIRED). What the detector did not find is made up
from the body's own proportions, and each made-up joint is one of:

- out of view: beyond the edge of the photo where the person is cut off (a knees-up or
  upper-body photo). The hips of an upper-body photo lie TORSO_PER_SHOULDERS shoulder widths
  below the neck; a knee continues the torso's line from its hip by THIGH_PER_TORSO torso
  lengths; an ankle continues the thigh by SHIN_PER_THIGH of its length. Joints the detector
  placed beyond an edge are out of view too. The mesh holds only what the photo shows, so
  nothing is drawn out there, and transfer keeps the bones that reach out of view at their
  photo angle (src/still/transfer.py), so the cut stays at the edge.
- legs under clothing: where neither knee nor ankle of a leg was found and the person does not
  reach the photo's bottom edge (a long dress), the leg hangs straight down from its hip to
  LEG_REACH of the way to the person's lowest point (on the mask there, as close to under the
  hip as it has), the knee half-way.
- the tip of a foot: a toe not found continues the ankle towards the heel (or, without a heel,
  the shin's line) by FOOT_PER_SHIN of the shin's length.

- an arm not found (behind the back, under hair, beyond the edge): an elbow lies half-way from
  the shoulder to a wrist that was found, or hangs UPPER_ARM_PER_TORSO torso lengths down the
  torso's line; a wrist continues the upper arm by FOREARM_PER_UPPER_ARM of its length.

A leg folded up (its thigh over FOLDED degrees off the torso's line: sitting, cross-legged, a
knee raised) is held too: a standing driver would unfold it into a stretched smear.

A made-up arm joint, and a made-up knee or ankle inside the photo but off the person's mask (a
leg folded under the body or behind the other), is held (confidence rig.HELD): the photo does
not show that part moving, so its bones keep their photo angle to their parent, as bones out of
view do (rig.held_bones). Refused: a head or shoulder the photo does not show, and made-up hips
inside the photo but off the person. Joints the detector is unsure of (visibility under SURE)
count as not found, except arm joints on the person's mask: an arm in front of a busy coat or in
a sleeve is often seen that way.
"""
import dataclasses

import numpy as np

from src.errors import UserError
from src.pose.keypoints import B
from src.still.photo import TIP
from src.still.rig import HELD

TORSO_PER_SHOULDERS = 1.2   # neck to mid-hip, x the shoulder width
HIPS_PER_SHOULDERS = 0.5    # the detector's hip points lie this x the shoulder width apart
THIGH_PER_TORSO = 0.9       # hip to knee, x neck to mid-hip
SHIN_PER_THIGH = 1.0        # knee to ankle, x hip to knee
FOOT_PER_SHIN = 0.25        # ankle to the foot's tip seen from the front, x knee to ankle
LEG_REACH = 0.9             # a leg under clothing ends this far from its hip to the lowest point
FOLDED = 65.0               # degrees between thigh and torso (hip to neck, reversed) past which a leg is folded
UPPER_ARM_PER_TORSO = 0.6   # shoulder to elbow, x neck to mid-hip
FOREARM_PER_UPPER_ARM = 0.8  # elbow to wrist, x shoulder to elbow
MADE_UP = 0.5               # the confidence of a made-up joint
SURE = 0.5                  # joints seen with a lower visibility count as not found (but arms')
EDGE_TOUCH = 0.01           # share of an edge's pixels the person touches to be cut there
# What is out of view, named by the highest joint out of view (from the head down).
OUT_OF_VIEW_WORDS = (("Hip", "the hips and legs are"), ("Knee", "the legs from the thighs down are"),
                     ("Ankle", "the legs below the knees are"), ("Heel", "the feet are"),
                     ("BigToe", "the tips of the feet are"))
NEEDED = ["Nose", "Neck", "RShoulder", "LShoulder"]   # head and shoulders: else refused
ARM_JOINTS = ["RElbow", "RWrist", "LElbow", "LWrist"]
SIDE_WORDS = {"R": "right", "L": "left"}


@dataclasses.dataclass
class Skeleton:
    keypoints: np.ndarray        # (137, 3) with every joint of rig.REQUIRED present
    out_of_view: list            # BODY_25 names of the joints beyond the photo's edges
    notes: list                  # lines for the user: what was made up, what is out of view


def outside(xy, size):
    """True where points (..., 2) lie beyond the edges of an image of `size` (w, h)."""
    w, h = size
    xy = np.asarray(xy, np.float64)
    return (xy[..., 0] < -0.5) | (xy[..., 0] > w - 0.5) | (xy[..., 1] < -0.5) | (xy[..., 1] > h - 0.5)


def _unit(v):
    n = float(np.hypot(*v))
    return v / n if n > 1e-9 else np.array([0.0, 1.0])


def complete(path, kp, mask):
    """The Skeleton of a photo's pose (137, 3) with the person's mask (uint8, 255 = person);
    UserError (naming `path`) for joints the photo hides or that cannot be made up."""
    kp = np.array(kp, np.float32, copy=True)
    h, w = mask.shape
    for j in np.flatnonzero((kp[:25, 2] > 0) & (kp[:25, 2] < SURE)):
        x, y = np.round(kp[j, :2]).astype(int)
        on_mask = 0 <= x < w and 0 <= y < h and mask[y, x] > 0
        if not (on_mask and list(B)[j] in ARM_JOINTS):
            kp[j] = 0
    cut_below = (mask[-1] > 0).mean() > EDGE_TOUCH
    have = lambda n: kp[B[n], 2] > 0
    xy = lambda n: kp[B[n], :2].astype(np.float64)
    made, held = [], []

    def put(name, point, confidence=MADE_UP):
        kp[B[name]] = (*point, confidence)
        made.append(name)
        if confidence == HELD:
            held.append(name)

    missing = [n for n in NEEDED if not have(n)]
    if missing:
        raise UserError(f"{path}: the person is cut off or hidden (not visible: "
                        f"{', '.join(missing)}); {TIP}")
    gone = [n for n in NEEDED if outside(xy(n), (w, h))]
    if gone:
        raise UserError(f"{path}: the person is cut off at the edge of the photo ({', '.join(gone)} "
                        f"out of view); {TIP}")
    across = xy("LShoulder") - xy("RShoulder")
    if not (have("RHip") and have("LHip")):
        # An upper-body photo: the hips lie below the shoulders, square to their line.
        down = _unit(np.array([-across[1], across[0]]))
        mid = xy("Neck") + TORSO_PER_SHOULDERS * np.hypot(*across) * down
        put("RHip", mid - HIPS_PER_SHOULDERS / 2 * across)
        put("LHip", mid + HIPS_PER_SHOULDERS / 2 * across)
        put("MidHip", mid)
    torso = xy("MidHip") - xy("Neck")
    for s in "RL":
        shoulder, elbow, wrist = s + "Shoulder", s + "Elbow", s + "Wrist"
        if not have(elbow):
            put(elbow, (xy(shoulder) + xy(wrist)) / 2 if have(wrist)
                else xy(shoulder) + UPPER_ARM_PER_TORSO * torso, HELD)
        if not have(wrist):
            upper = xy(elbow) - xy(shoulder)
            put(wrist, xy(elbow) + FOREARM_PER_UPPER_ARM * upper, HELD)
    ys = np.flatnonzero(mask.any(axis=1))
    lowest = ys.max() if len(ys) else h - 1
    hidden_legs = []
    for s in "RL":
        hip = xy(s + "Hip")
        if not have(s + "Knee") and not have(s + "Ankle") and not cut_below and lowest > hip[1]:
            ankle = hip + LEG_REACH * np.array([0.0, lowest - hip[1]])
            row = np.flatnonzero(mask[int(round(ankle[1]))])   # under the hip, on the person
            ankle[0] = row[np.abs(row - hip[0]).argmin()] if len(row) else hip[0]
            put(s + "Knee", (hip + ankle) / 2)
            put(s + "Ankle", ankle)
            hidden_legs.append(s)
        if not have(s + "Knee"):
            put(s + "Knee", hip + THIGH_PER_TORSO * torso)
        if not have(s + "Ankle"):
            put(s + "Ankle", xy(s + "Knee") + SHIN_PER_THIGH * (xy(s + "Knee") - hip))
        if not have(s + "BigToe"):
            knee, ankle = xy(s + "Knee"), xy(s + "Ankle")
            toward = xy(s + "Heel") - ankle if have(s + "Heel") else ankle - knee
            put(s + "BigToe", ankle + FOOT_PER_SHIN * np.hypot(*(ankle - knee)) * _unit(toward))
    folded = folded_legs(kp, (w, h))
    for s in folded:
        kp[B[s + "Knee"], 2] = HELD
    # A made-up hip in view must lie on the person; a knee or ankle off it is a leg the photo hides.
    for name in made:
        if "Toe" in name or name in held or outside(xy(name), (w, h)) or name[0] in folded:
            continue
        x, y = np.clip(np.round(xy(name)).astype(int), 0, (w - 1, h - 1))
        if mask[y, x] == 0:
            if "Hip" in name:
                raise UserError(f"{path}: the person is cut off or hidden (not visible: {name}); "
                                f"{TIP}")
            kp[B[name], 2] = HELD
            held.append(name)
    names = list(B)[:25]
    out = [n for n in names if kp[B[n], 2] > 0 and outside(kp[B[n], :2], (w, h))]
    return Skeleton(kp, out, _notes(path, out, made, held, folded, hidden_legs))


def folded_legs(kp, size):
    """Sides ("R", "L") whose thigh lies over FOLDED degrees off the torso's line (neck to
    mid-hip), the knee inside an image of `size`."""
    xy = lambda n: kp[B[n], :2].astype(np.float64)  # noqa: E731
    torso = xy("MidHip") - xy("Neck")
    folded = []
    for s in "RL":
        cos = float(np.dot(_unit(xy(s + "Knee") - xy(s + "Hip")), _unit(torso)))
        if np.degrees(np.arccos(np.clip(cos, -1, 1))) > FOLDED and not outside(xy(s + "Knee"), size):
            folded.append(s)
    return folded


def _notes(path, out, made, held, folded, hidden_legs):
    """The lines complete() tells the user: what is out of view, made up, held or folded."""
    notes = []
    for key, words in OUT_OF_VIEW_WORDS:
        if any(n.endswith(key) for n in out):
            notes.append(f"{path}: {words} out of view; they stay out of view")
            break
    if hidden_legs:
        notes.append(f"{path}: the {'legs were' if len(hidden_legs) == 2 else 'leg was'} not found "
                     "(under clothing?); they hang straight down from the hips")
    for side in "RL":
        beyond = [n for n in (side + "Elbow", side + "Wrist") if n in out]
        if beyond:
            notes.append(f"{path}: the {SIDE_WORDS[side]} arm from the {beyond[0][1:].lower()} on is "
                         "out of view; it stays as in the photo")
        if side in folded:
            notes.append(f"{path}: the {SIDE_WORDS[side]} leg is folded (sitting?); it stays as in the photo")
        hidden = [n for n in held if n.startswith(side) and n not in out]
        if hidden:
            part = "arm" if any("Elbow" in n or "Wrist" in n for n in hidden) else "leg"
            notes.append(f"{path}: {' and '.join(hidden)} hidden; the {SIDE_WORDS[side]} {part} "
                         "stays as in the photo")
    toes = [n for n in made if "Toe" in n and n not in out]
    if toes:
        notes.append(f"{path}: {' and '.join(toes)} not found; the feet end below the ankles")
    return notes
