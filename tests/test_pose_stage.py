"""The pose stages (make_target.py / make_source.py, src/pose/stage.py) on generated videos.

The real MediaPipe detector runs on short synthetic dancer clips (src/demo/data.py) whose
ground-truth keypoints are known. Bad inputs run the scripts in subprocesses and check the exit
code, the one-line error naming the file, and that no finished-looking output was written.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from src.demo.data import background_path, make_dancer_video
from src.errors import UserError
from src.io.files import list_frames, read_image
from src.io.video import VideoReader, VideoWriter, ffmpeg_exe
from src.pose import make_backend
from src.pose.crop import CropWindow, FrameCutter, choose_window
from src.pose.keypoints import B, BODY, LHAND, RHAND, PoseTrack
from src.pose.openpose_json import json_name
from src.pose.options import auto_size, parse_size
from src.pose.streaming import read_ahead

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = (512, 256)


def run_script(script, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def ok(proc):
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def error_line(proc, names):
    """The run failed cleanly: exit 2, one 'error:' line naming `names`, no traceback."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.replace("\r", "\n").splitlines()
             if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for name in names:
        assert str(name) in lines[0]
    return lines[0]


def ffmpeg(*args):
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True)


def write_video(path, frames, fps=15):
    with VideoWriter(path, fps, (frames[0].shape[1], frames[0].shape[0])) as writer:
        for frame in frames:
            writer.write(frame)


def body_errors(kps, gt):
    """Per-point pixel errors of the body points found, and the ground-truth body heights."""
    found = kps[:, BODY, 2] > 0
    err = np.linalg.norm(kps[:, BODY, :2] - gt[:, BODY, :2], axis=2)
    height = gt[:, BODY, 1].max(1) - gt[:, BODY, 1].min(1)
    return err[found], np.broadcast_to(height[:, None], found.shape)[found]


@pytest.fixture(scope="module")
def dancer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dancer")
    video = folder / "dance.mp4"
    gt = make_dancer_video(video, "target", 40, size=SIZE, fps=15, seed=1)
    return video, gt


@pytest.fixture(scope="module")
def target_run(dancer, tmp_path_factory):
    video, _ = dancer
    out = tmp_path_factory.mktemp("target")
    exported = tmp_path_factory.mktemp("json")
    proc = ok(run_script("make_target.py", "--video", video, "--out", out, "--size", "512x256",
                         "--export-json", exported))
    return out, exported, proc


# ----------------------------------------------------------------------------- detection

def test_target_stage_finds_the_dancer_and_writes_every_file(dancer, target_run):
    video, gt = dancer
    out, _, proc = target_run
    track = PoseTrack.load(out / "keypoints.npz")
    assert len(track) == 40 and track.size == SIZE and track.video_size == SIZE
    assert track.crop == (0, 0, 512, 256) and track.backend == "mediapipe"
    assert track.fps == pytest.approx(15)
    assert len(list_frames(out / "train" / "train_img")) == 40
    assert "another person" not in proc.stderr          # one dancer: no identity jump
    labels = list_frames(out / "train" / "train_label")
    assert len(labels) == 40
    label = read_image(labels[0])
    assert label.shape == (256, 512, 3) and (label == 255).all(axis=2).mean() > 0.8  # white
    boxes = np.load(out / "pose.npy")
    assert boxes.shape == (40, 4) and boxes.dtype == np.int32
    # The processed frames are the video's frames (same size: the window is the whole frame).
    first = next(iter(VideoReader(video)))
    assert np.abs(read_image(out / "train" / "train_img" / "00000.png").astype(int)
                  - first).max() == 0

    found = (track.keypoints[:, BODY, 2] > 0).any(axis=1)
    assert found.mean() >= 0.95
    assert "person found in 100%" in proc.stderr
    err, height = body_errors(track.keypoints, gt.keypoints)
    pck = (err < 0.1 * height).mean()
    # Measured: mean 3.0 px (body about 180 px tall), PCK@0.1 = 1.00.
    assert pck >= 0.95, pck
    assert err.mean() < 6.0, err.mean()


