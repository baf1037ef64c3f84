"""Cloth between the legs: a skirt, a dress or a long coat stretches as the legs part.

Below the crotch the mesh is cut between the legs (stage.open_seams), so that legs in trousers
part as they move. Where the photo shows no background between the legs from the hips down, the
cloth spans the gap, and that cut would tear it into a jagged hole. There the mesh stays whole,
and each vertex between the two legs hangs on both, in proportion to where it lies across the
gap: the cloth stretches evenly as the legs part.

The bridge reaches from the hips down to the row above the first where the background shows
between the legs, or where the colour midway between them is far from the cloth's just below the
hips for HEM_RUN x the body height (the hem, with legs or the floor below it that the mask
joins), at most to the ankles. Rows are read across between the legs' centre lines (hip, knee,
ankle). A gap anywhere above ends it, so legs that touch only lower down (shins crossing) still
part. The bridge fades in below the hips over FADE x the body height, where the torso's binding
hands over, and each side's thigh hands over to its shin over the same distance around the knee.
Below it the legs' meshes stay joined for HEM_DEPTH x the body height more: a hem that rises
between the legs ends the bridge at its highest point, and cut right there it would tear open.
"""
import dataclasses

import cv2
import numpy as np

from src.pose.keypoints import B
from src.still import rig

FADE = 0.05          # x the body height: the fade below the hips and the thigh-shin hand-over
HEM_COLOUR = 120.0   # distance in 8-bit Lab from the cloth's colour: what lies below a hem
HEM_RUN = 0.02       # x the body height: rows that far from it, one after the other
HEM_DEPTH = 0.05     # x the body height: below the bridge the legs stay joined this far (a hem
                     # curves down beside the gap; cut there, it would show a notch)
SIDES = ("R", "L")
CLOTHED = ("torso", "r_leg", "l_leg")   # parts a bridge may hold; an arm hanging before it may not


@dataclasses.dataclass
class Bridge:
    top: float          # the hips' row: the fade starts here
    bottom: float       # the last row of cloth between the legs
    joined: float       # the last row where the legs' meshes stay joined (the hem's own rows)
    legs: np.ndarray    # (2, 3, 2): right, left x hip, knee, ankle (x, y)


def leg_x(leg, y):
    """x of a leg's centre line (hip, knee, ankle) at rows y."""
    return np.interp(y, leg[:, 1], leg[:, 0])


def find(photo, mask, kp):
    """The Bridge of a person (photo RGB, mask uint8, keypoints (137, 3)), or None when the photo
    shows background between the legs right below the hips, or the legs are not standing (a
    joint held or missing, a knee not below its hip, an ankle not below its knee)."""
    legs = []
    for side in SIDES:
        joints = kp[[B[side + "Hip"], B[side + "Knee"], B[side + "Ankle"]]]
        if (joints[:, 2] <= rig.HELD).any() or not (np.diff(joints[:, 1]) > 0).all():
            return None
        legs.append(joints[:, :2])
    legs = np.array(legs, np.float64)
    h, w = mask.shape
    height = rig.body_height(kp)
    top = legs[:, 0, 1].max()
    rows = np.arange(int(np.ceil(top)), int(np.floor(min(legs[:, 2, 1].min(), h - 1))) + 1)
    if len(rows) == 0:
        return None
    xs = np.sort([leg_x(leg, rows) for leg in legs], axis=0).round().astype(int).clip(0, w - 1)
    filled = np.array([(mask[y, x0:x1 + 1] > 0).all() for y, x0, x1 in zip(rows, *xs)])
    # The cloth's colour midway between the legs, against that just below the hips.
    lab = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB).astype(np.float32)
    middle = lab[rows, (xs[0] + xs[1]) // 2]
    start = middle[:max(1, int(FADE * height))]
    far = np.linalg.norm(middle - np.median(start, axis=0), axis=1) > HEM_COLOUR
    run = max(1, int(HEM_RUN * height))   # a print or a fold in the cloth is shorter
    changed = np.convolve(far, np.ones(run), "full")[run - 1:] >= run   # this row and the next
    ends = np.flatnonzero(~filled | changed)
    stop = ends[0] if len(ends) else len(rows)     # the first row that is not cloth
    if stop == 0 or rows[stop - 1] < top + FADE * height:
        return None
    bottom = float(rows[stop - 1])
    return Bridge(top=float(top), bottom=bottom, joined=bottom + HEM_DEPTH * height, legs=legs)


def side_weights(leg, y, bones, height):
    """(N, n_bones) weights of one leg's thigh and shin at rows y: the thigh above the knee, the
    shin below, handing over linearly within FADE / 2 x height of the knee's row."""
    thigh, shin = bones
    below = np.clip((y - leg[1, 1]) / (FADE * height) + 0.5, 0, 1)
    out = np.zeros((len(y), len(rig.BONES)))
    out[:, thigh] = 1 - below
    out[:, shin] = below
    return out


def hang(binding, vertices, bridge, height):
    """The Binding with the vertices between the legs, in the bridge's rows, hung on both legs."""
    x, y = vertices[:, 0].astype(np.float64), vertices[:, 1].astype(np.float64)
    xr, xl = leg_x(bridge.legs[0], y), leg_x(bridge.legs[1], y)
    across = (x - xr) / np.where(np.abs(xl - xr) < 1e-6, 1e-6, xl - xr)   # 0 right leg, 1 left
    fade = np.clip((y - bridge.top) / (FADE * height), 0, 1)
    body = np.isin(rig.BONE_PART[binding.primary], [rig.PARTS.index(p) for p in CLOTHED])
    inside = body & (across > 0) & (across < 1) & (y <= bridge.bottom) & (fade > 0)
    if not inside.any():
        return binding
    i = np.flatnonzero(inside)
    t = across[i, None]
    right = side_weights(bridge.legs[0], y[i], (rig.BONE_INDEX["r_thigh"], rig.BONE_INDEX["r_shin"]),
                         height)
    left = side_weights(bridge.legs[1], y[i], (rig.BONE_INDEX["l_thigh"], rig.BONE_INDEX["l_shin"]),
                        height)
    f = fade[i, None]
    weights = binding.weights.astype(np.float64).copy()
    weights[i] = (1 - f) * weights[i] + f * ((1 - t) * right + t * left)
    weights[i] /= weights[i].sum(axis=1, keepdims=True)
    primary = binding.primary.copy()
    primary[i] = weights[i].argmax(axis=1)
    pivot = binding.pivot.copy()
    pivot[i] = rig.pivots(weights[i], primary[i])
    return rig.Binding(weights.astype(np.float32), pivot, primary.astype(np.int32))
