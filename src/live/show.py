"""Where live frames go: a window (camera | result, with the frame rate), a recording of what
was shown, a virtual webcam for video calls (the result alone)."""
import os
import sys

import cv2
import numpy as np

from src.encode import fit_height
from src.errors import UserError
from src.io.video import VideoWriter

WINDOW = "Everybody Dance Now - live (q quits, r recalibrates)"


def panel(camera_rgb, result_rgb, text, keys="q quits, r recalibrates"):
    """camera | result at the result's height, with `text` written at the top of the camera's
    half and `keys` at its bottom."""
    left = fit_height(camera_rgb, result_rgb.shape[0])
    out = np.concatenate([left, result_rgb], axis=1)
    h = out.shape[0]
    scale = max(0.4, h / 600)
    for line, y in ((text, int(24 * scale) + 4), (keys, h - 8)):
        for color, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):   # outlined: any background
            cv2.putText(out, line, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness,
                        cv2.LINE_AA)
    return out


class Window:
    """An OpenCV window; key() returns the key pressed since the last frame ('' for none)."""

    def __init__(self):
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                      or os.environ.get("WAYLAND_DISPLAY")):
            # OpenCV's GUI back-end would abort the process without a display.
            raise UserError("no display to open the live window on (DISPLAY is not set); run "
                            "with --no-window (and --record FILE.mp4 to keep the result)")
        try:
            cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)  # no toolbar
        except cv2.error as err:
            raise UserError(f"the live window cannot open ({str(err).strip()[:120]}); run with "
                            "--no-window (and --record FILE.mp4 to keep the result)") from None

    def show(self, rgb):
        cv2.imshow(WINDOW, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        code = cv2.waitKey(1) & 0xFF
        return chr(code) if code != 0xFF else ""

    def close(self):
        cv2.destroyWindow(WINDOW)
        cv2.waitKey(1)


class Recorder:
    """What was shown, as an mp4 in real time at the camera's rate: a shown frame is written once
    for each camera frame it stood for (itself and the dropped ones after it), so the file plays
    as long as the session lasted. The file appears under its name only when closed, and is
    written out when the session ends for any reason (what was recorded is playable)."""

    def __init__(self, path, fps):
        self.path, self.fps = path, fps
        self.writer = None
        self.frames = 0

    def add(self, rgb, repeats=1):
        if self.writer is None:
            self.writer = VideoWriter(self.path, self.fps, (rgb.shape[1], rgb.shape[0]))
        for _ in range(repeats):
            self.writer.write(rgb)
        self.frames += repeats

    def close(self):
        if self.writer is not None:
            self.writer.close(ok=True)


class VirtualCamera:
    """The result sent to a virtual webcam (pyvirtualcam, an optional dependency)."""

    def __init__(self):
        try:
            import pyvirtualcam
        except ImportError:
            raise UserError("--virtual-camera needs the optional package pyvirtualcam: "
                            "pip install pyvirtualcam (and a virtual camera driver such as "
                            "v4l2loopback on Linux)") from None
        self.module, self.cam, self.fps = pyvirtualcam, None, 30.0

    def send(self, rgb):
        if self.cam is None:
            try:
                self.cam = self.module.Camera(width=rgb.shape[1], height=rgb.shape[0],
                                              fps=self.fps)
            except RuntimeError as err:
                raise UserError(f"--virtual-camera: no virtual camera to send to ({err}); "
                                "install a virtual camera driver (v4l2loopback on Linux, OBS "
                                "on Windows and macOS)") from None
            print(f"virtual camera: {self.cam.device}")
        self.cam.send(np.ascontiguousarray(rgb))

    def close(self):
        if self.cam is not None:
            self.cam.close()
