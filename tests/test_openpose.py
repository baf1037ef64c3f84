"""OpenPose backend: PAF decoding on synthetic maps, weight files, network shapes, main person."""
import os

import numpy as np
import pytest
import torch

from src.errors import UserError
from src.pose import openpose_net, paf_decode
from src.pose.keypoints import B, N_POINTS
from src.pose.openpose_backend import OpenPoseBackend, parse_scales
from src.pose.people import MainPersonTracker, choose_main_person, coco18_to_137

torch.set_num_threads(1)
# The CMU COCO body model's outputs, as published with it (the OpenPose paper's code and
# pytorch-openpose), written out here so that the maps below do not come from the decoder:
# heatmap channels in COCO-18 order (channel 18 is the background) ...
COCO_ORDER = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
              "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar"]
J = {name: i for i, name in enumerate(COCO_ORDER)}
# ... and the limbs as (joint, joint) 1-based ("limbSeq") with the PAF channels of their x and y
# in the network's concatenated output, where the 19 heatmaps come first ("mapIdx").
LIMB_SEQ = [(2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12),
            (12, 13), (13, 14), (2, 1), (1, 15), (15, 17), (1, 16), (16, 18), (3, 17), (6, 18)]
MAP_IDX = [(31, 32), (39, 40), (33, 34), (35, 36), (41, 42), (43, 44), (19, 20), (21, 22),
           (23, 24), (25, 26), (27, 28), (29, 30), (47, 48), (49, 50), (53, 54), (51, 52),
           (55, 56), (37, 38), (45, 46)]
# A standing person: joint -> (x, y) as fractions of the height, from the top of the head.
STANDING = {"Nose": (0, .08), "Neck": (0, .18), "RShoulder": (-.10, .19), "RElbow": (-.14, .33),
            "RWrist": (-.16, .46), "LShoulder": (.10, .19), "LElbow": (.14, .33),
            "LWrist": (.16, .46), "RHip": (-.06, .50), "RKnee": (-.07, .72),
            "RAnkle": (-.08, .95), "LHip": (.06, .50), "LKnee": (.07, .72),
            "LAnkle": (.08, .95), "REye": (-.03, .06), "LEye": (.03, .06),
            "REar": (-.06, .07), "LEar": (.06, .07)}


def skeleton(cx, top, height, missing=(), arms_up=False, at=None):
    """(18, 3) COCO pose of a standing person at (cx, top), `height` pixels tall.

    arms_up mirrors both arms above the shoulders; `at` places chosen joints at given pixels,
    e.g. {"LWrist": (160, 20)}; `missing` joints get confidence 0.
    """
    kp = np.ones((18, 3), np.float32)
    for name, (x, y) in STANDING.items():
        kp[J[name], :2] = cx + x * height, top + y * height
    if arms_up:
        for side in "RL":
            shoulder = kp[J[side + "Shoulder"], :2].copy()
            for joint in ("Elbow", "Wrist"):
                offset = kp[J[side + joint], :2] - shoulder
                kp[J[side + joint], :2] = shoulder + offset * [1.3, -0.9]
    for name, xy in (at or {}).items():
        kp[J[name]] = *xy, 1.0
    for name in missing:
        kp[J[name]] = 0
    return kp


