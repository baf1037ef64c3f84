"""Label images: a 137-point pose drawn as an OpenPose-style stick figure on a white background.

Body limbs are filled ellipses in one colour per limb (OpenPose BODY_25 colours: a limb takes
the colour of its end joint, as OpenPose renders it), lightened like the paper's labels; joints
are solid dots; hands are thin lines in OpenPose's finger colours; face points are small dots that
darken the label by half. Sizes scale with the image height (reference: 1024x512, limbs about 5 px
wide). Face dots are drawn to sub-pixel size and translucent because at small sizes the face is a
few pixels wide: 70 opaque dots there merge into one black disc that hides the head's joints (eyes,
ears, nose), the face generator's only cue for where the face looks.
"""
import math

import cv2
import numpy as np

from src.io.files import encode_png_on_white, write_bytes

# BODY_25 limbs (joint a, joint b) and their RGB colours. The six foot limbs would all share
# their ankle's colour in OpenPose; they get their own shades so every limb is distinct.
BODY_LIMBS = [
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11),
    (8, 12), (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18),
    (14, 19), (19, 20), (14, 21), (11, 22), (22, 23), (11, 24),
]
BODY_COLORS = np.array([
    (255, 0, 0), (255, 85, 0), (170, 255, 0), (255, 170, 0), (255, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (255, 0, 85), (255, 0, 170), (255, 0, 255), (170, 0, 255), (85, 0, 255),
    (0, 0, 160), (90, 90, 200), (0, 80, 140), (0, 160, 160), (90, 200, 200), (0, 140, 110),
], np.uint8)
LIMB_ALPHA = 0.6  # limbs are blended with the white background (joints stay saturated)
LIMB_FILL = np.round(BODY_COLORS * LIMB_ALPHA + 255 * (1 - LIMB_ALPHA)).astype(np.uint8)
# Joint dot colour: the colour of the limb that ends there (the neck keeps the torso's red).
JOINT_COLORS = np.zeros((25, 3), np.uint8)
JOINT_COLORS[1] = BODY_COLORS[0]
for (_a, _b), _c in zip(BODY_LIMBS, BODY_COLORS):
    JOINT_COLORS[_b] = _c

# Hands (21 points each): wrist->thumb, index, middle, ring, little; OpenPose hand colours,
# darker near the palm. A segment takes the colour of its outer point.
HAND_LIMBS = [(0 if j % 4 == 1 else j - 1, j) for j in range(1, 21)]
HAND_COLORS = np.array([
    (100, 100, 100),
    (100, 0, 0), (150, 0, 0), (200, 0, 0), (255, 0, 0),
    (100, 100, 0), (150, 150, 0), (200, 200, 0), (255, 255, 0),
    (0, 100, 50), (0, 150, 75), (0, 200, 100), (0, 255, 125),
    (0, 50, 100), (0, 75, 150), (0, 100, 200), (0, 125, 255),
    (100, 0, 100), (150, 0, 150), (200, 0, 200), (255, 0, 255),
], np.uint8)
_LIMB_FILL, _JOINT_COLORS, _HAND_COLORS = ([tuple(c) for c in table.tolist()]
                                           for table in (LIMB_FILL, JOINT_COLORS, HAND_COLORS))
FACE_SHADE = 0.5  # a face dot multiplies the label under it by this (black dots at half strength)

# Sizes in pixels at a 512-pixel-high image; scaled linearly with the height.
LIMB_HALF_WIDTH, JOINT_RADIUS, HAND_WIDTH, HAND_RADIUS, FACE_RADIUS = 2.5, 4.0, 1.5, 1.5, 2.0


def _px(value, scale):
    return max(1, int(round(value * scale)))


def render_label(kp, size):
    """Draw one pose kp (137, 3) (x, y, confidence) on a white RGB uint8 image of size (w, h).

    Points with confidence <= 0 (or non-finite) are skipped; a segment needs both ends.
    """
    w, h = int(size[0]), int(size[1])
    img = np.full((h, w, 3), 255, np.uint8)
    x0, y0, patch = render_patch(kp, size)
    img[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]] = patch
    return img


def write_label(path, kp, size, sync=True):
    """render_label(kp, size) written to a PNG file. Only the figure's box is drawn and filtered:
    a label is mostly white, and the pose stage writes one per frame."""
    x0, y0, patch = render_patch(kp, size)
    write_bytes(path, encode_png_on_white(size, x0, y0, patch), sync)


