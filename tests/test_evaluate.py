"""The evaluation script (src/evaluate/) on tiny synthetic target data and random checkpoints."""
import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import make_target_dir, random_checkpoint as tiny_checkpoint
from src.errors import UserError
from src.pose.keypoints import PoseTrack

torch.set_num_threads(1)

N_FRAMES, HOLDOUT = 10, 0.3   # frames 7, 8, 9 are held out
SHIFT = (3.0, 4.0)            # the stand-in detector is off by 5 px
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def random_checkpoint(folder, dataroot, holdout=HOLDOUT, seed=0, face=True):
    """checkpoints/<name>/latest.pt of an untrained 64x32 model (what FramePredictor reads),
    trained on `dataroot` with `holdout` as far as evaluation knows."""
    return tiny_checkpoint(folder, seed=seed, face=face, dataroot=str(dataroot), holdout=holdout,
                           face_n_downsample=3)


class ShiftedTruth:
    """Stand-in pose detector: the target's own keypoints of the held-out frames, moved by SHIFT.

    (MediaPipe finds nobody in 64x32 frames of an untrained model; see the last test.)
    """

    def __init__(self, keypoints):
        self.keypoints, self.next, self.batch_size = keypoints, 0, 2

    def detect_batch(self, frames):
        out = self.keypoints[self.next:self.next + len(frames)].copy()
        out[..., :2] += np.where(out[..., 2:] > 0, SHIFT, 0)
        self.next += len(frames)
        return out

    def close(self):
        pass


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """One run of `python -m src.evaluate` (in-process) comparing two random checkpoints."""
    tmp = tmp_path_factory.mktemp("eval")
    root = make_target_dir(tmp / "target", n=N_FRAMES, size=(64, 32))
    a = random_checkpoint(tmp / "ckpt" / "a", root, seed=0)
    b = random_checkpoint(tmp / "ckpt" / "b", root, seed=1, face=False)
    held_kps = PoseTrack.load(os.path.join(root, "keypoints.npz")).keypoints[7:]
    patch = pytest.MonkeyPatch()
    patch.setattr("src.evaluate.heldout.make_backend",
                  lambda name, device, video, face_retry: ShiftedTruth(held_kps))
    out = tmp / "out"
    from src.evaluate.cli import main
    import contextlib
    import io
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        main(["--name", a, "--compare", b, "--dataroot", root, "--device", "cpu", "--out", str(out)])
    patch.undo()
    return out, printed.getvalue(), root


def test_metrics_json_has_every_number_for_both_models(evaluated):
    out, _, root = evaluated
    report = json.loads((out / "metrics.json").read_text())
    assert report["frames"] == [7, 8, 9] and report["size"] == [64, 32] and report["holdout"] == HOLDOUT
    assert [r["name"] for r in report["runs"]] == ["a", "b"]
    for run in report["runs"]:
        for region in ("whole", "body", "face"):
            values = run["metrics"][region]
            assert values["frames"] == 3
            assert -1 < values["ssim"] < 1 and 0 < values["psnr"] < 100 and 0 < values["lpips"] < 2
            assert len(run["per_frame"][region]["lpips"]) == 3
        for group in ("body", "face", "all"):
            assert run["pose"][group]["distance"] == pytest.approx(5.0, abs=1e-4)
            assert run["pose"][group]["missed"] == 0.0
        assert run["pose"]["hands"] == {"distance": None, "missed": None, "points": 0}  # no hands drawn
    assert report["runs"][0]["has_face_model"] and not report["runs"][1]["has_face_model"]
    # two different random models give different images
    assert report["runs"][0]["metrics"]["whole"]["lpips"] != report["runs"][1]["metrics"]["whole"]["lpips"]


def test_face_before_refinement_is_measured_for_a_model_with_a_face_gan(evaluated):
    out, printed, _ = evaluated
    report = json.loads((out / "metrics.json").read_text())
    with_face, without = (r["metrics"]["face_unrefined"] for r in report["runs"])
    assert with_face["frames"] == 3 and 0 < with_face["lpips"] < 2
    # the face GAN (random here) changed the crop, so the two face numbers differ
    assert with_face["lpips"] != report["runs"][0]["metrics"]["face"]["lpips"]
    assert without["frames"] == 0 and without["lpips"] is None  # no face GAN: nothing to compare
    assert "face_unrefined LPIPS" in printed


