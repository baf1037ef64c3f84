"""`--pose mediapipe` (the default): MediaPipe Holistic, mapped onto the 137-point OpenPose layout.

MediaPipe Holistic (mediapipe 0.10.21, models inside the wheel, CPU) finds one person per frame:
33 body landmarks, a 468-point face mesh (478 with the iris points of refine_face_landmarks)
and 21 points per hand, as fractions of the image size. This module is the one place where
those are mapped onto OpenPose's BODY_25 + face 70 + hands 21 + 21 (see src/pose/keypoints.py).

Coordinates: MediaPipe's x = 0 and x = 1 are the left and right edges of the image, so a pixel
index is x * width - 0.5 (OpenPose puts pixel centres on integers).

Body (MediaPipe pose index -> BODY_25):
    Nose 0, REye 5, LEye 2, REar 8, LEar 7,
    RShoulder 12, RElbow 14, RWrist 16, LShoulder 11, LElbow 13, LWrist 15,
    RHip 24, RKnee 26, RAnkle 28, LHip 23, LKnee 25, LAnkle 27,
    LHeel 29, RHeel 30, LBigToe 31, RBigToe 32 (MediaPipe's "foot index" is the tip of the foot)
    Neck   = midpoint of the shoulders 11, 12;  MidHip = midpoint of the hips 23, 24.
    Small toes: MediaPipe has none. Approximated as the big toe moved back towards the heel by
    SMALL_TOE_BACK x the foot length and sideways, away from the body's midline, by
    SMALL_TOE_SIDE x the hip vector (right hip -> left hip for the left foot). The hip vector
    foreshortens as the body turns, so the offset shrinks in side views, as the real one does.
    Confidence: MediaPipe's visibility, set to 0 below VISIBILITY_THRESHOLD; a point made from
    several landmarks takes the smallest of their confidences.
Face: FACE_FROM_MESH below (the 68 iBUG points, picked along MediaPipe's face contours), then
    the pupils: iris centres 468 (right) and 473 (left) when the mesh has the iris points,
    else the mean of the six points of that eye. Confidence 1 when the face is found. A face
    Holistic misses gets a second look on a crop around the head (src/pose/face_retry.py).
Hands: 21 points 1:1 (same order: wrist, thumb, index, middle, ring, little finger); confidence
    1 when found. Holistic's "left hand" is the person's own left hand (it is found from the
    body's left wrist), which is OpenPose's left hand too; tests/test_pose_stage.py checks
    this on a synthetic figure with known sides.
"""
import cv2
import numpy as np

from src.pose.face_retry import FaceRetry
from src.pose.keypoints import B, FACE, LHAND, N_POINTS, RHAND
from src.pose.quiet import QuietStderr

VISIBILITY_THRESHOLD = 0.5
SMALL_TOE_BACK = 0.2
SMALL_TOE_SIDE = 0.15

# BODY_25 index -> MediaPipe pose index, for the points MediaPipe has directly.
BODY_FROM_POSE = {
    B["Nose"]: 0, B["REye"]: 5, B["LEye"]: 2, B["REar"]: 8, B["LEar"]: 7,
    B["RShoulder"]: 12, B["RElbow"]: 14, B["RWrist"]: 16,
    B["LShoulder"]: 11, B["LElbow"]: 13, B["LWrist"]: 15,
    B["RHip"]: 24, B["RKnee"]: 26, B["RAnkle"]: 28,
    B["LHip"]: 23, B["LKnee"]: 25, B["LAnkle"]: 27,
    B["LHeel"]: 29, B["RHeel"]: 30, B["LBigToe"]: 31, B["RBigToe"]: 32,
}
POSE_L_SHOULDER, POSE_R_SHOULDER, POSE_L_HIP, POSE_R_HIP = 11, 12, 23, 24

