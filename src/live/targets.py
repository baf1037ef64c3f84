"""What live mode draws: the target in a pose given in the target's frame pixels.

Both kinds take what transfer.py takes (--target, --name) and offer the same three things:
    .size          (w, h) of the frames drawn, the target's frame size
    .keypoints     (T, 137, 3) the target's own poses, which calibration maps onto
    .frame(kp)     RGB uint8 (h, w, 3) of the target in pose kp (None: the target's own pose)
"""
import collections
import os

import numpy as np
import torch

from src.gan.images import face_box_around
from src.gan.inference import FramePredictor
from src.pose.keypoints import PoseTrack, head_center
from src.pose.render import render_label
from src.still import layout
from src.still.transfer import Animator

WINDOW_HISTORY = 10   # poses the plate-mode window is placed over (past ones only: live)


class StillTarget:
    """A photo on its mesh (make_target.py --image): no model, no memory between frames."""

    def __init__(self, target_dir):
        still = layout.load(target_dir)
        self.animator = Animator(still)
        self.keypoints = still.keypoints[None]
        self.size = (still.photo.shape[1], still.photo.shape[0])
        self.rest = still.photo
        self.describe = f"still target {target_dir}"

    def frame(self, kp):
        return self.rest if kp is None else self.animator.frame(kp)


class ModelTarget:
    """A trained model: the label drawn at the target's frame size and generated as transfer.py
    does (the previous frame fed back, the face refined, plate mode over its full-size plate)."""

    def __init__(self, checkpoint_dir, target_dir, device="auto", which="latest"):
        self.predictor = FramePredictor(checkpoint_dir, device=device, which=which)
        if self.predictor.device.type == "cpu":
            # Half the cores: the detector thread runs beside the model and needs the rest
            # (with all of them, the two fight over the cores and the loop runs slower).
            torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
        track = PoseTrack.load(os.path.join(target_dir, layout.KEYPOINTS_FILE), "make_target.py")
        self.keypoints, self.size = track.keypoints, tuple(track.size)
        self.history = collections.deque(maxlen=WINDOW_HISTORY)
        p = self.predictor
        face = "with face refinement" if p.has_face else "no face model"
        self.describe = f"{p.checkpoint} (step {p.step}) on {p.device}, {face}"

    def frame(self, kp):
        if kp is None:
            kp = self.keypoints[0]
        p = self.predictor
        self.history.append(kp)
        windows = p.window_track(np.stack(self.history), self.size)
        centre = head_center(kp) if p.has_face else None
        box = None if centre is None else face_box_around(centre, self.size)
        frame = p.predict(render_label(kp, self.size), face_box=box,
                          window=None if windows is None else windows[-1])
        return p.at_frame_size(frame)


def open_target(target_dir, checkpoint_dir, device="auto", which="latest"):
    """A StillTarget when target_dir holds a still target, else the model in checkpoint_dir."""
    if layout.mesh_matches(target_dir):
        return StillTarget(target_dir)
    return ModelTarget(checkpoint_dir, target_dir, device, which)