def test_metrics_json_has_vgg_lpips_and_temporal_numbers(evaluated):
    out, _, _ = evaluated
    report = json.loads((out / "metrics.json").read_text())
    for run in report["runs"]:
        for region in ("whole", "body", "face"):
            values = run["metrics"][region]
            assert 0 < values["lpips_vgg"] < 2 and values["lpips_vgg"] != values["lpips"]
            assert len(run["per_frame"][region]["lpips_vgg"]) == 3
        temporal = run["temporal"]
        assert temporal["pairs"] == 2                       # frames 7-8 and 8-9
        assert len(temporal["per_pair"]["flicker"]) == len(temporal["per_pair"]["lpips_step"]) == 2
        assert temporal["flicker"] > 0 and temporal["lpips_step"] > 0 and temporal["tlp"] > 0
    # the synthetic target's frames: a person drawn on a flat, static background
    real = report["real_temporal"]
    assert real["flicker"] == 0.0 and real["per_pair"]["flicker"] == [0.0, 0.0]
    assert real["lpips_step"] > 0 and "tlp" not in real


def test_table_is_printed_side_by_side(evaluated):
    _, printed, _ = evaluated
    header = next(line for line in printed.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "a", "b", "real", "frames"]
    assert re.search(r"^face LPIPS \(lower is better\)\s+\d\.\d{4}\s+\d\.\d{4}", printed, re.M)
    assert re.search(r"^pose distance body \(px\)\s+5\.00\s+5\.00\s+5\.00$", printed, re.M)
    assert re.search(r"^body LPIPS-VGG \(lower is better\)\s+\d\.\d{4}\s+\d\.\d{4}$", printed, re.M)
    assert re.search(r"^tLP \(lower is better\)\s+\d\.\d{4}\s+\d\.\d{4}$", printed, re.M)
    assert re.search(r"^background flicker \(grey levels\)\s+\d+\.\d\d\s+\d+\.\d\d\s+0\.00$",
                     printed, re.M)


def test_html_page_links_only_files_that_exist(evaluated):
    out, _, _ = evaluated
    page = (out / "index.html").read_text()
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    images = [link for link in links if link.startswith("images/")]
    # 3 frames: 3 examples and the 3 frames again as the worst ones
    assert len(images) == 6 and "metrics.json" in links
    for link in links:
        assert (out / link).is_file(), link
    assert "tLP" in page and "LPIPS-VGG" in page and "background flicker" in page
    assert sorted(os.listdir(out / "images")) == sorted(os.path.basename(i) for i in images)
    import cv2
    strip = cv2.imread(str(out / images[0]))
    assert strip.shape == (32, 4 * 64 + 3 * 4, 3)  # label | a | b | real, 4 px apart


def test_held_out_frames_are_never_trained_on(tmp_path):
    from src.evaluate.heldout import evaluate
    from src.gan.dataset import split_indices
    for n, holdout in [(10, 0.3), (1000, 0.2), (7, 0.5)]:
        train, held = split_indices(n, holdout)
        assert not set(train) & set(held) and len(held) > 0
    root = make_target_dir(tmp_path / "target", n=N_FRAMES, size=(64, 32))
    ckpt = random_checkpoint(tmp_path / "ckpt" / "t", root, holdout=0.2)  # trained on frames 0-7
    with pytest.raises(UserError, match=r"trained on frames 0-7 .* include held-out frames 7-7"):
        evaluate(ckpt, dataroot=root, holdout=0.3, device="cpu", out_dir=str(tmp_path / "o"))
    everything = random_checkpoint(tmp_path / "ckpt" / "all", root, holdout=0.0)
    with pytest.raises(UserError, match="trained on every frame .*--holdout 0.2"):
        evaluate(everything, dataroot=root, device="cpu", out_dir=str(tmp_path / "o"))


