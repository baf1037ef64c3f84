"""The refined face is pasted back with a feathered edge: no square seam, nothing outside changes."""
import torch

from src.gan.images import feather_mask, paste


def test_feather_mask_is_one_inside_and_falls_to_the_edge():
    m = feather_mask(32, 0.125)
    assert m.shape == (32, 32)
    assert torch.all(m[4:28, 4:28] == 1)
    assert m[0, 16] < 0.2 and m[16, 0] < 0.2 and m[0, 0] < 0.2      # edges nearly the frame's
    assert torch.all(m[16, :5].diff() > 0)                          # rising linearly into the crop
    assert torch.allclose(m, m.flip(0)) and torch.allclose(m, m.T)


def test_paste_blends_only_inside_the_box():
    images = torch.zeros(1, 3, 64, 64)
    patch = torch.ones(1, 3, 32, 32)
    box = torch.tensor([[10, 20, 42, 52]])
    hard = paste(images, patch, box)
    soft = paste(images, patch, box, feather=0.125)
    assert torch.all(hard[:, :, 20:52, 10:42] == 1)
    inside = soft[0, 0, 20:52, 10:42]
    assert torch.all(inside[4:28, 4:28] == 1)                       # centre: the refined face
    assert 0 < inside[0, 16] < 0.2                                  # edge: mostly the frame
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[20:52, 10:42] = False
    assert torch.all(soft[0, :, outside] == 0)                      # nothing outside the box changes
    assert torch.all(images == 0)                                   # the input is not modified
