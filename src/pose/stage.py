"""The pose stage behind make_source.py and make_target.py: video -> frames, poses, labels.

    source: <out>/test_img/00000.png ...        processed frames
            <out>/test_label_ori/00000.png ...  label images (stick figures)
            <out>/pose_source.npy               (T, 2) float32 head centres (keypoints.head_centers)
            <out>/mv.mp4                        the source video (a hard link or a copy): its
                                                audio is the music make_mp4.py adds
            <out>/keypoints.npz                 the PoseTrack, written LAST
    target: <out>/train/train_img/, <out>/train/train_label/,
            <out>/train/train_mask/00000.png ... person masks, uint8, 255 = person (src/plate/background.py)
            <out>/pose.npy                      (T, 4) int32 face boxes (keypoints.face_boxes)
            <out>/background.png, background.json  the background plate, or why there is none
            <out>/keypoints.npz

keypoints.npz exists only when the stage finished: it is deleted when a run starts writing and
written after everything else. Every file is written atomically (src/io/files.py); frames left over
from an earlier, longer run are removed; a re-run simply redoes the job.

Frame window (crop or pad): every frame of a video is cut with the same window, of the output's
aspect ratio, and resized to --size. A quick pre-pass runs the detector on PREPASS_SAMPLES
frames spread over the video and takes the box around every point found, grown by
PERSON_MARGIN of its height on each side (the top of the head and the soles lie beyond the
points). --fit auto (default): the window is the largest one of the output's aspect ratio that
fits inside the video, moved to centre the person box but kept inside the video (a crop, no
zoom); if the person box does not fit in it, the window grows just enough to hold the box, and
the part beyond the video is padded with the background colour (the median colour of the video's
border in the sampled frames), so the whole person always stays. --fit crop: always the crop
(the person may be cut). --fit pad: the whole video frame, centred, padded to the aspect ratio.
Without a person in the samples the window is centred. A video that already has the output's
aspect ratio is used whole, without a pre-pass. The window is saved as `crop` in keypoints.npz
(it may reach past the video).

Small and large videos: videos smaller than MIN_VIDEO_SIDE pixels on a side are refused (no
detector finds a person that small; upscaling adds no detail); smaller than the output size they
are upscaled (bilinear); larger ones are downscaled (area averaging), streamed like any other.
The detector sees the same window, but at least DETECT_MIN_HEIGHT pixels high where the video
has that many: small outputs (the demo's 256x128) would lose the hands otherwise.

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
import queue
import sys
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from tqdm import tqdm

from src.plate import background
from src.pose import openpose_json, render, smoothing
from src.errors import UserError
from src.layout import (FACE_BOXES, KEYPOINTS, PLATE, PLATE_INFO, SOURCE_FRAMES, SOURCE_HEADS,
                        SOURCE_LABELS, TARGET_FRAMES, TARGET_LABELS, TARGET_MASKS, VIDEO, role_dir)
from src.io.files import frame_name, keep_copy, remove_temporaries, save_npy, sync_all, write_image
from src.pose.keypoints import (N_POINTS, PoseTrack, face_boxes, head_centers, person_box, rescale,
                                unscale)
from src.pose import BACKENDS, make_backend
from src.pose.people import identity_jumps
from src.io.video import VideoReader, frame_near

# imageio-ffmpeg logs a warning for every rotated (phone) video; the rotation is intended.


@dataclasses.dataclass(frozen=True)
class Layout:
    img: str      # processed frames
    label: str    # label images
    extra: str    # per-frame face data for later stages


LAYOUTS = {
    "source": Layout(SOURCE_FRAMES, SOURCE_LABELS, SOURCE_HEADS),
    "target": Layout(TARGET_FRAMES, TARGET_LABELS, FACE_BOXES),
}
DEFAULT_SIZE = (1024, 512)   # --size auto: for a landscape (or square) video
PORTRAIT_SIZE = (512, 1024)  # --size auto: for a portrait video (phones)
FITS = ("auto", "crop", "pad")
POSE_CHOICES = BACKENDS + ("json",)
MIN_VIDEO_SIDE = 64
PREPASS_SAMPLES = 6
PREPASS_MAX_SIDE = 1280      # samples are shrunk to this for the detector (speed only)
PERSON_MARGIN = 0.1
DETECT_MIN_HEIGHT = 512      # the detector sees frames at least this high where the video has it
WRITE_WORKERS = 2
READ_AHEAD = 4               # decoded frames waiting for the detector
WRITES_IN_FLIGHT = 8         # frames waiting to be written


@dataclasses.dataclass
class StageOptions:
    """Everything the two stage scripts accept (see add_arguments for the meaning)."""
    video: str
    out: str
    size: tuple = None           # None: auto_size of the video
    fit: str = "auto"
    pose: str = "mediapipe"
    json_dir: str = None
    export_json: str = None
    max_frames: int = None
    device: str = "auto"
    weights: str = None
    scales: str = None
    smooth: float = smoothing.DEFAULT_STRENGTH
    max_gap: int = smoothing.DEFAULT_MAX_GAP


def parse_size(text):
    """"1024x512" -> (1024, 512); "auto" -> None (auto_size); UserError otherwise."""
    if str(text).lower() == "auto":
        return None
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        w = h = 0
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise UserError(f"--size {text}: expected WIDTHxHEIGHT with even numbers of at least 16 "
                        "pixels, e.g. 1024x512, or auto")
    return w, h


def auto_size(video_size):
    """The output size that follows the video's orientation."""
    return PORTRAIT_SIZE if video_size[1] > video_size[0] else DEFAULT_SIZE


