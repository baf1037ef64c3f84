"""Live mode (transfer.py --camera): the One Euro filter, calibration, the camera's frame
accounting, the recording, and the command line on a synthetic video played as a camera."""
import importlib.util
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from src.errors import UserError
from src.io.files import read_image
from src.io.video import VideoReader, VideoWriter
from src.live import calibrate, loop, show
from src.live.camera import Camera, VideoCamera
from src.live.one_euro import OneEuro, PoseFilter, alpha
from src.pose.keypoints import B, N_POINTS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TWO_PI = 2 * math.pi


# ---------------------------------------------------------------- One Euro filter

def test_alpha_of_a_cutoff_whose_time_constant_equals_the_step():
    # fc = 1 / (2 pi) Hz gives tau = 1 s; with dt = 1 s, alpha = 1 / (1 + 1) = 0.5.
    assert alpha(1 / TWO_PI, 1.0) == pytest.approx(0.5)
    # fc = 3 / (2 pi): tau = 1/3, alpha = 1 / (1 + 1/3) = 0.75.
    assert alpha(3 / TWO_PI, 1.0) == pytest.approx(0.75)


def test_one_euro_without_speed_term_is_a_fixed_low_pass():
    f = OneEuro(min_cutoff=1 / TWO_PI, beta=0.0, d_cutoff=1 / TWO_PI)
    # alpha 0.5 per 1-s step: 0 (first sample passes), 0.5*10 + 0.5*0 = 5, 0.5*10 + 0.5*5 = 7.5.
    assert [float(f(x, t)) for t, x in enumerate([0.0, 10.0, 10.0])] == pytest.approx([0, 5, 7.5])


def test_one_euro_speed_raises_the_cutoff():
    # Step 1: speed estimate 0.5 * (10 - 0) / 1 + 0.5 * 0 = 5; cutoff 1/(2 pi) + 5 / (5 pi) =
    # 3 / (2 pi), so alpha 0.75 and the output 0.75 * 10 = 7.5 (5 without the speed term).
    f = OneEuro(min_cutoff=1 / TWO_PI, beta=1 / (5 * math.pi), d_cutoff=1 / TWO_PI)
    f(0.0, 0.0)
    assert float(f(10.0, 1.0)) == pytest.approx(7.5)


def test_one_euro_steps_each_element_with_its_own_time():
    f = OneEuro(min_cutoff=1 / TWO_PI, beta=0.0, d_cutoff=1 / TWO_PI)
    f(np.array([0.0, 0.0]), 0.0)
    f(np.array([10.0, 99.0]), 1.0, where=np.array([True, False]))  # the second skips a sample
    # Element 2's next step spans 2 s: tau = 1, alpha = 1 / (1 + 1/2) = 2/3 of 30 = 20.
    out = f(np.array([10.0, 30.0]), 2.0)
    assert out == pytest.approx([7.5, 20.0])


def pose(points):
    kp = np.zeros((N_POINTS, 3), np.float32)
    for name, (x, y) in points.items():
        kp[B[name]] = (x, y, 1.0)
    return kp


def test_pose_filter_holds_a_dropout_then_lets_it_go():
    f = PoseFilter(scale=100, hold=0.3)
    f(pose({"Nose": (50, 20), "RWrist": (10, 60)}), 0.0)
    lost = f(pose({"Nose": (50, 20)}), 0.2)        # 0.2 s <= hold: the wrist stays
    assert lost[B["RWrist"]] == pytest.approx([10, 60, 1])
    gone = f(pose({"Nose": (50, 20)}), 0.5)        # 0.5 s since it was seen: missing
    assert tuple(gone[B["RWrist"]]) == (0, 0, 0)
    back = f(pose({"Nose": (50, 20), "RWrist": (80, 40)}), 0.6)   # afresh, not swept from (10, 60)
    assert back[B["RWrist"]] == pytest.approx([80, 40, 1])
    assert tuple(back[B["LWrist"]]) == (0, 0, 0)   # never seen


# ---------------------------------------------------------------- calibration

def standing(head_y, ankle_y, x):
    return pose({"Nose": (x, head_y), "RAnkle": (x - 5, ankle_y), "LAnkle": (x + 5, ankle_y)})