def render_maps(people, height, width, sigma=2.5, paf_half_width=2.5):
    """What a perfect network would output for `people`: heatmaps (19, H, W), PAFs (38, H, W).

    Heatmap: a Gaussian at each joint (the max over people), background 1 - max. PAF: the unit
    vector from the limb's first joint to its second on a band around the segment, averaged
    where people's bands of one limb overlap.
    """
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    heat = np.zeros((19, height, width), np.float32)
    paf_sum = np.zeros((38, height, width), np.float32)
    paf_count = np.zeros((38, height, width), np.float32)
    for kp in people:
        for j in range(18):
            if kp[j, 2] > 0:
                g = np.exp(-((xx - kp[j, 0]) ** 2 + (yy - kp[j, 1]) ** 2) / (2 * sigma ** 2))
                heat[j] = np.maximum(heat[j], g)
        for (a1, b1), (mx, my) in zip(LIMB_SEQ, MAP_IDX):
            a, b, cx, cy = a1 - 1, b1 - 1, mx - 19, my - 19
            if kp[a, 2] <= 0 or kp[b, 2] <= 0:
                continue
            d = kp[b, :2] - kp[a, :2]
            length = np.hypot(*d)
            u = d / length
            along = (xx - kp[a, 0]) * u[0] + (yy - kp[a, 1]) * u[1]
            across = (xx - kp[a, 0]) * u[1] - (yy - kp[a, 1]) * u[0]
            band = (along >= -1) & (along <= length + 1) & (np.abs(across) <= paf_half_width)
            paf_sum[cx][band] += u[0]
            paf_sum[cy][band] += u[1]
            paf_count[cx][band] += 1
            paf_count[cy][band] += 1
    heat[18] = 1 - heat[:18].max(axis=0)
    return heat, paf_sum / np.maximum(paf_count, 1)


def test_the_decoder_reads_the_published_channels():
    # A person whose limbs appear only in the PAF channels named by MAP_IDX is found whole.
    truth = [skeleton(40.5, 6.2, 100)]
    heat, paf = render_maps(truth, 115, 80)
    found = paf_decode.decode(heat, paf)
    assert len(found) == 1
    np.testing.assert_allclose(found[0].keypoints[:, :2], truth[0][:, :2], atol=0.1)
    # With the two forearms' channels swapped, both wrists lose their limb: the decoder reads
    # each limb from its published channels, not from wherever a field happens to be.
    swapped = paf.copy()
    swapped[[16, 17, 24, 25]] = paf[[24, 25, 16, 17]]      # right and left forearm
    (person,) = paf_decode.decode(heat, swapped)
    present = person.keypoints[:, 2] > 0
    assert not present[J["RWrist"]] and not present[J["LWrist"]]
    assert present.sum() == 16


def assert_recovered(truth, found, tol=1.5):
    """Every true person has its own decoded person, joint for joint within `tol` pixels."""
    assert len(found) == len(truth)
    used = set()
    for kp in truth:
        neck = kp[J["Neck"], :2]
        match = min(range(len(found)),
                    key=lambda i: np.linalg.norm(found[i].keypoints[J["Neck"], :2] - neck))
        assert match not in used, "two true people decoded as one"
        used.add(match)
        got = found[match].keypoints
        np.testing.assert_array_equal(got[:, 2] > 0, kp[:, 2] > 0)
        ok = kp[:, 2] > 0
        err = np.linalg.norm(got[ok, :2] - kp[ok, :2], axis=1)
        assert err.max() < tol, f"joint error {err.max():.2f} px"


# ---------------------------------------------------------------------------- decoding

def test_decode_one_person_subpixel():
    truth = [skeleton(60.3, 8.6, 140)]
    found = paf_decode.decode(*render_maps(truth, 160, 120))
    assert_recovered(truth, found, tol=0.1)
    assert found[0].score > 0.4


def test_decode_two_overlapping_people_stay_apart():
    # B stands partly in front of A with raised arms; A reaches across B's chest, A's left
    # wrist ending next to B's left elbow: nearer to it than B's own wrist is, so only the
    # PAF, not the distance, can tell whose wrist it is.
    truth = [skeleton(80.2, 10.4, 150, at={"LWrist": (147.3, 43.4)}),
             skeleton(118.7, 30.1, 125, arms_up=True)]
    found = paf_decode.decode(*render_maps(truth, 170, 200))
    assert_recovered(truth, found)


def test_decode_three_people_with_missing_limbs():
    truth = [skeleton(50, 12, 120, missing=("LElbow", "LWrist")),
             skeleton(130.5, 20.2, 110, missing=("REar", "LEar", "RAnkle")),
             skeleton(205.4, 12.7, 135, arms_up=True, missing=("RWrist", "Nose", "REye", "LEye",
                                                             "REar", "LEar"))]
    found = paf_decode.decode(*render_maps(truth, 150, 260))
    assert_recovered(truth, found)