def render_patch(kp, size):
    """(x0, y0, patch): the part of render_label(kp, size) that is not white, or may not be, drawn
    alone. patch is (h', w', 3) uint8, placed at column x0, row y0; (0, 0) in size when nobody is
    there. The patch spans every drawn point plus the largest radius and a pixel of anti-aliasing,
    so every shape lies inside it (or is cut by the image's border, as in the whole image)."""
    w, h = int(size[0]), int(size[1])
    kp = np.asarray(kp, np.float64)
    ok = (kp[:, 2] > 0) & np.isfinite(kp).all(axis=1)
    span = (-4 * max(w, h), 5 * max(w, h))  # keeps wild points inside OpenCV's int range
    scale = h / 512.0
    half_width, radius = _px(LIMB_HALF_WIDTH, scale), _px(JOINT_RADIUS, scale)
    hand_width, hand_radius = _px(HAND_WIDTH, scale), _px(HAND_RADIUS, scale)
    face_radius = max(8, int(round(FACE_RADIUS * scale * 16)))  # 1/16 pixels, at least half a pixel
    nobody = 0, 0, np.zeros((0, 0, 3), np.uint8)
    if not ok.any():
        return nobody
    xy = np.where(ok[:, None], np.clip(np.round(kp[:, :2]), *span), 0).astype(np.int64)
    margin = max(half_width, radius, hand_width, hand_radius, face_radius // 16 + 1) + 2
    x0, y0 = np.clip(xy[ok].min(axis=0) - margin, 0, [w, h])
    x1, y1 = np.clip(xy[ok].max(axis=0) + margin + 1, 0, [w, h])
    if x1 <= x0 or y1 <= y0:   # everything is far outside the image
        return nobody
    img = np.full((y1 - y0, x1 - x0, 3), 255, np.uint8)
    # Coordinates relative to the patch: drawing is the same shifted by whole pixels. Plain
    # Python numbers from here: about a hundred small OpenCV calls per label.
    pts, seen = [tuple(p) for p in (xy - [x0, y0]).tolist()], ok.tolist()

    for (a, b), color in zip(BODY_LIMBS, _LIMB_FILL):
        if seen[a] and seen[b]:
            (xa, ya), (xb, yb) = pts[a], pts[b]
            length = int(round(math.sqrt((xb - xa) ** 2 + (yb - ya) ** 2) / 2))
            angle = int(round(math.degrees(math.atan2(yb - ya, xb - xa))))
            poly = cv2.ellipse2Poly(((xa + xb) // 2, (ya + yb) // 2), (length, half_width),
                                    angle, 0, 360, 10)
            cv2.fillConvexPoly(img, poly, color, cv2.LINE_AA)
    for j in range(25):
        if seen[j]:
            cv2.circle(img, pts[j], radius, _JOINT_COLORS[j], -1, cv2.LINE_AA)

    for start in (95, 116):
        for a, b in HAND_LIMBS:
            if seen[start + a] and seen[start + b]:
                cv2.line(img, pts[start + a], pts[start + b], _HAND_COLORS[b], hand_width,
                         cv2.LINE_AA)
        for j in range(21):
            if seen[start + j]:
                cv2.circle(img, pts[start + j], hand_radius, _HAND_COLORS[j], -1)

    # Face dots on a coverage layer in 1/16 pixel steps (anti-aliased), then shaded in once, so
    # overlapping dots never go darker than one dot.
    face = np.flatnonzero(ok[25:95]) + 25
    if len(face):
        ph, pw = img.shape[:2]
        cover = np.zeros((ph, pw), np.uint8)
        sub = np.round((np.clip(kp[face, :2], *span) - [x0, y0]) * 16).astype(np.int64)
        for x, y in sub.tolist():
            cv2.circle(cover, (x, y), face_radius, 255, -1, cv2.LINE_AA, 4)
        # Shade only the face's box: the figure's is many times larger.
        pad = face_radius // 16 + 2
        fx0, fy0 = np.clip(sub.min(0) // 16 - pad, 0, [pw, ph])
        fx1, fy1 = np.clip(sub.max(0) // 16 + pad + 1, 0, [pw, ph])
        shade = 1.0 - (1.0 - FACE_SHADE) * cover[fy0:fy1, fx0:fx1, None].astype(np.float32) / 255
        img[fy0:fy1, fx0:fx1] = np.round(img[fy0:fy1, fx0:fx1] * shade).astype(np.uint8)
    return int(x0), int(y0), img
