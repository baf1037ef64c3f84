"""The --frames evaluation: temporal numbers of generated frames without ground truth.

--frames measures a folder of generated frames that has no ground truth (a transfer result): the
background flicker and the frame-to-frame LPIPS, with the person boxes taken from the poses the
frames were made from (--keypoints). Given the plate-mode model that made them (--name), it also
measures the speckle and the window edge against that model's plate (src/evaluate/plate.py), the
window placed along the poses as transfer.py places it. With --face it measures the face crop
(src/evaluate/face.py): its flicker and noise, and the pose detector's face hit rate. It writes
<frames>/eval_frames/ unless --out says otherwise.

"""
import datetime
import html
import json
import os

import numpy as np
from tqdm import tqdm

from src.device import pick_device
from src.errors import UserError
from src.evaluate.face import FACE_SETTING, FaceMeter, face_box
from src.evaluate.heldout import PoseSequence
from src.evaluate.metrics import Lpips, TemporalMeter, outside_box, person_box
from src.evaluate.plate import PlateMeter, speckle_box
from src.evaluate.report import (FLICKER_SETTING, HTML_STYLE, IMAGES_DIR, N_EXAMPLES, SPECKLE_SETTING,
                                 TEMPORAL_NOTE, WINDOW_EDGE_SETTING, face_rows, html_table, json_safe,
                                 plate_rows, temporal_rows)
from src.gan.inference import FramePredictor
from src.io.files import frame_name, list_frames, read_image, write_bytes, write_image
from src.layout import NORM_KEYPOINTS, SOURCE_DIR
from src.pose.keypoints import PoseTrack, resize_keypoints

FRAMES_OUT = "eval_frames"   # default output folder, inside the frames folder
ASPECT_TOLERANCE = 0.01      # relative: poses of a frame shape this far off belong to other frames


def generated_frames(frames_dir, keypoints_path, max_frames=None):
    """(frame paths, their poses at the frames' size, size); UserError for anything that cannot be
    measured. Frame i (00000.png on, as transfer.py writes them) was made from pose i."""
    if not os.path.isdir(frames_dir):
        raise UserError(f"{frames_dir}: no such folder; pass --frames the folder of generated frames "
                        f"(00000.png...) that transfer.py wrote, e.g. result/target")
    paths = list_frames(frames_dir)
    if len(paths) < 2:
        raise UserError(f"{frames_dir}: {len(paths)} PNG frames, but flicker needs at least 2 consecutive "
                        f"ones; run transfer.py into it first, or pass the folder that holds its frames")
    for i, path in enumerate(paths):
        if os.path.basename(path) != frame_name(i):
            raise UserError(f"{path}: expected {frame_name(i)} here; the frames must be numbered "
                            f"00000.png, 00001.png... without gaps, as transfer.py writes them")
    if not os.path.isfile(keypoints_path):
        raise UserError(f"{keypoints_path}: not found; run normalization.py, or pass --keypoints with "
                        f"the poses the frames were made from")
    track = PoseTrack.load(keypoints_path, "normalization.py")
    if len(paths) > len(track):
        raise UserError(f"{frames_dir}: {len(paths)} frames, but {keypoints_path} has only {len(track)} "
                        f"poses; pass --keypoints with the poses the frames were made from")
    paths = paths[:max_frames] if max_frames else paths
    first = read_image(paths[0])
    size = (first.shape[1], first.shape[0])
    if abs(size[0] / size[1] - track.size[0] / track.size[1]) > ASPECT_TOLERANCE * size[0] / size[1]:
        raise UserError(f"{paths[0]}: {size[0]}x{size[1]}, but {keypoints_path} holds poses of "
                        f"{track.size[0]}x{track.size[1]} frames; pass --keypoints with the poses the "
                        f"frames were made from")
    return paths, resize_keypoints(track.keypoints[:len(paths)], track.size, size), size


def measured_view(frame, box):
    """The frame with the pixels flicker leaves out (the grown person box) darkened."""
    view = frame.copy()
    inside = ~outside_box(box, (frame.shape[1], frame.shape[0]))
    view[inside] = (view[inside] * 0.3).astype(np.uint8)
    return view


def plate_windows(checkpoint, kps, size):
    """(PlateMeter, window boxes (x0, y0, x1, y1) per frame) for frames of `size` made by the
    plate-mode model in `checkpoint` from the poses kps (at that size); (None, None) for a
    full-frame model."""
    predictor = FramePredictor(checkpoint, device="cpu")
    if predictor.plate is None:
        return None, None
    # transfer.py writes frames at the target's frame size; predict() alone, at the model's size.
    at_frame_size = tuple(size) == predictor.frame_size
    plate = predictor.frame_plate if at_frame_size else predictor.plate_rgb()
    if (plate.shape[1], plate.shape[0]) != tuple(size):
        raise UserError(f"{checkpoint}: its plate is {plate.shape[1]}x{plate.shape[0]} but the frames are "
                        f"{size[0]}x{size[1]}; pass --name the model that made the frames")
    box = predictor.window_at_frame_size if at_frame_size else predictor.window_box
    return PlateMeter(plate), [box(c) for c in predictor.window_track(kps, size)]


