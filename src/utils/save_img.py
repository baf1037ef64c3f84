"""Record a webcam (or any video device or file) into the video that make_target.py reads.

    python -m src.utils.save_img [--device 0 | --device path/to/video] [--out data/target/mv.mp4]
                                 [--seconds 60] [--fps 25]

Frames are written at a constant frame rate: a camera's frames are placed by their arrival
time (repeated or dropped as needed), so the recording plays at real speed. Ctrl-C stops the
recording after the frame being written and keeps what was recorded; the file only appears
once it is complete.
"""
import argparse
import contextlib
import os
import signal
import sys
import threading
import time

import cv2
from tqdm import tqdm

if __package__ in (None, ""):  # run as a file: make `src` importable
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from src.errors import UserError, run_main
from src.io.video import VideoReader, VideoWriter
from src.layout import TARGET_DIR, VIDEO

DEFAULT_FPS = 25.0


def open_device(device, fps=None):
    """Timed frames (t seconds, RGB) from a camera index, a device node or a video file.

    Returns (frames, fps): a file keeps its own frame rate unless `fps` is given.
    """
    if not device.isdigit() and os.path.isfile(device):
        reader = VideoReader(device)
        return _file_frames(reader), fps or reader.fps
    fps = fps or DEFAULT_FPS
    if device.isdigit():
        missing = f"no camera at index {device}: connect one or pass --device path/to/video"
        return _camera(int(device), fps, missing), fps
    if os.path.exists(device):  # a device node such as /dev/video0
        missing = (f"{device}: not a camera that OpenCV can open; pass another --device "
                   "(a camera index or a video file)")
        return _camera(device, fps, missing), fps
    raise UserError(f"{device}: no such file or camera; pass --device 0 for the first camera "
                    "or the path of a video file")


def _file_frames(reader):
    for i, frame in enumerate(reader):
        yield i / reader.fps, frame
    yield reader.frames_read / reader.fps, None  # the end of the last frame


def _camera(source, fps, missing):
    # OpenCV prints its own warnings when a camera is absent; our one-line error says it all.
    level = cv2.getLogLevel()
    cv2.setLogLevel(0)  # silent
    try:
        cap = cv2.VideoCapture(source)
        if cap.isOpened():
            cap.set(cv2.CAP_PROP_FPS, fps)  # a hint; frames are placed by arrival time anyway
        ok, bgr = cap.read() if cap.isOpened() else (False, None)
    finally:
        cv2.setLogLevel(level)
    if not ok:
        cap.release()
        raise UserError(missing)
    return _camera_frames(cap, bgr)


def _camera_frames(cap, bgr):
    start = time.monotonic()
    try:
        while bgr is not None:
            yield time.monotonic() - start, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            ok, bgr = cap.read()
            if not ok:
                print("warning: the camera stopped sending frames; keeping what was recorded")
                return
    finally:
        cap.release()


def at_rate(timed_frames, fps):
    """Frames at a constant `fps`: slot k (time k/fps) shows the latest frame that had arrived.

    A frame None at time t marks the end of a file (its last frame lasts until t). Frames from
    a file at the same rate pass through one for one.
    """
    k, prev = 0, None
    for t, frame in timed_frames:
        while prev is not None and k / fps < t - 1e-6:
            yield prev
            k += 1
        if frame is None:
            return
        prev = frame
    if prev is not None:
        yield prev


@contextlib.contextmanager
def _ctrl_c_flag():
    """Within the block, Ctrl-C only sets a flag, so it never cuts a frame write in half."""
    flag = []
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers live in the main thread only
        return
    previous = signal.signal(signal.SIGINT, lambda *_: flag.append(True))
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def record(timed_frames, out, fps, max_frames):
    """Write up to max_frames frames to `out`; Ctrl-C stops early and keeps what was written.

    Returns the number of frames written (0: nothing was written, no file created).
    """
    frames = at_rate(timed_frames, fps)
    writer = None
    bar = tqdm(total=max_frames, desc=f"recording {out}", unit="frame")
    try:
        with _ctrl_c_flag() as stopped:
            for frame in frames:
                if writer is None:
                    writer = VideoWriter(out, fps, frame.shape[1::-1])
                writer.write(frame)
                bar.update()
                if stopped or writer.frames_written >= max_frames:
                    break
        if stopped:
            bar.write("stopped: keeping the frames recorded so far")
    except BaseException:
        if writer is not None:
            writer.close(ok=False)
        raise
    finally:
        bar.close()
        frames.close()
        if hasattr(timed_frames, "close"):
            timed_frames.close()  # releases the camera now, not at garbage collection
    if writer is None:
        return 0
    writer.close()
    return writer.frames_written


def _positive(text):
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: must be > 0")
    return value


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m src.utils.save_img",
        description="Record a webcam, video device or video file into an mp4 for make_target.py. "
                    "Ctrl-C stops early and keeps the recording.")
    ap.add_argument("--device", default="0",
                    help="camera index (0 = first webcam), a device such as /dev/video1, or a "
                         "video file (default: 0)")
    out = os.path.join(TARGET_DIR, VIDEO)
    ap.add_argument("--out", default=out,
                    help=f"video to write (default: {out}, what make_target.py reads)")
    ap.add_argument("--seconds", type=_positive, default=60,
                    help="length of the recording in seconds (default: 60)")
    ap.add_argument("--fps", type=_positive, default=None,
                    help=f"frame rate of the recording (default: {DEFAULT_FPS:g} for a camera, "
                         "a video file's own rate for a file)")
    args = ap.parse_args(argv)
    timed_frames, fps = open_device(args.device, args.fps)
    n = record(timed_frames, args.out, fps, max(1, round(args.seconds * fps)))
    if n == 0:
        raise UserError(f"{args.device}: no frame was recorded; nothing written")
    print(f"wrote {args.out} ({n} frames, {n / fps:.1f} s at {fps:g} frames/s)")


if __name__ == "__main__":
    run_main(main)