def add_arguments(parser, role):
    """The command-line flags shared by make_source.py and make_target.py."""
    layout = LAYOUTS[role]
    parser.add_argument("--video", default=os.path.join(role_dir(role), VIDEO),
                        help=f"input video (default: {os.path.join(role_dir(role), VIDEO)}); phone videos are "
                             "turned upright from their rotation metadata")
    kept = f", {VIDEO} (the video, for its music)" if role == "source" else ""
    parser.add_argument("--out", default=role_dir(role),
                        help=f"output folder (default: {role_dir(role)}); writes {layout.img}/, "
                             f"{layout.label}/, {layout.extra}{kept} and {KEYPOINTS} (last)")
    parser.add_argument("--size", default="auto",
                        help="output frame size WIDTHxHEIGHT, or auto (default): 1024x512 for a "
                             "landscape video, 512x1024 for a portrait one; the frames keep "
                             "their aspect ratio, see --fit")
    parser.add_argument("--fit", choices=FITS, default="auto",
                        help="how a video of another aspect ratio becomes --size: auto (default) "
                             "crops a window around the person found in a few sampled frames, "
                             "or pads with the background colour when the person would not fit; "
                             "crop always crops; pad keeps the whole video frame and pads")
    parser.add_argument("--pose", choices=POSE_CHOICES, default="mediapipe",
                        help="pose detector: mediapipe (default; offline, CPU), openpose (the "
                             "OpenPose network; needs its weights file, see --weights), json "
                             "(read OpenPose JSON files from --json-dir instead of detecting)")
    parser.add_argument("--json-dir", default=None,
                        help="with --pose json: folder of OpenPose *_keypoints.json files (BODY_25 "
                             "or COCO-18, face and hands optional), one per video frame, in the "
                             "pixels of the input video")
    parser.add_argument("--export-json", default=None, metavar="DIR",
                        help="also write the cleaned poses as OpenPose *_keypoints.json files into "
                             "DIR (pixels of the input video, like OpenPose's --write_json)")
    parser.add_argument("--max-frames", type=int, default=None,
                        help="process only the first N frames (default: all)")
    parser.add_argument("--device", default="auto",
                        help="auto (default), cpu or cuda: for --pose openpose; MediaPipe always "
                             "runs on the CPU")
    parser.add_argument("--weights", default=None,
                        help="with --pose openpose: the weights file (default: "
                             "src/pose/pose_model.pth)")
    parser.add_argument("--scales", default=None,
                        help="with --pose openpose: comma-separated scales of the multi-scale "
                             "search, relative to a 368 px high input (default: 0.5,1,1.5,2)")
    parser.add_argument("--smooth", type=float, default=smoothing.DEFAULT_STRENGTH,
                        metavar="STRENGTH",
                        help="jitter filter strength: half-width in frames of a confidence-"
                             f"weighted Savitzky-Golay window (default: {smoothing.DEFAULT_STRENGTH}, mild; "
                             "4 is strong; 0 = off)")
    parser.add_argument("--no-smooth", dest="smooth", action="store_const", const=0,
                        help="turn the jitter filter off (same as --smooth 0)")
    parser.add_argument("--max-gap", type=int, default=smoothing.DEFAULT_MAX_GAP,
                        help="fill gaps of up to this many frames where a point was lost, by "
                             f"linear interpolation (default: {smoothing.DEFAULT_MAX_GAP}; 0 = "
                             "never); longer gaps stay empty")


