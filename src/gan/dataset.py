"""The training data: pairs of consecutive target frames with their labels and face boxes.

Reads what make_target.py wrote in data/target/: train/train_img/*.png, train/train_label/*.png,
pose.npy (face boxes) and keypoints.npz (the poses; needed to re-draw flipped labels, and its
presence means the stage finished). Frames stay uint8 until the batch is on the training device.
The same resizing and face-box scaling (src/gan/images.py) serve training and inference, so the
generator sees labels prepared the same way in both.
"""
import multiprocessing
import os

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from src.pose import background

from src.errors import UserError
from src.gan import window
from src.gan.images import resize_frame, scale_face_box, to_chw_uint8
from src.io.files import list_frames, read_image
from src.layout import FACE_BOXES, KEYPOINTS, TARGET_FRAMES, TARGET_LABELS, TARGET_MASKS
from src.pose.keypoints import PoseTrack, flip_horizontal, resize_keypoints


def split_indices(n_frames, holdout):
    """(train, held_out) frame indices: the last `holdout` fraction of the frames is held out.

    Training and evaluation both call this, so a held-out frame is never trained on.
    """
    if not 0.0 <= holdout < 1.0:
        raise UserError(f"holdout {holdout}: expected a fraction in [0, 1)")
    n_held = int(round(n_frames * holdout))
    return np.arange(0, n_frames - n_held), np.arange(n_frames - n_held, n_frames)


class TargetFrames:
    """The files of a target folder, checked once: frame and label paths, face boxes, poses."""

    def __init__(self, dataroot, need_face_boxes=False):
        self.dataroot = dataroot
        img_dir = os.path.join(dataroot, TARGET_FRAMES)
        label_dir = os.path.join(dataroot, TARGET_LABELS)
        kp_path = os.path.join(dataroot, KEYPOINTS)
        if not os.path.isfile(kp_path):
            raise UserError(f"{kp_path}: not found, so {dataroot} holds no finished target data; "
                            f"run make_target.py first")
        self.images, self.labels = list_frames(img_dir), list_frames(label_dir)
        if not self.images:
            raise UserError(f"{img_dir}: no PNG frames; run make_target.py first")
        if len(self.images) != len(self.labels):
            raise UserError(f"{dataroot}: {len(self.images)} frames in {os.path.basename(img_dir)} but "
                            f"{len(self.labels)} labels in {os.path.basename(label_dir)}; "
                            f"re-run make_target.py")
        names = [os.path.basename(p) for p in self.images]
        if names != [os.path.basename(p) for p in self.labels]:
            raise UserError(f"{dataroot}: {os.path.basename(img_dir)} and {os.path.basename(label_dir)} "
                            f"hold different frame names; re-run make_target.py")
        self.track = PoseTrack.load(kp_path, "make_target.py")
        if len(self.track) != len(self.images):
            raise UserError(f"{kp_path}: {len(self.track)} poses for {len(self.images)} frames; "
                            f"re-run make_target.py")
        pose_path = os.path.join(dataroot, FACE_BOXES)
        self.face_boxes = None
        if os.path.isfile(pose_path):
            boxes = np.load(pose_path, allow_pickle=False)
            if boxes.shape != (len(self.images), 4):
                raise UserError(f"{pose_path}: shape {boxes.shape}, expected ({len(self.images)}, 4) "
                                f"face boxes; re-run make_target.py")
            self.face_boxes = boxes.astype(np.int64)
        elif need_face_boxes:
            raise UserError(f"{pose_path}: not found (the face GAN needs the face boxes); "
                            f"run make_target.py first, or pass --face_epochs 0")
        self.masks = list_frames(os.path.join(dataroot, TARGET_MASKS))

    def __len__(self):
        return len(self.images)


class PlateWindows:
    """What plate mode adds to the training data, at the training size: the background plate
    (h, w, 3) uint8, the window size (w, h) and the window's corner in every frame (T, 2); and the
    plate at the target's own frame size, which inference composites full-size frames over."""

    def __init__(self, plate, size, track, point_share, frame_plate):
        self.plate, self.size, self.track, self.point_share = plate, tuple(size), track, point_share
        self.frame_plate = frame_plate


def plate_windows(frames, train_size, multiple):
    """(PlateWindows, None) for a target folder with a plate, else (None, why not)."""
    plate, reason = background.load_plate(frames.dataroot)
    if plate is None:
        return None, reason
    if len(frames.masks) != len(frames.images):
        return None, (f"{len(frames.masks)} person masks in {TARGET_MASKS} for "
                      f"{len(frames.images)} frames")
    kps = window.keypoints_at(frames.track.keypoints, frames.track.size, train_size)
    size = window.window_size(kps, train_size, multiple)
    track = window.window_track(kps, size, train_size)
    share, _ = window.coverage(kps, track, size)
    return PlateWindows(resize_frame(plate, train_size), size, track, share, plate), None


def _window_box(box, corner, size):
    """A face box at the training size moved into the window at corner, kept inside it."""
    side = int(box[2] - box[0])
    x0 = int(np.clip(box[0] - corner[0], 0, max(0, size[0] - side)))
    y0 = int(np.clip(box[1] - corner[1], 0, max(0, size[1] - side)))
    return np.array([x0, y0, x0 + side, y0 + side], np.int64)