# The 68 iBUG face points (OpenPose face 0-67) -> MediaPipe face-mesh vertex. "Right" is the
# person's right (the image's left for a person facing the camera). Each group follows one
# MediaPipe contour (mediapipe.solutions.face_mesh_connections) in iBUG's direction; where the
# contour has more vertices than iBUG has points, vertices are taken at about even steps, and
# mirror-image iBUG points take mirror-image vertices.
FACE_FROM_MESH = (
    # 0-16 jaw, from the right side of the face (ear level) over the chin (8) to the left side:
    # the lower half of FACEMESH_FACE_OVAL, 234 ... 152 ... 454.
    234, 93, 132, 58, 172, 136, 150, 176, 152, 400, 379, 365, 397, 288, 361, 323, 454,
    # 17-21 right eyebrow, outer to inner, and 22-26 left eyebrow, inner to outer (the upper
    # edges of FACEMESH_RIGHT_EYEBROW / FACEMESH_LEFT_EYEBROW).
    70, 63, 105, 66, 107,
    336, 296, 334, 293, 300,
    # 27-30 nose bridge, top (between the eyes) to tip: every other vertex of the ridge
    # 168-6-197-195-5-4-1 of FACEMESH_NOSE.
    168, 197, 5, 1,
    # 31-35 bottom of the nose, right nostril wing over the septum (2) to the left one.
    98, 97, 2, 326, 327,
    # 36-41 right eye: outer corner 33, upper lid at 1/3 and 2/3, inner corner 133, lower lid
    # at 2/3 and 1/3 (FACEMESH_RIGHT_EYE); 42-47 left eye: inner corner 362, upper lid, outer
    # corner 263, lower lid (FACEMESH_LEFT_EYE).
    33, 160, 158, 133, 153, 144,
    362, 385, 387, 263, 373, 380,
    # 48-59 outer lips: right corner 61, upper lip to the left corner 291 (cupid's bow 37/267,
    # centre 0), lower lip back (centre 17).
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,
    # 60-67 inner lips: right corner 78, upper inner edge (centre 13), left corner 308, lower
    # inner edge (centre 14).
    78, 81, 13, 311, 308, 402, 14, 178,
)
assert len(FACE_FROM_MESH) == 68
IRIS_CENTRES = (468, 473)          # right, left pupil (present with refine_face_landmarks)
RIGHT_EYE_POINTS = slice(36, 42)   # iBUG points averaged for a pupil without iris landmarks
LEFT_EYE_POINTS = slice(42, 48)


def _to_pixels(xy, width, height):
    return np.stack([xy[:, 0] * width - 0.5, xy[:, 1] * height - 0.5], axis=1)


def _combine(points, confidences):
    """Mean of several (x, y) with the smallest confidence (0 if any is missing)."""
    return (*np.mean(points, axis=0), min(confidences))


def face_points(mesh):
    """Face Mesh vertices (468 or 478, 2) in pixels -> the 70 OpenPose face points (70, 2)."""
    points = np.zeros((70, 2))
    points[:68] = mesh[list(FACE_FROM_MESH)]
    if len(mesh) > max(IRIS_CENTRES):
        points[68:] = mesh[list(IRIS_CENTRES)]
    else:
        points[68] = points[RIGHT_EYE_POINTS].mean(axis=0)
        points[69] = points[LEFT_EYE_POINTS].mean(axis=0)
    return points


def map_landmarks(pose, face, left_hand, right_hand, size,
                  visibility_threshold=VISIBILITY_THRESHOLD):
    """MediaPipe Holistic landmarks -> one (137, 3) float32 pose in pixels of a `size` (w, h) image.

    pose: (33, 3) x, y (fractions of the image), visibility; face: (468 or 478, >=2) x, y;
    left_hand, right_hand: (21, >=2) x, y. Any of them may be None (not found).
    """
    width, height = size
    out = np.zeros((N_POINTS, 3), np.float32)
    if pose is not None:
        pose = np.asarray(pose, np.float64)
        xy = _to_pixels(pose[:, :2], width, height)
        conf = np.where(pose[:, 2] >= visibility_threshold, pose[:, 2], 0.0)
        for body_index, pose_index in BODY_FROM_POSE.items():
            out[body_index] = (*xy[pose_index], conf[pose_index])
        shoulders, hips = (POSE_L_SHOULDER, POSE_R_SHOULDER), (POSE_L_HIP, POSE_R_HIP)
        out[B["Neck"]] = _combine(xy[list(shoulders)], conf[list(shoulders)])
        out[B["MidHip"]] = _combine(xy[list(hips)], conf[list(hips)])
        hip_vector = xy[POSE_L_HIP] - xy[POSE_R_HIP]  # points to the person's left
        for toe, small, heel, side in (("LBigToe", "LSmallToe", "LHeel", 1.0),
                                       ("RBigToe", "RSmallToe", "RHeel", -1.0)):
            toe_xy, heel_xy = out[B[toe], :2], out[B[heel], :2]
            small_xy = (toe_xy - SMALL_TOE_BACK * (toe_xy - heel_xy)
                        + side * SMALL_TOE_SIDE * hip_vector)
            out[B[small]] = (*small_xy, min(out[B[toe], 2], out[B[heel], 2],
                                            conf[POSE_L_HIP], conf[POSE_R_HIP]))
    if face is not None:
        mesh = _to_pixels(np.asarray(face, np.float64)[:, :2], width, height)
        out[FACE, :2], out[FACE, 2] = face_points(mesh), 1.0
    for hand, part in ((left_hand, LHAND), (right_hand, RHAND)):
        if hand is not None:
            out[part, :2] = _to_pixels(np.asarray(hand, np.float64)[:, :2], width, height)
            out[part, 2] = 1.0
    out[out[:, 2] <= 0] = 0.0  # missing points are all zeros, as in OpenPose files
    return out


