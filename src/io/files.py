"""Atomic file writes and image reading/writing.

Every output a later stage reads is written to a temporary name in the same folder and then
renamed, so an interrupted run never leaves a half-written file behind. The file is flushed to
disk (fsync) before the rename and the folder after it, so that after a power loss a finish
marker (keypoints.npz, latest.pt) or a resumable frame on disk is whole. A stage that redoes all
its frames on a re-run may write them with sync=False and call sync_all() before its marker.
Images are RGB uint8 arrays of shape (H, W, 3) everywhere in this project.
"""
import contextlib
import os
import shutil
import struct
import tempfile
import zlib

import cv2
import numpy as np

from src.errors import UserError

try:  # zlib-ng deflates the same streams in about half of zlib's time; zlib where it is missing
    from zlib_ng import zlib_ng as deflate
except ImportError:  # pragma: no cover
    deflate = zlib


_UMASK = os.umask(0)
os.umask(_UMASK)
SYNC = True   # flush writes to disk (bench/bench_pose_stage.py --fsync-cost measures the cost)


def frame_name(index):
    """File name of frame `index` in every frame folder of the pipeline."""
    return f"{index:05d}.png"


@contextlib.contextmanager
def atomic_path(path, sync=True):
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds."""
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    base, ext = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{ext}", dir=folder)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs should get normal permissions
    try:
        yield tmp
        durable_replace(tmp, path, sync)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def durable_replace(tmp, path, sync=True):
    """Rename a finished temporary file to `path`, flushing both to disk (unless sync=False)."""
    sync = sync and SYNC
    if sync:
        _fsync(tmp)
    os.replace(tmp, path)
    if sync:
        _fsync(os.path.dirname(os.fspath(path)) or ".")   # the rename itself


def sync_all():
    """Flush everything written so far to disk: before a finish marker of sync=False files."""
    if SYNC:
        os.sync()


def _fsync(path):
    """Flush a file's or a folder's data and metadata to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path, data, sync=True):
    with atomic_path(path, sync) as tmp, open(tmp, "wb") as f:
        f.write(data)


def keep_copy(src, path):
    """Put the file `src` at `path` atomically: a hard link where the file system allows it (no
    bytes are copied), else a copy. Nothing to do when `path` already is that file."""
    if os.path.exists(path) and os.path.samefile(src, path):
        return
    with atomic_path(path) as tmp:
        os.remove(tmp)
        try:
            os.link(os.path.realpath(src), tmp)
        except OSError:   # another file system, or one without hard links
            shutil.copyfile(src, tmp)


def write_image(path, rgb, png_compression=1, sync=True):
    """Write an RGB (or grey) uint8 image atomically (PNG by default; the extension picks the
    format). png_compression is zlib's level, 0-9."""
    ext = os.path.splitext(os.fspath(path))[1] or ".png"
    if ext.lower() == ".png" and rgb.dtype == np.uint8 and (rgb.ndim == 2 or rgb.shape[2] == 3):
        write_bytes(path, encode_png(rgb, png_compression), sync)
        return
    params = [cv2.IMWRITE_PNG_COMPRESSION, png_compression] if ext.lower() == ".png" else []
    img = rgb if rgb.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise UserError(f"{path}: could not encode image")
    write_bytes(path, buf.tobytes(), sync)


def encode_png(img, level=1):
    """The bytes of a PNG file holding a uint8 image: (h, w) grey or (h, w, 3) RGB.

    Every row is stored with PNG's "Up" filter (its difference to the row above) and deflated with
    zlib's run-length strategy (zlib-ng's, where installed: about half the time). On video frames,
    labels and masks that is several times faster than OpenCV's encoder (libpng tries every filter
    on every row) and the files come out as small. numpy and zlib release the GIL, so writer
    threads run in parallel.
    """
    h, w = img.shape[:2]
    channels = 1 if img.ndim == 2 else img.shape[2]
    rows = np.ascontiguousarray(img).reshape(h, w * channels)
    filtered = np.empty((h, 1 + w * channels), np.uint8)
    filtered[:, 0] = 2                       # filter type "Up" for every row
    filtered[0, 1:] = rows[0]                # the row above the first one counts as zeros
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])   # modulo 256, as PNG wants
    return _png_file(filtered, w, h, channels, level)


def encode_png_on_white(size, x0, y0, patch, level=1):
    """encode_png() of a white (w, h) = size RGB image with `patch` (h', w', 3) pasted at column
    x0, row y0, without building the image: with the "Up" filter, rows are zero away from the
    patch, so only the patch's columns in its rows and the row below it need computing."""
    w, h = size
    ph, pw = patch.shape[:2]
    filtered = np.zeros((h, 1 + 3 * w), np.uint8)
    filtered[:, 0] = 2
    filtered[0, 1:] = 255
    if ph and pw:
        r0, r1 = max(y0 - 1, 0), min(y0 + ph + 1, h)   # the patch's rows and one white row each side
        rows = np.full((r1 - r0, 3 * pw), 255, np.uint8)
        rows[y0 - r0:y0 - r0 + ph] = patch.reshape(ph, 3 * pw)
        cols = slice(1 + 3 * x0, 1 + 3 * (x0 + pw))
        if r0 == 0:                                      # the first row is stored as it is
            filtered[0, cols] = rows[0]
        np.subtract(rows[1:], rows[:-1], out=filtered[r0 + 1:r1, cols])
    return _png_file(filtered, w, h, 3, level)


def _png_file(filtered, w, h, channels, level):
    """A PNG file of 8-bit grey (channels 1) or RGB rows already filtered (a filter byte each)."""
    packer = deflate.compressobj(level, deflate.DEFLATED, 15, 9, deflate.Z_RLE)
    data = packer.compress(filtered) + packer.flush()
    color_type = 0 if channels == 1 else 2   # greyscale / truecolour, 8 bits per sample
    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data)
            + _png_chunk(b"IEND", b""))


def _png_chunk(kind, data):
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def read_image(path):
    """Read an image file as RGB uint8 (grayscale and RGBA are converted)."""
    img = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f"{path}: not a readable image; delete it and re-run the stage that wrote it")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def save_npy(path, array):
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def save_npz(path, compressed=True, **arrays):
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        (np.savez_compressed if compressed else np.savez)(f, **arrays)


def remove_temporaries(folder, of=None):
    """Delete the temporary files that a killed run left in `folder`: all of them, or those of
    the file `of` only (the names atomic_path and VideoWriter give: .NAME.*.tmp.EXT)."""
    prefix = "." if of is None else "." + os.path.splitext(os.path.basename(of))[0] + "."
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        if name.startswith(prefix) and ".tmp" in name:
            os.remove(os.path.join(folder, name))


def list_frames(folder):
    """Sorted paths of the PNG frames in `folder` (temporary files excluded)."""
    if not os.path.isdir(folder):
        return []
    names = sorted(n for n in os.listdir(folder) if n.endswith(".png") and not n.startswith("."))
    return [os.path.join(folder, n) for n in names]
