"""The person-following window (src/gan/window.py) and alpha compositing (src/gan/composite.py), on
keypoints and tensors with values worked out by hand."""
import numpy as np
import torch

from src.gan import composite, window

FRAME = (256, 128)


def box_track(x0s, y0=20.0, w=20.0, h=80.0):
    """Poses whose only points are the two corners of a box (x0, y0)-(x0 + w, y0 + h)."""
    kps = np.zeros((len(x0s), 137, 3), np.float32)
    for t, x in enumerate(x0s):
        kps[t, 0] = (x, y0, 1)
        kps[t, 1] = (x + w, y0 + h, 1)
    return kps


def test_window_size_holds_the_grown_box_in_multiples():
    kps = box_track([50.0] * 10)
    # Box 20 x 80, grown by 0.06 * 80 = 4.8 at each side, 0.12 * 80 = 9.6 above, 0.10 * 80 = 8
    # below: 29.6 x 97.6 -> multiples of 16: 32 x 112; of 8: 32 x 104.
    assert window.window_size(kps, FRAME, multiple=16) == (32, 112)
    assert window.window_size(kps, FRAME, multiple=8) == (32, 104)
    # Capped at the frame (rounded down to the multiple); the whole frame without a person.
    tall = box_track([50.0], y0=0, h=200)
    assert window.window_size(tall, FRAME, multiple=16)[1] == 128
    assert window.window_size(np.zeros((3, 137, 3), np.float32), (250, 130), 16) == (240, 128)


def test_window_follows_a_moving_person_smoothly_and_holds_it():
    x0s = 20 + 2.0 * np.arange(60)        # the box moves 2 px per frame to the right
    kps = box_track(x0s)
    size = (48, 112)
    track = window.window_track(kps, size, FRAME)
    assert track.shape == (60, 2) and track.dtype == np.int64
    # Centred on the box: box centre x0 + 10, window corner centre - 24 (ends reflect: skip them).
    # (A 48-wide window: wider than the grown box, so the smoothing has room.)
    mid = slice(10, 50)
    assert np.abs(track[mid, 0] - (x0s[mid] + 10 - 24)).max() <= 1
    # Grown box: y 10.4 to 108, centre 59.2; corner 59.2 - 112 / 2 = 3.2 -> 3.
    assert (track[:, 1] == 3).all()
    assert np.abs(np.diff(track[mid, 0], 2)).max() <= 1   # steady, no jitter
    share, _ = window.coverage(kps, track, size)
    assert share == 1.0


def test_window_path_is_smoother_than_a_jittering_person():
    rng = np.random.default_rng(0)
    x0s = 100 + rng.choice([-3.0, 3.0], size=80)   # the detector jitters by +-3 px
    track = window.window_track(box_track(x0s), (48, 112), FRAME)
    assert np.abs(np.diff(track[:, 0])).mean() < 0.5 * np.abs(np.diff(x0s)).mean()
    assert window.coverage(box_track(x0s), track, (48, 112))[0] == 1.0


def test_window_stays_inside_the_frame_at_the_edges():
    kps = box_track([-5.0, 0.0, 240.0, 250.0], y0=40.0)
    track = window.window_track(kps, (48, 112), FRAME, sigma=0)
    assert (track[:, 0] >= 0).all() and (track[:, 0] + 48 <= 256).all()
    assert (track[:, 1] >= 0).all() and (track[:, 1] + 112 <= 128).all()
    assert track[0, 0] == 0 and track[3, 0] == 256 - 48


def test_coverage_counts_points_and_mask_pixels_outside():
    kps = box_track([50.0, 50.0])
    track = np.array([[40, 10], [100, 10]])        # the second window misses the person
    share, mask_share = window.coverage(kps, track, (48, 112),
                                        masks=[np.pad(np.full((10, 10), 255, np.uint8),
                                                      ((20, 98), (45, 201)))] * 2)
    assert share == 0.5          # 2 of 4 points inside
    assert mask_share == 0.5     # the 10x10 blob at x 45-54 is inside the first window only
    assert window.window_track(np.zeros((4, 137, 3), np.float32), (48, 112), FRAME).tolist() \
        == [[104, 8]] * 4        # nobody: centred


def test_composite_is_the_plate_where_alpha_is_0_and_the_generator_where_it_is_1():
    h, w = 16, 20
    plate = torch.rand(1, 3, h, w) * 2 - 1
    colour = torch.rand(1, 3, h, w) * 2 - 1
    out = torch.cat([colour, torch.full((1, 1, h, w), -1.0)], dim=1)     # alpha channel -1 -> 0
    frame, alpha = composite.composite(out, plate)
    assert torch.equal(frame, plate) and (alpha == 0).all()
    out[:, 3] = 1.0                                                       # alpha channel 1 -> 1
    frame, alpha = composite.composite(out, plate)
    inner = (slice(None), slice(None), slice(4, h - 4), slice(4, w - 4))
    assert torch.equal(frame[inner], colour[inner]) and (alpha[inner] == 1).all()
    # At the window's border alpha fades to 0: the plate shows, no seam.
    assert torch.equal(frame[..., 0, :], plate[..., 0, :]) and (alpha[..., :, 0] == 0).all()
    assert alpha[0, 0, 8, 2].item() == 0.5                                 # 2 of EDGE 4 pixels in


