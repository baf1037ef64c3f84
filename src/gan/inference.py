"""Generating frames with a trained model: the API shared by transfer.py and the evaluation.

    predictor = FramePredictor("checkpoints/target")        # device="auto", which="latest"
    predictor.size                                           # (w, h): the training size
    predictor.reset()                                        # next frame starts a new sequence
    rgb = predictor.predict(label_rgb, face_box=(x0, y0, x1, y1))

predict() feeds the generator its own previous output, as in training (zeros after reset(), or the
frame given to set_previous()). Labels of any size are resized to the training size the way
training resized them (src.gan.dataset.resize_frame); the face box is in the label's pixels. The returned
frame is RGB uint8 at the training size. The face GAN refines the face crop when the checkpoint has
one and a box is given.

Plate mode (a checkpoint trained over a background plate): the generator draws the window at
`window=(x0, y0)` (see window_track(), which places it along a whole sequence of poses, as training
did) and the frame is that composite over the plate; outside the window, and wherever the 8-bit
alpha is 0 (with the alpha gate: away from the drawn pose), the frame is the plate bit for bit.
Without a window the window is centred.
at_frame_size() then puts such a frame, generated at the training size, over the plate at the
target's own frame size (.frame_size): the background keeps its full resolution.
"""
import os

import cv2
import numpy as np
import torch

from src.device import autocast, bf16_is_fast, pick_device
from src.errors import UserError
from src.gan import checkpoint, networks, window
from src.gan.composite import composite, cut, paste_window
from src.gan.images import (FACE_FEATHER, crop, paste, resize_frame, scale_face_box, to_chw_uint8,
                            to_model, to_rgb)


