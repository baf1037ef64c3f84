"""The second look for a missed face: the head crop's geometry, the mapping of Face Mesh's output
back to the frame, and its use in the MediaPipe backend (Face Mesh itself replaced by fakes whose
output is known; the real model only on an image with no face)."""
import types

import numpy as np
import pytest

from src.pose import face_retry
from src.pose.face_retry import FaceRetry, cut_square, head_square
from src.pose.keypoints import B, FACE


def head(nose=(100.0, 50.0), reye=(95.0, 45.0), leye=(105.0, 45.0), rear=None, lear=None):
    kp = np.zeros((137, 3), np.float32)
    for name, xy in (("Nose", nose), ("REye", reye), ("LEye", leye), ("REar", rear),
                     ("LEar", lear)):
        if xy is not None:
            kp[B[name]] = (*xy, 0.9)
    return kp


def test_head_square_is_centred_on_the_head_joints_and_grows_with_their_spread():
    # Joints (100, 50), (95, 45), (105, 45): centre (100, 46.667); spread max(10, 5) = 10;
    # half side 1.6 x 10 = 16.
    x0, y0, half = head_square(head())
    assert (x0, y0, half) == pytest.approx((84.0, 30.6667, 16.0), abs=1e-3)
    # With the ears at x = 88 and 112 the spread is 24: half side 38.4, centre x still 100.
    x0, y0, half = head_square(head(rear=(88.0, 48.0), lear=(112.0, 48.0)))
    assert half == pytest.approx(38.4)
    assert x0 == pytest.approx(100.0 - 38.4)


def test_a_tiny_head_still_gets_a_crop_of_16_pixels():
    assert head_square(head((10.0, 10.0), (10.5, 9.5), (11.0, 9.5)))[2] == 8


def test_no_crop_without_the_nose_or_without_both_eyes():
    assert head_square(head(nose=None)) is None
    assert head_square(head(reye=None, leye=None, rear=(90.0, 50.0), lear=(110.0, 50.0))) is None
    assert head_square(head(reye=None)) is not None   # one eye is enough (a profile)


def test_cut_square_at_scale_one_is_a_plain_crop():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 60, 3), np.uint8)
    # Pixels 10..29 span [9.5, 29.5] with pixel centres on integers.
    np.testing.assert_array_equal(cut_square(img, 9.5, 4.5, 10.0, side=20), img[5:25, 10:30])


def test_cut_square_upscales_about_the_right_point_and_repeats_the_edge():
    img = np.zeros((20, 20, 3), np.uint8)
    img[10, 12] = 255
    out = cut_square(img, 9.5, 7.5, 5.0, side=20)   # x 9.5..19.5, y 7.5..17.5, x2
    # Image x 12 -> crop (12 - 9.5) x 2 - 0.5 = 4.5; y 10 -> (10 - 7.5) x 2 - 0.5 = 4.5.
    grey = out[..., 0].astype(float)
    ys, xs = np.mgrid[:20, :20]
    assert (grey * xs).sum() / grey.sum() == pytest.approx(4.5)
    assert (grey * ys).sum() / grey.sum() == pytest.approx(4.5)
    # Beyond the image (x > 19.5) the last column repeats.
    img[:, 19] = 77
    assert (cut_square(img, 9.5, 7.5, 10.0, side=20)[:, -1] == 77).all()


class FakeMesh:
    """Face Mesh stand-in: every vertex at `fractions` (478, 2) of the crop it is given."""

    def __init__(self, fractions):
        self.fractions, self.seen = fractions, []

    def process(self, rgb):
        self.seen.append(rgb.shape)
        if self.fractions is None:
            return types.SimpleNamespace(multi_face_landmarks=None)
        points = [types.SimpleNamespace(x=x, y=y) for x, y in self.fractions]
        return types.SimpleNamespace(multi_face_landmarks=[types.SimpleNamespace(landmark=points)])


class Unquiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def retry_with(fractions):
    """A FaceRetry whose Face Mesh is FakeMesh(fractions)."""
    retry = FaceRetry.__new__(FaceRetry)
    retry._quiet, retry._mesh = Unquiet(), FakeMesh(fractions)
    return retry


