"""make_mp4.py: frame count, frame rate, size, audio, layouts, GIF preview and errors."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import make_target_dir, random_checkpoint, synthetic_keypoints
from src.encode import encode
from src.errors import UserError
from src.io.files import frame_name, write_image
from src.io.video import VideoReader, ffmpeg_exe, has_audio
from src.pose.keypoints import PoseTrack
from src.pose.openpose_json import write_json_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N, FPS, SIZE = 12, 15.0, (64, 48)


def colour(i):
    return np.array([20 * i % 256, 255 - 15 * i, 128], np.uint8)


def write_frames(folder, n=N, size=SIZE, fill=None):
    for i in range(n):
        rgb = np.empty((size[1], size[0], 3), np.uint8)
        rgb[:] = colour(i) if fill is None else fill
        write_image(os.path.join(folder, frame_name(i)), rgb)
    return str(folder)


def make_source_video(path, seconds=2.0, audio=True, size=(64, 48)):
    """A short test-pattern video, with a 440 Hz sine tone when `audio`."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi",
           "-i", f"testsrc=size={size[0]}x{size[1]}:rate={FPS:g}:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=22050:duration={seconds}",
                "-c:a", "aac"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True)
    return str(path)


@pytest.fixture
def setup(tmp_path):
    """result frames, and a source folder with frames, labels, keypoints.npz and mv.mp4."""
    source = tmp_path / "source"
    write_frames(source / "test_img", n=N, size=(32, 24), fill=(255, 0, 0))  # resized to 48 high
    write_frames(source / "test_label", n=N, fill=(255, 255, 255))
    PoseTrack(np.zeros((N, 137, 3)), FPS, (32, 24), (0, 0, 32, 24), (32, 24), "synthetic").save(
        str(source / "keypoints.npz"))
    make_source_video(source / "mv.mp4")
    frames = write_frames(tmp_path / "result" / "target")
    return frames, str(source)


def read_back(path):
    reader = VideoReader(path)
    frames = list(reader)
    return frames, reader.fps, reader.size


def duration(path):
    err = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", path], capture_output=True,
                         text=True).stderr
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", err).groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


def run_script(*args):
    return subprocess.run([sys.executable, "make_mp4.py", *args], cwd=ROOT, capture_output=True,
                          text=True)


def test_mp4_has_the_frames_rate_size_and_the_source_audio_cut_to_length(setup, tmp_path):
    frames, source = setup
    out = str(tmp_path / "result" / "target.mp4")
    assert encode(frames, out, source_dir=source) == [out]
    got, fps, size = read_back(out)
    assert (len(got), fps, size) == (N, FPS, SIZE)
    for i in (0, 7, N - 1):  # the frames, in order
        assert np.abs(got[i].reshape(-1, 3).mean(0) - colour(i)).max() < 12
    assert has_audio(out)
    assert duration(out) < N / FPS + 0.15  # 2 s of source audio cut to 0.8 s of video
    assert audio_seconds(out) == pytest.approx(N / FPS, abs=0.03)


def audio_seconds(path, rate=22050):
    """Length of a file's audio track, by decoding it."""
    pcm = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", path, "-map", "0:a", "-f", "s16le",
                          "-ac", "1", "-ar", str(rate), "-"], capture_output=True, check=True).stdout
    return len(pcm) / 2 / rate


@pytest.mark.parametrize("seconds", [N / FPS, N / FPS - 0.03, N / FPS / 2])
def test_every_frame_is_kept_when_the_audio_is_as_long_or_shorter(setup, tmp_path, seconds):
    frames, source = setup
    video = make_source_video(tmp_path / f"audio_{seconds:.3f}.mp4", seconds=seconds)
    out = str(tmp_path / "out.mp4")
    encode(frames, out, source_dir=source, source_video=video)
    got, _, _ = read_back(out)
    assert len(got) == N
    np.testing.assert_allclose(got[-1].reshape(-1, 3).mean(0), colour(N - 1), atol=12)
    assert audio_seconds(out) == pytest.approx(N / FPS, abs=0.03)   # padded with silence


def test_script_no_audio_and_default_out_name(setup):
    frames, source = setup
    proc = run_script("--frames", frames, "--source", source, "--no-audio")
    assert proc.returncode == 0, proc.stderr
    out = frames + ".mp4"
    assert not has_audio(out)
    assert len(read_back(out)[0]) == N


