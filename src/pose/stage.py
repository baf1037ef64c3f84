"""The pose stage behind make_source.py and make_target.py: video -> frames, poses, labels.

    source: <out>/test_img/00000.png ...        processed frames
            <out>/test_label_ori/00000.png ...  label images (stick figures)
            <out>/pose_source.npy               (T, 2) float32 head centres (keypoints.head_centers)
            <out>/mv.mp4                        the source video (a hard link or a copy): its
                                                audio is the music make_mp4.py adds
            <out>/keypoints.npz                 the PoseTrack, written LAST
    target: <out>/train/train_img/, <out>/train/train_label/,
            <out>/train/train_mask/00000.png ... person masks, uint8, 255 = person (src/pose/background.py)
            <out>/pose.npy                      (T, 4) int32 face boxes (keypoints.face_boxes)
            <out>/background.png, background.json  the background plate, or why there is none
            <out>/keypoints.npz

The frame window and the pre-pass are src/pose/crop.py; the flags src/pose/options.py.

keypoints.npz exists only when the stage finished: it is deleted when a run starts writing and
written after everything else. Every file is written atomically (src/io/files.py); frames left over
from an earlier, longer run are removed; a re-run simply redoes the job.

Pass 1 streams the video: a reader thread decodes (ffmpeg runs as its own process) and cuts and
resizes the frames; the main thread runs the detector; a small thread pool writes the PNGs
(the PNG encoder of src/io/files.py releases the GIL). Queues are bounded, so memory does not grow
with the video's length: only the keypoints, 1.6 KB per frame, are kept. Then the track is cleaned
(src/pose/smoothing.py: smoothing, gap filling) and pass 2 renders the labels from the cleaned poses.
For a target, MediaPipe's segmentation gives the person masks in pass 1 (other pose sources get
masks drawn from the cleaned keypoints in pass 2), and the background plate is estimated from a
sample of the written frames and masks before keypoints.npz is written.
"""
import dataclasses
import os
import sys

import cv2
import numpy as np
from tqdm import tqdm

from src.errors import UserError, note
from src.io.files import frame_name, keep_copy, remove_temporaries, save_npy, sync_all, write_image
from src.io.video import VideoReader
from src.layout import KEYPOINTS, PLATE, PLATE_INFO, TARGET_MASKS, VIDEO
from src.pose import background, make_backend, openpose_json, render, smoothing
from src.pose.crop import FrameCutter, choose_window, detection_window, prepass
from src.pose.keypoints import N_POINTS, PoseTrack, face_boxes, head_centers
from src.pose.options import LAYOUTS, auto_size
from src.pose.people import identity_jumps
from src.pose.streaming import READ_AHEAD, Writer, read_ahead, remove_stale

MIN_VIDEO_SIDE = 64


def check_output_folder(folder):
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise UserError(f"{folder}: cannot create the output folder ({err.strerror}); "
                        "choose another --out") from None
    if not os.access(folder, os.W_OK):
        raise UserError(f"{folder}: the output folder is not writable; choose another --out")


def write_frame(path, rgb):
    # Not flushed one by one: a re-run redoes every frame; sync_all() precedes keypoints.npz.
    write_image(path, rgb, sync=False)


def write_label(path, kp, size):
    # Not flushed one by one either (see write_frame).
    render.write_label(path, kp, size, sync=False)


