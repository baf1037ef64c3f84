"""`--pose openpose`: the CMU body network, multi-scale, decoded into the project's 137 points.

Per batch of frames (all on the chosen device, under torch.inference_mode):
    RGB -> BGR, x / 256 - 0.5 (the network's training normalisation); for each scale s the frame
    is resized to height s * 368 and padded right/bottom to a multiple of 8 (padding value 0,
    the normalised mid-grey of the original); the stride-8 outputs are resized to the scale-1
    resolution (height 368) and averaged over the scales.
Per frame: paf_decode finds every person; one main person is kept (the one followed in the
previous frames when it is still there, else the largest and most central) and mapped from
COCO-18 into BODY_25 of the 137-point layout. Feet, face and hands stay at confidence 0.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

from src.device import pick_device
from src.errors import UserError
from src.pose import paf_decode
from src.pose.keypoints import N_POINTS, resize_keypoints
from src.pose.openpose_net import DEFAULT_WEIGHTS, STRIDE, load_network
from src.pose.people import MainPersonTracker, coco18_to_137

BOX_SIZE = 368                     # network input height at scale 1, as in the original
DEFAULT_SCALES = (0.5, 1.0, 1.5, 2.0)

def parse_scales(scales):
    """"0.5,1,1.5,2" or a sequence of numbers -> tuple of positive floats (UserError if not)."""
    if isinstance(scales, str):
        items = [s for s in scales.replace(" ", "").split(",") if s]
    else:
        items = list(scales)
    try:
        values = tuple(float(s) for s in items)
    except (TypeError, ValueError):
        values = ()
    if not values or not all(0 < v <= 4 for v in values):
        raise UserError(f"--scales {scales}: give scale factors between 0 and 4 separated by "
                        "commas, e.g. 0.5,1,1.5,2 (relative to a 368 px high input)")
    return values


def default_weights():
    """The seed's pose_model.pth; body_pose_model.pth in the same folder also works."""
    other = os.path.join(os.path.dirname(DEFAULT_WEIGHTS), "body_pose_model.pth")
    if not os.path.isfile(DEFAULT_WEIGHTS) and os.path.isfile(other):
        return other
    return DEFAULT_WEIGHTS


class OpenPoseBackend:
    """Pose backend "openpose": detect_batch(list of RGB frames) -> (N, 137, 3) in frame pixels.

    Frames should come in video order: the main person is followed from frame to frame.
    """
    name = "openpose"

    def __init__(self, device="auto", weights=None, scales=DEFAULT_SCALES, batch_size=None,
                 peak_threshold=0.1, forget_after=30):
        self.device = pick_device(device or "auto")
        self.scales = parse_scales(scales)
        self.weights = os.fspath(weights) if weights else default_weights()
        self.net = load_network(self.weights, self.device)
        # On a GPU several frames share one pass; on a CPU batching gains nothing.
        self.batch_size = int(batch_size or (8 if self.device.type == "cuda" else 1))
        self.peak_threshold = peak_threshold
        self.tracker = MainPersonTracker(forget_after)

    def reset(self):
        """Forget the followed person (call between videos)."""
        self.tracker.reset()

    def detect_people(self, frames):
        """Every person in each frame: list (per frame) of [Person], keypoints in frame pixels."""
        result = []
        for start in range(0, len(frames), self.batch_size):
            chunk = [np.asarray(f) for f in frames[start:start + self.batch_size]]
            # One network pass needs one frame size; a video's frames all share it.
            same = [chunk[0]] + [f for f in chunk[1:] if f.shape == chunk[0].shape]
            if len(same) < len(chunk):
                result.extend(p for f in chunk for p in self.detect_people([f]))
                continue
            maps = self.network_maps(chunk)
            for frame, frame_maps in zip(chunk, maps):
                h, w = frame.shape[:2]
                people = paf_decode.decode(frame_maps[:paf_decode.N_JOINTS + 1],
                                           frame_maps[paf_decode.N_JOINTS + 1:],
                                           peak_threshold=self.peak_threshold)
                result.append([_to_frame(p, maps.shape[-1], maps.shape[-2], w, h)
                               for p in people])
        return result

    def detect_batch(self, frames):
        """(N, 137, 3) main person per frame (all zeros where nobody is found)."""
        out = np.zeros((len(frames), N_POINTS, 3), np.float32)
        for i, (frame, people) in enumerate(zip(frames, self.detect_people(frames))):
            h, w = np.asarray(frame).shape[:2]
            poses = [p.keypoints for p in people]
            main = self.tracker.update(poses, (w, h))
            if main is not None:
                out[i] = coco18_to_137(poses[main])
        return out

    @torch.inference_mode()
    def network_maps(self, frames):
        """(N, 57, 368, W368) numpy: 19 heatmaps then 38 PAFs, averaged over the scales.

        W368 is the frame width at a height of 368 px; all frames have the same size.
        """
        h, w = frames[0].shape[:2]
        base = (BOX_SIZE, max(1, round(w * BOX_SIZE / h)))
        rgb = torch.from_numpy(np.stack(frames)).to(self.device)
        bgr = rgb.flip(-1).permute(0, 3, 1, 2).float() / 256.0 - 0.5
        total = None
        for scale in self.scales:
            factor = scale * BOX_SIZE / h
            size = (max(STRIDE, round(h * factor)), max(STRIDE, round(w * factor)))
            image = F.interpolate(bgr, size=size, mode="bicubic", align_corners=False,
                                  antialias=factor < 1)
            pad_h, pad_w = -size[0] % STRIDE, -size[1] % STRIDE
            image = F.pad(image, (0, pad_w, 0, pad_h))      # 0 = normalised mid-grey
            paf, heat = self.net(image)
            maps = torch.cat([heat, paf], 1)
            # The unpadded part of the input (size) becomes `base`; resize the padded whole in
            # proportion and crop, one interpolation instead of upsample-crop-resize.
            whole = (round((size[0] + pad_h) * base[0] / size[0]),
                     round((size[1] + pad_w) * base[1] / size[1]))
            maps = F.interpolate(maps, size=whole, mode="bicubic", align_corners=False)
            maps = maps[:, :, :base[0], :base[1]]
            total = maps if total is None else total + maps
        return (total / len(self.scales)).float().cpu().numpy()

    def close(self):
        self.net = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def _to_frame(person, map_w, map_h, frame_w, frame_h):
    """A Person decoded on (map_w, map_h) maps, with its keypoints moved to frame pixels."""
    kp = resize_keypoints(person.keypoints, (map_w, map_h), (frame_w, frame_h))
    return paf_decode.Person(kp, person.score)