def test_missing_inputs_are_user_errors(tmp_path):
    from src.evaluate.heldout import evaluate
    with pytest.raises(UserError, match="keypoints.npz: not found.*run make_target.py"):
        evaluate("t", dataroot=str(tmp_path / "nothing"), device="cpu")
    root = make_target_dir(tmp_path / "target", n=N_FRAMES, size=(64, 32))
    with pytest.raises(UserError, match="no checkpoint; .*python train_pose2vid.py --name nobody"):
        evaluate(str(tmp_path / "ckpt" / "nobody"), dataroot=root, device="cpu")
    ckpt = random_checkpoint(tmp_path / "ckpt" / "t", root)
    with pytest.raises(UserError, match="leaves no held-out frames of the 10"):
        evaluate(ckpt, dataroot=root, holdout=0.04, device="cpu")
    with pytest.raises(UserError, match="--max-frames 0"):
        evaluate(ckpt, dataroot=root, max_frames=0, device="cpu")


def test_command_line_error_is_one_line_and_exit_code_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "src.evaluate", "--dataroot", str(tmp_path / "none")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "run make_target.py" in proc.stderr


def test_with_the_real_mediapipe_detector(tmp_path):
    """The default detector runs on the generated frames; it finds nobody in untrained 64x32 output,
    which counts as every point missed (and no distance)."""
    from src.evaluate.heldout import evaluate
    root = make_target_dir(tmp_path / "target", n=N_FRAMES, size=(64, 32))
    ckpt = random_checkpoint(tmp_path / "ckpt" / "t", root)
    report = evaluate(ckpt, dataroot=root, device="cpu", max_frames=2, out_dir=str(tmp_path / "out"))
    assert report["frames"] == [7, 8]
    pose = report["runs"][0]["pose"]["all"]
    assert 0.0 <= pose["missed"] <= 1.0 and pose["points"] == 2 * (15 + 70)
    if pose["missed"] == 1.0:
        assert math.isnan(pose["distance"])
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["frames"] == [7, 8]


# --- --frames: generated frames without ground truth ----------------------------------------

FRAMES_SIZE = (64, 32)
# Present points span x 20..30, y 8..24: 16 px high, grown by 4 px -> the box x 16..34, y 4..28.
PERSON_POINTS = [(20, 8), (30, 24), (25, 16)]
OFFSETS = (0, 1, 4, 9)          # grey change 1, 3, 5 between the frames: flicker 3.0


def write_generated(folder, offsets=OFFSETS):
    """Frames 00000.png... of a flat-textured background that brightens by known steps, with a
    'person' of random pixels in the box; and their poses. Returns the keypoints file."""
    from src.io.files import frame_name, write_image
    rng = np.random.default_rng(0)
    w, h = FRAMES_SIZE
    base = rng.integers(20, 201, (h, w, 3)).astype(np.int16)
    for t, offset in enumerate(offsets):
        frame = base + offset
        frame[4:29, 16:35] = rng.integers(0, 256, (25, 19, 3))
        write_image(os.path.join(folder, frame_name(t)), frame.astype(np.uint8))
    kps = np.zeros((len(offsets) + 2, 137, 3), np.float32)  # the source may be longer than the frames
    for j, (x, y) in enumerate(PERSON_POINTS):
        kps[:, j] = (x, y, 1)
    path = os.path.join(os.path.dirname(folder), "keypoints_norm.npz")
    PoseTrack(keypoints=kps, fps=15, size=FRAMES_SIZE, crop=(0, 0, *FRAMES_SIZE), video_size=FRAMES_SIZE,
              backend="normalized").save(path)
    return path


def test_frames_mode_writes_the_flicker_of_generated_frames(tmp_path):
    import contextlib
    import io
    from src.evaluate.cli import main
    keypoints = write_generated(str(tmp_path / "result"))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        main(["--frames", str(tmp_path / "result"), "--keypoints", keypoints, "--device", "cpu"])
    out = tmp_path / "result" / "eval_frames"
    report = json.loads((out / "metrics.json").read_text())
    assert report["n_frames"] == 4 and report["size"] == [64, 32]
    temporal = report["temporal"]
    assert temporal["flicker"] == pytest.approx(3.0, abs=1e-9)
    assert temporal["per_pair"]["flicker"] == pytest.approx([1.0, 3.0, 5.0], abs=1e-9)
    assert temporal["pairs"] == 3 and len(temporal["per_pair"]["lpips_step"]) == 3
    assert temporal["lpips_step"] > 0 and "tlp" not in temporal
    assert re.search(r"^background flicker \(grey levels\)\s+3\.00$", printed.getvalue(), re.M)
    page = (out / "index.html").read_text()
    for link in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert (out / link).is_file(), link
    assert len(os.listdir(out / "images")) == 4