class FramePredictor:
    """A trained body generator (and face generator, if trained) ready to make frames one by one."""

    def __init__(self, checkpoint_dir, device="auto", which="latest"):
        path = checkpoint.checkpoint_file(os.fspath(checkpoint_dir), which)
        if not os.path.isfile(path):
            name = os.path.basename(os.path.normpath(checkpoint_dir))
            raise UserError(f"{checkpoint_dir}: no checkpoint ({os.path.basename(path)}); "
                            f"run train_pose2vid.py --name {name} first")
        state = checkpoint.load(path, require=checkpoint.INFERENCE_KEYS)
        self.options = checkpoint.options_of(state)
        self.checkpoint = path
        self.step = state["step"]
        self.device = pick_device(device)
        self.size = self.options.wh
        cuda = self.device.type == "cuda"
        self._memory_format = torch.channels_last if cuda else torch.contiguous_format
        self.bf16 = self.options.bf16 and bf16_is_fast(self.device)
        self.generator = self._ready(networks.build_generator(self.options),
                                     checkpoint.frame_generator(state))
        self.plate = self.window_size = self._alpha = None
        self.frame_size = self.size
        if self.options.background == "plate":
            if "plate" not in state or "window" not in state:
                raise UserError(f"{path}: a plate-mode checkpoint without its plate; train it again")
            self.plate = to_model(to_chw_uint8(state["plate"].numpy())[None], self.device, self._memory_format)
            self.window_size = tuple(int(v) for v in state["window"].tolist())
            self.frame_plate = state["frame_plate"].numpy() if "frame_plate" in state else state["plate"].numpy()
            self.frame_size = (self.frame_plate.shape[1], self.frame_plate.shape[0])
        self.face_generator = None
        if "faceG" in state:
            self.face_generator = self._ready(networks.build_face_generator(self.options), state["faceG"])
        self.reset()

    @property
    def has_face(self):
        """True when the checkpoint has a trained face GAN (predict refines faces given a box)."""
        return self.face_generator is not None

    def _ready(self, net, weights):
        net.load_state_dict(weights)
        return net.to(self.device, memory_format=self._memory_format).eval().requires_grad_(False)

    def _autocast(self):
        return autocast(self.device, self.bf16)

    def _tensor(self, rgb, what):
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise UserError(f"{what}: expected an RGB uint8 image (H, W, 3), got {rgb.dtype} {rgb.shape}")
        return to_model(to_chw_uint8(resize_frame(rgb, self.size))[None], self.device, self._memory_format)

    def window_track(self, keypoints, keypoints_size):
        """(T, 2) window corners at .size for a sequence of poses (T, 137, 3) given in pixels of a
        frame of keypoints_size (w, h); None for a full-frame model."""
        if self.plate is None:
            return None
        kps = window.keypoints_at(keypoints, keypoints_size, self.size)
        return window.window_track(kps, self.window_size, self.size)

    def reset(self):
        """Start a new sequence: the next frame is generated with no previous frame (zeros)."""
        w, h = self.size
        self._previous = torch.zeros(1, 3, h, w, device=self.device).contiguous(
            memory_format=self._memory_format)

    def set_previous(self, rgb):
        """Use `rgb` (any size; resized to .size) as the previous frame of the next predict()."""
        self._previous = self._tensor(rgb, "set_previous")

    def previous_rgb(self):
        """The frame the next predict() is fed: the generator's raw output (before face refinement)."""
        return to_rgb(self._previous[0])

    def previous_raw(self):
        """The frame the next predict() is fed, exactly: float32 (3, H, W) in [-1, 1]."""
        return self._previous[0].float().cpu().numpy()

    def set_previous_raw(self, chw):
        """Feed exactly `chw` (an array from previous_raw()) to the next predict()."""
        chw = torch.from_numpy(np.ascontiguousarray(chw, np.float32))[None]
        self._previous = chw.to(self.device).contiguous(memory_format=self._memory_format)

    @torch.inference_mode()
    def predict(self, label_rgb, face_box=None, window=None):
        """The frame for `label_rgb` (RGB uint8, any size), RGB uint8 at .size.

        face_box: (x0, y0, x1, y1) around the face in the label's pixels (as in pose.npy), or None.
        window: plate mode: the window's corner (x0, y0) at .size (from window_track()).
        """
        label = self._tensor(label_rgb, "predict")
        if self.plate is None:
            with self._autocast():
                fake = self.generator(torch.cat([label, self._previous], dim=1)).float()
        else:
            fake = self._composite(label, window)
        # The next frame sees the generator's own output, as in training (where the face GAN came
        # after the generator was trained and never fed back).
        self._previous = fake
        out = fake
        if self.face_generator is not None and face_box is not None:
            label_size = (label_rgb.shape[1], label_rgb.shape[0])
            box = torch.from_numpy(scale_face_box(np.asarray(face_box, float), label_size, self.size))[None]
            with self._autocast():
                face = self.face_generator.refine(crop(label, box), crop(fake, box)).float()
            out = paste(fake, face, box, feather=FACE_FEATHER)
        return to_rgb(out[0])

    def _composite(self, label, corner):
        """Plate mode: the plate with the generator's window at `corner` composited in."""
        (ww, wh), (w, h) = self.window_size, self.size
        if corner is None:
            corner = ((w - ww) // 2, (h - wh) // 2)
        corner = [corner]
        label = cut(label, corner, (ww, wh))
        with self._autocast():
            out = self.generator(torch.cat([label, cut(self._previous, corner, (ww, wh))], dim=1))
        frame, alpha = composite(out.float(), cut(self.plate, corner, (ww, wh)),
                                 label=label if self.options.alpha_gate else None, quantize=True)
        self._alpha = (corner[0], alpha[0, 0].cpu().numpy())  # for at_frame_size()
        return paste_window(self.plate[0], frame[0], corner[0])[None]

    def plate_rgb(self):
        """Plate mode: the background plate at .size, RGB uint8 (what the window is drawn over)."""
        return to_rgb(self.plate[0])

    def window_box(self, corner):
        """The window at `corner` (x0, y0 at .size) as (x0, y0, x1, y1) in pixels of .size."""
        (x, y), (ww, wh) = corner, self.window_size
        return int(x), int(y), int(x) + ww, int(y) + wh

    def window_at_frame_size(self, corner):
        """The window at `corner` (x0, y0 at .size) as (x0, y0, x1, y1) in pixels of .frame_size."""
        (x, y), (ww, wh), (w, h), (fw, fh) = corner, self.window_size, self.size, self.frame_size
        return round(x * fw / w), round(y * fh / h), round((x + ww) * fw / w), round((y + wh) * fh / h)

    def at_frame_size(self, frame):
        """Plate mode: the frame predict() just made (RGB uint8 at .size) over the plate at
        .frame_size. The window is scaled up, colour and alpha alike; where the 8-bit alpha is 0
        the result is the full-size plate bit for bit. Other models: the frame unchanged."""
        if self._alpha is None or self.frame_size == tuple(self.size):
            return frame
        (x, y), alpha = self._alpha
        ww, wh = self.window_size
        x0, y0, x1, y1 = self.window_at_frame_size((x, y))
        up = lambda a: cv2.resize(a, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)  # noqa: E731
        a = np.round(up(alpha) * 255)[..., None] / 255
        out = self.frame_plate.copy()
        region = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = np.round(a * up(frame[y:y + wh, x:x + ww]).astype(np.float32)
                                     + (1 - a) * region).astype(np.uint8)
        return out