def test_mesh_fractions_map_back_into_the_frame():
    fractions = np.full((478, 2), 0.5)
    fractions[face_retry.MESH_NOSE_TIP] = (0.5, 0.6)
    retry = retry_with(fractions)
    mesh = retry.mesh(np.zeros((100, 200, 3), np.uint8), head())
    assert retry._mesh.seen == [(192, 192, 3)]
    # The crop is [84, 116] x [30.667, 62.667]: fraction 0.5 is its centre (100, 46.667),
    # fraction 0.6 of 32 px is 19.2 px below its top, y 49.867.
    np.testing.assert_allclose(mesh[0], (100.0, 46.6667), atol=1e-3)
    np.testing.assert_allclose(mesh[face_retry.MESH_NOSE_TIP], (100.0, 49.8667), atol=1e-3)


def test_a_face_whose_nose_is_far_from_the_bodys_is_refused():
    # Nose tip at fraction 0.975 of the 32-px crop from x 84: (115.2, 46.667), 15.2 px right of
    # the body's nose (100, 50) and 3.3 px above it: 15.6 px, more than the head's spread, 10 px.
    fractions = np.full((478, 2), 0.5)
    fractions[face_retry.MESH_NOSE_TIP] = (0.975, 0.5)
    assert retry_with(fractions).mesh(np.zeros((100, 200, 3), np.uint8), head()) is None
    assert retry_with(None).mesh(np.zeros((100, 200, 3), np.uint8), head()) is None


def test_the_backend_fills_a_missing_face_from_the_retry_and_leaves_a_found_one():
    from src.pose.mediapipe_backend import MediaPipeBackend

    backend = MediaPipeBackend.__new__(MediaPipeBackend)
    backend.visibility_threshold, backend.segments = 0.5, False
    body = np.zeros((33, 3))
    body[[0, 2, 5], :] = [(0.5, 0.5, 0.99), (0.52, 0.48, 0.99), (0.48, 0.48, 0.99)]
    calls = []

    class Retry:
        def mesh(self, rgb, kp):
            calls.append(kp[B["Nose"], :2].copy())
            return np.tile([[30.0, 40.0]], (478, 1))

    def holistic(face):
        lm = [types.SimpleNamespace(x=x, y=y, visibility=v) for x, y, v in body]
        face_lm = None if face is None else types.SimpleNamespace(
            landmark=[types.SimpleNamespace(x=0.25, y=0.25) for _ in range(478)])
        return types.SimpleNamespace(
            process=lambda rgb: types.SimpleNamespace(
                pose_landmarks=types.SimpleNamespace(landmark=lm), face_landmarks=face_lm,
                left_hand_landmarks=None, right_hand_landmarks=None))

    backend._face_retry = Retry()
    backend._holistic = holistic(face=None)
    kp = backend.detect(np.zeros((100, 200, 3), np.uint8))
    # Nose at fraction (0.5, 0.5) of 200 x 100: pixel (99.5, 49.5).
    np.testing.assert_allclose(calls[0], (99.5, 49.5))
    np.testing.assert_allclose(kp[FACE, :2], np.tile([30.0, 40.0], (70, 1)))
    assert (kp[FACE, 2] == 1).all()

    backend._holistic = holistic(face=True)
    kp = backend.detect(np.zeros((100, 200, 3), np.uint8))
    assert len(calls) == 1   # Holistic's own face: no second look
    np.testing.assert_allclose(kp[FACE, :2], np.full((70, 2), (49.5, 24.5)))


def test_the_real_face_mesh_finds_no_face_in_a_blank_crop():
    retry = FaceRetry()
    try:
        assert retry.mesh(np.full((100, 200, 3), 128, np.uint8), head()) is None
    finally:
        retry.close()


def test_make_backend_turns_the_retry_on_by_default_and_off_when_asked():
    from src.pose import make_backend
    for flag, expected in ((None, True), (False, False)):
        backend = make_backend("mediapipe") if flag is None else make_backend("mediapipe",
                                                                              face_retry=flag)
        try:
            assert (backend._face_retry is not None) == expected
        finally:
            backend.close()


def test_the_retry_uses_iris_points_only_where_the_first_look_does(monkeypatch):
    # Live mode runs Holistic without the iris model for speed; its second look must not load it.
    from mediapipe.python.solutions import face_mesh
    from src.pose.mediapipe_backend import MediaPipeBackend
    opened = []

    class Recorder:
        def __init__(self, **kwargs):
            opened.append(kwargs["refine_landmarks"])

        def close(self):
            pass

    monkeypatch.setattr(face_mesh, "FaceMesh", Recorder)
    for refine in (True, False):
        backend = MediaPipeBackend(video=True, refine_face=refine)
        try:
            backend._face_retry._model()
        finally:
            backend.close()
    assert opened == [True, False]