def options_from_args(args):
    return StageOptions(video=args.video, out=args.out, size=parse_size(args.size), fit=args.fit,
                        pose=args.pose, json_dir=args.json_dir, export_json=args.export_json,
                        max_frames=args.max_frames, device=args.device, weights=args.weights,
                        scales=args.scales, smooth=args.smooth, max_gap=args.max_gap)


def note(message):
    """A line for the user on stderr (stdout stays free for the scripts' summaries)."""
    tqdm.write(message, file=sys.stderr)


# ----------------------------------------------------------------------------- frame window

@dataclasses.dataclass(frozen=True)
class CropWindow:
    """The crop/pad window (x0, y0, x1, y1) of a video of `video_size`, resized to `size`."""
    x0: int
    y0: int
    x1: int
    y1: int
    video_size: tuple
    size: tuple

    @property
    def crop(self):
        return (self.x0, self.y0, self.x1, self.y1)

    @property
    def scale(self):
        return self.size[0] / (self.x1 - self.x0), self.size[1] / (self.y1 - self.y0)

    def to_frame(self, kps):
        """Keypoints (..., 3) in video pixels -> output frame pixels (missing points stay 0)."""
        return rescale(kps, self.scale, (self.x0, self.y0))

    def to_video(self, kps):
        """The inverse of to_frame."""
        return unscale(kps, self.scale, (self.x0, self.y0))


def fitting_windows(video_size, size):
    """(w, h) of the largest window of the output's aspect ratio inside the video, and of the
    smallest one holding the whole video."""
    vw, vh = video_size
    aspect = size[0] / size[1]
    if vw / vh >= aspect:   # the video is wider than the output: full height inside it
        return (max(1, round(vh * aspect)), vh), (vw, max(1, round(vw / aspect)))
    return (vw, max(1, round(vw / aspect))), (max(1, round(vh * aspect)), vh)


def choose_window(video_size, size, person_box=None, fit="auto"):
    """The window (see the module docstring) for a person box (x0, y0, x1, y1) in video pixels."""
    vw, vh = video_size
    aspect = size[0] / size[1]
    inner, outer = fitting_windows(video_size, size)
    if fit == "pad" or person_box is None:
        ww, wh = outer if fit == "pad" else inner
        cx, cy = vw / 2, vh / 2
    else:
        bx0, by0, bx1, by1 = person_box
        margin = PERSON_MARGIN * (by1 - by0)
        bx0, by0 = max(0, bx0 - margin), max(0, by0 - margin)
        bx1, by1 = min(vw, bx1 + margin), min(vh, by1 + margin)
        cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
        ww, wh = inner
        if fit == "auto" and (bx1 - bx0 > ww or by1 - by0 > wh):
            ww = max(ww, int(np.ceil(bx1 - bx0)), int(np.ceil((by1 - by0) * aspect)))
            wh = max(1, round(ww / aspect))
    # Centre on (cx, cy), then slide so the window stays inside the video (or, where it is
    # larger than the video, covers all of it).
    x0 = int(np.clip(round(cx - ww / 2), min(0, vw - ww), max(0, vw - ww)))
    y0 = int(np.clip(round(cy - wh / 2), min(0, vh - wh), max(0, vh - wh)))
    return CropWindow(x0, y0, x0 + ww, y0 + wh, tuple(video_size), tuple(size))