def test_quantized_alpha_gives_the_plate_bit_for_bit_below_half_a_level():
    plate = torch.rand(1, 3, 12, 12) * 2 - 1
    out = torch.cat([torch.rand(1, 3, 12, 12), torch.full((1, 1, 12, 12), -1 + 0.9 / 255)], dim=1)
    frame, alpha = composite.composite(out, plate, quantize=True)        # alpha 0.45/255 -> 0
    assert torch.equal(frame, plate) and (alpha == 0).all()


def test_cut_and_paste_window():
    image = torch.arange(2 * 3 * 6 * 8, dtype=torch.float32).reshape(2, 3, 6, 8)
    windows = composite.cut(image, [(1, 2), (4, 0)], (3, 2))
    assert windows.shape == (2, 3, 2, 3)
    assert torch.equal(windows[0], image[0, :, 2:4, 1:4]) and torch.equal(windows[1], image[1, :, 0:2, 4:7])
    pasted = composite.paste_window(image[0], torch.zeros(3, 2, 3), (1, 2))
    assert (pasted[:, 2:4, 1:4] == 0).all() and pasted.sum() == image[0].sum() - windows[0].sum()



def test_pose_gate_reaches_a_tenth_of_the_window_with_a_soft_edge():
    # One drawn pixel at row 50, column 50 of a white 100x100 label: reach round(0.10 x 100) = 10
    # every way (rows and columns 40-60), then a 7x7 box blur (feather round(0.03 x 100) = 3): a
    # pixel on the grown edge sees 4 of 7 columns inside.
    label = torch.ones(1, 3, 100, 100)
    label[0, :, 50, 50] = -1.0
    gate = composite.pose_gate(label)[0, 0]
    assert gate.shape == (100, 100)
    expected = {(50, 50): 1.0, (50, 60): 4 / 7, (50, 63): 1 / 7, (50, 64): 0.0, (50, 40): 4 / 7,
                (50, 36): 0.0, (40, 50): 4 / 7, (37, 50): 1 / 7, (36, 50): 0.0, (44, 56): 1.0,
                (40, 60): 16 / 49,
                # a figure 1 pixel tall: the floor under it has faded out by the next row
                (51, 50): 0.0, (55, 50): 0.0}
    for (y, x), value in expected.items():
        assert abs(gate[y, x].item() - value) < 1e-6, (y, x)
    # A pale label pixel (above the drawn threshold) is the white ground, not the figure.
    assert composite.pose_gate(torch.full((1, 3, 20, 20), 0.95)).max().item() == 0.0


def test_pose_gate_fades_out_under_the_feet_by_the_figures_height():
    # Two 100x100 labels, each a vertical bone in column 50: rows 10-59 (50 tall) and rows 10-89
    # (80 tall). Under the lowest drawn row the gate stays open for 0.04 of the height (2 and 3.2
    # rows), then falls linearly to 0 at 0.12 of it (6 and 9.6 rows): row 59 + k is
    # 1 - (k - 2) / 4, and row 89 + k is 1 - (k - 3.2) / 6.4. The reach (10) with its feather (3)
    # is fully open on these rows, so the fade alone sets them.
    label = torch.ones(2, 3, 100, 100)
    label[0, :, 10:60, 50] = -1.0
    label[1, :, 10:90, 50] = -1.0
    gate = composite.pose_gate(label)[:, 0]
    expected = {(0, 59, 50): 1.0, (0, 61, 50): 1.0, (0, 62, 50): 0.75, (0, 63, 50): 0.5, (0, 64, 50): 0.25,
                (0, 65, 50): 0.0, (0, 68, 50): 0.0, (0, 63, 53): 0.5,
                (1, 92, 50): 1.0, (1, 93, 50): 0.875, (1, 96, 50): 0.40625, (1, 99, 50): 0.0,
                (0, 30, 50): 1.0, (1, 30, 50): 1.0}
    for (n, y, x), value in expected.items():
        assert abs(gate[n, y, x].item() - value) < 1e-6, (n, y, x)


def test_gated_composite_is_the_plate_away_from_the_pose_and_the_generator_on_it():
    h = w = 100
    plate = torch.rand(1, 3, h, w) * 2 - 1
    colour = torch.rand(1, 3, h, w) * 2 - 1
    out = torch.cat([colour, torch.ones(1, 1, h, w)], dim=1)              # G's alpha 1 everywhere
    label = torch.ones(1, 3, h, w)
    label[0, :, 30:70, 48:52] = torch.tensor([1.0, -1.0, -1.0])[:, None, None]   # a red bone, rows 30-69
    frame, alpha = composite.composite(out, plate, label=label, quantize=True)
    # Away from the bone (reach 10 + feather 3 every way): the plate, bit for bit.
    assert torch.equal(frame[..., :, :35], plate[..., :, :35]) and torch.equal(frame[..., :, 65:], plate[..., :, 65:])
    assert torch.equal(frame[..., :17, :], plate[..., :17, :])
    # Under it the floor fade (0.12 of its 40 rows) closes the gate 5 rows below row 69.
    assert torch.equal(frame[..., 74:, :], plate[..., 74:, :]) and not torch.equal(frame[..., 73, :], plate[..., 73, :])
    # On it and near it: the generator's colour.
    assert torch.equal(frame[..., 30:70, 42:58], colour[..., 30:70, 42:58]) and (alpha[..., 30:70, 42:58] == 1).all()
    # Without a label the same output covers the whole window (inside the 4-pixel edge).
    frame, alpha = composite.composite(out, plate)
    assert torch.equal(frame[..., 4:-4, 4:-4], colour[..., 4:-4, 4:-4])
