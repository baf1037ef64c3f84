"""What the tests share: the repository root on sys.path, and helpers that build tiny synthetic
targets, training runs, checkpoints and normalized sources. Test modules import the helpers with
`from conftest import ...`."""
import dataclasses
import os
import sys

import cv2
import numpy as np
import torch

# Tests import `src` from the repository root, and run the stage scripts from there.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from src.demo.data import write_normalized_source  # noqa: E402
from src.gan import checkpoint, networks  # noqa: E402  (after the path above)
from src.gan.options import make_options, parse  # noqa: E402
from src.io.files import frame_name, save_npy, write_image  # noqa: E402
from src.pose.keypoints import B, N_POINTS, PoseTrack, face_boxes  # noqa: E402


# --- a finished make_target.py folder, and tiny training runs on it ------------------------------

_LIMBS = [(1, 8), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11),
          (8, 12), (12, 13), (13, 14), (1, 0)]


def synthetic_keypoints(n, size, seed=0):
    """(n, 137, 3) poses of a stick person swinging its arms and legs (no hands)."""
    w, h = size
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi)
    kps = np.zeros((n, N_POINTS, 3), np.float32)
    for t in range(n):
        a = np.sin(0.6 * t + phase)
        cx = w * (0.5 + 0.08 * np.sin(0.3 * t))
        pts = {"Nose": (0, -0.38), "Neck": (0, -0.28), "MidHip": (0, 0.05),
               "RShoulder": (-0.08, -0.27), "LShoulder": (0.08, -0.27),
               "RElbow": (-0.14, -0.12 + 0.08 * a), "LElbow": (0.14, -0.12 - 0.08 * a),
               "RWrist": (-0.18 - 0.05 * a, 0.0 + 0.1 * a), "LWrist": (0.18 + 0.05 * a, 0.0 - 0.1 * a),
               "RHip": (-0.05, 0.05), "LHip": (0.05, 0.05),
               "RKnee": (-0.06 + 0.04 * a, 0.22), "LKnee": (0.06 - 0.04 * a, 0.22),
               "RAnkle": (-0.07 + 0.07 * a, 0.4), "LAnkle": (0.07 - 0.07 * a, 0.4)}
        for name, (dx, dy) in pts.items():
            kps[t, B[name]] = (cx + dx * h, h * (0.5 + dy), 1)
        face = np.linspace(0, 2 * np.pi, 70, endpoint=False)
        kps[t, 25:95, 0] = kps[t, B["Nose"], 0] + 0.04 * h * np.cos(face)
        kps[t, 25:95, 1] = kps[t, B["Nose"], 1] + 0.05 * h * np.sin(face)
        kps[t, 25:95, 2] = 1
    return kps


def draw_pair(kp, size):
    """(label, frame) for one pose: a coloured stick figure on white, and a 'person' on grey whose
    left arm is red and right arm blue (so a wrong left/right is visible)."""
    w, h = size
    label = np.full((h, w, 3), 255, np.uint8)
    frame = np.full((h, w, 3), 90, np.uint8)
    frame[int(h * 0.9):] = 60  # floor
    for i, (a, b) in enumerate(_LIMBS):
        pa, pb = tuple(int(v) for v in kp[a, :2]), tuple(int(v) for v in kp[b, :2])
        color = tuple(int(c) for c in cv2.applyColorMap(np.uint8([[i * 18]]), cv2.COLORMAP_HSV)[0, 0])
        cv2.line(label, pa, pb, color, max(1, h // 32))
        limb = (200, 40, 40) if a in (5, 6) else (40, 40, 200) if a in (2, 3) else (210, 170, 140)
        cv2.line(frame, pa, pb, limb, max(2, h // 12))
    cv2.circle(frame, tuple(int(v) for v in kp[B["Nose"], :2]), max(2, h // 12), (230, 190, 160), -1)
    return label, frame


def make_target_dir(root, n=6, size=(64, 32), seed=0, write_pose=True, write_keypoints=True):
    """A finished make_target.py folder under root: train_img, train_label, pose.npy, keypoints.npz."""
    kps = synthetic_keypoints(n, size, seed)
    for t in range(n):
        label, frame = draw_pair(kps[t], size)
        write_image(os.path.join(root, "train", "train_label", frame_name(t)), label)
        write_image(os.path.join(root, "train", "train_img", frame_name(t)), frame)
    if write_pose:
        save_npy(os.path.join(root, "pose.npy"), face_boxes(kps, size))
    if write_keypoints:
        PoseTrack(keypoints=kps, fps=15, size=size, crop=(0, 0, *size), video_size=size,
                  backend="synthetic").save(os.path.join(root, "keypoints.npz"))
    return str(root)


# Networks a few kilobytes large, on the CPU: a training step takes milliseconds.
TINY = ["--size", "64x32", "--ngf", "8", "--n_downsample", "2", "--n_blocks", "1", "--ndf", "8",
        "--num_D", "1", "--n_layers_D", "2", "--face_ngf", "8", "--face_n_blocks", "1",
        "--face_ndf", "8", "--num_workers", "0", "--device", "cpu", "--lambda_vgg", "0",
        "--lambda_face_vgg", "0",
        "--display_freq", "1000", "--save_latest_freq", "1000"]


def tiny_args(tmp_path, *extra, dataroot=None):
    """Arguments of a tiny CPU run named t: data in <tmp_path>/target, checkpoints in <tmp_path>/ckpt."""
    return ["--dataroot", dataroot or str(tmp_path / "target"), "--checkpoints_dir",
            str(tmp_path / "ckpt"), "--name", "t", *TINY, *extra]


def run_training(args):
    """train_pose2vid.py with these command-line arguments, in this process."""
    from src.gan.train import train
    return train(*parse(args))


def read_losses(ckpt_dir):
    """{step: {loss name: float}} from loss_log.csv (blank cells left out)."""
    from src.gan.web import LOSS_COLUMNS, read_log
    return {int(r["step"]): {k: float(r[k]) for k in LOSS_COLUMNS if r[k] != ""}
            for r in read_log(os.path.join(ckpt_dir, "loss_log.csv"))}


# --- what transfer.py reads: a checkpoint and a normalized source ------------------------------

def random_checkpoint(folder, seed=0, face=True, size=(64, 32), **options):
    """<folder>/latest.pt of an untrained tiny model, laid out as train_pose2vid.py saves it.
    options: training options that differ from the tiny model's (e.g. dataroot, holdout)."""
    torch.manual_seed(seed)
    tiny = dict(size=f"{size[0]}x{size[1]}", ngf=8, n_downsample=2, n_blocks=1, face_ngf=8,
                face_n_downsample=2, face_n_blocks=1, device="cpu")
    opt = make_options(**{**tiny, **options})
    state = {"options": dataclasses.asdict(opt), "step": seed,
             "G": networks.build_generator(opt).state_dict()}
    if face:
        face_g = networks.build_face_generator(opt)
        face_g.head[1].reset_parameters()  # untrained but not the identity a fresh one is
        state["faceG"] = face_g.state_dict()
    checkpoint.save(os.path.join(folder, checkpoint.LATEST), state)
    return str(folder)


def normalized_source(folder, n=6, size=(64, 32)):
    """What normalization.py leaves: distinct labels of a dancing person, head centres, marker."""
    return write_normalized_source(folder, n, size, seconds_per_frame=1 / 5)
