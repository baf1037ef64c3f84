"""Online pose normalization: the person in front of the camera mapped onto the target.

normalization.py fits a whole source video at once; live, there is no whole video. The first
`seconds` in which the camera sees the person's head and an ankle calibrate them: their median
ankle row and body height (measured as src/normalize/maths.py measures them) become a
single-depth source, which that module maps onto the target as it maps a dancer who stays on
one spot: the calibrated ankle row goes to the target's close row, the body height to the
target's there. After that,
every frame goes through the same per-frame transform as normalization.py's (stepping closer
moves the figure down, a jump keeps its height). A frame without an ankle takes the transform of
the last frame that had one. restart() (the window's `r` key) calibrates again.
"""
import numpy as np

from src.errors import UserError
from src.normalize import maths as norm

SECONDS = 1.0
MIN_FRAMES = 3   # poses needed in the calibration time, however slow the camera


class Calibration:
    """map(kp, t) -> the pose in target pixels, or None while calibrating."""

    def __init__(self, target_keypoints, target_size, camera_size, seconds=SECONDS,
                 target_name="target"):
        a, _, h = norm.measure(np.asarray(target_keypoints, np.float32))
        self.target = norm.fit_depth_range(a, h, name=target_name)
        self.target_size, self.camera_size = tuple(target_size), tuple(camera_size)
        self.seconds = seconds
        self.restart()

    def restart(self):
        self.mapping = None
        self.samples = []          # (a, h) of calibration frames, target pixels
        self.started = None
        self.params = None         # the last frame's (s, ox, oy)

    @property
    def ready(self):
        return self.mapping is not None

    def map(self, kp, t):
        kp = norm.to_target_frame(np.asarray(kp, np.float32)[None], self.camera_size,
                                  self.target_size)
        a, cx, h = norm.measure(kp)
        if self.mapping is None:
            self._calibrate(a[0], h[0], t)
            if self.mapping is None:
                return None
        params = norm.frame_transforms(self.mapping, a, cx)
        if np.isnan(params).any():
            if self.params is None:
                return None
            params = self.params
        self.params = params
        return norm.apply_transforms(kp, params)[0]

    def _calibrate(self, a, h, t):
        if np.isnan(a) or np.isnan(h):
            return                              # no head or no ankle in view: wait
        if self.started is None:
            self.started = t
        self.samples.append((a, h))
        if t - self.started < self.seconds or len(self.samples) < MIN_FRAMES:
            return
        a_s, h_s = np.median(np.array(self.samples), axis=0)
        if h_s <= 0:
            raise UserError("camera: the calibrated body height is 0; stand upright, facing "
                            "the camera, with your whole body in view")
        source = norm.DepthRange(close=float(a_s), far=float(a_s), h_close=float(h_s),
                                 h_far=float(h_s))
        self.mapping = norm.fit_mapping(source, self.target)