def run_stage(role, options):
    """Run the pose stage for role "source" or "target"; returns the PoseTrack written."""
    layout = LAYOUTS[role]
    check_options(options)
    reader = VideoReader(options.video, max_frames=options.max_frames)
    try:
        check_output_folder(options.out)
        remove_temporaries(options.out)    # of a run that was killed mid-write
        vw, vh = reader.size
        if min(vw, vh) < MIN_VIDEO_SIDE:
            raise UserError(f"{options.video}: frames of {vw}x{vh} pixels are too small to find "
                            f"a pose in; use a video at least {MIN_VIDEO_SIDE} pixels on each "
                            "side (ideally with the person 300+ pixels tall)")
        if options.size is None:
            options = dataclasses.replace(options, size=auto_size(reader.size))
            note(f"size {options.size[0]}x{options.size[1]}: the {vw}x{vh} video is "
                 f"{'portrait' if vh > vw else 'landscape'} (set --size to change)")
        size = tuple(options.size)
        json_kps = None
        if options.pose == "json":
            json_kps = openpose_json.read_json_dir(options.json_dir, size=reader.size,
                                                   max_frames=options.max_frames)
        box, pad_color = prepass(options, reader, json_kps)
        window = choose_window(reader.size, size, box, options.fit)
        cutter = FrameCutter(window, pad_color)
        detect_cutter = FrameCutter(detection_window(window), pad_color)
        backend = None
        if json_kps is None:
            backend = make_backend(options.pose, options.device, options.weights, options.scales,
                                   segment=role == "target")
        mask_dir = os.path.join(options.out, TARGET_MASKS) if role == "target" else None
        try:
            # From here on the outputs change: the old result must not look finished.
            for name in (KEYPOINTS, layout.extra, PLATE, PLATE_INFO):
                if os.path.exists(os.path.join(options.out, name)):
                    os.remove(os.path.join(options.out, name))
            masks_found = backend is not None and getattr(backend, "segments", False)
            kps = detect_and_write(reader, cutter, detect_cutter, backend,
                                   os.path.join(options.out, layout.img),
                                   mask_dir if masks_found else None)
        finally:
            if backend is not None:
                backend.close()
    finally:
        reader.close()
    n = len(kps)
    if reader.n_frames and options.max_frames is None and n < 0.9 * reader.n_frames:
        note(f"warning: {options.video}: decoded {n} frames of about {reader.n_frames}; "
             "the file may be truncated")
    if json_kps is not None:
        kps = json_poses(json_kps, n, window, options.json_dir)
    clean, interpolated = clean_poses(kps, options)

    render_labels(clean, size, os.path.join(options.out, layout.label),
                  mask_dir if mask_dir and not masks_found else None)
    if role == "target":
        report_plate(background.plate_for_target(options.out, n, os.path.join(options.out, layout.img)),
                     "segmentation" if masks_found else "keypoints")
    if role == "source":
        save_npy(os.path.join(options.out, layout.extra), head_centers(clean).astype(np.float32))
        keep_copy(options.video, os.path.join(options.out, VIDEO))
    else:
        save_npy(os.path.join(options.out, layout.extra), face_boxes(clean, size))
    if options.export_json:
        stem = os.path.splitext(os.path.basename(options.video))[0]
        openpose_json.write_json_dir(options.export_json, window.to_video(clean), stem)
    track = PoseTrack(keypoints=clean, fps=reader.fps, size=size, crop=window.crop,
                      video_size=reader.size, backend=options.pose, interpolated=interpolated)
    sync_all()   # every frame and label is on disk before the finish marker
    track.save(os.path.join(options.out, KEYPOINTS))
    return track


def check_options(options):
    """UserError for options that cannot work together (a note for those that do nothing)."""
    if options.max_frames is not None and options.max_frames < 1:
        raise UserError(f"--max-frames {options.max_frames}: give a number of frames >= 1")
    if options.pose == "json" and not options.json_dir:
        raise UserError("--pose json needs --json-dir DIR, the folder of OpenPose "
                        "*_keypoints.json files")
    if options.pose != "openpose" and (options.weights or options.scales):
        note("note: --weights and --scales are used only by --pose openpose")
    if options.smooth < 0 or options.max_gap < 0:
        raise UserError("--smooth and --max-gap must be >= 0")


def json_poses(json_kps, n, window, json_dir):
    """The poses of --pose json (in video pixels) for the n decoded frames, in output pixels."""
    if len(json_kps) != n:
        note(f"warning: {json_dir}: {len(json_kps)} JSON files for {n} video frames; "
             + ("the frames without a file get no pose" if len(json_kps) < n
                else "the extra files are ignored"))
    kps = np.zeros((n, N_POINTS, 3), np.float32)
    kps[:min(n, len(json_kps))] = window.to_frame(json_kps[:n])
    return kps


def clean_poses(kps, options):
    """(cleaned keypoints, interpolated mask) of the detected track; UserError when nobody was
    found in any frame. Notes how many frames have a person and warns of identity jumps."""
    n = len(kps)
    found = (kps[:, :, 2] > 0).any(axis=1)
    if not found.any():
        raise UserError(f"{options.video}: nobody found in any of the {n} frames tried; give a "
                        "video with one person fully in view" +
                        (", or try --pose openpose" if options.pose == "mediapipe" else ""))
    warn_identity_jumps(kps, options.video)
    clean, interpolated = smoothing.clean_track(kps, options.smooth, options.max_gap)
    still_missing = ~(clean[:, :, 2] > 0).any(axis=1)
    note(f"person found in {found.mean():.0%} of the frames ({found.sum()}/{n})" +
         (f"; {still_missing.sum()} frames stay without a pose (gaps longer than --max-gap "
          f"{options.max_gap})" if still_missing.any() else ""))
    return clean, interpolated