class FrameCutter:
    """Cuts a video frame with a CropWindow: crop, pad with `pad_color`, resize to window.size."""

    def __init__(self, window, pad_color=(255, 255, 255)):
        self.window = window
        vw, vh = window.video_size
        sx, sy = window.scale
        # The part of the video inside the window, and where it lands in the output frame.
        self.src = (max(0, window.x0), max(0, window.y0), min(vw, window.x1), min(vh, window.y1))
        self.dst = (round((self.src[0] - window.x0) * sx), round((self.src[1] - window.y0) * sy),
                    round((self.src[2] - window.x0) * sx), round((self.src[3] - window.y0) * sy))
        self.identity = window.crop == (0, 0, vw, vh) and tuple(window.size) == (vw, vh)
        self.shrink = sx < 1 or sy < 1
        self.pad_color = tuple(int(c) for c in pad_color)

    def __call__(self, frame):
        if self.identity:
            return frame
        x0, y0, x1, y1 = self.src
        dx0, dy0, dx1, dy1 = self.dst
        part = cv2.resize(frame[y0:y1, x0:x1], (dx1 - dx0, dy1 - dy0),
                          interpolation=cv2.INTER_AREA if self.shrink else cv2.INTER_LINEAR)
        w, h = self.window.size
        if (dx0, dy0, dx1, dy1) == (0, 0, w, h):
            return part
        out = np.empty((h, w, 3), np.uint8)
        out[:] = self.pad_color
        out[dy0:dy1, dx0:dx1] = part
        return out


# ----------------------------------------------------------------------------- the pre-pass

