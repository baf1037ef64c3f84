"""MediaPipe Holistic -> 137-point OpenPose layout, on fabricated landmarks with known values."""
import numpy as np
import pytest

from src.pose import mediapipe_backend as mpb
from src.pose.keypoints import B, FACE, LHAND, RHAND
from src.pose.mediapipe_backend import FACE_FROM_MESH, map_landmarks

SIZE = (400, 200)


def px(x, y):
    """Fractions of the image -> pixel coordinates (pixel centres on integers)."""
    return np.array([x * SIZE[0] - 0.5, y * SIZE[1] - 0.5])


def fabricated_pose(visibility=0.9):
    """33 landmarks: landmark i at x = (i + 1) / 40, y = (i + 1) / 50."""
    i = np.arange(33)
    return np.stack([(i + 1) / 40, (i + 1) / 50, np.full(33, visibility)], -1)


# MediaPipe Pose's published landmark ids (mediapipe.solutions.pose.PoseLandmark) and OpenPose's
# BODY_25 keypoint order (output format doc, POSE_BODY_25_BODY_PARTS), written out here.
MEDIAPIPE = {"nose": 0, "left_eye": 2, "right_eye": 5, "left_ear": 7, "right_ear": 8,
             "left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14,
             "left_wrist": 15, "right_wrist": 16, "left_hip": 23, "right_hip": 24,
             "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28,
             "left_heel": 29, "right_heel": 30, "left_foot_index": 31, "right_foot_index": 32}
BODY_25 = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
           "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye",
           "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"]
# (BODY_25 index, MediaPipe landmark id) for the points that are copied.
COPIED = [(0, 0), (2, 12), (3, 14), (4, 16), (5, 11), (6, 13), (7, 15), (9, 24), (10, 26),
          (11, 28), (12, 23), (13, 25), (14, 27), (15, 5), (16, 2), (17, 8), (18, 7),
          (19, 31), (21, 29), (22, 32), (24, 30)]


def test_the_literal_tables_agree_with_mediapipe_and_the_keypoint_layout():
    from mediapipe.python.solutions.pose import PoseLandmark
    from src.pose.keypoints import BODY_25_NAMES
    for name, i in MEDIAPIPE.items():
        assert PoseLandmark[name.upper()].value == i, name
    assert list(BODY_25_NAMES) == BODY_25


def test_body_points_are_copied_from_their_mediapipe_landmarks():
    pose = fabricated_pose()
    kp = map_landmarks(pose, None, None, None, SIZE)
    for body_index, landmark in COPIED:
        np.testing.assert_allclose(kp[body_index, :2], px(*pose[landmark, :2]), atol=1e-4,
                                   err_msg=BODY_25[body_index])
        assert kp[body_index, 2] == pytest.approx(0.9)
    # The same facts by name: a left/right or landmark mix-up shows here.
    for body, landmark in (("Nose", "nose"), ("RShoulder", "right_shoulder"),
                           ("LShoulder", "left_shoulder"), ("RWrist", "right_wrist"),
                           ("LHeel", "left_heel"), ("RBigToe", "right_foot_index"),
                           ("LAnkle", "left_ankle"), ("REar", "right_ear")):
        np.testing.assert_allclose(kp[BODY_25.index(body), :2],
                                   px(*pose[MEDIAPIPE[landmark], :2]), atol=1e-4)
    # Neck (1) and MidHip (8): mid-points of the shoulders 11, 12 and the hips 23, 24.
    np.testing.assert_allclose(kp[1, :2], (px(*pose[11, :2]) + px(*pose[12, :2])) / 2, atol=1e-4)
    np.testing.assert_allclose(kp[8, :2], (px(*pose[23, :2]) + px(*pose[24, :2])) / 2, atol=1e-4)
    assert (kp[25:, 2] == 0).all() and (kp[25:] == 0).all()


def test_small_toes_sit_behind_the_big_toe_on_the_outer_side():
    pose = fabricated_pose()
    # A person facing the camera: their left is the image's right.
    pose[23, :2], pose[24, :2] = (0.55, 0.5), (0.45, 0.5)      # hips
    pose[29, :2], pose[31, :2] = (0.55, 0.9), (0.55, 0.95)     # left heel, left foot tip
    pose[30, :2], pose[32, :2] = (0.45, 0.9), (0.45, 0.95)
    kp = map_landmarks(pose, None, None, None, SIZE)
    left_toe, right_toe = kp[B["LBigToe"], :2], kp[B["RBigToe"], :2]
    left_small, right_small = kp[B["LSmallToe"], :2], kp[B["RSmallToe"], :2]
    hips = px(0.55, 0.5) - px(0.45, 0.5)
    foot = px(0.55, 0.95) - px(0.55, 0.9)
    np.testing.assert_allclose(left_small, left_toe - mpb.SMALL_TOE_BACK * foot
                               + mpb.SMALL_TOE_SIDE * hips, atol=1e-4)
    assert left_small[0] > left_toe[0] and right_small[0] < right_toe[0]   # outer sides
    assert left_small[1] < left_toe[1]                                    # towards the heel


