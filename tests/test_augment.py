"""Discriminator augmentation (src/gan/augment.py): shifts and holes worked out by hand."""
import torch

from src.gan.augment import Augment, translate


def test_translate_moves_content_and_shifts_zeros_in():
    x = torch.arange(1, 17, dtype=torch.float32).reshape(1, 1, 4, 4)   # rows 1-4, 5-8, 9-12, 13-16
    right = translate(x, 1, 0)
    assert right[0, 0].tolist() == [[0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11], [0, 13, 14, 15]]
    up_left = translate(x, -1, -2)
    assert up_left[0, 0].tolist() == [[10, 11, 12, 0], [14, 15, 16, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert torch.equal(translate(x, 0, 0), x)


def test_one_draw_treats_every_input_of_the_step_alike_and_passes_gradients():
    shape = (1, 12, 32, 16)
    augment = Augment(shape, torch.Generator().manual_seed(3))
    assert abs(augment.dx) <= 2 and abs(augment.dy) <= 4          # 1/8 of 16 and of 32
    assert augment.keep.sum() == 32 * 16 - 16 * 8                 # a 16x8 hole (half of each side)
    real = torch.rand(shape)
    fake = real.clone().requires_grad_(True)
    assert torch.equal(augment(real), augment(fake.detach()))     # the same shift and hole
    augment(fake).sum().backward()
    moved = translate(torch.ones(1, 1, 32, 16), -augment.dx, -augment.dy)   # pixels that land in view
    expected = translate(augment.keep, -augment.dx, -augment.dy) * moved
    assert torch.equal(fake.grad[0, 0], expected[0, 0])


def test_augmentation_off_is_the_identity_and_draws_nothing():
    x = torch.rand(2, 3, 8, 8)
    before = torch.get_rng_state()
    rng = torch.Generator().manual_seed(0)
    state = rng.get_state()
    assert Augment(x.shape, rng, enabled=False)(x) is x
    assert torch.equal(rng.get_state(), state) and torch.equal(torch.get_rng_state(), before)