def test_calibration_maps_the_body_height_and_ankles_onto_the_target():
    # Target (a still): head at row 100, ankles at row 300 -> body height 200, close row 300.
    target = standing(100, 300, 200)[None]
    cal = calibrate.Calibration(target, (400, 400), (400, 400), seconds=0.5)
    # The person in front of the camera: head 50, ankles 150, at x = 100 -> height 100.
    person = standing(50, 150, 100)
    assert cal.map(person, 0.0) is None and cal.map(person, 0.3) is None   # calibrating
    out = cal.map(person, 0.6)
    assert cal.ready
    # Scale 200 / 100 = 2 about the ankle anchor (100, 150), which goes to row 300:
    # head (100, 50) -> (100, 300 - 2 * 100) = (100, 100); ankles (95, 150) -> (90, 300).
    assert out[B["Nose"], :2] == pytest.approx([100, 100])
    assert out[B["RAnkle"], :2] == pytest.approx([90, 300])
    # A step closer: ankles 10 rows lower at the same size move the figure down by 2 x 10.
    closer = cal.map(standing(60, 160, 100), 0.7)
    assert closer[B["Nose"], :2] == pytest.approx([100, 120])
    # No ankle in view: the last transform (y' = 2 y + 0, x' = 2 x - 100) is kept.
    no_feet = cal.map(pose({"Nose": (100, 60)}), 0.8)
    assert no_feet[B["Nose"], :2] == pytest.approx([100, 120])


def test_calibration_waits_for_the_whole_body_and_converts_the_camera_frame():
    target = standing(100, 300, 200)[None]
    # Camera 800x800 onto a 400x400 target: every camera pixel is half a target pixel.
    cal = calibrate.Calibration(target, (400, 400), (800, 800), seconds=0.0)
    assert cal.map(pose({"Nose": (200, 100)}), 0.0) is None   # no ankle: no calibration yet
    for t in (0.1, 0.2):
        cal.map(standing(100, 500, 200), t)
    out = cal.map(standing(100, 500, 200), 0.3)
    # In target pixels the person is head 50, ankles 250 (height 200 = the target's): scale 1,
    # ankles moved from row 250 to row 300.
    assert out[B["Nose"], :2] == pytest.approx([100, 100])
    cal.restart()
    assert not cal.ready and cal.map(standing(100, 500, 200), 0.4) is None


# ---------------------------------------------------------------- the loop, with fakes

class ListCamera(Camera):
    """n frames delivered every `interval` seconds; frame i is filled with the value i."""

    def __init__(self, n, interval, fail_after=None):
        super().__init__()
        self.n, self.interval, self.fail_after = n, interval, fail_after
        self.size, self.fps, self.name = (32, 24), 1 / interval, "list camera"

    def _frames(self):
        for i in range(self.n):
            if self.fail_after is not None and i == self.fail_after:
                raise UserError(f"{self.name}: stopped sending frames after {i}")
            time.sleep(self.interval)
            yield np.full((24, 32, 3), i, np.uint8)


class SlowBackend:
    """Takes `seconds` per frame; the pose found carries the frame's value as the nose's x."""

    def __init__(self, seconds):
        self.seconds = seconds

    def detect(self, rgb):
        time.sleep(self.seconds)
        return pose({"Nose": (float(rgb[0, 0, 0]), 5.0)})


class EchoTarget:
    size, keypoints = (32, 24), None

    def __init__(self, seconds=0.0):
        self.seconds = seconds

    def frame(self, kp):
        time.sleep(self.seconds)
        return np.full((24, 32, 3), 200 if kp is None else 100, np.uint8)


class PassCalibration:
    ready = True

    def map(self, kp, t):
        return kp

    def restart(self):
        pass


def run_fake(camera, backend, draw_seconds=0.0, **kw):
    detector = loop.Detector(camera, backend, lambda kp, t: kp, PassCalibration())
    return loop.run(camera, EchoTarget(draw_seconds), detector, **kw)


def test_every_delivered_frame_is_shown_or_counted_as_dropped():
    # 40 frames at 100 frames/s into a detector that takes 30 ms: about 2 of 3 must be dropped.
    camera = ListCamera(40, 0.01)
    summary = run_fake(camera, SlowBackend(0.03))
    assert summary.delivered == 40
    assert summary.shown + summary.dropped == 40
    assert 5 <= summary.shown <= 25 and summary.dropped >= 15
    assert summary.fps == pytest.approx(1 / 0.03, rel=0.4)


