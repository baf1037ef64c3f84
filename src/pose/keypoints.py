"""The one keypoint format of the pipeline: OpenPose whole-body, 137 points of (x, y, confidence).

    index    0..24   BODY_25 body
    index   25..94   face (70: the 68 iBUG landmarks, then right and left pupil)
    index   95..115  left hand (21)
    index  116..136  right hand (21)

x, y are pixels of the processed frame (the stage output, after crop and resize); confidence 0
means the point is missing (its x, y are then 0 and must be ignored). "Left" and "right" are the
person's own sides, as in OpenPose.

A video's poses live in one file, data/<role>/keypoints.npz (see PoseTrack).
"""
import dataclasses
import os
import warnings

import numpy as np

from src.errors import UserError
from src.io.files import save_npz

N_POINTS = 137
BODY = slice(0, 25)
FACE = slice(25, 95)
LHAND = slice(95, 116)
RHAND = slice(116, 137)

BODY_25_NAMES = [
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye",
    "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
]
B = {name: i for i, name in enumerate(BODY_25_NAMES)}  # body index by name, e.g. B["LAnkle"]

# Face points (offsets inside FACE): jaw 0-16, right brow 17-21, left brow 22-26, nose bridge
# 27-30, nose bottom 31-35, right eye 36-41, left eye 42-47, outer lip 48-59, inner lip 60-67,
# right pupil 68, left pupil 69. Hand points: wrist 0, thumb 1-4, index 5-8, middle 9-12,
# ring 13-16, little 17-20.

# Mirror permutation: index i of a horizontally flipped person is index MIRROR[i] of the original.
_BODY_MIRROR = list(range(25))
for _a, _b in [(2, 5), (3, 6), (4, 7), (9, 12), (10, 13), (11, 14), (15, 16), (17, 18),
               (19, 22), (20, 23), (21, 24)]:
    _BODY_MIRROR[_a], _BODY_MIRROR[_b] = _b, _a
_FACE_MIRROR = list(range(70))
for _a, _b in ([(i, 16 - i) for i in range(8)] + [(17 + i, 26 - i) for i in range(5)]
               + [(31, 35), (32, 34), (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46),
                  (48, 54), (49, 53), (50, 52), (55, 59), (56, 58), (60, 64), (61, 63), (65, 67),
                  (68, 69)]):
    _FACE_MIRROR[_a], _FACE_MIRROR[_b] = _b, _a
MIRROR = np.array(_BODY_MIRROR + [25 + i for i in _FACE_MIRROR]
                  + list(range(116, 137)) + list(range(95, 116)))


# --- pixels and boxes ---------------------------------------------------------------------------
# Keypoints are in pixels with pixel centres on integers, as OpenPose writes them (and as the
# MediaPipe mapping puts them: x = fraction * width - 0.5): a frame w pixels wide spans
# [-0.5, w - 0.5]. Cutting and resizing a frame maps pixel edges onto pixel edges (as cv2.resize
# does), so a point moves as x' = (x + 0.5 - x0) * s - 0.5 (rescale). Two placements keep a plain
# scale x' = x * s instead, because their results are part of what was generated before: the plate
# window's position (src/gan/window.py keypoints_at, which trained models were trained with) and
# the source's fit into the target frame (src/normalize/maths.py to_target_frame).

def rescale(kps, scale, origin=(0, 0)):
    """Keypoints (..., 3) of a frame -> the same points in its window whose top-left pixel is
    `origin` (x0, y0), resized by `scale` (sx, sy): x' = (x + 0.5 - x0) * sx - 0.5, in float32.
    Missing points stay (0, 0, 0)."""
    out = np.array(kps, np.float32, copy=True)
    ok = out[..., 2] > 0
    for axis in (0, 1):
        out[..., axis] = np.where(ok, (out[..., axis] + 0.5 - origin[axis]) * scale[axis] - 0.5, 0)
    return out


def unscale(kps, scale, origin=(0, 0)):
    """The inverse of rescale: x = (x' + 0.5) / sx + x0 - 0.5."""
    out = np.array(kps, np.float32, copy=True)
    ok = out[..., 2] > 0
    for axis in (0, 1):
        out[..., axis] = np.where(ok, (out[..., axis] + 0.5) / scale[axis] + origin[axis] - 0.5, 0)
    return out


def resize_keypoints(kps, from_size, to_size):
    """Keypoints (..., 3) of a frame of from_size (w, h) -> of that frame resized to to_size.
    Equal sizes give the points unchanged (not shifted by float rounding)."""
    if tuple(from_size) == tuple(to_size):
        return np.array(kps, np.float32, copy=True)
    return rescale(kps, (to_size[0] / from_size[0], to_size[1] / from_size[1]))


def person_box(kps):
    """(x0, y0, x1, y1) through the outermost present points of kps (..., 3) (one pose, a part of
    one, or several poses together), or None when no point is present. Callers grow it by their
    own margins."""
    kps = np.asarray(kps)
    pts = kps[..., :2][kps[..., 2] > 0]
    if not len(pts):
        return None
    return (*pts.min(axis=0), *pts.max(axis=0))


