"""Loss values on cases with known answers."""
import pytest
import torch

from src.gan.losses import AlexLoss, GANLoss, VGGLoss, feature_matching_loss, pixel_loss
from src.gan.vgg import unit_normalise
from src.gan.networks import MultiscaleDiscriminator

torch.set_num_threads(1)


def test_gan_loss_on_constant_maps_equals_formula():
    loss = GANLoss()
    # two scales, each a list of feature maps whose last is the prediction
    preds = [[torch.zeros(2, 8, 5, 5), torch.full((2, 1, 4, 4), 0.3)],
             [torch.zeros(2, 8, 3, 3), torch.full((2, 1, 2, 2), -0.5)]]
    # summed over the scales, as pix2pixHD: 0.49 + 2.25 and 0.09 + 0.25
    expect_real = 2.74
    expect_fake = 0.34
    assert loss(preds, True).item() == pytest.approx(expect_real)
    assert loss(preds, False).item() == pytest.approx(expect_fake)
    assert loss(torch.full((1, 1, 3, 3), 2.0), True).item() == pytest.approx(1.0)


def test_gan_loss_on_discriminator_output_has_gradients():
    d = MultiscaleDiscriminator(in_ch=3, ndf=4, n_layers=2, num_D=2)
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    GANLoss()(d(x), True).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_feature_matching_zero_for_identical_and_weighted_like_pix2pixhd():
    num_D, n_layers = 2, 3
    feats = [[torch.randn(1, 4, 8, 8) for _ in range(n_layers + 2)] for _ in range(num_D)]
    assert feature_matching_loss(feats, feats, num_D, n_layers).item() == 0.0
    # every map differs by 1 -> L1 = 1 per map; (n_layers + 1) maps per scale are compared
    # (not the prediction), each weighted 4 / (n_layers + 1) / num_D -> total 4
    shifted = [[f + 1 for f in scale[:-1]] + [scale[-1] + 100] for scale in feats]
    assert feature_matching_loss(shifted, feats, num_D, n_layers).item() == pytest.approx(4.0)


def test_feature_matching_does_not_backprop_into_real():
    real = [[torch.randn(1, 2, 4, 4, requires_grad=True) for _ in range(3)]]
    fake = [[torch.randn(1, 2, 4, 4, requires_grad=True) for _ in range(3)]]
    feature_matching_loss(fake, real, num_D=1, n_layers=1).backward()
    assert all(f.grad is not None for f in fake[0][:-1])
    assert all(r.grad is None for r in real[0])


@pytest.fixture(scope="module")
def vgg_loss():
    return VGGLoss()


def test_vgg_loss_zero_for_same_positive_for_different(vgg_loss):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    y = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    assert vgg_loss(x, x).item() == 0.0
    assert vgg_loss(x, y).item() > 0.1
    assert sum(p.numel() for p in vgg_loss.parameters() if p.requires_grad) == 0


def test_vgg_loss_gradient_and_bf16_autocast(vgg_loss):
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(1, 3, 32, 32, generator=g) * 2 - 1).requires_grad_()
    y = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    ref = vgg_loss(x, y)
    ref.backward()
    assert x.grad.abs().sum() > 0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = vgg_loss(x.to(memory_format=torch.channels_last), y)
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(ref.item(), rel=0.05)


def test_vgg_loss_runs_the_target_without_a_graph(vgg_loss):
    x = torch.zeros(1, 3, 32, 32, requires_grad=True)
    y = torch.full((1, 3, 32, 32), 0.5, requires_grad=True)
    loss = vgg_loss(x, y)
    loss.backward()
    assert x.grad.abs().sum() > 0
    assert y.grad is None  # the target's VGG pass kept no graph, so nothing flowed back into it


