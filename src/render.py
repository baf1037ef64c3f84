"""Label images: a 137-point pose drawn as an OpenPose-style stick figure on a white background.

Body limbs are filled ellipses in one colour per limb (OpenPose BODY_25 colours: a limb takes
the colour of its end joint, as OpenPose renders it), lightened like the paper's labels; joints
are solid dots; hands are thin lines in OpenPose's finger colours; face points are small dots that
darken the label by half. Sizes scale with the image height (reference: 1024x512, limbs about 5 px
wide). Face dots are drawn to sub-pixel size and translucent because at small sizes the face is a
few pixels wide: 70 opaque dots there merge into one black disc that hides the head's joints (eyes,
ears, nose), the face generator's only cue for where the face looks.
"""
import cv2
import numpy as np

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
    kp = np.asarray(kp, np.float64)
    ok = (kp[:, 2] > 0) & np.isfinite(kp).all(axis=1)
    xy = np.where(ok[:, None], np.round(kp[:, :2]), 0).astype(np.int64)
    span = (-4 * max(w, h), 5 * max(w, h))  # keeps wild points inside OpenCV's int range
    xy = np.clip(xy, *span)
    scale = h / 512.0
    half_width = _px(LIMB_HALF_WIDTH, scale)

    for (a, b), color in zip(BODY_LIMBS, LIMB_FILL):
        if ok[a] and ok[b]:
            (xa, ya), (xb, yb) = xy[a], xy[b]
            length = int(round(np.hypot(xb - xa, yb - ya) / 2))
            angle = int(round(np.degrees(np.arctan2(yb - ya, xb - xa))))
            poly = cv2.ellipse2Poly(((xa + xb) // 2, (ya + yb) // 2), (length, half_width),
                                    angle, 0, 360, 10)
            cv2.fillConvexPoly(img, poly, color.tolist(), cv2.LINE_AA)
    radius = _px(JOINT_RADIUS, scale)
    for j in np.flatnonzero(ok[:25]):
        cv2.circle(img, tuple(xy[j].tolist()), radius, JOINT_COLORS[j].tolist(), -1, cv2.LINE_AA)

    hand_width, hand_radius = _px(HAND_WIDTH, scale), _px(HAND_RADIUS, scale)
    for start in (95, 116):
        for a, b in HAND_LIMBS:
            if ok[start + a] and ok[start + b]:
                cv2.line(img, tuple(xy[start + a].tolist()), tuple(xy[start + b].tolist()),
                         HAND_COLORS[b].tolist(), hand_width, cv2.LINE_AA)
        for j in np.flatnonzero(ok[start:start + 21]):
            cv2.circle(img, tuple(xy[start + j].tolist()), hand_radius, HAND_COLORS[j].tolist(), -1)

    # Face dots on a coverage layer in 1/16 pixel steps (anti-aliased), then shaded in once, so
    # overlapping dots never go darker than one dot.
    face = np.flatnonzero(ok[25:95]) + 25
    if len(face):
        cover = np.zeros((h, w), np.uint8)
        radius = max(8, int(round(FACE_RADIUS * scale * 16)))  # at least half a pixel
        sub = np.round(np.clip(kp[face, :2], *span) * 16).astype(np.int64)
        for x, y in sub.tolist():
            cv2.circle(cover, (x, y), radius, 255, -1, cv2.LINE_AA, 4)
        # Shade only the face's box (the whole label would cost the pose stage milliseconds a frame).
        pad = radius // 16 + 2
        x0, y0 = np.clip(sub.min(0) // 16 - pad, 0, [w, h])
        x1, y1 = np.clip(sub.max(0) // 16 + pad + 1, 0, [w, h])
        shade = 1.0 - (1.0 - FACE_SHADE) * cover[y0:y1, x0:x1, None].astype(np.float32) / 255
        img[y0:y1, x0:x1] = np.round(img[y0:y1, x0:x1] * shade).astype(np.uint8)
    return img
