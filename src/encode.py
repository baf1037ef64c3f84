"""A folder of result frames -> a shareable H.264 mp4 with the source's music (make_mp4.py).

Frames are read and encoded one at a time, so memory does not grow with the video's length.
Layouts: "single" (the result frames as they are) or "side-by-side" (source frame | label |
result, all at the result's height). With gif=True a small preview GIF is written too.
"""
import contextlib
import os

import cv2
import numpy as np
from tqdm import tqdm

from src.errors import UserError
from src.io.files import list_frames, read_image, remove_temporaries
from src.io.video import VideoReader, VideoWriter, has_audio
from src.layout import KEYPOINTS, NORM_LABELS, SOURCE_DIR, SOURCE_FRAMES, VIDEO
from src.pose.keypoints import PoseTrack

DEFAULT_FPS = 25.0
GIF_WIDTH = 320       # preview width in pixels
GIF_SECONDS = 5.0     # the preview shows the start of the video
GIF_MAX_FPS = 10.0    # and fewer frames per second, to stay small


def source_fps(source_dir, source_video):
    """The source's frame rate: from its keypoints file, else its video's header, else None."""
    kp_path = os.path.join(source_dir, KEYPOINTS)
    if os.path.isfile(kp_path):
        return PoseTrack.load(kp_path, "make_source.py").fps
    if source_video and os.path.isfile(source_video):
        with VideoReader(source_video) as reader:
            return reader.fps
    return None


def audio_source(source_video, explicit):
    """The file to take the audio from, or None (with a note saying why the video is silent)."""
    if not os.path.isfile(source_video):
        if explicit:
            raise UserError(f"{source_video}: no such file; give the source video with "
                            "--source-video, or use --no-audio")
        print(f"note: no source video at {source_video}: the video is silent (make_source.py "
              "keeps it there; or give --source-video to add its music)")
        return None
    if not has_audio(source_video):
        print(f"note: {source_video} has no audio track: the video is silent")
        return None
    return source_video


def fit_height(rgb, height):
    """Resize to `height` keeping the aspect ratio (no-op when it already fits)."""
    h, w = rgb.shape[:2]
    if h == height:
        return rgb
    width = max(1, int(round(w * height / h)))
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if h > height else cv2.INTER_LINEAR)


class Panels:
    """Builds side-by-side frames: source frame | label | result, all at the result's height."""

    def __init__(self, source_dir, n_frames, size):
        self.folders = [os.path.join(source_dir, SOURCE_FRAMES), os.path.join(source_dir, NORM_LABELS)]
        self.lists = []
        for folder, stage in zip(self.folders, ["make_source.py", "normalization.py"]):
            frames = list_frames(folder)
            if len(frames) < n_frames:
                raise UserError(f"{folder}: {len(frames)} frames for {n_frames} result frames; "
                                f"the side-by-side layout needs both: re-run {stage} (and transfer.py)")
            self.lists.append(frames)
        self.height = size[1]
        # Panel widths from the first frames; every frame of a folder has the same size.
        widths = [fit_height(read_image(f[0]), self.height).shape[1] for f in self.lists]
        self.size = (sum(widths) + size[0], self.height)

    def compose(self, i, result):
        panels = [fit_height(read_image(frames[i]), self.height) for frames in self.lists]
        out = np.concatenate(panels + [result], axis=1)
        if out.shape[1::-1] != self.size:
            raise UserError(f"{self.lists[0][i]} or {self.lists[1][i]}: frame size differs from "
                            "the first frame's; re-run make_source.py and normalization.py")
        return out


def gif_plan(fps, n_frames, size):
    """Which frames go into the GIF preview, at what frame rate and size."""
    gif_fps = min(fps, GIF_MAX_FPS)
    n = min(n_frames, int(np.ceil(GIF_SECONDS * fps)))
    # Frame i is kept when it starts a new GIF frame interval.
    slots = np.floor(np.arange(n) * gif_fps / fps)
    keep = set(np.flatnonzero(np.diff(slots, prepend=-1) > 0).tolist())
    width = min(GIF_WIDTH, size[0])
    height = max(2, int(round(size[1] * width / size[0] / 2)) * 2)
    return keep, gif_fps, (width, height)


def gif_path_for(out):
    return os.path.splitext(out)[0] + ".gif"


def encode(frames_dir, out, source_dir=SOURCE_DIR, source_video=None, fps=None, audio=True,
           layout="single", gif=False):
    """Encode frames_dir/*.png into `out` (see the module docstring). Returns the paths written."""
    frames = list_frames(frames_dir)
    if not frames:
        raise UserError(f"{frames_dir}: no frames (*.png) to encode; run transfer.py first")
    explicit_video = source_video is not None
    if source_video is None:
        source_video = os.path.join(source_dir, VIDEO)

    if fps is None:
        fps = source_fps(source_dir, source_video)
        if fps is None:
            fps = DEFAULT_FPS
            print(f"note: no source frame rate found (no {os.path.join(source_dir, KEYPOINTS)} or source "
                  f"video); using {fps:g} frames/s (set it with --fps)")
    audio_from = audio_source(source_video, explicit_video) if audio else None

    first = read_image(frames[0])
    size = first.shape[1::-1]
    panels = Panels(source_dir, len(frames), size) if layout == "side-by-side" else None
    video_size = panels.size if panels else size
    written = [out]
    for path in (out, gif_path_for(out)):   # a run killed mid-write left these
        remove_temporaries(os.path.dirname(path) or ".", of=path)
    with contextlib.ExitStack() as stack:
        video = stack.enter_context(VideoWriter(out, fps, video_size, audio_from=audio_from,
                                                  duration=len(frames) / fps))
        if gif:
            keep, gif_fps, gif_size = gif_plan(fps, len(frames), video_size)
            preview = stack.enter_context(VideoWriter(gif_path_for(out), gif_fps, gif_size))
            written.append(preview.path)
        for i, path in enumerate(tqdm(frames, desc="encoding", unit="frame")):
            rgb = first if i == 0 else read_image(path)
            if rgb.shape[1::-1] != size:
                raise UserError(f"{path}: {rgb.shape[1]}x{rgb.shape[0]}, but the first frame is "
                                f"{size[0]}x{size[1]}; re-run transfer.py into an empty folder")
            if panels:
                rgb = panels.compose(i, rgb)
            video.write(rgb)
            if gif and i in keep:
                preview.write(cv2.resize(rgb, gif_size, interpolation=cv2.INTER_AREA))
    sound = f"with audio from {audio_from}" if audio_from else "silent"
    print(f"wrote {out}: {len(frames)} frames, {video_size[0]}x{video_size[1]}, {fps:g} frames/s, {sound}")
    if gif:
        print(f"wrote {written[1]}: preview of the first {min(len(frames) / fps, GIF_SECONDS):.1f} s")
    return written