class PairDataset(Dataset):
    """Consecutive frame pairs (t, t+1) of the given frame indices, resized to `size`.

    An item is a dict of uint8 tensors: label and image (2, 3, H, W) for frames t and t+1, box
    (2, 4) face boxes at `size` (zeros without pose.npy) and index t. With flip on, an item is
    mirrored with probability 1/2, decided from (seed, epoch, item) so any run repeats it exactly;
    its labels are re-drawn from the mirrored keypoints, which swaps left and right as in a real
    mirrored video (flipping the label image would keep the person's left arm coloured as left).

    With `windows` (PlateWindows: plate mode) both frames are cut at the window of frame t+1 (the
    generator's previous frame is its output for frame t in the same window), the face boxes are
    given in the window's pixels, and an item also holds mask (2, 1, h, w), the person masks, and
    plate (3, h, w), the plate under the window.
    """

    def __init__(self, frames, indices, size, flip=False, seed=0, windows=None):
        self.frames, self.size, self.flip, self.seed = frames, tuple(size), flip, seed
        self.windows = windows
        index_set = set(int(i) for i in indices)
        self.starts = [int(t) for t in indices if int(t) + 1 in index_set]
        self.epoch = 0  # set before each epoch: the flips depend on it

    def __len__(self):
        return len(self.starts)

    def _flipped(self, i):
        if not self.flip:
            return False
        return np.random.default_rng([self.seed, self.epoch, i]).random() < 0.5

    def _frame(self, t, flip):
        image, label = read_image(self.frames.images[t]), read_image(self.frames.labels[t])
        h, w = image.shape[:2]
        box = self.frames.face_boxes[t] if self.frames.face_boxes is not None else None
        if flip:
            from src.pose.render import render_label  # the renderer is only needed for flips
            image = image[:, ::-1]
            label_size = (label.shape[1], label.shape[0])
            kp = resize_keypoints(self.frames.track.keypoints[t], self.frames.track.size, label_size)
            label = render_label(flip_horizontal(kp, label_size[0]), label_size)
            if box is not None:
                box = np.array([w - box[2], box[1], w - box[0], box[3]])
        face = (scale_face_box(box, (w, h), self.size) if box is not None
                else np.zeros(4, np.int64))
        return resize_frame(label, self.size), resize_frame(image, self.size), face

    def _mask(self, t, flip):
        mask = resize_frame(cv2.imread(self.frames.masks[t], cv2.IMREAD_GRAYSCALE), self.size)
        return mask[:, ::-1] if flip else mask

    def __getitem__(self, i):
        t, flip = self.starts[i], self._flipped(i)
        (l0, i0, b0), (l1, i1, b1) = self._frame(t, flip), self._frame(t + 1, flip)
        item = {"label": [l0, l1], "image": [i0, i1], "box": [b0, b1]}
        if self.windows is not None:
            (ww, wh), (x, y) = self.windows.size, self.windows.track[t + 1]
            plate = self.windows.plate
            if flip:
                x, plate = self.size[0] - x - ww, plate[:, ::-1]
            cut = lambda a: a[y:y + wh, x:x + ww]  # noqa: E731
            item = {"label": [cut(l0), cut(l1)], "image": [cut(i0), cut(i1)],
                    "box": [_window_box(b, (x, y), (ww, wh)) for b in (b0, b1)]}
            masks = [cut(self._mask(t, flip)), cut(self._mask(t + 1, flip))]
            item["mask"] = torch.from_numpy(np.ascontiguousarray(np.stack(masks)[:, None]))
            item["plate"] = to_chw_uint8(cut(plate))
        item["label"] = torch.stack([to_chw_uint8(v) for v in item["label"]])
        item["image"] = torch.stack([to_chw_uint8(v) for v in item["image"]])
        item["box"] = torch.from_numpy(np.stack(item["box"]))
        item["index"] = t
        return item


class EpochSampler(DistributedSampler):
    """DistributedSampler whose order depends only on (seed, epoch), and which can skip the items
    an interrupted epoch already trained on (exact resume in the middle of an epoch)."""

    def __init__(self, dataset, world=1, rank=0, seed=0):
        super().__init__(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed)
        self.skip = 0

    def start_epoch(self, epoch, skip=0):
        self.set_epoch(epoch)
        self.skip = skip

    def __iter__(self):
        return iter(list(super().__iter__())[self.skip:])

    def __len__(self):
        return max(0, self.num_samples - self.skip)


def _worker_init(_):
    # Each worker decodes one frame at a time: more threads per worker only contend for the cores.
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def _worker_context():
    """Start workers from a fork server, never by forking the training process: a child forked
    after OpenCV started its thread pool (any cv2 call in the parent, e.g. writing a sample PNG)
    hangs at its first cv2 call. The server imports this module once, so workers start fast."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["src.gan.dataset"])
    return context


def make_loader(dataset, sampler, batch_size, num_workers, pin_memory=False, seed=0):
    # Each pass over a loader draws its workers' seeds from `generator`; from torch's global one
    # instead, a run resumed mid-epoch would draw once more than the uninterrupted run, and its
    # saved random state would differ from then on.
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      generator=torch.Generator().manual_seed(seed),
                      pin_memory=pin_memory, worker_init_fn=_worker_init if num_workers else None,
                      multiprocessing_context=_worker_context() if num_workers else None,
                      persistent_workers=False, drop_last=False)
