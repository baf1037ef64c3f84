import os

import numpy as np
import pytest

from src.demo.data import (PERSONS, _background, dancer_pose, draw_dancer, gt_path, main,
                           make_dancer_video)
from src.errors import UserError
from src.io.video import VideoReader, has_audio
from src.pose.keypoints import B, PoseTrack

SIZE = (256, 128)


@pytest.fixture(scope="module")
def target_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "target.mp4"
    track = make_dancer_video(path, "target", 12, size=SIZE, fps=15)
    return path, track


def test_video_has_the_requested_frames_size_and_fps(target_clip):
    path, _ = target_clip
    reader = VideoReader(path)
    frames = list(reader)
    assert len(frames) == 12
    assert reader.size == SIZE and frames[0].shape == (128, 256, 3)
    assert reader.fps == pytest.approx(15)
    assert not has_audio(path)


def test_ground_truth_loads_as_a_pose_track(target_clip):
    path, track = target_clip
    assert os.path.basename(gt_path(path)) == "target_gt.npz"
    gt = PoseTrack.load(gt_path(path))
    assert gt.keypoints.shape == (12, 137, 3)
    np.testing.assert_allclose(gt.keypoints, track.keypoints)
    assert gt.backend == "synthetic" and gt.size == SIZE and gt.video_size == SIZE
    assert gt.crop == (0, 0, SIZE[0], SIZE[1]) and gt.fps == 15
    assert (gt.keypoints[..., 2] == 1).all()


def test_video_frames_show_the_person_at_the_ground_truth(target_clip):
    path, track = target_clip
    bg = _background(PERSONS["target"], SIZE).astype(int)
    for frame, kp in zip(VideoReader(path), track.keypoints):
        xy = np.round(kp[:25, :2]).astype(int)
        diff = np.abs(frame[xy[:, 1], xy[:, 0]].astype(int) - bg[xy[:, 1], xy[:, 0]]).sum(axis=1)
        assert (diff > 40).all()  # every body point is on the drawn person, not the wall/floor


@pytest.mark.parametrize("person", ["target", "source"])
def test_every_point_lies_on_the_drawn_person(person):
    bg = _background(PERSONS[person], SIZE).astype(int)
    for t in np.linspace(0, 19, 12):
        pose = dancer_pose(person, t, SIZE)
        img = draw_dancer(pose, SIZE, _background(PERSONS[person], SIZE)).astype(int)
        xy = np.round(pose.keypoints[:, :2]).astype(int)
        assert ((xy >= 0) & (xy < SIZE)).all()
        diff = np.abs(img[xy[:, 1], xy[:, 0]] - bg[xy[:, 1], xy[:, 0]]).sum(axis=1)
        assert (diff > 40).all(), np.flatnonzero(diff <= 40)


def test_skeleton_is_consistent():
    kp = dancer_pose("target", 3.0, (512, 256)).keypoints
    mid = lambda a, b: (kp[B[a], :2] + kp[B[b], :2]) / 2  # noqa: E731
    # Neck and mid-hip are the midpoints that a detector's mapping computes.
    np.testing.assert_allclose(kp[B["Neck"], :2], mid("RShoulder", "LShoulder"), atol=1e-3)
    np.testing.assert_allclose(kp[B["MidHip"], :2], mid("RHip", "LHip"), atol=1e-3)
    # The person's right side is on the image left; head above neck above hips above ankles.
    assert kp[B["RShoulder"], 0] < kp[B["LShoulder"], 0] and kp[B["REye"], 0] < kp[B["LEye"], 0]
    assert kp[25 + 36, 0] < kp[25 + 45, 0]  # right eye's outer corner left of the left eye's
    assert kp[B["Nose"], 1] < kp[B["Neck"], 1] < kp[B["MidHip"], 1] < kp[B["LKnee"], 1] < kp[B["LAnkle"], 1]
    np.testing.assert_allclose(kp[B["Nose"]], kp[25 + 30])
    np.testing.assert_allclose(kp[B["REye"]], kp[25 + 68])
    # About 75% of the frame height from the crown to the soles.
    height = (kp[:, 1].max() - kp[:, 1].min()) / 256
    assert 0.6 < height < 0.8


@pytest.mark.parametrize("person", ["target", "source"])
def test_motion_is_smooth_but_not_still(person):
    h = 256
    kps = np.stack([dancer_pose(person, i / 15, (512, h)).keypoints for i in range(150)])
    step = np.linalg.norm(np.diff(kps[:, :, :2], axis=0), axis=2)
    assert step.max() < 0.07 * h              # no jumps between frames at 15 fps
    accel = np.linalg.norm(np.diff(kps[:, :, :2], 2, axis=0), axis=2)
    assert accel.max() < 0.02 * h
    assert np.ptp(kps[:, B["LWrist"], :2], axis=0).max() > 0.15 * h   # the arms dance
    assert np.ptp(kps[:, B["MidHip"], 0]) > 0.05 * h                  # the body sways
    ankle_y = kps[:, [B["LAnkle"], B["RAnkle"]], 1]
    assert 0.005 * h < np.ptp(ankle_y) < 0.1 * h                       # feet lift a little


def test_source_and_target_differ():
    t, s = dancer_pose("target", 1.0, SIZE), dancer_pose("source", 1.0, SIZE)
    height = lambda kp: kp[:, 1].max() - kp[:, 1].min()  # noqa: E731
    assert height(s.keypoints) < 0.92 * height(t.keypoints)   # the source is smaller
    assert abs(s.keypoints[B["MidHip"], 0] - t.keypoints[B["MidHip"], 0]) > 5
    a, b = draw_dancer(t, SIZE), draw_dancer(s, SIZE)
    assert np.abs(a.astype(int) - b).mean() > 10
    # Different motions, not just a shifted copy.
    ts = np.stack([dancer_pose("target", i / 15, SIZE).keypoints for i in range(40)])
    ss = np.stack([dancer_pose("source", i / 15, SIZE).keypoints for i in range(40)])
    rel = lambda k: k[:, B["LWrist"], :2] - k[:, B["Neck"], :2]  # noqa: E731
    assert np.abs(rel(ts) - rel(ss)).mean() > 5


def test_audio_stream_when_asked(tmp_path):
    path = tmp_path / "source.mp4"
    track = make_dancer_video(path, "source", 8, size=(128, 64), fps=10, audio=True)
    assert has_audio(path) and len(track) == 8
    assert sum(1 for _ in VideoReader(path)) == 8
    # No temporary files left.
    assert sorted(os.listdir(tmp_path)) == ["source.mp4", "source_background.png", "source_gt.npz"]


def test_bad_arguments(tmp_path):
    with pytest.raises(UserError, match="unknown"):
        make_dancer_video(tmp_path / "x.mp4", "nobody", 5)
    with pytest.raises(UserError, match="n_frames"):
        make_dancer_video(tmp_path / "x.mp4", "target", 0)
    assert not os.listdir(tmp_path)


def test_command_line_writes_both_videos(tmp_path, capsys):
    main(["--out", str(tmp_path), "--frames-target", "4", "--frames-source", "3", "--size", "96x64"])
    assert sorted(os.listdir(tmp_path)) == ["source.mp4", "source_background.png", "source_gt.npz", "target.mp4",
                                            "target_background.png", "target_gt.npz"]
    assert len(PoseTrack.load(tmp_path / "source_gt.npz")) == 3
    assert has_audio(tmp_path / "source.mp4") and not has_audio(tmp_path / "target.mp4")
    with pytest.raises(SystemExit):
        main(["--size", "big"])
