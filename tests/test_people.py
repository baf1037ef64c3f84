"""Finding the frames where a pose track switches to another person (src/pose/people.py)."""
import numpy as np

from src.pose.keypoints import B, N_POINTS
from src.pose.people import identity_jumps


def figure(cx, feet, height, phase=0.0):
    """A dancer (137, 3): feet on row `feet` around x = cx, `height` pixels tall, arms swinging."""
    kp = np.zeros((N_POINTS, 3))
    swing = 0.15 * np.sin(phase)
    points = {"Nose": (0, -1.0), "Neck": (0, -0.85), "RShoulder": (-0.12, -0.83),
              "LShoulder": (0.12, -0.83), "RElbow": (-0.22, -0.68 + swing),
              "LElbow": (0.22, -0.68 - swing), "RWrist": (-0.3, -0.55 + 2 * swing),
              "LWrist": (0.3, -0.55 - 2 * swing), "MidHip": (0, -0.5), "RHip": (-0.07, -0.5),
              "LHip": (0.07, -0.5), "RKnee": (-0.08, -0.25), "LKnee": (0.08, -0.25),
              "RAnkle": (-0.1, 0.0), "LAnkle": (0.1, 0.0)}
    for name, (dx, dy) in points.items():
        kp[B[name]] = (cx + dx * height, feet + dy * height, 0.9)
    return kp


def dance(n, cx0=300.0, speed=4.0, height=200.0):
    """A dancer stepping sideways at `speed` px per frame and swinging the arms."""
    return np.stack([figure(cx0 + speed * t, 400, height, phase=0.5 * t) for t in range(n)])


def test_one_dancer_moving_briskly_has_no_jump():
    track = dance(60, speed=12.0)               # 12 px/frame for a 200 px dancer is fast
    track[30:33, [B["RWrist"], B["LWrist"], B["Nose"]]] = 0   # points drop out
    track[40] = 0                                             # a frame without anybody
    assert identity_jumps(track) == []


def test_a_switch_to_someone_beside_and_back_is_reported():
    track = dance(40)
    other = np.stack([figure(600 + 2 * t, 390, 190, phase=1.0 + 0.5 * t) for t in range(40)])
    track[15:25] = other[15:25]                # the detector follows the person beside
    assert identity_jumps(track) == [15, 25]


def test_a_smaller_person_at_the_same_place_is_reported():
    track = dance(30)
    for t in range(18, 30):                    # a child steps into the dancer's place
        track[t] = figure(300 + 4 * t, 400, 110, phase=0.5 * t)
    assert identity_jumps(track) == [18]


def test_too_few_shared_points_say_nothing():
    track = dance(3)
    track[1, 3:] = 0                           # frame 1 shows three points only
    track[2, :, :2] += 500                     # and frame 2 is elsewhere
    assert identity_jumps(track) == []
