"""The transfer stage: normalized source labels -> frames of the target person (transfer.py).

Reads  <source>/keypoints_norm.npz        normalization.py's finished-marker (and the frame count)
       <source>/test_label/00000.png...   the normalized labels
       <source>/pose_source_norm.npy      (T, 2) head centres in label pixels, for the face crop
       <checkpoints>/<name>/latest.pt     the trained model (through src.gan.inference.FramePredictor)
Writes <out>/00000.png...                 one frame per label at the model's size (plate mode: at
                                          the target's frame size, over its full-size plate), each
                                          written atomically as soon as it is made
       <out>/.transfer.json               which checkpoint and labels the frames come from
       <out>/.previous_frame.{0,1}.npz    what the newest even / odd frame feeds the next one

Frames are made in order, each fed the previous generated frame (as in training). A plate-mode
model draws a window that follows the normalized poses over the target's background plate. Memory stays
flat: one label is read ahead and at most MAX_PENDING frames wait for their PNG write. Writes go
through one writer thread in order, so the frames on disk are always a prefix of the video; a
re-run keeps that prefix and continues after it. The frame fed forward is the generator's raw
output (float, before the face refinement, as in training), which the written uint8 frame is not:
it is saved beside the frames just before each frame is written, into one of two files by the
frame's parity, and fed back on resume. Killed between the two writes, the run leaves the state of
the frame it did not write and, in the other file, that of the last frame it did: a resumed
video is byte for byte the uninterrupted one. Frames made from another checkpoint or other labels
are never kept.
"""
import collections
import concurrent.futures
import os

import numpy as np
import torch
from tqdm import tqdm

from src.errors import UserError
from src.gan.images import face_box_around
from src.gan.inference import FramePredictor
from src.io.files import frame_name, list_frames, read_image, save_npz, write_image
from src.io.resume import prepare_output
from src.layout import (CHECKPOINTS_DIR, FEED_STATES, NORM_HEADS, NORM_KEYPOINTS, NORM_LABELS,
                        RESULT_DIR, SOURCE_DIR)
from src.pose.keypoints import PoseTrack

MAX_PENDING = 2       # frames made but not yet written (bounds memory; lets writing overlap the model)
ASPECT_TOLERANCE = 0.01  # relative: labels whose width/height differs more would be distorted


class SourceLabels:
    """The normalized source, checked once: label paths, label size and head centres."""

    def __init__(self, source_dir):
        done = os.path.join(source_dir, NORM_KEYPOINTS)
        label_dir = os.path.join(source_dir, NORM_LABELS)
        if not os.path.isfile(done):
            raise UserError(f"{done}: not found, so {source_dir} holds no finished normalized labels; "
                            "run normalization.py first")
        track = PoseTrack.load(done, "normalization.py")
        self.keypoints, self.keypoints_size = track.keypoints, track.size  # where plate mode's window goes
        self.label_dir, self.stamp = label_dir, os.stat(done).st_mtime_ns
        self.paths = list_frames(label_dir)
        names = [os.path.basename(p) for p in self.paths]
        if names != [frame_name(i) for i in range(len(track))]:
            raise UserError(f"{label_dir}: {len(names)} labels, but {done} has {len(track)} frames "
                            "(00000.png on); re-run normalization.py")
        if not self.paths:
            raise UserError(f"{done}: the source has no frames; re-run make_source.py and normalization.py")
        self.heads = self._heads(os.path.join(source_dir, NORM_HEADS), len(track))
        first = read_image(self.paths[0])
        self.size = (first.shape[1], first.shape[0])

    @staticmethod
    def _heads(path, n):
        if not os.path.isfile(path):
            raise UserError(f"{path}: not found; re-run normalization.py")
        try:
            heads = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise UserError(f"{path}: not readable ({err}); re-run normalization.py") from None
        if heads.shape != (n, 2):
            raise UserError(f"{path}: shape {heads.shape}, expected ({n}, 2) for {n} labels; "
                            "re-run normalization.py")
        return heads

    def __len__(self):
        return len(self.paths)

    def label(self, i):
        """Label i as RGB uint8; every label must have the first one's size."""
        rgb = read_image(self.paths[i])
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            raise UserError(f"{self.paths[i]}: {rgb.shape[1]}x{rgb.shape[0]}, but {self.paths[0]} is "
                            f"{self.size[0]}x{self.size[1]}; re-run normalization.py")
        return rgb

    def face_box(self, i):
        """Square face box (x0, y0, x1, y1) in label pixels around head i, as training cut them
        from pose.npy; None when no frame of the source has a head."""
        cx, cy = self.heads[i]
        if np.isnan(cx) or np.isnan(cy):
            return None
        return face_box_around((cx, cy), self.size)


def check_size(source, predictor):
    """Labels must look like the training labels once resized to the model's size.

    Training resized the target's frames and labels (drawn at the target's frame size, which is
    also the size normalization.py draws at) to the model's size, and FramePredictor resizes
    labels the same way; only a different width/height ratio would distort the figure.
    """
    (w, h), (mw, mh) = source.size, predictor.size
    if abs((w / h) / (mw / mh) - 1) > ASPECT_TOLERANCE:
        raise UserError(f"{source.paths[0]}: labels are {w}x{h}, but the model in {predictor.checkpoint} "
                        f"was trained at {mw}x{mh} (another shape); re-run make_target.py and "
                        f"normalization.py with --size {mw}x{mh}, or retrain at the labels' size")
    if (w, h) != (mw, mh):
        print(f"note: labels are {w}x{h}; they are resized to the model's {mw}x{mh} as in training")


