"""The photo of a still target: reading it upright, one look of the detector, the person's
region of its mask.

MediaPipe Holistic in static-image mode, set up by the pose backend with segmentation on, gives
the pose and the person's mask. It finds one person per look: finding several is
src/still/people.py, completing what the photo does not show is src/still/joints.py. A pose
given by hand (--keypoints, OpenPose JSON) gets its mask from MediaPipe's selfie segmenter, which
also adds to a detected person's mask what sticks out of the top of the head (with_head_extras).
"""
import os

import cv2
import numpy as np

from src.errors import UserError
from src.pose.keypoints import B

TIP = "use a photo of one person facing the camera, with the head and shoulders in view"
DETECT_MAX_SIDE = 1280      # the detector sees the photo at most this large (speed only)
MASK_THRESHOLD = 0.5
UNSURE = 0.3                # joints are kept down to this visibility (src/still/joints.py decides)
EXTRA_WIDTH = 0.1           # with_head_extras keeps parts at least this x the shoulder width wide


def read_photo(path):
    if not os.path.isfile(path):
        raise UserError(f"{path}: not found; give the path of a JPEG or PNG photo")
    img = cv2.imread(path, cv2.IMREAD_COLOR)   # applies the EXIF orientation
    if img is None:
        raise UserError(f"{path}: not a readable image; give a JPEG or PNG photo")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def at_most(photo, max_side):
    """The photo scaled down to at most `max_side` on its longer side (itself when smaller)."""
    shrink = min(1.0, max_side / max(photo.shape[:2]))
    if shrink == 1:
        return photo
    return cv2.resize(photo, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)


def to_photo_size(prob, photo):
    """A probability map (float32) of a scaled copy, back at the photo's size (None stays None)."""
    h, w = photo.shape[:2]
    if prob is None or prob.shape[:2] == (h, w):
        return prob
    return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)


def detect(photo, max_side=DETECT_MAX_SIDE):
    """(keypoints (137, 3) in photo pixels, person probability (H, W) float32 or None) of one
    person, the detector seeing the photo at most `max_side` large. Body joints are kept down to
    a visibility of UNSURE."""
    from src.pose.mediapipe_backend import Holistic, keypoints_of
    with Holistic(video=False, segment=True) as model:   # the still needs the mask
        result = model.process(at_most(photo, max_side))
    kp = keypoints_of(result, (photo.shape[1], photo.shape[0]), UNSURE)
    return kp, to_photo_size(result.segmentation_mask, photo)


def given_pose(path, image):
    """The keypoints (137, 3) of the first person in an OpenPose JSON file (--keypoints), in
    pixels of the photo `image`."""
    from src.pose.openpose_json import MalformedFile, read_people
    expected = f"give an OpenPose JSON file (BODY_25 keypoints in pixels of {image})"
    if not os.path.isfile(path):
        raise UserError(f"{path}: not found; {expected}")
    try:
        people = read_people(path)
    except MalformedFile as err:
        raise UserError(f"{path}: {err}; {expected}") from None
    if not people:
        raise UserError(f"{path}: no person with keypoints; {expected}")
    return people[0]


def segment(photo, max_side=DETECT_MAX_SIDE):
    """Person probability (H, W) float32 of the selfie segmenter, which needs no pose: the mask
    for a pose given by hand. The segmenter sees the photo at most `max_side` large."""
    from src.pose.mediapipe_backend import selfie_mask
    return to_photo_size(selfie_mask(at_most(photo, max_side)), photo)


def person_region(prob, kp):
    """The region of the mask (uint8, 255 = person) that holds most of the person's joints; the
    mask's other regions (stray specks, another person's hand) are left out."""
    binary = (prob >= MASK_THRESHOLD).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return np.zeros_like(binary)
    pts = np.round(kp[:25][kp[:25, 2] > 0, :2]).astype(int)
    h, w = binary.shape
    pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)]
    votes = np.bincount(labels[pts[:, 1], pts[:, 0]], minlength=n) if len(pts) else np.zeros(n)
    votes[0] = 0
    areas = stats[:, cv2.CC_STAT_AREA].astype(float)
    main = int(votes.argmax()) if votes.max() > 0 else int(areas[1:].argmax() + 1)
    return ((labels == main) * 255).astype(np.uint8)


def with_head_extras(mask, prob, kp):
    """The person's `mask` (uint8, 255 = person) with what the selfie segmenter's `prob` (or None)
    adds above the nose (its row in the pose `kp`) in regions that touch the person: hair, ears, a
    hat or a feather on top of the head that Holistic's mask leaves out, on drawn characters most
    of all. Lower down Holistic's mask stands: there the selfie segmenter fills the corners
    between neck and shoulders with background, and takes in a bookcase or a crowd as readily.
    Slivers narrower than EXTRA_WIDTH of the shoulders (the segmenter's blurred edge) are left
    out too."""
    shoulders = kp[[B["RShoulder"], B["LShoulder"]]]
    if prob is None or kp[B["Nose"], 2] == 0 or not (shoulders[:, 2] > 0).all():
        return mask
    extra = ((prob >= MASK_THRESHOLD) & (mask == 0)).astype(np.uint8)
    extra[max(0, int(np.ceil(kp[B["Nose"], 1]))):] = 0
    half = max(1, int(round(EXTRA_WIDTH / 2 * np.hypot(*(shoulders[0, :2] - shoulders[1, :2])))))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * half + 1, 2 * half + 1))  # centred
    extra = cv2.morphologyEx(extra, cv2.MORPH_OPEN, disc) > 0
    _, labels = cv2.connectedComponents(extra.astype(np.uint8), connectivity=8)
    next_to = cv2.dilate(mask, np.ones((3, 3), np.uint8)) > 0
    touching = np.unique(labels[next_to & extra])
    out = mask.copy()
    out[np.isin(labels, touching[touching > 0])] = 255
    return out


def fill_holes(mask):
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(mask)
    cv2.drawContours(out, contours, -1, 255, -1)
    return out