def test_target_stage_writes_masks_and_a_plate_of_the_known_background(dancer, target_run):
    video, gt = dancer
    out, _, proc = target_run
    masks = list_frames(out / "train" / "train_mask")
    assert [os.path.basename(m) for m in masks] == [f"{i:05d}.png" for i in range(40)]
    mask = cv2.imread(masks[10], cv2.IMREAD_GRAYSCALE)
    assert mask.shape == (256, 512) and mask.dtype == np.uint8
    # The segmentation covers the dancer's hip (a point inside the body) and not the far corner.
    hip = gt.keypoints[10, B["MidHip"], :2].round().astype(int)
    assert mask[hip[1], hip[0]] > 200 and mask[5, 5] == 0
    info = json.loads((out / "background.json").read_text())
    assert info["plate"] is True and info["reason"] == "static camera"
    assert 0.0 <= info["inpainted_share"] < 0.2
    assert "background plate: static camera" in proc.stderr and "inpainted" in proc.stderr
    plate = read_image(out / "background.png").astype(int)
    truth = read_image(background_path(video)).astype(int)
    # Away from the pixels the dancer never uncovered, the plate is the clean background.
    assert np.abs(plate - truth).mean() < 3.0


def test_hands_are_the_persons_own_sides(dancer, target_run):
    _, gt = dancer
    kps = PoseTrack.load(target_run[0] / "keypoints.npz").keypoints
    for part, other in ((LHAND, RHAND), (RHAND, LHAND)):
        seen = kps[:, part, 2] > 0
        assert seen.mean() > 0.5
        same = np.linalg.norm(kps[:, part, :2] - gt.keypoints[:, part, :2], axis=2)[seen]
        swapped = np.linalg.norm(kps[:, part, :2] - gt.keypoints[:, other, :2], axis=2)[seen]
        assert np.median(same) < 10 < np.median(swapped)


def test_rerun_from_exported_json_removes_stale_frames(target_run, dancer, tmp_path):
    out, exported, _ = target_run
    video, _ = dancer
    assert sorted(os.listdir(exported))[0] == json_name("dance", 0)
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    leftover = copy / "train" / "train_img" / ".00003.abcd.tmp.png"   # an interrupted write
    leftover.write_bytes(b"x")
    ok(run_script("make_target.py", "--video", video, "--out", copy, "--size", "512x256",
                  "--pose", "json", "--json-dir", exported, "--max-frames", 20, "--no-smooth",
                  "--max-gap", 0))
    assert len(list_frames(copy / "train" / "train_img")) == 20
    assert len(list_frames(copy / "train" / "train_label")) == 20
    assert not leftover.exists()
    again = PoseTrack.load(copy / "keypoints.npz")
    first = PoseTrack.load(out / "keypoints.npz")
    assert again.backend == "json" and np.load(copy / "pose.npy").shape == (20, 4)
    np.testing.assert_allclose(again.keypoints, first.keypoints[:20], atol=2e-3)


def test_json_dir_with_malformed_files(target_run, dancer, tmp_path):
    _, exported, _ = target_run
    video, _ = dancer
    broken = tmp_path / "json"
    shutil.copytree(exported, broken)
    (broken / json_name("dance", 5)).write_text("{oops")
    short_pose = {"people": [{"pose_keypoints_2d": [1]}]}
    (broken / json_name("dance", 6)).write_text(json.dumps(short_pose))
    proc = ok(run_script("make_target.py", "--video", video, "--out", tmp_path / "out",
                         "--size", "512x256", "--pose", "json", "--json-dir", broken,
                         "--max-frames", 12))
    warning = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and json_name("dance", 5) in warning[0]
    assert json_name("dance", 6) in warning[0]
    track = PoseTrack.load(tmp_path / "out" / "keypoints.npz")
    assert track.interpolated[5:7].any(axis=1).all()        # the skipped frames were filled
    for name in os.listdir(broken):
        (broken / name).write_text("[]")
    proc = run_script("make_target.py", "--video", video, "--out", tmp_path / "out2",
                      "--pose", "json", "--json-dir", broken)
    error_line(proc, [broken])
    assert not (tmp_path / "out2" / "keypoints.npz").exists()


