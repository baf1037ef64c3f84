"""Pose normalization: the math on synthetic keypoints, and the normalization.py stage."""
import os
import subprocess
import sys

import numpy as np
import pytest

from src.errors import UserError
from src.io.files import read_image, write_image
from src.normalize import maths as norm
from src.normalize.stage import run
from src.pose.keypoints import B, FACE, LHAND, N_POINTS, PoseTrack

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_SIZE = (256, 128)


def person(cx, ankle_row, height):
    """A standing figure (137, 3): ankles on `ankle_row` around x = cx, nose `height` above."""
    kp = np.zeros((N_POINTS, 3), np.float32)
    body = {  # (dx, dy) as fractions of the height, from the ankles' midpoint
        "Nose": (0, -1.0), "Neck": (0, -0.85), "RShoulder": (-0.12, -0.82),
        "LShoulder": (0.12, -0.82), "RElbow": (-0.2, -0.65), "LElbow": (0.2, -0.65),
        "RWrist": (-0.22, -0.5), "LWrist": (0.22, -0.5), "MidHip": (0, -0.5),
        "RHip": (-0.07, -0.5), "LHip": (0.07, -0.5), "RKnee": (-0.08, -0.25),
        "LKnee": (0.08, -0.25), "RAnkle": (-0.1, 0.0), "LAnkle": (0.1, 0.0),
        "REar": (-0.04, -0.98), "LEar": (0.04, -0.98),
    }
    for name, (dx, dy) in body.items():
        kp[B[name]] = (cx + dx * height, ankle_row + dy * height, 0.9)
    kp[FACE] = (cx, ankle_row - 0.97 * height, 0.8)
    kp[FACE.start + 8] = (cx, ankle_row - 0.93 * height, 0.8)        # chin
    kp[LHAND] = (cx + 0.22 * height, ankle_row - 0.46 * height, 0.7)
    kp[LHAND.start + 8] = (cx + 0.23 * height, ankle_row - 0.42 * height, 0.7)
    return kp


def track(rows, heights, cx=None):
    cx = np.full(len(rows), 128.0) if cx is None else cx
    return np.stack([person(x, r, h) for x, r, h in zip(cx, rows, heights)])


def anchor_x(kps):
    return kps[:, [B["RAnkle"], B["LAnkle"]], 0].mean(1)


def walker(far, close, h_far, h_close, n_far=12, n_walk=10):
    """Stands at `far` for n_far frames, then walks to `close`; body height grows linearly."""
    rows = np.concatenate([np.full(n_far, far), np.linspace(far, close, n_walk)])
    return rows, h_far + (rows - far) / (close - far) * (h_close - h_far)


TARGET_ROWS, TARGET_HEIGHTS = walker(90.0, 120.0, 50.0, 70.0)
TARGET = track(TARGET_ROWS, TARGET_HEIGHTS)


def test_robust_far_ignores_jumps_and_heights_come_from_the_band():
    a = np.array([100, 100, 100, 110, 120, 60.0])  # 60: a jump
    h = np.array([40, 38, 40, 45, 50, 35.0])
    r = norm.fit_depth_range(a, h, band=0.5 / 40)
    assert (r.close, r.far, r.h_close, r.h_far) == (120, 100, 50, 40)


def test_source_scaled_by_k_and_shifted_gives_back_the_target_placement():
    k, shift = 0.5, np.array([40.0, -30.0])
    source = TARGET.copy()
    source[..., :2] = TARGET[..., :2] * k + shift
    res = norm.normalize(source, TARGET_SIZE, TARGET, TARGET_SIZE)
    np.testing.assert_allclose(res.params[:, 0], 1 / k, rtol=1e-6)
    assert res.mapping.scale_close == pytest.approx(1 / k)
    assert res.mapping.scale_far == pytest.approx(1 / k)
    out = res.keypoints
    # Same rows as the target (ankle line and every other point); horizontally the dancer keeps
    # the source's place (the paper moves vertically only) with the target's shape around it.
    np.testing.assert_allclose(out[..., 1], TARGET[..., 1], atol=1e-3)
    seen = TARGET[..., 2] > 0
    np.testing.assert_allclose((out[..., 0] - anchor_x(out)[:, None])[seen],
                               (TARGET[..., 0] - anchor_x(TARGET)[:, None])[seen], atol=1e-3)
    np.testing.assert_array_equal(out[..., 2], TARGET[..., 2])


