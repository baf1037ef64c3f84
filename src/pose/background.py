"""Person masks and the background plate of a target filmed by a static camera.

In a static shot most of every frame is the same studio. make_target.py estimates that studio once,
as a background plate, so the generator only has to draw the person (src/gan/window.py, src/gan/composite.py).

Person masks (target only): <target>/train/train_mask/00000.png, uint8, 255 = person.
  - MediaPipe gives its own segmentation mask (soft edges).
  - Other pose sources (OpenPose, JSON) have no mask: keypoint_mask() draws the body's limbs thick
    and dilates them. That mask is coarser (it follows the skeleton, not the clothes) but errs on
    the side of covering the person, which is what the plate needs.

The plate (<target>/background.png): for each pixel, the median over PLATE_SAMPLES frames spread
over the video of the frames in which that pixel lies outside the person mask dilated by
MASK_GROW of the frame height. Pixels covered in every sample are filled by OpenCV inpainting and
their share is reported. Only the samples of one band of rows are in memory at once.

A moving camera (a pan, a zoom, a handheld phone) is detected from the plate itself: a frame
disagrees with the plate when its uncovered pixels differ from it by more than DISAGREE_LEVEL grey
levels on average; when more than MOVING_SHARE of the samples disagree, there is no plate, and
training works on the full frame as without one.

<target>/background.json records the outcome: {"plate": true|false, "reason", "inpainted_share",
"disagreeing_share", "samples", "size"}.
"""
import json
import os
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from tqdm import tqdm

from src.io.files import frame_name, write_bytes, write_image
from src.layout import PLATE, PLATE_INFO, TARGET_MASKS
from src.pose.keypoints import B, BODY, FACE, LHAND, RHAND

PLATE_SAMPLES = 60
MASK_GROW = 0.06          # dilation of the person mask for the plate, share of the frame height
MASK_COVER = 64           # mask level (0-255) from which a pixel counts as the person's
DISAGREE_LEVEL = 10.0     # grey levels: mean |frame - plate| over uncovered pixels of a disagreeing frame
MOVING_SHARE = 0.3        # share of disagreeing samples from which the camera counts as moving
BAND_ROWS = 64            # rows per band of the median (bounds the memory)
WORKERS = 2               # threads reading samples and computing bands

# Limbs of the keypoint mask: the BODY_25 skeleton without the face's small segments.
_MASK_LIMBS = [(B[a], B[b]) for a, b in [
    ("Neck", "MidHip"), ("Neck", "RShoulder"), ("Neck", "LShoulder"), ("RShoulder", "RElbow"),
    ("RElbow", "RWrist"), ("LShoulder", "LElbow"), ("LElbow", "LWrist"), ("MidHip", "RHip"),
    ("MidHip", "LHip"), ("RHip", "RKnee"), ("RKnee", "RAnkle"), ("LHip", "LKnee"),
    ("LKnee", "LAnkle"), ("RShoulder", "RHip"), ("LShoulder", "LHip"), ("Neck", "Nose"),
    ("LAnkle", "LHeel"), ("LAnkle", "LBigToe"), ("RAnkle", "RHeel"), ("RAnkle", "RBigToe")]]


