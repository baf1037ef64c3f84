"""The face of generated frames without ground truth (a transfer result): does the face stage help?

- face crop flicker: the mean absolute grey-level change (0-255) between the face crops of
  consecutive frames, each crop (the square box the face GAN refines, around the pose's head) resized
  to FACE_SIDE pixels. The head moves too, so compare runs on the same poses (with and without the
  face stage), not with 0.
- face crop noise: the mean absolute difference (0-255, over R, G, B) between the crop and its 3x3
  median: isolated wrong pixels (coloured speckle) raise it, smooth shading and edges barely do.
- face crop colour noise: the same on the crop's chroma alone (Cr and Cb of OpenCV's 8-bit YCrCb):
  red and blue dots. A real video's colour is smooth at the size of a face crop, so on real
  frames this stays far below the brightness's share of the noise.
- face hit rate: the share of frames whose pose has a head in which the pose detector, run on the
  frame scaled up FACE_UPSCALE times, finds the face (at least half of its 70 landmarks).
"""
import cv2
import numpy as np

from src.evaluate.metrics import grey, nanmean
from src.gan.images import face_box_around
from src.pose.keypoints import FACE, head_center

FACE_SIDE = 32        # pixels: crops are compared at this size
FACE_UPSCALE = 4      # the detector sees the frames this many times larger (a face of 10 px is too small)
FACE_FOUND = 35       # landmarks of the 70 that make a found face
FACE_SETTING = (f"crop flicker: mean |grey change| between consecutive face crops at {FACE_SIDE} px; noise: "
                f"mean |crop - its 3x3 median| (colour noise: the same on Cr and Cb); found: the detector, "
                f"on the frame x{FACE_UPSCALE}, finds {FACE_FOUND} or more of the 70 face landmarks")


def face_box(kp, size):
    """The face crop (x0, y0, x1, y1) of a pose (137, 3) in a frame of size (w, h); None without a head."""
    centre = head_center(kp)
    return None if centre is None else tuple(int(v) for v in face_box_around(centre, size))


def crop_noise(crop):
    """Mean |crop - its 3x3 median| over pixels and channels (uint8 RGB crop)."""
    return float(np.abs(crop.astype(np.int16) - cv2.medianBlur(crop, 3).astype(np.int16)).mean())


def colour_noise(crop):
    """crop_noise of the chroma (Cr, Cb) of a uint8 RGB crop."""
    chroma = np.ascontiguousarray(cv2.cvtColor(crop, cv2.COLOR_RGB2YCrCb)[..., 1:])
    return crop_noise(chroma)


class FaceMeter:
    """Face crop flicker and noise of a sequence, fed a frame at a time, and the frames (scaled up)
    for the detector."""

    def __init__(self):
        self.previous = None
        self.per_frame = {"flicker": [], "noise": [], "colour_noise": []}
        self.has_head = []

    def add(self, frame, box):
        """frame: uint8 RGB; box: face_box of its pose (None: no head)."""
        self.has_head.append(box is not None)
        if box is None:
            self.previous = None
            return
        x0, y0, x1, y1 = box
        crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
        self.per_frame["noise"].append(crop_noise(crop))
        self.per_frame["colour_noise"].append(colour_noise(crop))
        small = grey(cv2.resize(crop, (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_AREA))
        if self.previous is not None:
            self.per_frame["flicker"].append(float(np.abs(small - self.previous).mean()))
        self.previous = small

    @staticmethod
    def detector_view(frame):
        return cv2.resize(frame, None, fx=FACE_UPSCALE, fy=FACE_UPSCALE, interpolation=cv2.INTER_CUBIC)

    def summary(self, found=None):
        """Means, and with found (N, 137, 3), the detector's keypoints on detector_view() of every
        frame added, the face hit rate."""
        out = {k: nanmean(v) for k, v in self.per_frame.items()}
        if found is not None:
            heads = np.asarray(self.has_head, bool)
            hits = (np.asarray(found)[:, FACE, 2] > 0).sum(1) >= FACE_FOUND
            out["hit_rate"] = float(hits[heads].mean()) if heads.any() else float("nan")
        return {**out, "frames": int(sum(self.has_head)), "per_frame": self.per_frame}
