"""bench/still_reenact.py's choice of the arms-down photo, on hand-made poses."""
import importlib.util
import os

import numpy as np

from src.pose.keypoints import B, N_POINTS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_bench():
    spec = importlib.util.spec_from_file_location(
        "still_reenact", os.path.join(ROOT, "bench", "still_reenact.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pose(wrist_rows, hip_row=100.0, neck=(50.0, 50.0), mid_hip=(50.0, 100.0), facing=True):
    """A pose with the neck, mid-hip, hips, shoulders and wrists placed (all else missing)."""
    kp = np.zeros((N_POINTS, 3), np.float32)
    right, left = (40.0, 60.0) if facing else (60.0, 40.0)  # a back view swaps the sides
    points = {"Neck": neck, "MidHip": mid_hip, "RHip": (right, hip_row), "LHip": (left, hip_row),
              "RShoulder": (right - 5, neck[1]), "LShoulder": (left + 5, neck[1]),
              "RWrist": (right - 10, wrist_rows[0]), "LWrist": (left + 10, wrist_rows[1])}
    for name, (x, y) in points.items():
        kp[B[name]] = (x, y, 1.0)
    return kp


def test_arms_down_order_by_wrists_below_hips_over_torso():
    bench = load_bench()
    kps = np.stack([
        pose((120, 120)),                        # 0: wrists 20 below the hips, torso 50: 0.4
        pose((50, 50)),                          # 1: arms up, wrists 50 above: -1.0
        pose((110, 120)),                        # 2: 15 below over 50: 0.3
        # 3: 20 below, but the torso is 100 long (neck at row 0): 0.2
        pose((120, 120), neck=(50.0, 0.0)),
        pose((130, 130), facing=False),          # 4: lowest of all, but seen from behind
        pose((130, 130)),                        # 5: 30 below over 50: 0.6
        pose((120, 120)),                        # 6: 0.4, as frame 0 (the earlier comes first)
    ])
    assert bench.arms_down_order(kps, range(7)) == [5, 0, 6, 2, 3, 1]
    assert bench.arms_down_order(kps, [2, 3, 4]) == [2, 3]


def test_arms_down_order_skips_frames_without_a_wrist():
    bench = load_bench()
    kps = np.stack([pose((130, 130)), pose((120, 120))])
    kps[0, B["RWrist"]] = 0                      # a wrist not found: frame 0 cannot be judged
    assert bench.arms_down_order(kps, range(2)) == [1]
