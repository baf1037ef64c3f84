import os
import struct

import cv2
import numpy as np
import pytest
from PIL import Image

from src.files import encode_png, read_image, write_image


def images():
    rng = np.random.default_rng(0)
    yield rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)           # noise: every byte differs
    ramp = np.tile(np.arange(64, dtype=np.uint8)[:, None] * 4, (1, 20))
    yield np.stack([ramp, 255 - ramp, ramp // 2], axis=-1)            # rows that change steadily
    yield np.full((5, 7, 3), 255, np.uint8)                           # flat white (a label's page)
    yield rng.integers(0, 256, (1, 1, 3), dtype=np.uint8)             # one pixel
    yield (rng.random((31, 17)) > 0.5).astype(np.uint8) * 255         # a grey mask


@pytest.mark.parametrize("img", list(images()), ids=lambda a: "x".join(map(str, a.shape)))
def test_png_decodes_to_the_same_pixels_in_libpng_and_pillow(img, tmp_path):
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
