"""The photo of a still target: reading it upright, finding the person, refusing photos the rig
cannot animate.

MediaPipe Holistic in static-image mode gives the pose and, with enable_segmentation, the
person's mask (the video backend skips the mask). Refused, each with a one-line reason: nobody;
several people; a person cut off at the photo's edge; arms lying over the body.
"""
import os

import cv2
import numpy as np

from src.errors import UserError
from src.keypoints import B
from src.still import rig

TIP = ("use a photo of one person, whole body in view with some space around it, arms away from "
       "the body, on a plain background")
DETECT_MAX_SIDE = 1280      # the detector sees the photo at most this large (speed only)
MASK_THRESHOLD = 0.5
OTHER_PERSON = 0.25         # another mask region this large x the person's: several people
OTHER_PERSON_JOINTS = 8     # a second pose with this many body joints: several people
EDGE_TOUCH = 0.01           # share of an edge's pixels the person may touch
OVER_BODY_MARGIN = 0.02     # the torso region, grown by this x body height, for the arm test
PAINT_OUT_GROW = 0.02       # the first person is painted out with the mask grown by this x height


def read_photo(path):
    if not os.path.isfile(path):
        raise UserError(f"{path}: not found; give the path of a JPEG or PNG photo")
    img = cv2.imread(path, cv2.IMREAD_COLOR)   # applies the EXIF orientation
    if img is None:
        raise UserError(f"{path}: not a readable image; give a JPEG or PNG photo")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def detect(photo):
    """(keypoints (137, 3) in photo pixels, person probability (H, W) float32 or None)."""
    # The backend module's mapping and its stderr silencer; Holistic itself is made here because
    # the still needs the segmentation mask, which the video backend does not compute.
    from src.pose.mediapipe_backend import _QuietStderr, _landmarks, map_landmarks
    h, w = photo.shape[:2]
    shrink = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = photo if shrink == 1 else cv2.resize(photo, None, fx=shrink, fy=shrink,
                                                 interpolation=cv2.INTER_AREA)
    quiet = _QuietStderr()
    try:
        with quiet:
            from mediapipe.python.solutions import holistic
            with holistic.Holistic(static_image_mode=True, model_complexity=1,
                                   enable_segmentation=True, refine_face_landmarks=True) as model:
                result = model.process(np.ascontiguousarray(small))
    finally:
        quiet.close()
    kp = map_landmarks(_landmarks(result.pose_landmarks, with_visibility=True),
                       _landmarks(result.face_landmarks), _landmarks(result.left_hand_landmarks),
                       _landmarks(result.right_hand_landmarks), (w, h))
    prob = result.segmentation_mask
    if prob is not None and shrink != 1:
        prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
    return kp, prob


def person_region(prob, kp):
    """(mask of the person's region, area of the largest other region), uint8 255 = person."""
    binary = (prob >= MASK_THRESHOLD).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return np.zeros_like(binary), 0
    pts = np.round(kp[:25][kp[:25, 2] > 0, :2]).astype(int)
    h, w = binary.shape
    pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)]
    votes = np.bincount(labels[pts[:, 1], pts[:, 0]], minlength=n) if len(pts) else np.zeros(n)
    votes[0] = 0
    areas = stats[:, cv2.CC_STAT_AREA].astype(float)
    main = int(votes.argmax()) if votes.max() > 0 else int(areas[1:].argmax() + 1)
    others = [areas[i] for i in range(1, n) if i != main]
    return ((labels == main) * 255).astype(np.uint8), max(others, default=0)


def fill_holes(mask):
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(mask)
    cv2.drawContours(out, contours, -1, 255, -1)
    return out


def another_person(photo, mask, kp):
    """True when the detector finds a second person once the first is painted out.

    (MediaPipe finds one person, and its mask covers only that person.)"""
    grow = max(3, int(round(PAINT_OUT_GROW * rig.body_height(kp))))
    hole = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    rest = photo.copy()
    rest[hole > 0] = np.median(photo[hole == 0], axis=0) if (hole == 0).any() else 0
    other, _ = detect(rest)
    return (other[:25, 2] > 0).sum() >= OTHER_PERSON_JOINTS


def check_photo(path, photo, kp, prob):
    """Refuse photos the rig cannot animate (UserError); returns the person's mask."""
    if prob is None or not (kp[:25, 2] > 0).any():
        raise UserError(f"{path}: no person found; {TIP}")
    mask, other = person_region(prob, kp)
    area = float((mask > 0).sum())
    if other > OTHER_PERSON * area or another_person(photo, mask, kp):
        raise UserError(f"{path}: several people found; {TIP}")
    missing = [n for n in rig.REQUIRED if kp[B[n], 2] <= 0]
    if missing:
        raise UserError(f"{path}: the person is cut off or hidden (not visible: "
                        f"{', '.join(missing)}); {TIP}")
    h, w = mask.shape
    for edge, pixels in (("top", mask[0]), ("bottom", mask[-1]), ("left", mask[:, 0]),
                         ("right", mask[:, -1])):
        if (pixels > 0).mean() > EDGE_TOUCH:
            raise UserError(f"{path}: the person is cut off at the {edge} edge of the photo; {TIP}")
    check_arms_clear(path, kp)
    return fill_holes(mask)


def check_arms_clear(path, kp):
    """Elbows, wrists and hands must lie outside the torso (grown by a margin)."""
    height = rig.body_height(kp)
    quad = kp[[B["RShoulder"], B["LShoulder"], B["LHip"], B["RHip"]], :2].astype(np.float32)
    centre = quad.mean(axis=0)
    margin = OVER_BODY_MARGIN * height
    grown = centre + (quad - centre) * (1 + margin / max(1.0, np.abs(quad - centre).max()))
    pts = rig.rig_points(kp)
    for side, names in (("right", ("RElbow", "RWrist")), ("left", ("LElbow", "LWrist"))):
        joints = [B[n] for n in names] + [rig.R_HAND_END if side == "right" else rig.L_HAND_END]
        for j in joints:
            if pts[j, 2] > 0 and cv2.pointPolygonTest(grown, tuple(map(float, pts[j, :2])), False) >= 0:
                raise UserError(f"{path}: the {side} arm lies over the body; the mesh would glue "
                                f"it to the torso; {TIP}")
