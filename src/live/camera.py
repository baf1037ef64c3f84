"""Live frames: a webcam, or a video file played as if it were one.

A reader thread delivers frames at the camera's pace into a one-frame mailbox. The loop takes the
newest frame when it is ready for one; a frame still waiting when the next arrives is replaced
and counted as dropped, as a real camera's would be. A video file is delivered in wall-clock
time at its own frame rate (frame i at start + i / fps), so tests and benchmarks see what a
webcam would give them.

    camera = open_camera("0")                    # webcam 0; or open_camera("dance.mp4")
    camera.start()
    while (item := camera.take()) is not None:   # Frame(index, time, rgb); None: camera ended
        ...
    camera.close(); camera.delivered, camera.dropped, camera.error
"""
import collections
import threading
import time

import cv2

from src.errors import UserError
from src.io.video import VideoReader

Frame = collections.namedtuple("Frame", "index time rgb")   # time: time.monotonic() on arrival
DEFAULT_FPS = 30.0   # a webcam that does not say its rate


class Camera:
    """The mailbox and the reader thread; subclasses give size, fps and _frames()."""
    name = "camera"
    size = (0, 0)
    fps = DEFAULT_FPS
    n_frames = None    # known for a video file

    def __init__(self, mirror=False):
        self.mirror = mirror
        self.delivered = self.dropped = 0
        self.error = None          # why the camera stopped early (a device that failed)
        self._waiting = None       # the newest frame, not yet taken
        self._ended = False
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)

    def start(self):
        self._thread.start()

    def _run(self):
        try:
            for rgb in self._frames():
                if self._stop.is_set():
                    break
                if self.mirror:
                    rgb = cv2.flip(rgb, 1)
                self._deliver(rgb)
        except UserError as err:
            self.error = str(err)
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _deliver(self, rgb):
        with self._cond:
            if self._waiting is not None:
                self.dropped += 1
            self._waiting = Frame(self.delivered, time.monotonic(), rgb)
            self.delivered += 1
            self._cond.notify_all()

    def take(self, timeout=None):
        """The newest frame (waits for one); None once the camera has ended and none is left."""
        with self._cond:
            self._cond.wait_for(lambda: self._waiting is not None or self._ended, timeout)
            frame, self._waiting = self._waiting, None
            return frame

    def close(self):
        """Stop reading; a frame still waiting counts as dropped."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self._cond:
            if self._waiting is not None:
                self.dropped += 1
                self._waiting = None
        self._release()

    def _release(self):
        pass


class VideoCamera(Camera):
    """A video file played in real time."""

    def __init__(self, path, mirror=False, max_frames=None):
        super().__init__(mirror)
        self.name = path
        self._reader = VideoReader(path, max_frames=max_frames)
        self.size, self.fps = self._reader.size, self._reader.fps
        self.n_frames = self._reader.n_frames

    def _frames(self):
        start = time.monotonic()
        for i, rgb in enumerate(self._reader):
            delay = start + i / self.fps - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            yield rgb

    def _release(self):
        self._reader.close()


class DeviceCamera(Camera):
    """A webcam through OpenCV."""

    def __init__(self, index, mirror=False):
        super().__init__(mirror)
        self.name = f"camera {index}"
        # OpenCV logs each back-end it tries in vain; the one-line error below says it all.
        level = cv2.getLogLevel()
        cv2.setLogLevel(0)   # silent
        try:
            self._cap = cv2.VideoCapture(index)
            ok, first = self._cap.read() if self._cap.isOpened() else (False, None)
        finally:
            cv2.setLogLevel(level)
        if not ok:
            self._cap.release()
            raise UserError(f"camera {index}: cannot be opened; check that it is connected and "
                            "not in use, try another --camera index, or give a video file")
        self._first = first
        self.size = (first.shape[1], first.shape[0])
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS

    def _frames(self):
        frame, count = self._first, 0
        while not self._stop.is_set():
            if frame is None:
                ok, frame = self._cap.read()
                if not ok:
                    raise UserError(f"{self.name}: stopped sending frames after {count}; check "
                                    "its cable and that no other program took it")
            count += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            frame = None

    def _release(self):
        self._cap.release()


def open_camera(spec, mirror=False, max_frames=None):
    """A webcam for a number ("0"), else a video file played as a camera."""
    spec = str(spec)
    if spec.isdigit():
        return DeviceCamera(int(spec), mirror)
    return VideoCamera(spec, mirror, max_frames)
