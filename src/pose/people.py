"""People in a frame, whatever found them (OpenPose network or JSON files): COCO-18 to the 137-point
layout, choosing the main person so that the identity does not jump between frames, and finding
the frames where a track seems to switch to someone else (MediaPipe follows one person and never
says when it switches).
Numpy only, so reading OpenPose JSON files does not load torch.
"""
import numpy as np

from src.pose import paf_decode
from src.pose.keypoints import B, BODY, N_POINTS

# COCO-18 joint i -> BODY_25 index (the names are the same; BODY_25 adds MidHip and the feet).
COCO_TO_BODY25 = np.array([B[name] for name in paf_decode.COCO_NAMES])


def coco18_to_137(kp18):
    """One person (18, 3) COCO order -> (137, 3); MidHip is the mid-point of the two hips."""
    out = np.zeros((N_POINTS, 3), np.float32)
    out[COCO_TO_BODY25] = kp18
    rhip, lhip = kp18[paf_decode.COCO_NAMES.index("RHip")], kp18[paf_decode.COCO_NAMES.index("LHip")]
    if rhip[2] > 0 and lhip[2] > 0:
        out[B["MidHip"]] = [(rhip[0] + lhip[0]) / 2, (rhip[1] + lhip[1]) / 2, min(rhip[2], lhip[2])]
    out[out[:, 2] <= 0] = 0
    return out


def _extent(kp):
    """Centre (2,) and diagonal of the bounding box of a pose's present joints."""
    pts = kp[kp[:, 2] > 0, :2]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2, float(np.hypot(*(hi - lo)))


def choose_main_person(people, frame_size, previous=None, max_jump=0.5):
    """Index of the main person in `people` (list of (K, 3) poses), or None if nobody has a point.

    The person followed so far (`previous`, a pose of the last frame it was seen) is kept when
    one candidate's joints lie within `max_jump` x its size of the previous ones, so that the
    identity does not switch when someone else comes closer. Otherwise: the largest person,
    with a penalty for being far from the frame centre.
    """
    # A person without points (in JSON: face or hands only, no body) cannot be the main one.
    candidates = [i for i, kp in enumerate(people) if (kp[:, 2] > 0).any()]
    if not candidates:
        return None
    w, h = frame_size
    diagonal = float(np.hypot(w, h))
    if previous is not None and (previous[:, 2] > 0).sum() >= 2:
        _, prev_size = _extent(previous)
        best, best_dist = None, np.inf
        for i in candidates:
            kp = people[i]
            common = (kp[:, 2] > 0) & (previous[:, 2] > 0)
            if common.sum() < 2:
                continue
            dist = np.linalg.norm(kp[common, :2] - previous[common, :2], axis=1).mean()
            if dist < best_dist:
                best, best_dist = i, dist
        if best is not None and best_dist <= max_jump * max(prev_size, 1.0):
            return best

    def prominence(kp):
        centre, size = _extent(kp)
        off_centre = float(np.hypot(centre[0] - (w - 1) / 2, centre[1] - (h - 1) / 2))
        return (size - 0.5 * off_centre) / diagonal

    return candidates[int(np.argmax([prominence(people[i]) for i in candidates]))]


class MainPersonTracker:
    """Picks the main person frame after frame, following the same one while it stays in view."""

    def __init__(self, forget_after=30):
        self.forget_after = forget_after    # frames without the main person before a fresh pick
        self.reset()

    def reset(self):
        self.previous, self.unseen = None, 0

    def update(self, poses, frame_size):
        """Index of the main person among `poses` ((K, 3) each) in this frame, or None."""
        previous = self.previous if self.unseen <= self.forget_after else None
        main = choose_main_person(poses, frame_size, previous)
        if main is None:
            self.unseen += 1
        else:
            self.previous, self.unseen = poses[main], 0
        return main


TORSO = [B["Neck"], B["MidHip"]]
JUMP_FRACTION = 0.5      # a body centre moving this much of the body height in one frame
PROPORTION_CHANGE = 1.5  # a torso growing or shrinking by this factor in one frame


def identity_jumps(kps, jump=JUMP_FRACTION, proportion=PROPORTION_CHANGE):
    """Frames t (ascending) whose person looks like another one than in frame t - 1.

    kps: (T, K >= 25, 3) with BODY_25 first. Between consecutive frames that share at least four
    body points: the centre of those points moved by more than `jump` x the body height (their
    vertical extent), or the torso (neck to mid-hip) changed length by more than `proportion`
    times. Real movement is far slower than either at video frame rates.
    """
    body = np.asarray(kps, np.float64)[:, BODY]
    jumps = []
    for t in range(1, len(body)):
        prev, cur = body[t - 1], body[t]
        common = (prev[:, 2] > 0) & (cur[:, 2] > 0)
        if common.sum() < 4:
            continue
        height = max(np.ptp(prev[common, 1]), np.ptp(cur[common, 1]), 1.0)
        moved = np.linalg.norm(prev[common, :2].mean(0) - cur[common, :2].mean(0))
        torso_ok = common[TORSO].all()
        ratio = 1.0
        if torso_ok:
            lengths = [np.linalg.norm(kp[TORSO[0], :2] - kp[TORSO[1], :2]) for kp in (prev, cur)]
            ratio = max(lengths) / max(min(lengths), 1e-6)
        if moved > jump * height or ratio > proportion:
            jumps.append(t)
    return jumps