def test_vgg_loss_weights_drop_layers_and_stop_the_trunk_early():
    # VGG16's convolutions before relu1_2, relu2_2, relu3_3: 2, 4 and 7 (Simonyan & Zisserman, config D)
    assert len(VGGLoss((1, 0, 0, 0, 0)).vgg.convs) == 2
    assert len(VGGLoss((1.0 / 32, 1.0 / 16, 1.0 / 8, 0, 0)).vgg.convs) == 7
    assert len(VGGLoss((0, 0, 0, 0, 1)).vgg.convs) == 13
    g = torch.Generator().manual_seed(2)
    x = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    y = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    one_hot = [VGGLoss(tuple(float(i == k) for i in range(5)))(x, y).item() for k in range(5)]
    assert all(v > 0 for v in one_hot)
    # the default loss is pix2pixHD's weighted sum of the five layer terms
    expected = sum(w * v for w, v in zip((1 / 32, 1 / 16, 1 / 8, 1 / 4, 1), one_hot))
    assert VGGLoss()(x, y).item() == pytest.approx(expected, rel=1e-5)
    assert VGGLoss((0, 0, 3, 0, 0))(x, y).item() == pytest.approx(3 * one_hot[2], rel=1e-5)
    with pytest.raises(ValueError, match="5 non-negative numbers"):
        VGGLoss((1, 1, 1))


def person_mask(h=40, w=10, rows=(0, 20), cols=(3, 6)):
    """(1, 1, h, w) mask: 1 on a rectangle of rows x cols (half-open), 0 elsewhere."""
    m = torch.zeros(1, 1, h, w)
    m[..., rows[0]:rows[1], cols[0]:cols[1]] = 1
    return m


def test_shadow_zone_is_a_tenth_of_the_height_under_the_feet():
    from src.gan.losses import shadow_zone
    # A person 20 rows tall (rows 0-19) in columns 3-5: the feet are rows 18-19 (the lowest 10%),
    # the zone 2 rows (10% of 20) under them, rows 20-21, in columns 3-5.
    zone = shadow_zone(person_mask())
    assert zone.shape == (1, 1, 40, 10) and zone.sum() == 6
    assert zone[0, 0, 20:22, 3:6].all()
    # Legs apart: only the columns of the feet get a zone, not the gap between them.
    legs = person_mask(rows=(0, 20), cols=(0, 10))
    legs[..., 10:20, 4:6] = 0
    zone = shadow_zone(legs)
    assert zone.sum() == 2 * 8 and not zone[0, 0, 20:22, 4:6].any()
    # Nobody in the window: no zone; a mask on the window's bottom edge: nothing below it.
    assert not shadow_zone(torch.zeros(2, 2, 8, 8)).any()
    assert not shadow_zone(person_mask(rows=(20, 40))).any()


def test_alpha_loss_weighs_pixels_away_from_the_person_ten_times_and_the_shadow_zone_not_at_all():
    from src.gan.losses import alpha_loss
    mask = person_mask()
    assert alpha_loss(mask.clone(), mask).item() == 0.0
    # At 40 rows "near" is 1 pixel (3% of 40, rounded) around the person: rows 0-20, columns 2-6,
    # 105 pixels, 3 of them (row 20, columns 3-5) in the shadow zone. Alpha 0.5 everywhere is 0.5 off
    # on every pixel: (102 near x 1 + 292 away x 10 + 6 in the zone x 0) x 0.5 / 400.
    assert alpha_loss(torch.full_like(mask, 0.5), mask).item() == pytest.approx(0.5 * 3022 / 400)
    shadow = mask.clone()
    shadow[..., 20:22, 3:6] = 1          # a shadow under the feet costs nothing
    assert alpha_loss(shadow, mask).item() == 0.0
    beside = mask.clone()
    beside[..., 5, 6] = 1                # next to the person's edge: weight 1
    assert alpha_loss(beside, mask).item() == pytest.approx(1 / 400)
    away = mask.clone()
    away[..., 0:2, 7:10] = 1             # two pixels further out: weight 10 each of 6
    assert alpha_loss(away, mask).item() == pytest.approx(60 / 400)