# ----------------------------------------------------------------------------- bad input

def gray_frames(n, size):
    return [np.full((size[1], size[0], 3), 128, np.uint8) for _ in range(n)]


def bad_input(kind, folder, dancer_video):
    """A bad input file of the given kind; returns its path."""
    path = folder / f"{kind}.mp4"
    if kind == "not_a_video":
        path.write_text("these are notes, not a video\n")
    elif kind == "truncated":
        data = dancer_video.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif kind == "zero_frames":
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x96:rate=10", "-frames:v", 0, "-c:v",
               "libx264", path)
    elif kind == "tiny":
        write_video(path, gray_frames(5, (32, 24)))
    elif kind == "nobody":
        write_video(path, gray_frames(8, (256, 128)))
    return path


@pytest.mark.parametrize("kind", ["missing", "not_a_video", "truncated", "zero_frames", "tiny",
                                  "nobody"])
def test_bad_video_gives_one_line_error_and_no_output(kind, dancer, tmp_path):
    video = bad_input(kind, tmp_path, dancer[0])
    out = tmp_path / "out"
    line = error_line(run_script("make_target.py", "--video", video, "--out", out), [video])
    assert not (out / "keypoints.npz").exists() and not (out / "pose.npy").exists()
    if kind == "nobody":
        assert "nobody found in any of the 8 frames" in line
    if kind == "tiny":
        assert "32x24" in line


def test_bad_flags_give_one_line_errors(dancer, tmp_path):
    video = dancer[0]
    error_line(run_script("make_source.py", "--video", video, "--out", tmp_path,
                          "--size", "100x"), ["--size"])
    error_line(run_script("make_source.py", "--video", video, "--out", tmp_path,
                          "--pose", "json"), ["--json-dir"])
    error_line(run_script("make_source.py", "--video", video, "--out", tmp_path,
                          "--pose", "json", "--json-dir", tmp_path / "nope"), [tmp_path / "nope"])
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    error_line(run_script("make_source.py", "--video", video, "--out", a_file), [a_file])


def test_openpose_missing_is_a_user_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "src.pose.openpose_backend", None)
    with pytest.raises(UserError, match="--pose openpose"):
        make_backend("openpose")
    with pytest.raises(UserError, match="unknown pose backend"):
        make_backend("posenet")


# ----------------------------------------------------------------------------- odd videos

def test_person_in_some_frames_only(dancer, tmp_path):
    video, gt = dancer
    frames = [np.array(f) for f in VideoReader(video)]
    background = frames[0][:, :40].reshape(-1, 3).mean(0).astype(np.uint8)
    for t in list(range(10, 14)) + list(range(20, 35)):    # a short gap and a long one
        frames[t] = np.broadcast_to(background, frames[t].shape).copy()
    partial = tmp_path / "partial.mp4"
    write_video(partial, frames)
    proc = ok(run_script("make_target.py", "--video", partial, "--out", tmp_path / "out",
                         "--size", "512x256", "--max-gap", 8))
    assert "person found in 52% of the frames (21/40)" in proc.stderr
    track = PoseTrack.load(tmp_path / "out" / "keypoints.npz")
    has_pose = (track.keypoints[:, BODY, 2] > 0).any(axis=1)
    assert has_pose[10:14].all() and track.interpolated[10:14, BODY].all()
    assert not has_pose[20:35].any()                        # longer than --max-gap: left empty
    assert has_pose[:10].all() and has_pose[35:].all()
    assert len(list_frames(tmp_path / "out" / "train" / "train_label")) == 40