def test_source_frame_of_another_size_is_converted_to_target_pixels():
    source = TARGET.copy()
    source[..., :2] *= 4  # the same person, filmed at 4x the resolution
    res = norm.normalize(source, (1024, 512), TARGET, TARGET_SIZE)
    np.testing.assert_allclose(res.keypoints[..., :2], TARGET[..., :2], atol=1e-3)
    # A narrower source frame is centred: 128 wide at the target's height -> 64 px margin.
    kp = norm.to_target_frame(person(64, 100, 50)[None], (128, 128), TARGET_SIZE)
    assert anchor_x(kp)[0] == pytest.approx(128)


def test_depth_interpolates_linearly_between_far_and_close():
    rows, heights = walker(60.0, 100.0, 30.0, 45.0)
    res = norm.normalize(track(rows, heights), TARGET_SIZE, TARGET, TARGET_SIZE)
    m = res.mapping
    assert (m.source.far, m.source.close, m.target.far, m.target.close) == (60, 100, 90, 120)
    assert not m.narrow
    p = (rows - 60) / 40
    np.testing.assert_allclose(res.mapped_ankle, 90 + p * 30, atol=1e-4)
    scale_far, scale_close = 50 / 30, 70 / 45
    np.testing.assert_allclose(res.params[:, 0], scale_far + p * (scale_close - scale_far), rtol=1e-6)
    # At both ends the normalized body has the target's height there.
    lows = res.keypoints[:, [B["RAnkle"], B["LAnkle"]], 1].max(1)
    np.testing.assert_allclose(lows, res.mapped_ankle, atol=1e-3)
    body_h = lows - res.keypoints[:, B["Nose"], 1]
    assert body_h[0] == pytest.approx(50, rel=1e-5) and body_h[-1] == pytest.approx(70, rel=1e-5)


def test_frames_without_ankles_use_the_nearest_frames_transform():
    rows, heights = walker(60.0, 100.0, 30.0, 45.0)
    source = track(rows, heights)
    source[15, [B["RAnkle"], B["LAnkle"]]] = 0   # ankles lost: nearest is frame 14 or 16
    source[21, [B["RAnkle"], B["LAnkle"]]] = 0   # the last frame: nearest is 20
    source[3] = 0                                # nobody detected
    res = norm.normalize(source, TARGET_SIZE, TARGET, TARGET_SIZE)
    assert np.isfinite(res.params).all()
    np.testing.assert_array_equal(res.params[21], res.params[20])
    assert any((res.params[15] == res.params[j]).all() for j in (14, 16))
    np.testing.assert_array_equal(res.keypoints[3], 0)
    missing = res.keypoints[15, [B["RAnkle"], B["LAnkle"]]]
    np.testing.assert_array_equal(missing, 0)  # missing points stay missing


def test_single_depth_source_lands_on_the_target_close_row_and_keeps_jumps():
    rows = np.full(20, 80.0)
    rows[7] = 70.0  # a 10-pixel jump
    res = norm.normalize(track(rows, np.full(20, 40.0)), TARGET_SIZE, TARGET, TARGET_SIZE)
    m = res.mapping
    assert m.single_depth and m.source.span == 0
    assert np.isfinite(res.keypoints).all()
    np.testing.assert_allclose(res.params[:, 0], 70 / 40)
    ground = np.arange(20) != 7
    np.testing.assert_allclose(res.mapped_ankle[ground], 120, atol=1e-4)
    assert res.mapped_ankle[7] == pytest.approx(120 - 10 * 70 / 40)