def test_r1_penalty_is_the_squared_gradient_of_the_summed_patches_at_the_real_input():
    from src.gan.stages import r1_penalty

    class Linear(torch.nn.Module):
        """A one-scale 'discriminator' whose patches are 3 * channel 0 + 4 * channel 1 + 1."""

        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 1, 1)
            with torch.no_grad():
                self.conv.weight[:] = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)
                self.conv.bias[:] = 1.0

        def forward(self, x):
            return [[self.conv(x)]]   # scales, each a list of features ending in the patches

    # Each of the 2x2 pixels gets the gradient (3, 4): 4 pixels x (9 + 16) = 100 per image.
    real = torch.randn(3, 2, 2, 2)
    penalty = r1_penalty(Linear(), real)
    assert penalty.item() == pytest.approx(100.0)
    D = Linear()
    r1_penalty(D, real).backward()   # differentiable in D's weights: d/dw of 4 (w0^2 + w1^2) = 8 w
    assert D.conv.weight.grad.flatten().tolist() == pytest.approx([24.0, 32.0])


def test_pixel_loss_is_the_mean_absolute_difference_and_leaves_the_real_frame_alone():
    real = torch.tensor([[0.5, -0.5], [0.0, 1.0]]).expand(1, 3, 2, 2).clone().requires_grad_(True)
    fake = torch.zeros(1, 3, 2, 2, requires_grad=True)
    loss = pixel_loss(fake, real)
    assert loss.item() == pytest.approx(0.5)   # (0.5 + 0.5 + 0 + 1) / 4 in every channel
    loss.backward()
    assert real.grad is None
    # d/d fake of mean |fake - real| over 12 values: -sign(real) / 12, and 0 where they are equal
    assert fake.grad[0, 0].flatten().tolist() == pytest.approx([-1 / 12, 1 / 12, 0.0, -1 / 12])


def test_unit_normalise_scales_each_position_to_length_one():
    x = torch.tensor([[[[3.0, 4.0]], [[0.0, -2.0]]]])   # (1, 2, 1, 2): vectors (3, 0) and (4, -2)
    out = unit_normalise(x)
    assert out[0, :, 0, 0].tolist() == pytest.approx([1.0, 0.0])
    assert out[0, :, 0, 1].tolist() == pytest.approx([4 / 20 ** 0.5, -2 / 20 ** 0.5])
    assert unit_normalise(torch.zeros(1, 3, 2, 2)).abs().max().item() == 0.0   # no division by zero


def test_alex_loss_is_lpips_with_every_channel_weighted_one():
    """Zhang et al.'s uncalibrated distance: LPIPS-Alex with its learned channel weights set to 1."""
    from src.gan.vgg import LPIPS
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1
    y = (x + 0.3 * torch.randn(2, 3, 64, 64, generator=g)).clamp(-1, 1)
    loss = AlexLoss()
    uniform = LPIPS("alex")
    for j in range(5):
        getattr(uniform, f"lin{j}").fill_(1.0)
    assert loss(x, y).item() == pytest.approx(uniform(x, y).mean().item(), rel=1e-4)
    assert loss(x, x).item() == 0.0
    far = loss(x, -x).item()
    assert 0.5 < far <= 10.0   # 5 layers of at most 2 each (non-negative unit vectors)
    assert sum(p.numel() for p in loss.parameters() if p.requires_grad) == 0


def test_alex_loss_gradient_reaches_the_generated_image_only():
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(1, 3, 64, 64, generator=g) * 2 - 1).requires_grad_()
    y = (torch.rand(1, 3, 64, 64, generator=g) * 2 - 1).requires_grad_()
    loss = AlexLoss()
    ref = loss(x, y)
    ref.backward()
    assert x.grad.abs().sum() > 0
    assert y.grad is None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = loss(x, y)
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(ref.item(), rel=0.05)
