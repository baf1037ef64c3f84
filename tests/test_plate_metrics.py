"""The plate-mode cleanliness measures (src/evaluate/plate.py) on hand-made frames: a known number
of wrong pixels, a known brightness step at a known window."""
import math

import numpy as np
import pytest

from src.evaluate.plate import PlateMeter, side_steps, speckle, speckle_box, window_edge


def flat(value, w=10, h=10):
    """A grey RGB frame (grey level = value: the BT.601 weights sum to 1)."""
    return np.full((h, w, 3), value, np.uint8)


def test_speckle_counts_pixels_outside_the_box_that_differ_by_more_than_12_levels():
    plate = flat(100)
    frame = plate.copy()
    box = (2, 2, 5, 5)    # pixel centres 2..5 in x and y: 16 pixels inside, 84 outside
    for x in range(6):    # 6 pixels outside, 13 levels off: counted
        frame[9, x] = 113
    frame[0, 7] = frame[0, 8] = frame[0, 9] = 112   # 12 levels off: not counted
    frame[3, 3] = frame[4, 4] = 250                  # inside the box: not counted
    assert speckle(frame, plate, box) == pytest.approx(6 / 84)
    assert speckle(plate, plate, box) == 0.0
    assert speckle(frame, plate, None) == pytest.approx(8 / 100)   # no person: every pixel counts
    assert math.isnan(speckle(frame, plate, (-1, -1, 10, 10)))      # nothing outside
    darker = plate.copy()
    darker[0, 0] = 87                                                # 13 levels darker: counted too
    assert speckle(darker, plate, box) == pytest.approx(1 / 84)


def test_speckle_box_grows_a_quarter_of_the_height_sideways_and_15_percent_up_and_down():
    kp = np.zeros((137, 3), np.float32)
    kp[0] = (10, 20, 1)
    kp[1] = (30, 120, 1)   # box 10..30 x 20..120: height 100
    assert speckle_box(kp) == pytest.approx((-15.0, 5.0, 55.0, 135.0))


def test_a_darker_window_is_a_step_of_its_darkness_on_every_side():
    reference = flat(100, 40, 40)
    frame = reference.copy()
    frame[10:30, 10:30] = 90                      # the window (10, 10, 30, 30), 10 levels darker
    assert side_steps(frame, (10, 10, 30, 30)) == pytest.approx(
        {"top": -10.0, "bottom": -10.0, "left": -10.0, "right": -10.0})
    assert window_edge(frame, reference, (10, 10, 30, 30)) == pytest.approx(10.0)
    assert window_edge(reference, reference, (10, 10, 30, 30)) == 0.0


def test_the_scene_s_own_shading_cancels_and_sides_on_the_frame_s_edge_are_left_out():
    # A left-to-right ramp (1 level a column) steps across the left and right sides in the real
    # frame too, so only the window's own darkening of 6 levels is left.
    ramp = np.repeat(np.repeat(np.arange(40, dtype=np.uint8)[None, :, None] + 50, 40, 0), 3, 2)
    frame = ramp.copy()
    frame[10:30, 10:30] -= 6
    assert window_edge(frame, ramp, (10, 10, 30, 30)) == pytest.approx(6.0)
    # The top band alone is 20 levels darker: top steps 20, the others 0 -> (20 + 0 + 0 + 0) / 4.
    top = ramp.copy()
    top[14:18, 18:22] -= 20     # rows y0 + 4 ... y0 + 7, along the top band (x 18 ... 21)
    assert side_steps(top, (10, 10, 30, 30))["top"] - side_steps(ramp, (10, 10, 30, 30))["top"] == pytest.approx(-20.0)
    assert window_edge(top, ramp, (10, 10, 30, 30)) == pytest.approx(5.0)
    # A window against the frame's left edge has no left side to measure.
    assert set(side_steps(frame, (0, 10, 20, 30))) == {"top", "bottom", "right"}
    assert math.isnan(window_edge(frame, ramp, (0, 0, 40, 40)))


def test_plate_meter_reports_the_real_frames_as_the_floor():
    plate = flat(100, 40, 40)
    real = plate.copy()
    real[0, 0:4] = 120                  # 4 real pixels far from the person (camera noise)
    fake = plate.copy()
    fake[10:30, 10:30] = 97             # a faint window: 3 levels, under the speckle threshold
    fake[39, 0:8] = 60                  # 8 dark dots on the floor
    kp = np.zeros((137, 3), np.float32)
    kp[0], kp[1] = (18, 14, 1), (22, 24, 1)   # box 18..22 x 14..24, grown to 15.5..24.5 x 12.5..25.5
    meter = PlateMeter(plate)
    meter.add(fake, speckle_box(kp), (10, 10, 30, 30), real=real)
    s = meter.summary()
    outside = 40 * 40 - 9 * 13          # pixels with centres 16..24 x 13..25 are inside
    assert s["speckle"] == pytest.approx(8 / outside)
    assert s["reference_speckle"] == pytest.approx(4 / outside)
    assert s["window_edge"] == pytest.approx(3.0)
    assert s["reference_window_edge"] == 0.0 and s["frames"] == 1