class Holistic:
    """The one MediaPipe Holistic set-up of the project, quiet on stderr: process(rgb) -> result.

    video=True runs it in tracking mode (static_image_mode=False): after the first frame it
    follows the person from the previous landmarks instead of running the person detector on
    every frame, which is both faster and steadier, and MediaPipe's own landmark filter
    (smooth_landmarks) is on; video=False looks at every image afresh (photos, sampled frames).
    model_complexity stays 1: the wheel ships only that body model (0 and 2 would be
    downloaded). refine_face adds the iris points for the pupils. segment=True also computes the
    person's segmentation mask (result.segmentation_mask, float in [0, 1], None when nobody is
    found; about 17% more time). warm_up starts the graph (which logs) on a blank frame now.
    """

    def __init__(self, video=True, segment=False, refine_face=True, warm_up=False):
        self._quiet = QuietStderr()
        with self._quiet:
            from mediapipe.python.solutions import holistic
            self._model = holistic.Holistic(
                static_image_mode=not video, model_complexity=1, smooth_landmarks=video,
                refine_face_landmarks=refine_face, enable_segmentation=segment)
            if warm_up:
                self._model.process(np.zeros((64, 64, 3), np.uint8))

    def process(self, rgb):
        with self._quiet:
            return self._model.process(np.ascontiguousarray(rgb))

    def close(self):
        if self._model is not None:
            self._model.close()
            self._model = None
            self._quiet.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def selfie_mask(rgb):
    """Person probability (H, W) float32 in [0, 1] from MediaPipe's selfie segmenter (its general
    model, in the wheel), quiet on stderr. It needs no pose, so it also marks a figure the pose
    detector does not see."""
    quiet = QuietStderr()
    try:
        with quiet:
            from mediapipe.python.solutions import selfie_segmentation
            with selfie_segmentation.SelfieSegmentation(model_selection=0) as model:
                return model.process(np.ascontiguousarray(rgb)).segmentation_mask
    finally:
        quiet.close()


def _landmarks(result, with_visibility=False):
    if result is None:
        return None
    if with_visibility:
        return np.array([(p.x, p.y, p.visibility) for p in result.landmark])
    return np.array([(p.x, p.y) for p in result.landmark])


def keypoints_of(result, size, visibility_threshold=VISIBILITY_THRESHOLD):
    """A Holistic result -> one (137, 3) pose in pixels of a `size` (w, h) image (map_landmarks);
    the result may come from a smaller copy of that image (landmarks are fractions of it)."""
    return map_landmarks(_landmarks(result.pose_landmarks, with_visibility=True),
                         _landmarks(result.face_landmarks), _landmarks(result.left_hand_landmarks),
                         _landmarks(result.right_hand_landmarks), size, visibility_threshold)


class MediaPipeBackend:
    """Pose backend "mediapipe": detect_batch(list of RGB frames) -> (N, 137, 3).

    video: consecutive frames of a video (Holistic's tracking mode), or unrelated images.
    segment=True also gives the person masks: use detect_batch_with_masks() then.
    face_retry=True takes a second look for a face Holistic missed (src/pose/face_retry.py).
    """
    name = "mediapipe"
    batch_size = 1  # Holistic takes one frame at a time

    def __init__(self, video=True, refine_face=True, visibility_threshold=VISIBILITY_THRESHOLD,
                 segment=False, face_retry=True):
        self.visibility_threshold = visibility_threshold
        self.segments = segment
        self._holistic = Holistic(video=video, segment=segment, refine_face=refine_face,
                                  warm_up=True)
        self._face_retry = FaceRetry(iris=refine_face) if face_retry else None

    def detect(self, frame):
        """One RGB uint8 frame (H, W, 3) -> (137, 3)."""
        return self._detect(frame)[0]

    def detect_batch_with_masks(self, frames):
        """(N, 137, 3) keypoints and N person masks (H, W) uint8, 255 = person (needs segment=True)."""
        found = [self._detect(frame) for frame in frames]
        kps = np.stack([k for k, _ in found]) if found else np.zeros((0, N_POINTS, 3), np.float32)
        return kps, [m for _, m in found]

    def _detect(self, frame):
        result = self._holistic.process(frame)
        mask = None
        if self.segments:
            seg = result.segmentation_mask  # float in [0, 1]; None when nobody is found
            # convertScaleAbs scales, rounds and saturates in one pass (a tenth of numpy's time).
            mask = (np.zeros(frame.shape[:2], np.uint8) if seg is None
                    else cv2.convertScaleAbs(seg, alpha=255))
        kp = keypoints_of(result, (frame.shape[1], frame.shape[0]), self.visibility_threshold)
        if self._face_retry is not None and kp[FACE, 2].max() == 0:
            mesh = self._face_retry.mesh(frame, kp)
            if mesh is not None:
                kp[FACE, :2], kp[FACE, 2] = face_points(mesh), 1.0
        return kp, mask

    def detect_batch(self, frames):
        if not len(frames):
            return np.zeros((0, N_POINTS, 3), np.float32)
        return np.stack([self.detect(frame) for frame in frames])

    def close(self):
        if self._holistic is not None:
            self._holistic.close()
            self._holistic = None
        if self._face_retry is not None:
            self._face_retry.close()
            self._face_retry = None