def test_source_without_audio_gives_a_silent_video(setup, tmp_path, capsys):
    frames, source = setup
    silent = make_source_video(tmp_path / "silent.mp4", audio=False)
    out = str(tmp_path / "a.mp4")
    encode(frames, out, source_dir=source, source_video=silent)
    assert not has_audio(out)
    assert "no audio track" in capsys.readouterr().out


def test_frame_rate_from_the_source_video_or_the_fps_flag(setup, tmp_path):
    frames, source = setup
    os.remove(os.path.join(source, "keypoints.npz"))
    out = str(tmp_path / "a.mp4")
    encode(frames, out, source_dir=source, audio=False)
    assert read_back(out)[1] == FPS
    encode(frames, out, source_dir=source, fps=24, audio=False)
    assert read_back(out)[1] == 24


def test_side_by_side_layout(setup, tmp_path):
    frames, source = setup
    out = str(tmp_path / "sbs.mp4")
    assert encode(frames, out, source_dir=source, layout="side-by-side") == [out]
    got, _, size = read_back(out)
    assert size == (3 * SIZE[0], SIZE[1]) and len(got) == N
    left, middle, right = np.split(got[3].astype(int), 3, axis=1)
    assert np.abs(left.reshape(-1, 3).mean(0) - (255, 0, 0)).max() < 12     # source frame
    assert np.abs(middle.reshape(-1, 3).mean(0) - 255).max() < 12           # label
    assert np.abs(right.reshape(-1, 3).mean(0) - colour(3)).max() < 12      # result


def test_gif_preview(setup, tmp_path):
    frames, source = setup
    out = str(tmp_path / "sbs.mp4")
    written = encode(frames, out, source_dir=source, layout="side-by-side", gif=True)
    assert written == [out, str(tmp_path / "sbs.gif")]
    gif, gif_fps, gif_size = read_back(written[1])
    assert gif_size == (3 * SIZE[0], SIZE[1])   # narrower than 320 px: kept
    assert len(gif) == N * 10 // 15 and gif_fps == 10  # 15 frames/s -> at most 10


def test_no_frames_exits_2_with_one_line(tmp_path):
    proc = run_script("--frames", str(tmp_path / "empty"), "--no-audio")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'empty'}: no frames (*.png) to encode; run transfer.py first"]
    assert not os.path.exists(str(tmp_path / "empty.mp4"))


def test_bad_inputs_are_user_errors_and_leave_no_video(setup, tmp_path):
    frames, source = setup
    out = str(tmp_path / "x.mp4")
    with pytest.raises(UserError, match="nope.mp4: no such file; .*--no-audio"):
        encode(frames, out, source_dir=source, source_video=str(tmp_path / "nope.mp4"))
    os.remove(os.path.join(source, "test_label", frame_name(N - 1)))
    with pytest.raises(UserError, match="test_label: 11 frames for 12 result frames; .*normalization.py"):
        encode(frames, out, source_dir=source, layout="side-by-side")
    write_image(os.path.join(frames, frame_name(N)), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(UserError, match=f"{frame_name(N)}: 10x10, but the first frame is 64x48"):
        encode(frames, out, source_dir=source, audio=False)
    assert not os.path.exists(out)
    assert [n for n in os.listdir(tmp_path) if n.endswith(".mp4")] == []


def test_the_music_is_kept_when_every_stage_runs_with_its_defaults(tmp_path):
    """make_source.py --video elsewhere, then the later stages with their defaults: the result
    carries the source video's sine tone."""
    dance = make_source_video(tmp_path / "videos" / "dance.mp4", seconds=1.0, size=(128, 64))
    poses = tmp_path / "videos" / "dance_json"
    write_json_dir(poses, synthetic_keypoints(15, (128, 64)), "dance")   # instead of a detector
    make_target_dir(tmp_path / "data" / "target", n=4, size=(64, 32))
    random_checkpoint(tmp_path / "checkpoints" / "t", size=(64, 32))
    for cmd in (["make_source.py", "--video", dance, "--pose", "json", "--json-dir", str(poses),
                 "--size", "64x32"],
                ["normalization.py"], ["transfer.py", "--name", "t"],
                ["make_mp4.py", "--frames", "result/t"]):
        proc = subprocess.run([sys.executable, os.path.join(ROOT, cmd[0]), *cmd[1:]], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert os.path.samefile(tmp_path / "data" / "source" / "mv.mp4", dance)
    assert "with audio from data/source/mv.mp4" in proc.stdout
    out = str(tmp_path / "result" / "t.mp4")
    assert has_audio(out) and len(read_back(out)[0]) == 15
    assert audio_seconds(out) == pytest.approx(1.0, abs=0.03)