def manifest(source, predictor):
    """What the frames in the output folder are made from; frames of another run are not kept."""
    return {"checkpoint": os.path.realpath(predictor.checkpoint), "step": predictor.step,
            "checkpoint_mtime_ns": os.stat(predictor.checkpoint).st_mtime_ns,
            "labels": os.path.realpath(source.label_dir), "labels_mtime_ns": source.stamp,
            "frames": len(source)}


def write_frame(out_dir, i, frame, fed):
    # The state first, over frame i - 2's (see the module docstring). Uncompressed: float noise
    # hardly compresses, and zlib would cost more than the write.
    save_npz(os.path.join(out_dir, FEED_STATES[i % 2]), compressed=False, index=np.int64(i),
             frame=fed)
    write_image(os.path.join(out_dir, frame_name(i)), frame)


def resume_feed(predictor, out_dir, i):
    """Feed the predictor what frame i fed forward in the run that made it."""
    name = FEED_STATES[i % 2]
    try:
        with np.load(os.path.join(out_dir, name), allow_pickle=False) as state:
            index, fed = int(state["index"]), state["frame"]
    except (OSError, ValueError, KeyError):
        index = fed = None
    w, h = predictor.size
    if index == i and fed.shape == (3, h, w):
        predictor.set_previous_raw(fed)
        return
    print(f"note: {name} does not hold frame {i}; the next frame is fed the written one, "
          "so it may differ slightly from an uninterrupted run")
    predictor.set_previous(read_image(os.path.join(out_dir, frame_name(i))))


def generate(predictor, source, out_dir, start=0):
    """Make frames start.. of the source into out_dir; yields each index once its frame is queued
    for writing (all are written when the generator finishes or is closed)."""
    use_face = predictor.has_face
    if start > 0:
        # The frame before the first missing one is the previous frame, as in an uninterrupted run.
        resume_feed(predictor, out_dir, start - 1)
    else:
        predictor.reset()
    if start >= len(source):
        return
    # Plate mode: the window follows the normalized poses, placed along the whole video as in training.
    windows = predictor.window_track(source.keypoints, source.keypoints_size)
    with concurrent.futures.ThreadPoolExecutor(1) as reader, \
            concurrent.futures.ThreadPoolExecutor(1) as writer:
        pending = collections.deque()
        next_label = reader.submit(source.label, start)
        for i in range(start, len(source)):
            label = next_label.result()
            if i + 1 < len(source):
                next_label = reader.submit(source.label, i + 1)
            box = source.face_box(i) if use_face else None
            frame = predictor.predict(label, face_box=box, window=None if windows is None else windows[i])
            written = predictor.at_frame_size(frame)  # plate mode: over the full-size plate
            pending.append(writer.submit(write_frame, out_dir, i, written, predictor.previous_raw()))
            while len(pending) > MAX_PENDING or (pending and pending[0].done()):
                pending.popleft().result()  # a failed write stops the run here
            yield i
        while pending:
            pending.popleft().result()


def run(name="target", source_dir=SOURCE_DIR, out_dir=None, checkpoints_dir=CHECKPOINTS_DIR,
        device="auto", which="latest", restart=False, target_dir=None):
    """Make <out_dir>/00000.png... from the source's labels; returns a summary dict.

    When target_dir holds a still target (make_target.py --image), the photo is animated
    instead (src/still/transfer.py) and no checkpoint is read."""
    out_dir = out_dir or os.path.join(RESULT_DIR, name)
    from src.still import layout as still_layout
    if target_dir is not None and still_layout.mesh_matches(target_dir):
        from src.still import transfer as still_transfer
        return still_transfer.run(target_dir, source_dir, out_dir, restart)
    source = SourceLabels(source_dir)
    predictor = FramePredictor(os.path.join(checkpoints_dir, name), device=device, which=which)
    check_size(source, predictor)
    if predictor.device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # one input size for the whole video
    start = prepare_output(out_dir, manifest(source, predictor), len(source), restart,
                           state_files=FEED_STATES)
    n = len(source)
    face = "with face refinement" if predictor.has_face else "no face model in the checkpoint"
    precision = "bf16" if predictor.bf16 else "float32"
    print(f"{predictor.checkpoint} (step {predictor.step}) on {predictor.device} ({precision}), {face}")
    if start == n:
        print(f"all {n} frames are already in {out_dir}; nothing to do (--restart makes them again)")
        return {"frames": n, "made": 0, "kept": n, "out": out_dir}
    if start > 0:
        print(f"resuming: frames 0-{start - 1} are kept, making {start}-{n - 1}")
    for _ in tqdm(generate(predictor, source, out_dir, start), desc="transfer", unit="frame",
                  initial=start, total=n):
        pass
    w, h = predictor.frame_size   # plate mode: the target's frame size, above the model's
    print(f"wrote frames {start}-{n - 1} ({w}x{h}) to {out_dir}; "
          f"next: python make_mp4.py --frames {out_dir}")
    return {"frames": n, "made": n - start, "kept": start, "out": out_dir}
