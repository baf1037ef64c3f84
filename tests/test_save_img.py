import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from src.demo.data import make_dancer_video
from src.errors import UserError
from src.io.video import VideoReader
from src.utils.save_img import at_rate, main, open_device, record

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("cam") / "clip.mp4"
    make_dancer_video(path, "target", 10, size=(96, 64), fps=10)
    return path


def test_capture_from_a_video_file(clip, tmp_path):
    out = tmp_path / "target" / "mv.mp4"
    main(["--device", str(clip), "--out", str(out), "--seconds", "0.6"])
    reader = VideoReader(out)
    frames = list(reader)
    assert len(frames) == 6 and reader.size == (96, 64) and reader.fps == pytest.approx(10)
    source = list(VideoReader(clip))[:6]
    assert np.abs(np.stack(frames).astype(int) - np.stack(source)).mean() < 4  # same pictures
    assert os.listdir(out.parent) == ["mv.mp4"]  # no temporary file left


def test_capture_whole_file_when_it_is_shorter(clip, tmp_path):
    out = tmp_path / "mv.mp4"
    main(["--device", str(clip), "--out", str(out), "--seconds", "60", "--fps", "20"])
    assert sum(1 for _ in VideoReader(out)) == 20  # 1 s of video at 20 frames/s


def test_at_rate_repeats_and_drops_by_arrival_time():
    timed = [(0.0, "a"), (0.05, "b"), (0.1, "c"), (0.35, "d"), (0.36, "e")]
    # slots at 0, 0.1, 0.2, 0.3 show the latest frame by then; the last frame closes the clip
    assert list(at_rate(iter(timed), 10)) == ["a", "c", "c", "c", "e"]
    assert list(at_rate(iter([(i / 25, i) for i in range(7)]), 25)) == list(range(7))
    assert list(at_rate(iter([]), 25)) == []
    # An end marker keeps the last frame on screen until the end time.
    assert list(at_rate(iter([(0.0, "a"), (0.1, "b"), (0.2, None)]), 20)) == ["a", "a", "b", "b"]


def test_ctrl_c_keeps_what_was_recorded(tmp_path):
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN when run in the background

    def frames():
        for i in range(10):
            if i == 5:
                os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C here
            yield i / 10, np.full((32, 48, 3), 20 * i, np.uint8)
    out = tmp_path / "mv.mp4"
    # Frame 4 is written when frame 5 arrives (its slot has passed); then the recording stops.
    assert record(frames(), str(out), 10, 100) == 5
    assert sum(1 for _ in VideoReader(out)) == 5
    assert os.listdir(tmp_path) == ["mv.mp4"]
    assert signal.getsignal(signal.SIGINT) is before  # handler restored


def test_missing_camera_is_a_one_line_error(tmp_path):
    out = tmp_path / "mv.mp4"
    proc = subprocess.run([sys.executable, "-m", "src.utils.save_img", "--device", "99",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: no camera at index 99: connect one or pass --device path/to/video"]
    assert not out.exists()


def test_missing_path_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file or camera"):
        open_device(str(tmp_path / "nothing.mp4"), None)


def test_runs_as_a_file_the_way_the_seed_readme_says(clip, tmp_path):
    out = tmp_path / "mv.mp4"
    proc = subprocess.run([sys.executable, os.path.join("src", "utils", "save_img.py"),
                           "--device", str(clip), "--out", str(out), "--seconds", "0.5"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(list(VideoReader(out))) == 5