def evaluate_frames(frames_dir, keypoints=os.path.join(SOURCE_DIR, NORM_KEYPOINTS), device="auto",
                    max_frames=None, out_dir=None, checkpoint=None, face=False, pose_backend="mediapipe"):
    """Temporal numbers of generated frames that have no ground truth (a transfer result): the
    background flicker and the frame-to-frame LPIPS; with the plate-mode model's checkpoint, its
    speckle and window edge too; with face=True, the face crop's numbers. Returns the report, also
    in out_dir/metrics.json."""
    if max_frames is not None and max_frames < 2:
        raise UserError(f"--max-frames {max_frames}: flicker needs at least 2 frames")
    paths, kps, size = generated_frames(frames_dir, keypoints, max_frames)
    device = str(pick_device(device))
    meter = TemporalMeter(Lpips(device))
    plate, windows = plate_windows(checkpoint, kps, size) if checkpoint else (None, None)
    faces = FaceMeter() if face else None
    detector = PoseSequence(pose_backend, device) if face else None
    shown = set(np.linspace(0, len(paths) - 1, min(N_EXAMPLES, len(paths))).round().astype(int).tolist())
    examples = []
    try:
        for i, path in enumerate(tqdm(paths, desc="evaluate", unit="frame")):
            frame = read_image(path)
            if (frame.shape[1], frame.shape[0]) != size:
                raise UserError(f"{path}: {frame.shape[1]}x{frame.shape[0]}, but {paths[0]} is "
                                f"{size[0]}x{size[1]}; the frames must come from one transfer run")
            box = person_box(kps[i])
            meter.add(frame, box)
            if plate is not None:
                plate.add(frame, speckle_box(kps[i]), windows[i])
            if faces is not None:
                faces.add(frame, face_box(kps[i], size))
                detector.add(faces.detector_view(frame))
            if i in shown:
                examples.append((i, measured_view(frame, box)))
    except BaseException:
        if detector is not None:
            detector.close()
        raise
    report = {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "frames_dir": frames_dir, "keypoints": keypoints, "n_frames": len(paths), "size": list(size),
        "device": device,
        "settings": {"lpips_step": "mean AlexNet LPIPS between consecutive frames, whole frame",
                     "flicker": FLICKER_SETTING, "speckle": SPECKLE_SETTING,
                     "window_edge": WINDOW_EDGE_SETTING, "face": FACE_SETTING},
        "temporal": meter.summary(), "checkpoint": checkpoint,
        "plate": None if plate is None else plate.summary(),
        "face": None if faces is None else faces.summary(detector.result()),
    }
    out_dir = out_dir or os.path.join(frames_dir, FRAMES_OUT)
    write_frames_report(out_dir, json_safe(report), examples)
    return report


def frames_table(report):
    """(title, header, rows) of the --frames table."""
    title = (f"{report['n_frames']} generated frames of {report['frames_dir']} at {report['size'][0]}x"
             f"{report['size'][1]}; person boxes from {report['keypoints']}")
    rows = temporal_rows([report["temporal"]], ("lpips_step", "flicker"))
    rows += [row[:2] for row in plate_rows([report.get("plate")])]  # the plate is the reference
    rows += face_rows(report.get("face"))
    return title, ["metric", "generated frames"], rows


def write_frames_report(out_dir, report, examples):
    """Example frames (measured pixels bright), the page, then metrics.json."""
    esc = html.escape
    images = os.path.join(out_dir, IMAGES_DIR)
    if os.path.isdir(images):  # drop a previous run's examples so the folder matches the page
        for f in os.listdir(images):
            if f.startswith("measured_") and f.endswith(".png"):
                os.remove(os.path.join(images, f))
    figures = []
    for i, view in examples:
        rel = f"{IMAGES_DIR}/measured_{frame_name(i)}"
        write_image(os.path.join(out_dir, rel), view)
        figures.append(f'<figure><img src="{esc(rel)}" alt="frame {i}"><figcaption>frame {i}</figcaption></figure>')
    title, header, rows = frames_table(report)
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Evaluation: {esc(report["frames_dir"])}</title>
{HTML_STYLE}</head><body>
<h1>Temporal evaluation of generated frames: {esc(report["frames_dir"])}</h1>
<p>{esc(title)}. Written {esc(report["created"])}; all numbers, per frame pair too, in
<a href="metrics.json">metrics.json</a>. There is no ground truth, so only the generated frames' own
change from frame to frame is measured.</p>
{html_table(header, rows)}
<p>{esc(TEMPORAL_NOTE)}</p>
<h2>Measured pixels</h2><p>Flicker is measured on the bright pixels; the darkened box is the person's.</p>
{"".join(figures)}
</body></html>
"""
    write_bytes(os.path.join(out_dir, "index.html"), page.encode())
    write_bytes(os.path.join(out_dir, "metrics.json"), json.dumps(report, indent=1).encode())