def person_boxes(kps):
    """person_box of each frame of (T, 137, 3), as a (T, 4) array; rows of NaN without any point."""
    kps = np.asarray(kps, np.float32)
    ok = kps[..., 2] > 0
    x = np.where(ok, kps[..., 0], np.nan)
    y = np.where(ok, kps[..., 1], np.nan)
    with warnings.catch_warnings():  # frames without a person give all-NaN rows, as intended
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.stack([np.nanmin(x, 1), np.nanmin(y, 1), np.nanmax(x, 1), np.nanmax(y, 1)], axis=1)


def flip_horizontal(kps, width):
    """Mirror keypoints (..., 137, 3) left-right in a frame `width` pixels wide, swapping sides."""
    out = kps[..., MIRROR, :].copy()
    present = out[..., 2] > 0
    out[..., 0] = np.where(present, width - 1 - out[..., 0], 0)
    return out


@dataclasses.dataclass
class PoseTrack:
    """All poses of one video: what data/<role>/keypoints.npz holds."""
    keypoints: np.ndarray          # (T, 137, 3) float32, in processed-frame pixels
    fps: float                     # frame rate of the video
    size: tuple                    # (width, height) of the processed frames
    crop: tuple                    # (x0, y0, x1, y1): window of the (rotated) video that was
                                   # resized to `size`; may reach past the video (padding)
    video_size: tuple              # (width, height) of the video after honouring rotation
    backend: str                   # "mediapipe", "openpose", "json", "synthetic", "normalized"
    interpolated: np.ndarray = None  # (T, 137) bool: point filled in by gap filling

    def __post_init__(self):
        self.keypoints = np.asarray(self.keypoints, np.float32)
        if self.keypoints.ndim != 3 or self.keypoints.shape[1:] != (N_POINTS, 3):
            raise ValueError(f"keypoints must be (T, {N_POINTS}, 3), got {self.keypoints.shape}")
        if self.interpolated is None:
            self.interpolated = np.zeros(self.keypoints.shape[:2], bool)
        self.size = tuple(int(v) for v in self.size)
        self.video_size = tuple(int(v) for v in self.video_size)
        self.crop = tuple(float(v) for v in self.crop)

    def __len__(self):
        return len(self.keypoints)

    def save(self, path):
        save_npz(path, keypoints=self.keypoints, fps=np.float64(self.fps),
                 size=np.array(self.size), crop=np.array(self.crop),
                 video_size=np.array(self.video_size), backend=np.array(self.backend),
                 interpolated=self.interpolated)

    @classmethod
    def load(cls, path, stage_hint="make_target.py / make_source.py"):
        if not os.path.isfile(path):
            raise UserError(f"{path}: not found; run {stage_hint} first")
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(keypoints=z["keypoints"], fps=float(z["fps"]), size=tuple(z["size"]),
                           crop=tuple(z["crop"]), video_size=tuple(z["video_size"]),
                           backend=str(z["backend"]), interpolated=z["interpolated"])
        except (KeyError, ValueError, OSError) as err:
            raise UserError(f"{path}: not a keypoints file of this project ({err}); "
                            f"re-run {stage_hint}") from None


def present(kps):
    """Boolean mask of the points that were found (confidence > 0)."""
    return kps[..., 2] > 0


def head_center(kp):
    """(x, y) of the head of one pose (137, 3), or None: face points, else nose/eyes/ears."""
    for idx in (np.arange(25, 95), np.array([B["Nose"], B["REye"], B["LEye"], B["REar"], B["LEar"]])):
        pts = kp[idx]
        ok = pts[:, 2] > 0
        if ok.any():
            return pts[ok, :2].mean(axis=0)
    return None


def face_crop_side(size):
    """Side in pixels of the square face crop for frames of `size` (w, h): 128 at 1024x512."""
    return max(16, int(round(size[1] / 4 / 8)) * 8)


def head_centers(kps):
    """(T, 2) head centre per frame; frames without a head take the nearest frame's value.

    Returns NaN everywhere if no frame has a head.
    """
    centers = np.full((len(kps), 2), np.nan, np.float32)
    for t, kp in enumerate(kps):
        c = head_center(kp)
        if c is not None:
            centers[t] = c
    ok = ~np.isnan(centers[:, 0])
    if ok.any() and not ok.all():
        idx = np.arange(len(kps))
        nearest = np.flatnonzero(ok)[np.abs(idx[:, None] - np.flatnonzero(ok)[None]).argmin(1)]
        centers = centers[nearest]
    return centers


def face_boxes(kps, size):
    """(T, 4) square face boxes x0, y0, x1, y1 (ints, inside the frame) around head_centers()."""
    side = face_crop_side(size)
    centers = head_centers(kps)
    centers = np.where(np.isnan(centers), [size[0] / 2, size[1] / 4], centers)
    x0 = np.clip(np.round(centers[:, 0] - side / 2), 0, max(0, size[0] - side))
    y0 = np.clip(np.round(centers[:, 1] - side / 2), 0, max(0, size[1] - side))
    return np.stack([x0, y0, x0 + side, y0 + side], axis=1).astype(np.int32)