def test_decode_empty_and_broken_maps():
    heat, paf = np.zeros((19, 40, 30), np.float32), np.zeros((38, 40, 30), np.float32)
    assert paf_decode.decode(heat, paf) == []
    heat[3, 10, 10] = np.nan
    assert paf_decode.decode(heat, paf) == []


def test_peaks_one_per_plateau_and_capped():
    hm = np.zeros((20, 20), np.float32)
    hm[5, 5:7] = 0.8                        # a two-pixel plateau: one peak
    hm[15, 15] = 0.5
    hm[2, 15] = 0.05                        # below the threshold
    peaks = paf_decode.find_peaks(hm, threshold=0.1)
    assert len(peaks) == 2 and peaks[0, 2] == pytest.approx(0.8)
    assert len(paf_decode.find_peaks(np.random.default_rng(0).random((30, 30)), 0.1, 5)) == 5


# ---------------------------------------------------------------------------- weight files

def random_state_dict(layout, scale=0.01, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=gen) * scale
            for k, shape in openpose_net.expected_shapes(layout).items()}


@pytest.fixture(scope="module")
def rtpose_file(tmp_path_factory):
    """A pose_model.pth-style file of small random weights (saved with a DataParallel prefix)."""
    state = random_state_dict("rtpose")
    path = tmp_path_factory.mktemp("weights") / "pose_model.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    return path, state


def test_rtpose_layout_loads(rtpose_file):
    path, state = rtpose_file
    assert len(state) == 184
    net = openpose_net.load_network(path)
    assert torch.equal(net.conv1_1.weight, state["model0.0.weight"])
    assert torch.equal(net.conv4_4_CPM.bias, state["model0.25.bias"])
    assert torch.equal(net.conv5_5_CPM_L1.weight, state["model1_1.8.weight"])
    assert torch.equal(net.Mconv1_stage2_L2.weight, state["model2_2.0.weight"])
    assert torch.equal(net.Mconv7_stage6_L2.bias, state["model6_2.12.bias"])


def test_pytorch_openpose_layout_loads(tmp_path):
    state = random_state_dict("pytorch-openpose", seed=1)
    assert len(state) == 184 and "Mconv7_stage6_L1.weight" in state
    assert state["conv5_5_CPM_L2.weight"].shape == (19, 512, 1, 1)
    path = tmp_path / "body_pose_model.pth"
    torch.save(state, path)
    net = openpose_net.load_network(path)
    for name, tensor in state.items():
        assert torch.equal(net.state_dict()[name], tensor), name


def _cheap_state(layout):
    # Expanded scalars: the right shapes without 200 MB on disk (only the shapes are checked).
    return {k: torch.zeros(()).expand(shape)
            for k, shape in openpose_net.expected_shapes(layout).items()}


def test_missing_and_misshapen_keys_are_named(tmp_path):
    state = _cheap_state("rtpose")
    del state["model3_1.4.weight"]
    state["model0.2.weight"] = torch.zeros(()).expand(64, 3, 3, 3)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(UserError) as err:
        openpose_net.load_state_dict(path)
    msg = str(err.value)
    assert str(path) in msg and "rtpose" in msg
    assert "1 missing: model3_1.4.weight" in msg
    assert "wrong shape: model0.2.weight (64, 3, 3, 3) (expected (64, 64, 3, 3))" in msg


def test_unrelated_or_unreadable_file_is_a_clear_error(tmp_path):
    other = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, other)
    with pytest.raises(UserError, match="other.pth: not an OpenPose body model"):
        openpose_net.load_state_dict(other)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(UserError, match="junk.pth: not a readable PyTorch weight file"):
        openpose_net.load_state_dict(junk)


