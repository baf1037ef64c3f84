"""Atomic, durable writes and the PNG encoder (src/io/files.py)."""
import errno
import os
import struct

import cv2
import numpy as np
import pytest
from PIL import Image

from src.io import files
from src.io.files import atomic_path, encode_png, keep_copy, read_image, save_npz, write_image
from src.io.video import VideoWriter


@pytest.fixture
def disk_log(monkeypatch):
    """Records fsync (with the path of the file or folder) and replace calls, in order."""
    log = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        log.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        log.append(("replace", os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return log


def check_durable(log, path):
    """The temporary file is flushed, then renamed to `path`, then the folder is flushed."""
    path = os.path.realpath(path)
    (kind, tmp, dst), = [entry for entry in log if entry[0] == "replace"]
    assert os.path.realpath(dst) == path
    i = log.index((kind, tmp, dst))
    assert ("fsync", os.path.realpath(tmp)) in log[:i]
    assert ("fsync", os.path.dirname(path)) in log[i + 1:]


def test_finish_marker_is_flushed_before_and_after_the_rename(tmp_path, disk_log):
    save_npz(tmp_path / "keypoints.npz", a=np.arange(3))
    check_durable(disk_log, tmp_path / "keypoints.npz")
    np.testing.assert_array_equal(np.load(tmp_path / "keypoints.npz")["a"], [0, 1, 2])


def test_frames_and_videos_are_flushed_too(tmp_path, disk_log):
    write_image(tmp_path / "00000.png", np.zeros((8, 8, 3), np.uint8))
    check_durable(disk_log, tmp_path / "00000.png")
    disk_log.clear()
    with VideoWriter(tmp_path / "v.mp4", 10, (16, 16)) as video:
        video.write(np.zeros((16, 16, 3), np.uint8))
    check_durable(disk_log, tmp_path / "v.mp4")


def test_keep_copy_puts_the_same_bytes_there_atomically(tmp_path, disk_log, monkeypatch):
    src = tmp_path / "videos" / "dance.mp4"
    src.parent.mkdir()
    src.write_bytes(b"first video")
    out = tmp_path / "source" / "mv.mp4"
    keep_copy(src, out)
    assert out.read_bytes() == b"first video" and os.path.samefile(src, out)   # a hard link
    check_durable(disk_log, out)
    assert os.listdir(out.parent) == ["mv.mp4"]
    disk_log.clear()
    keep_copy(src, out)                     # already that file: nothing is written
    keep_copy(out, out)
    assert disk_log == []
    other = tmp_path / "videos" / "other.mp4"
    other.write_bytes(b"second video")

    def cross_device(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    keep_copy(other, out)                   # no hard link possible: a copy replaces the old one
    assert out.read_bytes() == b"second video" and not os.path.samefile(other, out)
    assert src.read_bytes() == b"first video" and os.listdir(out.parent) == ["mv.mp4"]


def test_atomic_path_cleans_up_when_the_write_fails(tmp_path):
    target = tmp_path / "out" / "latest.pt"
    target.parent.mkdir()
    target.write_bytes(b"the previous checkpoint")
    with pytest.raises(OSError, match="disk full"):
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half of the new one")
            raise OSError("disk full")
    assert os.listdir(target.parent) == ["latest.pt"]                  # no temporary file left
    assert target.read_bytes() == b"the previous checkpoint"           # the old file untouched
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "out" / "new.npy"):
            raise ValueError("encoder failed before writing anything")
    assert os.listdir(target.parent) == ["latest.pt"]


def test_temporary_file_gets_normal_permissions(tmp_path):
    with atomic_path(tmp_path / "a.txt") as tmp:
        assert os.path.basename(tmp).startswith(".a.") and os.path.dirname(tmp) == str(tmp_path)
        with open(tmp, "w") as f:
            f.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "a.txt").st_mode & 0o777 == 0o666 & ~umask
    assert files.SYNC


def test_remove_temporaries_of_a_killed_run(tmp_path):
    names = [".00003.k2j4.tmp.png", ".keypoints.x81.tmp.npz", ".t.4242.tmp.mp4", ".t.4242.tmp.gif",
             "00001.png", ".transfer.json", "t.mp4", "notes.tmp"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    files.remove_temporaries(tmp_path, of=tmp_path / "t.mp4")
    left = os.listdir(tmp_path)
    assert ".t.4242.tmp.mp4" not in left and ".keypoints.x81.tmp.npz" in left
    files.remove_temporaries(tmp_path)
    assert sorted(os.listdir(tmp_path)) == [".transfer.json", "00001.png", "notes.tmp", "t.mp4"]
    files.remove_temporaries(tmp_path / "missing")                 # no folder: nothing to do


def test_frames_redone_on_a_rerun_are_flushed_once_before_the_marker(tmp_path, disk_log,
                                                                     monkeypatch):
    synced = []
    monkeypatch.setattr(os, "sync", lambda: synced.append(len(disk_log)))
    write_image(tmp_path / "00000.png", np.zeros((8, 8, 3), np.uint8), sync=False)
    assert [e[0] for e in disk_log] == ["replace"]                 # renamed, not flushed
    files.sync_all()
    save_npz(tmp_path / "keypoints.npz", a=np.arange(2))
    assert synced == [1]                                           # before the marker's writes
    check_durable(disk_log[1:], tmp_path / "keypoints.npz")


# --- the PNG encoder ---------------------------------------------------------------------

def images():
    rng = np.random.default_rng(0)
    yield rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)           # noise: every byte differs
    ramp = np.tile(np.arange(64, dtype=np.uint8)[:, None] * 4, (1, 20))
    yield np.stack([ramp, 255 - ramp, ramp // 2], axis=-1)            # rows that change steadily
    yield np.full((5, 7, 3), 255, np.uint8)                           # flat white (a label's page)
    yield rng.integers(0, 256, (1, 1, 3), dtype=np.uint8)             # one pixel
    yield (rng.random((31, 17)) > 0.5).astype(np.uint8) * 255         # a grey mask


@pytest.mark.parametrize("deflate", ["installed", "zlib"])
@pytest.mark.parametrize("img", list(images()), ids=lambda a: "x".join(map(str, a.shape)))
def test_png_decodes_to_the_same_pixels_in_libpng_and_pillow(img, deflate, tmp_path, monkeypatch):
    if deflate == "zlib":  # the fallback where zlib-ng is not installed
        import zlib
        monkeypatch.setattr(files, "deflate", zlib)
    path = tmp_path / "a.png"
    write_image(path, img)
    via_opencv = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        via_opencv = cv2.cvtColor(via_opencv, cv2.COLOR_BGR2RGB)
        assert np.array_equal(read_image(path), img)
    assert np.array_equal(via_opencv, img)
    with Image.open(path) as pil:
        assert pil.mode == ("L" if img.ndim == 2 else "RGB")
        assert np.array_equal(np.asarray(pil), img)
    assert [n for n in os.listdir(tmp_path)] == ["a.png"]   # no temporary file left


def test_png_header_follows_the_format():
    data = encode_png(np.zeros((3, 5, 3), np.uint8))
    assert data[:8] == bytes([137, 80, 78, 71, 13, 10, 26, 10])   # the PNG signature
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    # width 5, height 3, 8 bits, colour type 2 (truecolour), deflate, filter method 0, no interlace
    assert struct.unpack(">IIBBBBB", data[16:29]) == (5, 3, 8, 2, 0, 0, 0)
    assert data[-12:] == bytes([0, 0, 0, 0]) + b"IEND" + bytes([0xAE, 0x42, 0x60, 0x82])


def test_png_of_a_flat_frame_is_small():
    # A white 1024x512 label page is 1.5 MB of pixels; the Up filter and run-length coding make
    # it a few kilobytes.
    assert len(encode_png(np.full((512, 1024, 3), 255, np.uint8))) < 8000


@pytest.mark.parametrize("x0,y0,ph,pw", [(0, 0, 4, 6), (3, 2, 5, 4), (9, 10, 2, 3), (2, 11, 1, 1),
                                         (0, 0, 12, 12), (5, 5, 0, 0)])
def test_png_of_a_patch_on_white_is_the_png_of_the_pasted_image(x0, y0, ph, pw):
    # A 12x12 white page; patches in a corner, inside, at the bottom-right edge, one pixel, the
    # whole page and none.
    rng = np.random.default_rng(x0 + y0)
    patch = rng.integers(0, 256, (ph, pw, 3), dtype=np.uint8)
    page = np.full((12, 12, 3), 255, np.uint8)
    page[y0:y0 + ph, x0:x0 + pw] = patch
    data = files.encode_png_on_white((12, 12), x0, y0, patch)
    assert data == encode_png(page)
    decoded = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR),
                           cv2.COLOR_BGR2RGB)
    assert np.array_equal(decoded, page)