def test_detection_overlaps_drawing():
    # 40 ms to detect, 40 ms to draw, a camera at 100 frames/s: in turn that would be one frame
    # per 80 ms (12.5 frames/s); overlapped, one per 40 ms (25 frames/s).
    summary = run_fake(ListCamera(60, 0.01), SlowBackend(0.04), draw_seconds=0.04)
    assert summary.fps > 20 and summary.mean_fps > 20
    # A frame waits at most for one detection, is detected, and drawn: about 40-120 ms.
    assert 40 <= summary.latency_ms < 160


def test_nothing_dropped_when_the_loop_keeps_up():
    summary = run_fake(ListCamera(10, 0.02), SlowBackend(0.0))
    assert (summary.shown, summary.dropped, summary.delivered) == (10, 0, 10)


def test_recording_holds_each_shown_frame_for_the_frames_it_stood_for(tmp_path):
    recorder = show.Recorder(str(tmp_path / "rec.mp4"), fps=25)
    summary = run_fake(ListCamera(30, 0.01), SlowBackend(0.03), recorder=recorder)
    assert summary.dropped > 0
    # Every camera frame from the first shown one (frame 0) to the last (frame 29) has a frame.
    assert summary.recorded == 30
    reader = VideoReader(str(tmp_path / "rec.mp4"))
    frames = list(reader)
    assert len(frames) == 30 and reader.size == (64, 24)   # camera | result, side by side


def test_a_camera_that_stops_ends_with_its_error_and_a_playable_recording(tmp_path):
    recorder = show.Recorder(str(tmp_path / "rec.mp4"), fps=25)
    with pytest.raises(UserError, match=r"list camera: stopped sending frames after 8; what "
                                        r"was shown is in .*rec\.mp4"):
        run_fake(ListCamera(30, 0.01, fail_after=8), SlowBackend(0.0), recorder=recorder)
    assert len(list(VideoReader(str(tmp_path / "rec.mp4")))) == 8


def test_virtual_camera_gets_each_result(monkeypatch):
    sent = []

    class FakeCamera:   # pyvirtualcam.Camera's interface: Camera(width, height, fps), send, close
        device = "/dev/video9"

        def __init__(self, width, height, fps):
            sent.append((width, height, fps))

        def send(self, rgb):
            sent.append(int(rgb[0, 0, 0]))

        def close(self):
            sent.append("closed")

    monkeypatch.setitem(sys.modules, "pyvirtualcam", type(sys)("pyvirtualcam"))
    sys.modules["pyvirtualcam"].Camera = FakeCamera
    virtual = show.VirtualCamera()
    virtual.fps = 50
    summary = run_fake(ListCamera(5, 0.02), SlowBackend(0.0), virtual=virtual)
    # The result alone (EchoTarget: 32x24, value 100 once posed), one per shown frame.
    assert sent == [(32, 24, 50)] + [100] * summary.shown + ["closed"] and summary.shown == 5


def test_video_camera_plays_in_real_time(tmp_path):
    path = str(tmp_path / "clip.mp4")
    with VideoWriter(path, 20, (32, 32)) as writer:
        for i in range(10):
            writer.write(np.full((32, 32, 3), 20 * i, np.uint8))
    camera = VideoCamera(path)
    assert (camera.size, camera.fps) == ((32, 32), 20)
    start = time.monotonic()
    camera.start()
    taken = []
    while (frame := camera.take()) is not None:
        taken.append(frame.index)
        time.sleep(0.12)   # slower than the camera's 50 ms: it must drop
    camera.close()
    # 10 frames at 20 frames/s: the last one arrives 0.45 s after the first.
    assert time.monotonic() - start >= 0.45
    assert camera.delivered == 10 and len(taken) + camera.dropped == 10
    assert taken[0] == 0 and taken[-1] == 9 and camera.dropped >= 4


# ---------------------------------------------------------------- the command line (MediaPipe)

