"""The files the stages hand over: every stage, script and test asks here for a name.

    data/source/                 make_source.py
        mv.mp4                   the source video (a hard link or a copy), kept for its music
        test_img/00000.png...    processed frames
        test_label_ori/...       labels (stick figures) at the source's own frame size
        pose_source.npy          (T, 2) float32 head centres
        keypoints.npz            the poses (PoseTrack), written LAST
                                 normalization.py, into the same folder:
        test_label/00000.png...  labels placed like the target's, at the target's frame size
        pose_source_norm.npy     (T, 2) float32 head centres of those labels (for the face crop)
        norm.png                 plot of ankle rows and scale over time
        keypoints_norm.npz       the normalized poses, written LAST
    data/target/                 make_target.py
        mv.mp4                   the target video make_target.py reads by default
        train/train_img/...      processed frames
        train/train_label/...    labels
        train/train_mask/...     person masks, uint8, 255 = person
        pose.npy                 (T, 4) int32 face boxes
        background.png           the background plate (static camera only)
        background.json          whether there is a plate, and why not
        keypoints.npz            the poses, written LAST
        still/                   a still target's own files (make_target.py --image; src/still/layout.py)
    result/<name>/               transfer.py
        00000.png...             the generated frames
        .transfer.json           what the frames are made from (a re-run keeps only matching ones)
        .previous_frame.0.npz    what the newest even / odd frame feeds the next one (the GAN's
        .previous_frame.1.npz    resume)

A stage's keypoints file is its finished-marker: it is deleted when a run starts writing and
written after everything else.
"""
import os

DATA_DIR = "data"
SOURCE_DIR = os.path.join(DATA_DIR, "source")
TARGET_DIR = os.path.join(DATA_DIR, "target")
RESULT_DIR = "result"
CHECKPOINTS_DIR = "checkpoints"

VIDEO = "mv.mp4"                  # a role's video: make_*.py's default input; the source's music
KEYPOINTS = "keypoints.npz"       # the poses of make_source.py and make_target.py (the marker)

SOURCE_FRAMES = "test_img"
SOURCE_LABELS = "test_label_ori"
SOURCE_HEADS = "pose_source.npy"

NORM_LABELS = "test_label"
NORM_HEADS = "pose_source_norm.npy"
NORM_PLOT = "norm.png"
NORM_KEYPOINTS = "keypoints_norm.npz"

TARGET_FRAMES = os.path.join("train", "train_img")
TARGET_LABELS = os.path.join("train", "train_label")
TARGET_MASKS = os.path.join("train", "train_mask")
FACE_BOXES = "pose.npy"
PLATE = "background.png"
PLATE_INFO = "background.json"

TRANSFER_MANIFEST = ".transfer.json"
# What frame i feeds frame i + 1 in the GAN's transfer, in the file of i's parity: each is written
# before its frame, so the state of the last frame on disk survives a kill at any moment.
FEED_STATES = (".previous_frame.0.npz", ".previous_frame.1.npz")


def role_dir(role):
    """data/source or data/target: the default folder of a role."""
    return os.path.join(DATA_DIR, role)