def keypoint_mask(kp, size):
    """A coarse person mask (h, w) uint8 from one pose (137, 3): thick limbs, head, hands.

    Widths follow the body's own scale (the neck-to-hip length, else the frame height): limbs a
    third of it wide, the head a disc of 0.45 of it around the head points.
    """
    w, h = size
    mask = np.zeros((h, w), np.uint8)
    ok = kp[:, 2] > 0
    if not ok.any():
        return mask
    torso = (np.linalg.norm(kp[B["Neck"], :2] - kp[B["MidHip"], :2])
             if ok[B["Neck"]] and ok[B["MidHip"]] else 0.0)
    unit = torso if torso > 2 else 0.25 * h
    thick = max(2, int(round(unit / 3)))
    pt = lambda i: (int(round(kp[i, 0])), int(round(kp[i, 1])))  # noqa: E731
    for a, b in _MASK_LIMBS:
        if ok[a] and ok[b]:
            cv2.line(mask, pt(a), pt(b), 255, thick, cv2.LINE_8)
    body = np.flatnonzero(ok[BODY])
    for i in body:
        cv2.circle(mask, pt(i), thick // 2, 255, -1)
    head = [i for i in (B["Nose"], B["REye"], B["LEye"], B["REar"], B["LEar"]) if ok[i]]
    head += list(np.flatnonzero(ok[FACE]) + FACE.start)
    if head:
        cx, cy = kp[head, :2].mean(axis=0)
        cv2.circle(mask, (int(round(cx)), int(round(cy))), max(2, int(round(0.45 * unit))), 255, -1)
    for part in (LHAND, RHAND):
        pts = kp[part][kp[part][:, 2] > 0, :2]
        if len(pts) >= 3:
            cv2.fillConvexPoly(mask, cv2.convexHull(np.round(pts).astype(np.int32)), 255)
    return grow(mask, max(1, thick // 3))


def grow(mask, px):
    """The mask dilated by `px` pixels (a disc)."""
    if px <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask, kernel)


def far_from_person(mask, px):
    """True where no pixel of the person (mask >= MASK_COVER) lies within `px` pixels.

    That is grow(mask, px) < MASK_COVER up to a pixel here and there on the disc's rim, but a
    distance transform is a few times faster than a dilation with a disc this large.
    """
    outside = (mask < MASK_COVER).astype(np.uint8)
    return cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) > px + 0.5


def read_mask(path):
    mask = cv2.imread(os.fspath(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        from src.errors import UserError
        raise UserError(f"{path}: not a readable mask image; re-run make_target.py")
    return mask


def sample_indices(n, samples=PLATE_SAMPLES):
    """Up to `samples` frame indices spread evenly over n frames."""
    return np.unique(np.linspace(0, n - 1, min(n, samples)).round().astype(int))


def masked_median(stack, valid):
    """Per-pixel median of stack (N, h, w, 3) uint8 over the samples where valid (N, h, w) is True.

    Returns (median uint8 (h, w, 3), count (h, w)); pixels with count 0 are 0. Invalid samples are
    set to 0, so they sort to the front, and the median is the middle one of the valid ones behind
    them (the lower middle for an even count). numpy sorts uint8 by radix ("stable"), several
    times faster than a comparison sort of the samples.
    """
    n = len(stack)
    keyed = np.moveaxis(stack, 0, -1).copy()                       # (h, w, 3, N): contiguous sorts
    np.copyto(keyed, np.uint8(0), where=~np.moveaxis(valid, 0, -1)[:, :, None, :])
    keyed.sort(axis=-1, kind="stable")
    count = valid.sum(axis=0)
    rank = np.minimum(n - count + np.maximum(count - 1, 0) // 2, n - 1)
    med = np.take_along_axis(keyed, rank[..., None, None].repeat(3, axis=-2), axis=-1)[..., 0]
    return np.where(count[..., None] > 0, med, 0).astype(np.uint8), count


class Plate:
    """The outcome of estimate_plate(): the plate (or None) and its statistics."""

    def __init__(self, image, inpainted_share, disagreeing_share, samples, reason):
        self.image, self.inpainted_share = image, inpainted_share
        self.disagreeing_share, self.samples, self.reason = disagreeing_share, samples, reason

    @property
    def ok(self):
        return self.image is not None

    def info(self):
        size = None if self.image is None else [int(self.image.shape[1]), int(self.image.shape[0])]
        return {"plate": self.ok, "reason": self.reason, "inpainted_share": self.inpainted_share,
                "disagreeing_share": self.disagreeing_share, "samples": self.samples, "size": size}


def estimate_plate(read_frame, read_mask_at, n_frames, samples=PLATE_SAMPLES, progress=False):
    """The background plate from frames 0..n_frames-1.

    read_frame(t) -> RGB uint8 (h, w, 3); read_mask_at(t) -> uint8 (h, w) person mask. Both may be
    called from WORKERS threads at once. The samples are read, and the median's bands computed, in
    those threads (image decoding, OpenCV and numpy's sort release the GIL).
    """
    idx = [int(t) for t in sample_indices(n_frames, samples)]

    def sample(t):
        mask = read_mask_at(t)
        grow_px = max(1, int(round(MASK_GROW * mask.shape[0])))
        return read_frame(t), np.packbits(far_from_person(mask, grow_px))

    with ThreadPoolExecutor(WORKERS) as pool:
        read = list(tqdm(pool.map(sample, idx), total=len(idx), desc="background plate",
                         unit="frame", disable=not progress))
        frames = [frame for frame, _ in read]
        h, w = frames[0].shape[:2]
        # One frame of each sample is kept whole (60 frames of 1024x512 are 94 MB) and the packed
        # masks. The median itself, the memory-hungry part (a sorted copy), runs one band at a time
        # in each thread.
        masks = np.stack([np.unpackbits(u)[:h * w].reshape(h, w).astype(bool) for _, u in read])
        del read

        def band(y0):
            return masked_median(np.stack([f[y0:y0 + BAND_ROWS] for f in frames]),
                                 masks[:, y0:y0 + BAND_ROWS])

        bands = list(pool.map(band, range(0, h, BAND_ROWS)))
    plate = np.concatenate([med for med, _ in bands])
    count = np.concatenate([c for _, c in bands])
    holes = count == 0
    inpainted = float(holes.mean())
    if holes.any():
        plate = cv2.inpaint(plate, holes.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    grey_plate = cv2.cvtColor(plate, cv2.COLOR_RGB2GRAY).astype(np.float32)
    disagree = 0
    for frame, keep in zip(frames, masks):
        if keep.mean() < 0.05:
            continue  # the person fills the frame: nothing to compare
        diff = np.abs(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) - grey_plate)
        disagree += float(diff[keep].mean()) > DISAGREE_LEVEL
    share = disagree / len(frames)
    if share > MOVING_SHARE:
        reason = (f"the camera moves: {disagree} of {len(frames)} sampled frames differ from the median "
                  f"background by more than {DISAGREE_LEVEL:g} grey levels")
        return Plate(None, inpainted, share, len(frames), reason)
    return Plate(plate, inpainted, share, len(frames), "static camera")


def write_plate(folder, plate):
    """background.png (when there is a plate) and background.json into the target folder."""
    png = os.path.join(folder, PLATE)
    if plate.ok:
        write_image(png, plate.image)
    elif os.path.exists(png):
        os.remove(png)
    write_bytes(os.path.join(folder, PLATE_INFO), json.dumps(plate.info(), indent=1).encode())


def plate_for_target(folder, n_frames, img_dir, progress=True):
    """Estimate and write the plate of a finished target folder's frames and masks."""
    mask_dir = os.path.join(folder, TARGET_MASKS)

    def frame(t):
        return cv2.cvtColor(cv2.imread(os.path.join(img_dir, frame_name(t))), cv2.COLOR_BGR2RGB)

    plate = estimate_plate(frame, lambda t: read_mask(os.path.join(mask_dir, frame_name(t))),
                           n_frames, progress=progress)
    write_plate(folder, plate)
    return plate


def load_plate(folder):
    """(plate RGB uint8 or None, reason): what make_target.py decided for this target folder."""
    info_path = os.path.join(folder, PLATE_INFO)
    png = os.path.join(folder, PLATE)
    if not os.path.isfile(info_path):
        return None, f"{info_path} not found (a target made before background plates existed)"
    try:
        with open(info_path) as f:
            info = json.load(f)
    except (OSError, ValueError) as err:
        return None, f"{info_path} is not readable ({err}); re-run make_target.py"
    if not info.get("plate") or not os.path.isfile(png):
        return None, info.get("reason", "no plate")
    plate = cv2.imread(png, cv2.IMREAD_COLOR)
    if plate is None:
        return None, f"{png} is not readable"
    return cv2.cvtColor(plate, cv2.COLOR_BGR2RGB), info.get("reason", "")