def test_rotated_phone_video_comes_out_upright(dancer, tmp_path):
    video, _ = dancer
    frames = [np.array(f) for f in VideoReader(video, max_frames=8)]
    stored = tmp_path / "stored.mp4"
    write_video(stored, [np.ascontiguousarray(np.rot90(f, -1)) for f in frames])  # 256x512
    rotated = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", 90, "-i", stored, "-c", "copy", rotated)
    reader = VideoReader(rotated)
    assert reader.size == SIZE
    first = next(iter(reader))
    assert np.abs(first.astype(int) - frames[0]).mean() < 3
    out = tmp_path / "out"
    ok(run_script("make_target.py", "--video", rotated, "--out", out, "--size", "512x256"))
    track = PoseTrack.load(out / "keypoints.npz")
    assert track.video_size == SIZE and len(track) == 8
    assert (track.keypoints[:, BODY, 2] > 0).any(axis=1).all()
    frame = read_image(out / "train" / "train_img" / "00000.png")
    assert np.abs(frame.astype(int) - frames[0]).mean() < 3


def test_small_output_keeps_hands_the_detector_sees_the_video_resolution(dancer, tmp_path):
    video, gt = dancer
    out = tmp_path / "out"
    ok(run_script("make_source.py", "--video", video, "--out", out, "--size", "256x128",
                  "--max-frames", 12))
    track = PoseTrack.load(out / "keypoints.npz")
    assert read_image(out / "test_img" / "00000.png").shape == (128, 256, 3)
    # Detected on 512x256 frames, then scaled into the 256x128 output: hands are found, and
    # the body lies where the half-size ground truth says.
    for hand in (LHAND, RHAND):
        assert (track.keypoints[:, hand, 2] > 0).any(axis=1).mean() >= 0.5
    half = gt.keypoints[:12].copy()
    half[..., :2] = (half[..., :2] + 0.5) / 2 - 0.5
    err, _ = body_errors(track.keypoints, half)
    assert err.mean() < 3.0, err.mean()


def test_grayscale_video(dancer, tmp_path):
    video, _ = dancer
    gray = tmp_path / "gray.mkv"
    ffmpeg("-i", video, "-frames:v", 10, "-pix_fmt", "gray", "-c:v", "ffv1", gray)
    out = tmp_path / "out"
    ok(run_script("make_source.py", "--video", gray, "--out", out, "--size", "512x256"))
    track = PoseTrack.load(out / "keypoints.npz")
    assert (track.keypoints[:, BODY, 2] > 0).any(axis=1).mean() >= 0.9
    frame = read_image(out / "test_img" / "00000.png").astype(int)
    assert (frame[..., 0] == frame[..., 1]).all() and (frame[..., 1] == frame[..., 2]).all()


def test_very_large_frames_work_as_source(dancer, tmp_path):
    video, gt = dancer
    frames = [np.array(f) for f in VideoReader(video, max_frames=3)]
    big = [cv2.copyMakeBorder(cv2.resize(f, (4000, 2000), interpolation=cv2.INTER_LINEAR),
                              500, 500, 0, 0, cv2.BORDER_REPLICATE) for f in frames]
    path = tmp_path / "big.mp4"
    write_video(path, big)
    del big
    out = tmp_path / "out"
    ok(run_script("make_source.py", "--video", path, "--out", out, "--size", "512x256"))
    track = PoseTrack.load(out / "keypoints.npz")
    assert track.video_size == (4000, 3000) and track.size == SIZE
    assert (track.keypoints[:, BODY, 2] > 0).any(axis=1).all()
    assert read_image(out / "test_img" / "00002.png").shape == (256, 512, 3)
    assert len(list_frames(out / "test_label_ori")) == 3
    assert np.load(out / "pose_source.npy").shape == (3, 2)
    # The crop kept the person: its keypoints, mapped back to the 512x256 clip, match the truth.
    window = CropWindow(*track.crop, track.video_size, track.size)
    in_big = window.to_video(track.keypoints)
    in_clip = in_big.copy()
    in_clip[..., 0] = (in_big[..., 0] + 0.5) * 512 / 4000 - 0.5
    in_clip[..., 1] = (in_big[..., 1] - 500 + 0.5) * 256 / 2000 - 0.5
    in_clip[..., 2] = track.keypoints[..., 2]
    err, height = body_errors(in_clip, gt.keypoints[:3])
    assert np.median(err) < 0.05 * height.mean()