def test_narrow_source_range_maps_onto_part_of_the_target_range_at_body_scale():
    rows, heights = walker(95.0, 100.0, 39.0, 40.0)  # 5 px of depth; body 40 px
    res = norm.normalize(track(rows, heights), TARGET_SIZE, TARGET, TARGET_SIZE)
    m = res.mapping
    scale_close = 70 / 40
    assert m.narrow and m.scale_close == pytest.approx(scale_close)
    # 5 px at scale 1.75 is 8.75 px, ending on the target's close row (not stretched to 30 px).
    assert m.target_far == pytest.approx(120 - 5 * scale_close)
    assert res.mapped_ankle.max() == pytest.approx(120)
    assert res.mapped_ankle.min() == pytest.approx(120 - 5 * scale_close)
    # The target's height on that row (interpolated) sets the far scale.
    h_t = 50 + (m.target_far - 90) / 30 * 20
    assert m.scale_far == pytest.approx(h_t / m.source.h_far)


def test_no_ankle_anywhere_is_a_user_error():
    source = TARGET.copy()
    source[:, [B["RAnkle"], B["LAnkle"]]] = 0
    with pytest.raises(UserError, match="src.npz: no frame shows an ankle"):
        norm.normalize(source, TARGET_SIZE, TARGET, TARGET_SIZE, source_name="src.npz")


# --- the stage -------------------------------------------------------------------------------

def save_tracks(tmp_path, source, source_size=(128, 64), target=TARGET):
    src_dir, tgt_dir = tmp_path / "source", tmp_path / "target"
    PoseTrack(source, 30.0, source_size, (0, 0, *source_size), source_size, "synthetic").save(
        str(src_dir / "keypoints.npz"))
    PoseTrack(target, 25.0, TARGET_SIZE, (0, 0, *TARGET_SIZE), TARGET_SIZE, "synthetic").save(
        str(tgt_dir / "keypoints.npz"))
    return str(src_dir), str(tgt_dir)


