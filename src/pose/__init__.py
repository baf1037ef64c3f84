"""Pose detectors ("backends") behind one interface, picked by name with make_backend().

A backend has `detect_batch(frames) -> (N, 137, 3)` float32 keypoints in the frames' pixels
(confidence 0 = missing; all zeros when nobody is found), a `batch_size` attribute (how many
frames it likes per call) and `close()`. Frames come in video order; backends may follow the
person from frame to frame, so use a fresh backend per video.

Backends are imported only when asked for: MediaPipe and torch are slow to import, and this
package is also imported by code that needs neither.
"""
from src.errors import UserError

BACKENDS = ("mediapipe", "openpose")


def make_backend(name, device="auto", weights=None, scales=None, video=True, segment=False,
                 face_retry=True):
    """A ready backend by name: "mediapipe" (default; CPU) or "openpose" (torch; `device`).

    weights: OpenPose weights file (None = the default location).
    scales: OpenPose multi-scale search, e.g. (0.5, 1, 1.5, 2) or "0.5,1" (None = its default).
    video: True when frames are consecutive video frames (lets MediaPipe track between them);
        False for unrelated frames, e.g. a few samples spread over a video.
    segment: also find the person's mask where the backend can (MediaPipe; its `segments` is then
        True and detect_batch_with_masks() gives the masks).
    face_retry: MediaPipe takes a second look for a face it missed (src/pose/face_retry.py).
    """
    if name == "mediapipe":
        from src.pose.mediapipe_backend import MediaPipeBackend
        return MediaPipeBackend(video=video, segment=segment, face_retry=face_retry)
    if name == "openpose":
        try:
            from src.pose.openpose_backend import OpenPoseBackend
        except ModuleNotFoundError as err:
            if err.name != "src.pose.openpose_backend":
                raise
            raise UserError("--pose openpose: the OpenPose backend (src/pose/openpose_backend.py) "
                            "is not in this version; use --pose mediapipe (the default) or "
                            "--pose json") from None
        options = {} if scales is None else {"scales": scales}
        return OpenPoseBackend(device=device, weights=weights, **options)
    raise UserError(f"--pose {name}: unknown pose backend; choose one of {', '.join(BACKENDS)}")