def peak_rss_mb(*args):
    """Peak memory of one stage run, measured in a fresh parent process."""
    probe = ("import resource, subprocess, sys; "
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "sys.stderr.write(p.stderr); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); "
             "sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", probe, sys.executable,
                           os.path.join(ROOT, "make_target.py"), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return float(proc.stdout.split()[-1])


def test_memory_does_not_grow_with_video_length(tmp_path):
    # The json backend streams exactly like the detectors (decode, cut, write, labels) without
    # the detector's own fixed memory, so growth would show. 640x480 frames: 0.9 MB each, so
    # holding the long clip's frames would cost 120 MB more than the short one's. Both clips are
    # longer than the background plate's 60 samples, whose memory is fixed.
    kp = np.zeros((137, 3), np.float32)
    kp[:25] = [[300 + 2 * i, 100 + 10 * i, 1] for i in range(25)]
    json_dir = tmp_path / "json"
    json_dir.mkdir()
    from src.pose.openpose_json import write_json_dir
    write_json_dir(json_dir, np.repeat(kp[None], 200, axis=0), "clip")
    rss = {}
    for n in (64, 200):
        video = tmp_path / f"clip{n}.mp4"
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=640x480:rate=25", "-frames:v", n,
               "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", video)
        rss[n] = peak_rss_mb("--video", video, "--out", tmp_path / f"out{n}", "--size",
                             "640x480", "--pose", "json", "--json-dir", json_dir)
        assert len(list_frames(tmp_path / f"out{n}" / "train" / "train_img")) == n
    assert rss[200] < rss[64] + 30, rss


# ----------------------------------------------------------------------------- the window

def test_crop_window_centres_the_person_inside_the_video():
    w = choose_window((1920, 1080), (1024, 512), (1500, 200, 1700, 900))
    # The largest 2:1 window inside 1920x1080 is 1920x960: full width, centred on the person.
    assert (w.x1 - w.x0, w.y1 - w.y0) == (1920, 960)
    assert w.x0 == 0 and 0 <= w.y0 <= 120
    portrait = choose_window((1080, 1920), (512, 512), (400, 1200, 700, 1300))
    assert (portrait.x0, portrait.x1) == (0, 1080) and portrait.y1 - portrait.y0 == 1080
    assert portrait.y0 <= 1250 - 540 + 1 and portrait.y1 >= 1300     # around the person


def test_window_grows_and_pads_when_the_person_does_not_fit():
    # A tall person in a wide-screen video with a square output: the 1080x1080 crop is too
    # narrow for outstretched arms 1500 px wide.
    w = choose_window((1920, 1080), (512, 512), (200, 100, 1700, 1000))
    assert w.x1 - w.x0 >= 1500 + 2 * 0.1 * 900 - 1 and w.x1 - w.x0 == w.y1 - w.y0
    assert w.x0 >= 0 and w.x1 <= 1920 and w.y0 < 0 < 1080 < w.y1   # padded above and below
    crop = choose_window((1920, 1080), (512, 512), (200, 100, 1700, 1000), fit="crop")
    assert (crop.x1 - crop.x0, crop.y0, crop.y1) == (1080, 0, 1080)
    nobody = choose_window((1920, 1080), (512, 512), None, fit="crop")
    assert nobody.crop == (420, 0, 1500, 1080)                        # centred
    pad = choose_window((1920, 1080), (512, 512), fit="pad")
    assert pad.crop == (0, -420, 1920, 1500)
    assert choose_window((640, 480), (640, 480)).crop == (0, 0, 640, 480)


def test_cutter_pads_with_the_colour_and_points_map_both_ways():
    window = CropWindow(-50, 0, 150, 100, (100, 100), (400, 200))
    frame = np.zeros((100, 100, 3), np.uint8)
    frame[:, :, 1] = 200
    out = FrameCutter(window, pad_color=(10, 20, 30))(frame)
    assert out.shape == (200, 400, 3)
    assert (out[:, :98] == (10, 20, 30)).all() and (out[:, 302:] == (10, 20, 30)).all()
    assert (out[:, 102:298] == (0, 200, 0)).all()
    kps = np.array([[[0, 0, 1], [99, 99, 0.5], [7, 7, 0]]], np.float32)
    mapped = window.to_frame(kps)
    np.testing.assert_allclose(mapped[0, 0, :2], [100.5, 0.5])   # pixel centres scale by 2
    assert (mapped[0, 2] == 0).all()                             # missing points stay zeros
    np.testing.assert_allclose(window.to_video(mapped)[0, :2], kps[0, :2], atol=1e-4)


