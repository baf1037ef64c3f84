"""A second look for a face that MediaPipe Holistic missed: Face Mesh on a crop around the head.

Holistic finds the face from the body's head landmarks and loses it easily when the head is
turned a quarter away from the camera, or small in the frame: on a dance video a third to a
half of the frames with a visible face come back without one. In training, a label without
face dots is a back view; the retry keeps "no face dots" meaning that.

The retry: when the body's nose and at least one eye are visible but no face was found, cut a
square around the head joints (RETRY_GROW x their spread on each side of their centre), resize
it to RETRY_SIDE pixels and run MediaPipe Face Mesh (its own face detector, static-image mode,
iris points on when the detector that asks uses them) on it. The mesh is accepted only when its nose tip lies within the head joints'
spread of the body's nose, so a second face in the crop (someone behind) is not taken. A back
view has no face for the detector to find, and stays without one.
"""
import cv2
import numpy as np

from src.pose.keypoints import B
from src.pose.quiet import QuietStderr

RETRY_SIDE = 192          # Face Mesh's own input size; smaller crops are upscaled to it
RETRY_GROW = 1.6          # crop half-side, in units of the head joints' spread
RETRY_MIN_HALF_SIDE = 8   # pixels: a crop never smaller than 16 px on a side
MESH_NOSE_TIP = 1         # Face Mesh vertex at the tip of the nose
HEAD_JOINTS = (B["Nose"], B["REye"], B["LEye"], B["REar"], B["LEar"])


def head_square(kp):
    """(x0, y0, half side) of the crop around the head joints of one (137, 3) pose, or None when
    the nose or both eyes are missing (the face cannot be towards the camera)."""
    seen = kp[list(HEAD_JOINTS), 2] > 0
    if not seen[0] or not seen[1:3].any():
        return None
    head = kp[list(HEAD_JOINTS)][seen, :2].astype(np.float64)
    spread = float(max(np.ptp(head[:, 0]), np.ptp(head[:, 1])))
    half = max(RETRY_GROW * spread, RETRY_MIN_HALF_SIDE)
    cx, cy = head.mean(axis=0)
    return cx - half, cy - half, half


def cut_square(rgb, x0, y0, half, side=RETRY_SIDE):
    """The square [x0, x0 + 2 * half] x [y0, y0 + 2 * half] of an image (in keypoint coordinates:
    pixel centres on integers), resized to side x side; parts beyond the image repeat its edge."""
    scale = side / (2 * half)
    # Image point x -> crop pixel (x - x0) * scale - 0.5: x0 is the crop's left edge.
    matrix = np.array([[scale, 0, -x0 * scale - 0.5],
                       [0, scale, -y0 * scale - 0.5]])
    return cv2.warpAffine(rgb, matrix, (side, side), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


class FaceRetry:
    """mesh(rgb, kp) -> the face Holistic missed, as Face Mesh vertices in pixels (see module)."""

    def __init__(self, iris=True):
        self.iris = iris  # off where the first look runs without the iris model (live mode, for speed)
        self._quiet = QuietStderr()
        self._mesh = None  # opened at the first retry: a video whose faces are all found never needs it

    def _model(self):
        if self._mesh is None:
            with self._quiet:
                from mediapipe.python.solutions import face_mesh
                self._mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                                refine_landmarks=self.iris)
        return self._mesh

    def mesh(self, rgb, kp):
        """Face Mesh vertices (478, or 468 without iris, 2) in pixels of rgb for the person of kp (137, 3), or None
        when the head is not towards the camera or no face near its nose is found."""
        square = head_square(kp)
        if square is None:
            return None
        x0, y0, half = square
        model = self._model()
        with self._quiet:
            result = model.process(np.ascontiguousarray(cut_square(rgb, x0, y0, half)))
        if not result.multi_face_landmarks:
            return None
        fractions = np.array([(p.x, p.y) for p in result.multi_face_landmarks[0].landmark])
        # Face Mesh gives fractions of the crop, from its left edge x0 (see cut_square).
        mesh = fractions * (2 * half) + [x0, y0]
        spread = half / RETRY_GROW
        if np.hypot(*(mesh[MESH_NOSE_TIP] - kp[B["Nose"], :2])) > spread:
            return None
        return mesh

    def close(self):
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None
        if self._quiet is not None:
            self._quiet.close()
            self._quiet = None