def run_script(*args):
    return subprocess.run([sys.executable, "normalization.py", *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_stage_writes_labels_keypoints_heads_and_plot(tmp_path, capsys):
    rows, heights = walker(30.0, 50.0, 15.0, 22.0)  # in a 128x64 source frame
    src_dir, tgt_dir = save_tracks(tmp_path, track(rows, heights, np.full(len(rows), 64.0)))
    stale = os.path.join(src_dir, "test_label", "00040.png")
    write_image(stale, np.zeros((8, 8, 3), np.uint8))  # from an earlier, longer source

    res = run(src_dir, tgt_dir)
    assert "scale" in capsys.readouterr().out  # the fitted parameters are printed
    labels = sorted(os.listdir(os.path.join(src_dir, "test_label")))
    assert labels == [f"{i:05d}.png" for i in range(len(rows))]
    label = read_image(os.path.join(src_dir, "test_label", "00000.png"))
    assert label.shape == (128, 256, 3) and (label != 255).any()
    saved = PoseTrack.load(os.path.join(src_dir, "keypoints_norm.npz"))
    assert saved.backend == "normalized" and saved.size == TARGET_SIZE and saved.fps == 30
    np.testing.assert_allclose(saved.keypoints, res.keypoints)
    heads = np.load(os.path.join(src_dir, "pose_source_norm.npy"))
    assert heads.shape == (len(rows), 2) and heads.dtype == np.float32
    assert os.path.getsize(os.path.join(src_dir, "norm.png")) > 1000


def test_no_normalize_keeps_the_placement_at_the_target_size(tmp_path):
    source = track([50.0] * 3, [22.0] * 3, np.full(3, 64.0))
    src_dir, tgt_dir = save_tracks(tmp_path, source)
    proc = run_script("--source", src_dir, "--target", tgt_dir, "--no-normalize")
    assert proc.returncode == 0, proc.stderr
    saved = PoseTrack.load(os.path.join(src_dir, "keypoints_norm.npz"))
    np.testing.assert_allclose(saved.keypoints[..., :2], source[..., :2] * 2)  # 64 -> 128 high
    assert len(os.listdir(os.path.join(src_dir, "test_label"))) == 3
    assert read_image(os.path.join(src_dir, "test_label", "00002.png")).shape == (128, 256, 3)


def test_missing_keypoints_files_exit_2_naming_the_stage(tmp_path):
    proc = run_script("--source", str(tmp_path / "nope"), "--target", str(tmp_path / "t"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nope' / 'keypoints.npz'}: not found; run make_source.py first"]
    src_dir, _ = save_tracks(tmp_path, TARGET)
    with pytest.raises(UserError, match="run make_target.py first"):
        run(src_dir, str(tmp_path / "missing"))


def test_target_without_ankles_is_a_user_error(tmp_path):
    target = TARGET.copy()
    target[:, [B["RAnkle"], B["LAnkle"]]] = 0
    src_dir, tgt_dir = save_tracks(tmp_path, TARGET, target=target)
    with pytest.raises(UserError, match=r"target.keypoints\.npz: no frame shows an ankle"):
        run(src_dir, tgt_dir)
    assert not os.path.exists(os.path.join(src_dir, "keypoints_norm.npz"))


def test_one_ankle_missing_for_20_frames_does_not_move_the_figure():
    # A small source walking towards the camera (scale about 2), dancing on its left foot: the
    # right ankle is the lower one. It is lost for 20 frames, longer than gap filling covers.
    rows, heights = walker(50.0, 80.0, 25.0, 35.0, n_far=10, n_walk=40)
    complete = track(rows, heights, cx=np.linspace(100, 150, len(rows)))
    complete[:, B["LAnkle"], 1] -= 0.08 * heights           # the left foot is lifted
    lost = complete.copy()
    lost[20:40, B["RAnkle"]] = 0
    full = norm.normalize(complete, TARGET_SIZE, TARGET, TARGET_SIZE)
    part = norm.normalize(lost, TARGET_SIZE, TARGET, TARGET_SIZE)
    assert full.params[:, 0].max() > 1.9                    # the jump would be magnified
    seen = lost[..., 2] > 0
    moved = np.linalg.norm(part.keypoints[..., :2] - full.keypoints[..., :2], axis=-1)[seen]
    assert moved.max() < 0.5
    np.testing.assert_array_equal(part.keypoints[20:40, B["RAnkle"]], 0)   # still missing


def test_fill_one_ankle_uses_the_offset_between_the_ankles():
    ankles = np.zeros((5, 2, 3))
    ankles[:, 0] = [[10, 100, 1], [12, 101, 1], [14, 102, 1], [16, 103, 1], [18, 104, 1]]
    ankles[:, 1] = [[30, 90, 1], [0, 0, 0], [0, 0, 0], [38, 96, 1], [0, 0, 0]]
    ankles[2, 0] = 0                                         # frame 2: the left ankle only
    ankles[2, 1] = [33, 94, 0.5]
    filled = norm.fill_one_ankle(ankles)
    # Offsets left - right: (20, -10) at frame 0, (22, -7) at frame 3; linear in between.
    np.testing.assert_allclose(filled[1, 1], [12 + 20 + 2 / 3, 101 - 10 + 1, 1])
    np.testing.assert_allclose(filled[2, 0], [33 - 20 - 4 / 3, 94 + 10 - 2, 0.5])
    np.testing.assert_allclose(filled[4, 1], [18 + 22, 104 - 7, 1])      # held after the last
    np.testing.assert_array_equal(filled[[0, 3]], ankles[[0, 3]])
