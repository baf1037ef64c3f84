"""The window each frame of a video is cut with before it is resized to the output size.

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
aspect ratio is used whole, without a pre-pass. The pose stage saves the window as `crop` in keypoints.npz
(it may reach past the video).

Small and large videos: videos smaller than MIN_VIDEO_SIDE pixels on a side are refused (no
detector finds a person that small; upscaling adds no detail); smaller than the output size they
are upscaled (bilinear); larger ones are downscaled (area averaging), streamed like any other.
The detector sees the same window, but at least DETECT_MIN_HEIGHT pixels high where the video
has that many: small outputs (the demo's 256x128) would lose the hands otherwise.
"""
import dataclasses
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from src.errors import note
from src.io.video import frame_near
from src.pose import make_backend
from src.pose.keypoints import person_box, rescale, unscale

PREPASS_SAMPLES = 6
PREPASS_MAX_SIDE = 1280      # samples are shrunk to this for the detector (speed only)
PERSON_MARGIN = 0.1
DETECT_MIN_HEIGHT = 512      # the detector sees frames at least this high where the video has it


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


def detection_window(window):
    """The window at the size the detector sees: the output size, or larger for small outputs.

    Hands and faces need pixels: for a small output (the demo's 256x128) the detector gets the
    same window at DETECT_MIN_HEIGHT, as far as the video has that resolution.
    """
    w, h = window.size
    height = max(h, min(DETECT_MIN_HEIGHT, window.y1 - window.y0))
    return dataclasses.replace(window, size=(max(1, round(height * w / h)), height))


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