def test_parse_size():
    assert parse_size("1024x512") == (1024, 512)
    assert parse_size("auto") is None and parse_size("AUTO") is None
    assert auto_size((1080, 1920)) == (512, 1024)     # portrait phone clip
    assert auto_size((1920, 1080)) == (1024, 512)
    assert auto_size((720, 720)) == (1024, 512)
    for bad in ("1024", "axb", "1023x512", "8x8"):
        with pytest.raises(UserError, match="--size"):
            parse_size(bad)


def test_read_ahead_hands_on_errors_and_stops_early():
    def items():
        yield 1
        yield 2
        raise UserError("boom")

    got = []
    with pytest.raises(UserError, match="boom"):
        for item in read_ahead(items(), 1):
            got.append(item)
    assert got == [1, 2]
    for item in read_ahead(iter(range(1000)), 2):
        if item == 3:
            break



def test_read_ahead_does_not_hang_when_the_consumer_fails_near_the_end():
    # 5 items, depth 4: the reader is blocked on its end marker when the consumer raises.
    result = {}

    def consume():
        try:
            for _ in read_ahead(iter(range(5)), 4):
                time.sleep(0.3)   # the reader fills the queue meanwhile
                raise RuntimeError("detector failed")
        except RuntimeError as err:
            result["error"] = str(err)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "read_ahead hung after the consumer failed"
    assert result == {"error": "detector failed"}


def test_default_size_follows_a_portrait_videos_orientation(tmp_path):
    video = tmp_path / "phone.mp4"
    gt = make_dancer_video(video, "target", 3, size=(180, 320), fps=15, seed=2)
    json_dir = tmp_path / "json"
    from src.pose.openpose_json import write_json_dir
    write_json_dir(json_dir, gt.keypoints, "phone")
    proc = ok(run_script("make_target.py", "--video", video, "--out", tmp_path / "out",
                         "--pose", "json", "--json-dir", json_dir))
    assert "size 512x1024" in proc.stderr and "portrait" in proc.stderr
    frames = list_frames(tmp_path / "out" / "train" / "train_img")
    assert len(frames) == 3 and read_image(frames[0]).shape == (1024, 512, 3)
    track = PoseTrack.load(tmp_path / "out" / "keypoints.npz")
    assert tuple(track.size) == (512, 1024)
    # The person keeps most of the frame's height (1024x512 would scale by 512 / 320 at most).
    body = track.keypoints[0, BODY]
    body = body[body[:, 2] > 0]
    gt_body = gt.keypoints[0, BODY]
    gt_body = gt_body[gt_body[:, 2] > 0]
    ratio = np.ptp(body[:, 1]) / np.ptp(gt_body[:, 1])
    assert 0.85 * 1024 / 320 < ratio <= 1024 / 320 + 0.01


def test_a_track_that_switches_person_is_reported_with_its_frames(dancer, tmp_path):
    video, gt = dancer
    kps = gt.keypoints[:20].copy()
    present = kps[..., 2] > 0
    kps[8:14, :, 0] = np.where(present[8:14], kps[8:14, :, 0] + 180, 0)   # someone beside
    from src.pose.openpose_json import write_json_dir
    write_json_dir(tmp_path / "json", kps, "dance")
    proc = ok(run_script("make_target.py", "--video", video, "--out", tmp_path / "out",
                         "--size", "512x256", "--pose", "json", "--json-dir", tmp_path / "json",
                         "--max-frames", 20))
    warnings = [line for line in proc.stderr.splitlines() if "another person" in line]
    assert len(warnings) == 1 and str(video) in warnings[0]
    assert "frame 8, 14 " in warnings[0]