def test_missing_weights_say_where_to_put_them(tmp_path):
    with pytest.raises(UserError) as err:
        OpenPoseBackend(device="cpu", weights=tmp_path / "nope.pth")
    msg = str(err.value)
    assert "nope.pth: OpenPose weights not found" in msg
    assert "--weights" in msg and "--pose mediapipe" in msg and "needs no weight file" in msg
    if not os.path.exists(os.path.dirname(openpose_net.DEFAULT_WEIGHTS)) or not any(
            f.endswith(".pth") for f in os.listdir(os.path.dirname(openpose_net.DEFAULT_WEIGHTS))):
        with pytest.raises(UserError, match="src/pose/pose_model.pth"):
            OpenPoseBackend(device="cpu")


# ---------------------------------------------------------------------------- network

@pytest.mark.parametrize("h, w", [(64, 48), (40, 96), (8, 8)])
def test_network_output_shapes(rtpose_file, h, w):
    net = openpose_net.load_network(rtpose_file[0])
    with torch.inference_mode():
        paf, heat = net(torch.zeros(2, 3, h, w))
    assert paf.shape == (2, 38, h // 8, w // 8)
    assert heat.shape == (2, 19, h // 8, w // 8)


def test_backend_on_random_weights_finds_nobody(rtpose_file):
    backend = OpenPoseBackend(device="cpu", weights=rtpose_file[0], scales="0.2,0.25")
    assert backend.network_maps([np.zeros((60, 80, 3), np.uint8)]).shape == (1, 57, 368, 491)
    # Frames of two sizes in one call (each size gets its own pass).
    out = backend.detect_batch([np.full((60, 80, 3), 200, np.uint8),
                                np.zeros((30, 50, 3), np.uint8)])
    assert out.shape == (2, N_POINTS, 3) and out.dtype == np.float32 and not out.any()
    assert backend.batch_size == 1
    backend.close()


def test_scales_flag_parsing():
    assert parse_scales("0.5, 1,1.5,2") == (0.5, 1.0, 1.5, 2.0)
    assert parse_scales([1]) == (1.0,)
    for bad in ("", "a,b", "0", "-1,1", [10]):
        with pytest.raises(UserError, match="--scales"):
            parse_scales(bad)


# ---------------------------------------------------------------------------- main person

def test_main_person_is_largest_and_central():
    small_side = skeleton(20, 10, 60)
    big_centre = skeleton(100, 10, 150)
    assert choose_main_person([small_side, big_centre], (200, 170)) == 1
    assert choose_main_person([], (200, 170)) is None


def test_main_person_keeps_identity_across_frames():
    tracker = MainPersonTracker(forget_after=2)
    a = lambda x, h: skeleton(x, 10, h)            # noqa: E731  (person A drifting right)
    b = lambda x, h: skeleton(x, 5, h)             # noqa: E731  (person B walking closer)
    frames = [[a(60, 120), b(150, 80)],
              [b(140, 130), a(63, 118)],           # B now larger and listed first: still A
              [a(66, 116), b(120, 150)],
              [b(118, 150)],                       # A left the frame: B
              ]
    picks = [tracker.update(people, (220, 180)) for people in frames]
    assert picks == [0, 1, 0, 0]
    assert tracker.previous[J["Neck"], 0] == pytest.approx(118)
    # After more than forget_after empty frames the next pick starts afresh.
    for _ in range(3):
        assert tracker.update([], (220, 180)) is None
    assert tracker.update([a(20, 60), b(110, 140)], (220, 180)) == 1


# ---------------------------------------------------------------------------- COCO -> 137

def test_coco18_to_137_mapping():
    kp18 = np.zeros((18, 3), np.float32)
    for j in range(18):
        kp18[j] = 10 + j, 100 + j, 0.5 + j / 100
    out = coco18_to_137(kp18)
    assert out.shape == (N_POINTS, 3)
    # COCO-18 joint j -> BODY_25 index (OpenPose's two published orders; BODY_25 adds MidHip 8).
    coco_to_body25 = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    for j, body in enumerate(coco_to_body25):
        np.testing.assert_allclose(out[body], kp18[j])
    np.testing.assert_allclose(out[B["RHip"]], [18, 108, 0.58])
    np.testing.assert_allclose(out[B["LEar"]], [27, 117, 0.67])
    np.testing.assert_allclose(out[B["MidHip"]], [(18 + 21) / 2, (108 + 111) / 2, 0.58])
    assert not out[19:].any()                       # feet, face, hands: missing
    kp18[J["LHip"]] = 0
    out = coco18_to_137(kp18)
    assert not out[B["MidHip"]].any() and not out[B["LHip"]].any()


def test_detect_batch_maps_the_main_person_to_frame_pixels(rtpose_file, monkeypatch):
    """Decoded maps (at the 368 px high working size) come back in the frame's own pixels."""
    backend = OpenPoseBackend(device="cpu", weights=rtpose_file[0], scales=(1,))
    w, h = 160, 120
    big, small = skeleton(70.4, 8.2, 105), skeleton(135.6, 40.3, 60)
    map_w = round(w * 368 / h)

    def to_maps(kp):
        out = kp.copy()
        out[:, 0] = (kp[:, 0] + 0.5) * map_w / w - 0.5
        out[:, 1] = (kp[:, 1] + 0.5) * 368 / h - 0.5
        return out

    heat, paf = render_maps([to_maps(big), to_maps(small)], 368, map_w, sigma=6, paf_half_width=6)
    maps = np.concatenate([heat, paf])[None]
    monkeypatch.setattr(backend, "network_maps", lambda frames: np.repeat(maps, len(frames), 0))
    out = backend.detect_batch([np.zeros((h, w, 3), np.uint8)] * 2)
    want = coco18_to_137(big)
    for kp in out:
        np.testing.assert_array_equal(kp[:, 2] > 0, want[:, 2] > 0)
        assert np.abs(kp[:, :2] - want[:, :2]).max() < 0.5
    people = backend.detect_people([np.zeros((h, w, 3), np.uint8)])[0]
    assert len(people) == 2


# ---------------------------------------------------------------------------- the whole stage

@pytest.fixture(scope="module")
def drawn_clip(tmp_path_factory):
    """A 4-frame mp4 of a drawn figure waving one arm."""
    import cv2

    from src.io.video import VideoWriter

    clip = tmp_path_factory.mktemp("clip") / "clip.mp4"
    with VideoWriter(clip, fps=10, size=(128, 160)) as writer:
        for i in range(4):
            frame = np.full((160, 128, 3), 230, np.uint8)
            cv2.circle(frame, (64, 30), 12, (200, 160, 140), -1)
            cv2.line(frame, (64, 42), (64, 100), (40, 60, 160), 8)
            cv2.line(frame, (64, 55), (40, 80 - 8 * i), (200, 160, 140), 5)
            cv2.line(frame, (64, 55), (88, 80), (200, 160, 140), 5)
            for x in (54, 74):
                cv2.line(frame, (64, 100), (x, 150), (50, 50, 50), 6)
            writer.write(frame)
    return clip


def run_make_target(*args):
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # One thread: on a busy shared machine, threads waiting on each other make small
    # convolutions ten times slower.
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "make_target.py", *map(str, args)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_make_target_with_random_weights_reports_nobody(rtpose_file, drawn_clip, tmp_path):
    """`make_target.py --pose openpose --weights FILE` runs through and says nobody was found."""
    proc = run_make_target("--video", drawn_clip, "--out", tmp_path / "target",
                           "--pose", "openpose", "--weights", rtpose_file[0], "--scales", "0.2",
                           "--device", "cpu", "--size", "64x80")
    assert proc.returncode == 2, proc.stderr
    assert "nobody found in any of the 4 frames" in proc.stderr and "clip.mp4" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "target" / "keypoints.npz").exists()


def test_make_target_without_weights_file_says_where_to_put_it(drawn_clip, tmp_path):
    proc = run_make_target("--video", drawn_clip, "--out", tmp_path / "target",
                           "--pose", "openpose", "--weights", tmp_path / "pose_model.pth")
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "pose_model.pth: OpenPose weights not found" in lines[0]
    assert "--pose mediapipe" in lines[0] and "Traceback" not in proc.stderr