def test_low_visibility_points_are_missing_and_so_are_points_made_from_them():
    pose = fabricated_pose()
    pose[12, 2] = 0.3   # right shoulder hidden
    pose[27, 2] = 0.49  # left ankle just below the threshold
    pose[31, 2] = 0.2   # left foot tip
    kp = map_landmarks(pose, None, None, None, SIZE)
    for name in ("RShoulder", "Neck", "LAnkle", "LBigToe", "LSmallToe"):
        assert (kp[B[name]] == 0).all(), name
    assert kp[B["LShoulder"], 2] == pytest.approx(0.9)
    assert kp[B["RSmallToe"], 2] == pytest.approx(0.9)
    lenient = map_landmarks(pose, None, None, None, SIZE, visibility_threshold=0.25)
    assert lenient[B["RShoulder"], 2] == pytest.approx(0.3)
    assert lenient[B["Neck"], 2] == pytest.approx(0.3)   # the smaller of its two landmarks


def fabricated_mesh(n):
    """n mesh vertices with values that tell them apart: vertex v at (v / 1000, 1 - v / 1000)."""
    v = np.arange(n)
    return np.stack([v / 1000, 1 - v / 1000, np.zeros(n)], -1)


# Face: MediaPipe face-mesh vertices with a published meaning -> their iBUG-68 position (0-based,
# as OpenPose's face output): nose tip 1 -> 30, chin 152 -> 8, right eye outer / inner corner
# 33 / 133 -> 36 / 39, left eye inner / outer corner 362 / 263 -> 42 / 45, mouth corners right
# 61 -> 48 and left 291 -> 54. Iris centres 468 (right) and 473 (left) -> pupils 68, 69.
FACE_FACTS = [(30, 1), (8, 152), (36, 33), (39, 133), (42, 362), (45, 263), (48, 61), (54, 291),
              (68, 468), (69, 473)]


def test_face_points_at_their_ibug_positions_and_pupils_from_the_irises():
    kp = map_landmarks(None, fabricated_mesh(478), None, None, SIZE)
    face = kp[FACE]
    for ibug, vertex in FACE_FACTS:
        np.testing.assert_allclose(face[ibug, :2], px(vertex / 1000, 1 - vertex / 1000),
                                   atol=1e-4, err_msg=f"iBUG {ibug}")
    assert len({tuple(p) for p in face[:, :2].round(3).tolist()}) == 70   # all distinct vertices
    assert (face[:, 2] == 1).all()
    assert (kp[:25] == 0).all() and (kp[95:] == 0).all()


def test_without_iris_points_the_pupils_are_the_eye_centres():
    face = map_landmarks(None, fabricated_mesh(468), None, None, SIZE)[FACE]
    np.testing.assert_allclose(face[68, :2], face[36:42, :2].mean(0), atol=1e-4)
    np.testing.assert_allclose(face[69, :2], face[42:48, :2].mean(0), atol=1e-4)


def test_face_table_follows_the_documented_mediapipe_contours():
    from mediapipe.python.solutions import face_mesh_connections as fmc

    def vertices(edges):
        return {v for edge in edges for v in edge}

    table = np.array(FACE_FROM_MESH)
    assert len(set(table)) == 68 and table.max() < 468
    groups = [(slice(0, 17), fmc.FACEMESH_FACE_OVAL), (slice(17, 22), fmc.FACEMESH_RIGHT_EYEBROW),
              (slice(22, 27), fmc.FACEMESH_LEFT_EYEBROW), (slice(27, 36), fmc.FACEMESH_NOSE),
              (slice(36, 42), fmc.FACEMESH_RIGHT_EYE), (slice(42, 48), fmc.FACEMESH_LEFT_EYE),
              (slice(48, 68), fmc.FACEMESH_LIPS)]
    for part, edges in groups:
        assert set(table[part]) <= vertices(edges), part


def test_hands_are_copied_one_to_one_on_the_same_side():
    left = np.stack([np.linspace(0.1, 0.3, 21), np.linspace(0.5, 0.7, 21), np.zeros(21)], -1)
    right = left + [0.5, 0.0, 0.0]
    kp = map_landmarks(None, None, left, right, SIZE)
    np.testing.assert_allclose(kp[LHAND, :2], [px(x, y) for x, y, _ in left], atol=1e-4)
    np.testing.assert_allclose(kp[RHAND, :2], [px(x, y) for x, y, _ in right], atol=1e-4)
    assert (kp[LHAND, 2] == 1).all() and (kp[RHAND, 2] == 1).all()
    only_left = map_landmarks(None, None, left, None, SIZE)
    assert (only_left[RHAND] == 0).all() and (only_left[LHAND, 2] == 1).all()


def test_nothing_found_gives_all_zeros():
    kp = map_landmarks(None, None, None, None, SIZE)
    assert kp.shape == (137, 3) and kp.dtype == np.float32 and not kp.any()
