"""The live loop: camera -> pose -> target -> window / recording / virtual camera.

Two threads, so that the detection of frame t+1 overlaps the drawing of frame t:
    detector thread: takes the camera's newest frame, finds the pose (MediaPipe in tracking
                     mode), filters it (One Euro), maps it onto the target (calibration), and
                     hands it on through a one-place queue; it takes the next frame when the
                     main thread has taken that pose. Meanwhile the camera drops frames
                     (counted), as a real one would.
    main thread:     draws the target in that pose, shows camera | result, records, sends.
The main thread owns the window because GUI toolkits want their calls on one thread.

Counts at the end: every frame the camera delivered was either shown or dropped (replaced
while waiting, or still in flight when the session was stopped).
"""
import collections
import dataclasses
import queue
import statistics
import threading
import time

from tqdm import tqdm

from src.errors import UserError
from src.live.show import panel

RATE_FRAMES = 30   # the window's frame rate is measured over the last this many frames

Pose = collections.namedtuple("Pose", "frame keypoints calibrated")


@dataclasses.dataclass
class Summary:
    delivered: int
    shown: int
    dropped: int
    fps: float          # median rate of shown frames (1 / median interval)
    mean_fps: float     # frames shown per second from the first shown to the last
    latency_ms: float   # median time from the camera's frame to its result shown
    recorded: int       # frames written to --record (each shown frame once per camera frame)
    seconds: float

    def describe(self):
        return (f"live: {self.shown} frames shown, {self.dropped} dropped of {self.delivered} "
                f"delivered in {self.seconds:.1f} s; {self.mean_fps:.1f} frames/s shown (median "
                f"{self.fps:.1f}), median latency {self.latency_ms:.0f} ms")


class Detector(threading.Thread):
    """The detector thread (see the module docstring)."""

    def __init__(self, camera, backend, pose_filter, calibration):
        super().__init__(name="detector", daemon=True)
        self.camera, self.backend = camera, backend
        self.pose_filter, self.calibration = pose_filter, calibration
        self.out = queue.Queue(maxsize=1)
        self.stop, self.recalibrate = threading.Event(), threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                # The next frame is taken only once the drawing thread has taken the last pose:
                # taken earlier, it would wait, growing stale, while that pose is drawn.
                self.out.join()
                frame = self.camera.take()
                if frame is None:
                    break
                if self.recalibrate.is_set():
                    self.recalibrate.clear()
                    self.calibration.restart()
                kp = self.pose_filter(self.backend.detect(frame.rgb), frame.time)
                mapped = self.calibration.map(kp, frame.time)
                self.out.put(Pose(frame, mapped, self.calibration.ready))
        except BaseException as err:   # handed to the main thread, which raises it
            self.error = err
        finally:
            self.out.put(None)


def status(fps, calibrated):
    text = f"{fps:4.1f} fps" if fps else "starting"
    return text if calibrated else text + "  calibrating: show your whole body"


def run(camera, target, detector, window=None, recorder=None, virtual=None, seconds=None):
    """Run until the camera ends, `q` is pressed or `seconds` have passed; returns a Summary."""
    shown_at, latencies = [], []
    last_index = None
    start = time.monotonic()
    in_flight = 0
    detector.start()
    camera.start()
    bar = tqdm(desc="live", unit="frame", total=camera.n_frames or None)
    try:
        while True:
            pose = detector.out.get()
            detector.out.task_done()
            if pose is None:
                break
            frame = pose.frame
            result = target.frame(pose.keypoints)
            recent = shown_at[-RATE_FRAMES:]
            rate = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0
            shown = panel(frame.rgb, result, status(rate, pose.calibrated))
            key = window.show(shown) if window is not None else ""
            if recorder is not None:
                recorder.add(shown, 1 if last_index is None else frame.index - last_index)
            if virtual is not None:
                virtual.send(result)
            now = time.monotonic()
            shown_at.append(now)
            latencies.append(now - frame.time)
            bar.update(frame.index + 1 - bar.n)
            last_index = frame.index
            if key == "q" or (seconds is not None and now - start >= seconds):
                break
            if key == "r":
                detector.recalibrate.set()
    finally:
        bar.close()
        detector.stop.set()
        camera.close()
        # Poses made but not shown: the one in the queue (and one the detector may still put).
        while detector.is_alive() or not detector.out.empty():
            try:
                late = detector.out.get(timeout=0.1)
                detector.out.task_done()
                in_flight += late is not None
            except queue.Empty:
                pass
        for sink in (recorder, virtual, window):
            if sink is not None:
                sink.close()
    if detector.error is not None:
        raise detector.error
    if camera.error:
        raise UserError(camera.error + (f"; what was shown is in {recorder.path}"
                                        if recorder is not None and recorder.frames else ""))
    intervals = [b - a for a, b in zip(shown_at, shown_at[1:])]
    median_interval = statistics.median(intervals) if intervals else 0.0
    return Summary(delivered=camera.delivered, shown=len(shown_at),
                   dropped=camera.dropped + in_flight,
                   fps=1 / median_interval if median_interval > 0 else 0.0,
                   mean_fps=len(intervals) / sum(intervals) if intervals else 0.0,
                   latency_ms=1000 * statistics.median(latencies) if latencies else 0.0,
                   recorded=recorder.frames if recorder is not None else 0,
                   seconds=time.monotonic() - start)