def report_plate(plate, mask_source):
    if plate.ok:
        note(f"background plate: static camera; {plate.inpainted_share:.1%} of its pixels were never "
             f"uncovered and are inpainted (person masks from {mask_source})")
    else:
        note(f"no background plate: {plate.reason}; training will use the full frame")


def warn_identity_jumps(kps, video, shown=10):
    """One warning line listing the frames where the track seems to switch person."""
    jumps = identity_jumps(kps)
    if jumps:
        listed = ", ".join(map(str, jumps[:shown])) + (f" and {len(jumps) - shown} more"
                                                       if len(jumps) > shown else "")
        note(f"warning: {video}: the pose jumps at frame {listed} (numbered as the frame "
             "files), as if another person were followed from there; the poses may not all be "
             "one person's: cut the video to the parts with one dancer")
    return jumps


def detect_and_write(reader, cutter, detect_cutter, backend, img_dir, mask_dir=None):
    """Pass 1: stream the video, write each processed frame, detect poses (unless backend is None).

    `cutter` makes the output frames, `detect_cutter` the frames the detector sees (the same
    ones when it has the same size). With mask_dir, the backend's person masks are written there
    at the output size. Returns (T, 137, 3) keypoints in output-frame pixels (zeros without a
    backend).
    """
    os.makedirs(img_dir, exist_ok=True)
    remove_stale(img_dir)
    if mask_dir:
        os.makedirs(mask_dir, exist_ok=True)
        remove_stale(mask_dir)
    out_size = tuple(cutter.window.size)
    first = [0]  # index of the first frame of the pending batch

    def detect(writer, frames):
        if not mask_dir:
            return backend.detect_batch(frames)
        kps, masks = backend.detect_batch_with_masks(frames)
        for k, mask in enumerate(masks):
            if (mask.shape[1], mask.shape[0]) != out_size:
                mask = cv2.resize(mask, out_size, interpolation=cv2.INTER_AREA)
            writer.submit(write_image, os.path.join(mask_dir, frame_name(first[0] + k)), mask)
        first[0] += len(frames)
        return kps
    same = detect_cutter.window == cutter.window

    def cut(frame):
        out = cutter(frame)
        return out, (out if same or backend is None else detect_cutter(frame))

    batch_size = backend.batch_size if backend is not None else 1
    poses, batch = [], []
    count = 0
    bar = tqdm(total=reader.n_frames or None, desc="frames + poses", unit="frame",
               file=sys.stderr, dynamic_ncols=True)
    try:
        with Writer() as writer:
            for frame, seen in read_ahead(map(cut, reader), READ_AHEAD):
                writer.submit(write_frame, os.path.join(img_dir, frame_name(count)), frame)
                count += 1
                if backend is None:
                    bar.update(1)
                    continue
                batch.append(seen)
                if len(batch) >= batch_size:
                    poses.append(detect(writer, batch))
                    bar.update(len(batch))
                    batch = []
            if batch:
                poses.append(detect(writer, batch))
                bar.update(len(batch))
    finally:
        bar.close()
    remove_stale(img_dir, count)
    if mask_dir:
        remove_stale(mask_dir, count)
    if backend is None:
        return np.zeros((count, N_POINTS, 3), np.float32)
    kps = np.concatenate(poses).astype(np.float32)
    return kps if same else cutter.window.to_frame(detect_cutter.window.to_video(kps))


def write_keypoint_mask(path, kp, size):
    write_image(path, background.keypoint_mask(kp, size))


def render_labels(kps, size, label_dir, mask_dir=None):
    """Pass 2: one label image per frame, drawn from the cleaned keypoints (and, with mask_dir,
    the coarse person masks drawn from them, for pose sources without segmentation)."""
    os.makedirs(label_dir, exist_ok=True)
    if mask_dir:
        os.makedirs(mask_dir, exist_ok=True)
    with Writer() as writer:
        for t in tqdm(range(len(kps)), desc="labels", unit="frame", file=sys.stderr,
                      dynamic_ncols=True):
            writer.submit(write_label, os.path.join(label_dir, frame_name(t)), kps[t], size)
            if mask_dir:
                writer.submit(write_keypoint_mask, os.path.join(mask_dir, frame_name(t)), kps[t], size)
    remove_stale(label_dir, len(kps))
    if mask_dir:
        remove_stale(mask_dir, len(kps))