def prepass(options, reader, json_kps):
    """A few frames spread over the video -> (person box or None, padding colour).

    Skipped when the video has the output's aspect ratio: the window is then the whole video.

    The padding colour is the median colour of the samples' one-pixel border. Only shrunk
    copies of the samples are kept (a 4000x3000 frame is 36 MB).
    """
    if fitting_windows(reader.size, options.size)[0] == tuple(reader.size):
        return None, (255, 255, 255)   # same aspect ratio: the window is the whole video
    fps, duration = reader.fps, reader.duration
    if options.max_frames is not None:
        duration = min(duration or np.inf, options.max_frames / fps)
    if not duration or not np.isfinite(duration):
        duration = PREPASS_SAMPLES / fps
    times = [(i + 0.5) * duration / PREPASS_SAMPLES for i in range(PREPASS_SAMPLES)]

    def sample(seconds):
        """(border pixels, shrink factor, shrunk frame) of one sample, or None."""
        frame = frame_near(reader.path, seconds)
        if frame is None:
            return None
        edges = np.concatenate([frame[0], frame[-1], frame[:, 0], frame[:, -1]])
        shrink = min(1.0, PREPASS_MAX_SIDE / max(frame.shape[:2]))
        if shrink < 1:
            frame = cv2.resize(frame, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        return edges, shrink, frame

    # Each seek is its own short ffmpeg run, mostly start-up latency: run a few at once.
    with ThreadPoolExecutor(max_workers=3) as pool:
        samples = [s for s in pool.map(sample, times) if s is not None]
    edges = [e for e, _, _ in samples]
    samples = [(shrink, small) for _, shrink, small in samples]
    pad_color = tuple(int(c) for c in np.median(np.concatenate(edges), axis=0)) if edges \
        else (255, 255, 255)
    if json_kps is not None:
        return person_box(json_kps), pad_color
    if options.fit == "pad" or not samples:
        return None, pad_color
    backend = make_backend(options.pose, options.device, options.weights, options.scales,
                           video=False)
    try:
        boxes = []
        for shrink, small in samples:
            kp = unscale(backend.detect_batch([small])[0], (shrink, shrink))
            boxes.append(person_box(kp))
    finally:
        backend.close()
    found = np.array([b for b in boxes if b is not None])
    if not len(found):
        note(f"note: no person in the {len(samples)} sampled frames of {reader.path}; "
             "using a centred window")
        return None, pad_color
    return (*found[:, :2].min(axis=0), *found[:, 2:].max(axis=0)), pad_color


# ----------------------------------------------------------------------------- streaming

def read_ahead(iterable, depth):
    """Iterate `iterable` in a background thread, at most `depth` items ahead.

    Exceptions of the producer are raised in the consumer; stopping early stops the producer.
    """
    items = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item):
        """Queue `item` unless the consumer has stopped; False once it has."""
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def produce():
        try:
            for item in iterable:
                if not put(item):
                    return
            put(done)
        except BaseException as err:  # handed to the consumer, raised there
            put(err)   # never a plain put: a consumer that stopped would leave it blocked

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class Writer:
    """A small thread pool for image writes, with a bound on the writes waiting."""

    def __init__(self, workers=WRITE_WORKERS, in_flight=WRITES_IN_FLIGHT):
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.pending = deque()
        self.in_flight = in_flight

    def submit(self, fn, *args):
        self.pending.append(self.pool.submit(fn, *args))
        while len(self.pending) > self.in_flight:
            self.pending.popleft().result()   # waits, and raises a failed write's error

    def close(self, wait=True):
        try:
            if wait:
                while self.pending:
                    self.pending.popleft().result()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(wait=exc_type is None)


def remove_stale(folder, count=None):
    """Delete frames numbered `count` and beyond (from a longer earlier run) and the temporary
    files of an interrupted run (all of them; count=None removes only those)."""
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        stem = name[:-4] if name.endswith(".png") else None
        stale = count is not None and stem is not None and stem.isdigit() and int(stem) >= count
        if stale or (name.startswith(".") and ".tmp" in name):
            os.remove(os.path.join(folder, name))


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


# ----------------------------------------------------------------------------- the stage

def run_stage(role, options):
    """Run the pose stage for role "source" or "target"; returns the PoseTrack written."""
    layout = LAYOUTS[role]
    if options.max_frames is not None and options.max_frames < 1:
        raise UserError(f"--max-frames {options.max_frames}: give a number of frames >= 1")
    if options.pose == "json" and not options.json_dir:
        raise UserError("--pose json needs --json-dir DIR, the folder of OpenPose "
                        "*_keypoints.json files")
    if options.pose != "openpose" and (options.weights or options.scales):
        note("note: --weights and --scales are used only by --pose openpose")
    if options.smooth < 0 or options.max_gap < 0:
        raise UserError("--smooth and --max-gap must be >= 0")

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
        if len(json_kps) != n:
            note(f"warning: {options.json_dir}: {len(json_kps)} JSON files for {n} video frames; "
                 + ("the frames without a file get no pose" if len(json_kps) < n
                    else "the extra files are ignored"))
        kps = np.zeros((n, N_POINTS, 3), np.float32)
        kps[:min(n, len(json_kps))] = window.to_frame(json_kps[:n])

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


def detection_window(window):
    """The window at the size the detector sees: the output size, or larger for small outputs.

    Hands and faces need pixels: for a small output (the demo's 256x128) the detector gets the
    same window at DETECT_MIN_HEIGHT, as far as the video has that resolution.
    """
    w, h = window.size
    height = max(h, min(DETECT_MIN_HEIGHT, window.y1 - window.y0))
    return dataclasses.replace(window, size=(max(1, round(height * w / h)), height))


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

