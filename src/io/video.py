"""Video decoding and encoding through the ffmpeg binary that ships with imageio-ffmpeg.

Frames are streamed one at a time (RGB uint8, shape (H, W, 3)), so memory does not grow with
the video's length. ffmpeg applies the rotation metadata of phone videos while decoding, so
frames come out upright and `VideoReader.size` is the upright size.
"""
import logging
import os
import re
import subprocess

import imageio_ffmpeg
import numpy as np

from src.errors import UserError
from src.io.files import durable_replace

# imageio-ffmpeg warns on every rotated video that the upright size differs from the stored one.
logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)

VIDEO_HINT = "give a video file (mp4, mov, avi, mkv, webm...)"


def ffmpeg_exe():
    return imageio_ffmpeg.get_ffmpeg_exe()


def has_audio(path):
    """True if the file has an audio stream (asks ffmpeg, decodes nothing)."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", os.fspath(path)],
                          capture_output=True, text=True, errors="replace")
    return re.search(r"Stream #\S+.*: Audio:", proc.stderr) is not None


def frame_near(path, seconds):
    """A frame near `seconds` into a video (upright, RGB), or None.

    ffmpeg seeks to the key frame before that time and stops there (-noaccurate_seek): any
    frame of the neighbourhood will do, and it needs no decoding up to the exact time.
    """
    gen = imageio_ffmpeg.read_frames(path, pix_fmt="rgb24",
                                     input_params=["-noaccurate_seek", "-ss", f"{seconds:.3f}"],
                                     output_params=["-frames:v", "1"])
    try:
        meta = next(gen)
        buf = next(gen, None)
    except (RuntimeError, OSError, StopIteration):
        return None
    finally:
        gen.close()
    w, h = meta["size"]
    if buf is None or len(buf) != w * h * 3:
        return None
    return np.frombuffer(buf, np.uint8).reshape(h, w, 3)


class VideoReader:
    """Iterate over a video's frames; raises UserError with the file name for bad input.

    Attributes: path, size (w, h, upright), fps, duration (s), n_frames (estimate from the header).
    """

    def __init__(self, path, max_frames=None):
        self.path = os.fspath(path)
        self.max_frames = max_frames
        if not os.path.exists(self.path):
            raise UserError(f"{self.path}: no such file; check the path or record a video first")
        if os.path.isdir(self.path):
            raise UserError(f"{self.path}: is a folder; {VIDEO_HINT}")
        if os.path.getsize(self.path) == 0:
            raise UserError(f"{self.path}: empty file; {VIDEO_HINT}")
        self._gen = imageio_ffmpeg.read_frames(self.path, pix_fmt="rgb24")
        try:
            meta = next(self._gen)
        except (RuntimeError, OSError, StopIteration, ValueError, IndexError) as err:
            self._gen.close()
            reason = str(err).strip().splitlines()[-1][:200] if str(err).strip() else "unreadable"
            raise UserError(f"{self.path}: not a readable video ({reason}); {VIDEO_HINT}, "
                            "or re-export it if it is truncated or corrupt") from None
        self.size = tuple(int(v) for v in meta["size"])
        self.fps = float(meta.get("fps") or 0) or 25.0
        self.duration = float(meta.get("duration") or 0)
        self.n_frames = int(round(self.duration * self.fps))
        if max_frames is not None:
            self.n_frames = min(self.n_frames, max_frames) if self.n_frames else max_frames
        self.frames_read = 0

    def __iter__(self):
        w, h = self.size
        try:
            for buf in self._gen:
                if self.max_frames is not None and self.frames_read >= self.max_frames:
                    break
                if len(buf) != w * h * 3:
                    break  # a short last frame of a truncated file
                self.frames_read += 1
                yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
        except (RuntimeError, OSError) as err:
            if self.frames_read == 0:
                raise UserError(f"{self.path}: could not decode any frame ({str(err)[:120]}); "
                                "the file is corrupt: re-export or re-download it") from None
            # A truncated file: keep the frames that decoded; the caller reports the count.
        finally:
            self.close()
        if self.frames_read == 0:
            raise UserError(f"{self.path}: the video has no frames; {VIDEO_HINT} with at least one frame")

    def close(self):
        self._gen.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def even_size(size):
    """H.264 in yuv420p needs even width and height."""
    return (size[0] + size[0] % 2, size[1] + size[1] % 2)


class VideoWriter:
    """Encode RGB frames to a file; it appears under its final name only when closed cleanly.

    mp4: H.264 yuv420p (plays in browsers and phones). With `audio_from`, the first audio stream
    of that file is muxed in, cut to `duration` seconds (the video's length) or padded with
    silence up to it. gif: a palette GIF.
    """

    def __init__(self, path, fps, size, audio_from=None, duration=None, quality=7):
        self.path = os.fspath(path)
        self.size = tuple(int(v) for v in size)
        folder = os.path.dirname(self.path) or "."
        os.makedirs(folder, exist_ok=True)
        base, ext = os.path.splitext(os.path.basename(self.path))
        self._tmp = os.path.join(folder, f".{base}.{os.getpid()}.tmp{ext}")
        gif = ext.lower() == ".gif"
        if gif:  # a palette made from the clip itself keeps GIF colours clean
            out_params, codec, pix_fmt, audio_from = (
                ["-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse", "-loop", "0"], "gif", None, None)
        else:
            out_params, codec, pix_fmt = [], "libx264", "yuv420p"
            if audio_from:
                if duration is None:
                    raise ValueError("a video with audio needs its duration")
                # Not -shortest: it drops the last video frame when the audio ends about when
                # the video does. The audio is padded with silence, then both are cut.
                out_params = ["-af", "apad", "-t", f"{duration:.6f}"]
        self._out_size = self.size if gif else even_size(self.size)
        self._gen = imageio_ffmpeg.write_frames(
            self._tmp, self._out_size, fps=fps, quality=None if gif else quality, codec=codec,
            pix_fmt_out=pix_fmt, macro_block_size=1, ffmpeg_log_level="error",
            output_params=out_params, audio_path=os.fspath(audio_from) if audio_from else None,
            audio_codec="aac" if audio_from else None)
        self._gen.send(None)
        self.frames_written = 0

    def write(self, rgb):
        if rgb.shape[1::-1] != self.size:
            raise ValueError(f"frame size {rgb.shape[1::-1]} differs from the video's {self.size}")
        if self._out_size != self.size:
            rgb = np.pad(rgb, ((0, self._out_size[1] - self.size[1]),
                               (0, self._out_size[0] - self.size[0]), (0, 0)), mode="edge")
        self._gen.send(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
        self.frames_written += 1

    def close(self, ok=True):
        """Finish the file; with ok=False (or no frame written) throw it away."""
        try:
            self._gen.close()
            if ok and self.frames_written:
                if not os.path.exists(self._tmp) or os.path.getsize(self._tmp) == 0:
                    raise UserError(f"{self.path}: ffmpeg wrote nothing; check the folder is "
                                    "writable and the disk has space")
                durable_replace(self._tmp, self.path)
        finally:
            if os.path.exists(self._tmp):
                os.remove(self._tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(ok=exc_type is None)
        return False