@pytest.fixture(scope="module")
def live_setup(tmp_path_factory):
    """A still target made from the demo's drawn dancer, and a 2-s video of the source dancer
    to play as the camera."""
    from src.demo.data import make_dancer_video, still_photo
    from src.io.files import write_image
    tmp = tmp_path_factory.mktemp("live")
    photo, _ = still_photo((512, 256))
    write_image(str(tmp / "still.png"), photo)
    made = subprocess.run([sys.executable, "make_target.py", "--image", str(tmp / "still.png"),
                           "--out", str(tmp / "target"), "--size", "512x256"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    make_dancer_video(str(tmp / "camera.mp4"), "source", 30, size=(320, 256), fps=15)
    return tmp


def live(args, env=None, timeout=120):
    return subprocess.run([sys.executable, "transfer.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_a_video_played_as_a_camera_drives_the_still_target(live_setup):
    tmp = live_setup
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = live(["--camera", str(tmp / "camera.mp4"), "--target", str(tmp / "target"),
                 "--no-window", "--calibrate", "0.3", "--record", str(tmp / "rec.mp4")], env=env)
    assert done.returncode == 0, done.stderr
    line = [s for s in done.stdout.splitlines() if s.startswith("live:")][-1]
    shown, dropped, delivered = (int(v) for v in re.findall(
        r"(\d+) frames shown, (\d+) dropped of (\d+) delivered", line)[0])
    assert delivered == 30 and shown + dropped == 30 and shown >= 5
    reader = VideoReader(str(tmp / "rec.mp4"))
    frames = list(reader)
    # camera (320x256) | result (512x256).
    assert len(frames) == 30 and reader.size == (320 + 512, 256)
    # Calibrated after 0.3 s: the last result is the photo posed, not the photo unmoved.
    photo = read_image(str(tmp / "target" / "still" / "photo.png")).astype(int)
    assert np.abs(frames[-1][:, 320:].astype(int) - photo).mean() > 2


@pytest.mark.parametrize("case", ["no camera", "no display", "bad record name", "no pyvirtualcam"])
def test_live_errors_are_one_line_with_exit_code_2(live_setup, case):
    tmp = live_setup
    if case == "no pyvirtualcam" and importlib.util.find_spec("pyvirtualcam") is not None:
        pytest.skip("pyvirtualcam is installed here")
    args = {"no camera": ["--camera", "7", "--no-window"],
            "no display": ["--camera", str(tmp / "camera.mp4")],
            "bad record name": ["--camera", "7", "--no-window", "--record", str(tmp / "rec.avi")],
            "no pyvirtualcam": ["--camera", "7", "--no-window", "--virtual-camera"]}
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = live([*args[case], "--target", str(tmp / "target")], env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    expected = {"no camera": "error: camera 7: cannot be opened",
                "no display": "error: no display to open the live window on",
                "bad record name": f"error: --record {tmp / 'rec.avi'}: give a file name ending in .mp4",
                "no pyvirtualcam": "error: --virtual-camera needs the optional package pyvirtualcam"}
    assert done.stderr.startswith(expected[case])


def test_model_target_draws_what_transfer_draws(tmp_path):
    """A trained model driven live gives, pose for pose, the frames transfer.py writes for the
    same normalized poses (same labels, the previous frame fed back, the face refined)."""
    from conftest import normalized_source, random_checkpoint
    from src.gan.transfer import run as transfer
    from src.io.files import frame_name
    from src.live.targets import ModelTarget, open_target
    from src.pose.keypoints import PoseTrack
    size = (64, 32)
    random_checkpoint(tmp_path / "ckpt" / "face", size=size)
    source = normalized_source(tmp_path / "source", n=4, size=size)
    transfer("face", source, str(tmp_path / "out"), str(tmp_path / "ckpt"), device="cpu")
    kps = PoseTrack.load(str(tmp_path / "source" / "keypoints_norm.npz")).keypoints
    PoseTrack(keypoints=kps[:1], fps=15, size=size, crop=(0, 0, *size), video_size=size,
              backend="synthetic").save(str(tmp_path / "target" / "keypoints.npz"))
    target = open_target(str(tmp_path / "target"), str(tmp_path / "ckpt" / "face"), device="cpu")
    assert isinstance(target, ModelTarget) and target.size == size
    for i, kp in enumerate(kps):
        assert np.array_equal(target.frame(kp), read_image(str(tmp_path / "out" / frame_name(i))))