def test_frames_mode_still_frames_give_zero_flicker(tmp_path):
    from src.evaluate.frames import evaluate_frames
    keypoints = write_generated(str(tmp_path / "frames"), offsets=(5, 5, 5))
    report = evaluate_frames(str(tmp_path / "frames"), keypoints, device="cpu", out_dir=str(tmp_path / "o"))
    # the person's pixels change (random), the background does not
    assert report["temporal"]["flicker"] == 0.0
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["temporal"]["flicker"] == 0.0


@pytest.mark.parametrize("case, message", [
    ("no folder", r"missing: no such folder; pass --frames the folder of generated frames"),
    ("empty", r"empty: 0 PNG frames, but flicker needs at least 2 .*run transfer.py"),
    ("gap", r"00002.png: expected 00001.png here; .*without gaps"),
    ("no keypoints", r"nokp\.npz: not found; run normalization.py, or pass --keypoints"),
    ("too few poses", r"gen: 4 frames, but .*short\.npz has only 2 poses; pass --keypoints"),
])
def test_frames_mode_bad_input_is_a_user_error(tmp_path, case, message):
    from src.evaluate.frames import evaluate_frames
    from src.pose.keypoints import PoseTrack
    keypoints = write_generated(str(tmp_path / "gen"))
    frames = {"no folder": tmp_path / "missing", "empty": tmp_path / "empty"}.get(case, tmp_path / "gen")
    (tmp_path / "empty").mkdir()
    if case == "gap":
        os.remove(tmp_path / "gen" / "00001.png")
    if case == "no keypoints":
        keypoints = str(tmp_path / "nokp.npz")
    if case == "too few poses":
        track = PoseTrack.load(keypoints)
        track.keypoints = track.keypoints[:2]
        keypoints = str(tmp_path / "short.npz")
        track.save(keypoints)
    with pytest.raises(UserError, match=message):
        evaluate_frames(str(frames), keypoints, device="cpu")
    assert not (tmp_path / "gen" / "eval_frames").exists()   # nothing half-written


def test_frames_mode_command_line_error_is_one_line_and_exit_code_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "src.evaluate", "--frames", str(tmp_path / "missing"),
                           "--device", "cpu"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "missing: no such folder; pass --frames" in proc.stderr


class FaceEveryOtherFrame:
    """Stand-in detector: all 70 face points in frames 0, 2, 4..., none in the others; checks it is
    given the frames scaled up 4 times."""

    def __init__(self):
        self.seen, self.batch_size = 0, 1

    def detect_batch(self, frames):
        out = np.zeros((len(frames), 137, 3), np.float32)
        for k, frame in enumerate(frames):
            assert frame.shape == (4 * FRAMES_SIZE[1], 4 * FRAMES_SIZE[0], 3)
            if (self.seen + k) % 2 == 0:
                out[k, 25:95] = (1, 1, 1)
        self.seen += len(frames)
        return out

    def close(self):
        pass


def test_frames_mode_with_face_reports_the_face_rows(tmp_path, monkeypatch):
    import contextlib
    import io
    from src.evaluate.cli import main
    asked = []

    def make_backend(name, device, video, face_retry):
        asked.append(face_retry)
        return FaceEveryOtherFrame()

    monkeypatch.setattr("src.evaluate.heldout.make_backend", make_backend)
    keypoints = write_generated(str(tmp_path / "result"))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        main(["--frames", str(tmp_path / "result"), "--keypoints", keypoints, "--device", "cpu", "--face"])
    face = json.loads((tmp_path / "result" / "eval_frames" / "metrics.json").read_text())["face"]
    assert face["frames"] == 4 and face["hit_rate"] == 0.5      # frames 0 and 2 of 4
    assert len(face["per_frame"]["flicker"]) == 3 and len(face["per_frame"]["noise"]) == 4
    assert re.search(r"^face found by the detector\s+50\.0%$", printed.getvalue(), re.M)
    assert asked == [False]   # Holistic alone: no second look for the face
