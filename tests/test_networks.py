"""Shapes, parameter counts and numeric modes of the pix2pixHD networks (tiny widths, except counts)."""
import pytest
import torch

from src.gan.networks import (FaceGenerator, GlobalGenerator, LocalEnhancer,
                              MultiscaleDiscriminator, init_weights)

torch.set_num_threads(1)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_paper_global_generator_has_pix2pixhd_parameter_count():
    # Built on the meta device: counts without allocating 0.7 GB or running anything.
    with torch.device("meta"):
        g3 = GlobalGenerator(in_ch=3)
        g6 = GlobalGenerator(in_ch=6)
    assert n_params(g3) == 182_443_267  # pix2pixHD's global G: ~182.4 M
    # 3 extra input channels of the 7x7 front conv (previous frame): 3 * 49 * 64 weights.
    assert n_params(g6) - n_params(g3) == 3 * 49 * 64


def test_paper_discriminator_parameter_count():
    with torch.device("meta"):
        d = MultiscaleDiscriminator(in_ch=12)  # (label_t, label_t+1, image_t, image_t+1)
    one_scale = (12 * 16 * 64 + 64) + (64 * 16 * 128 + 128) + (128 * 16 * 256 + 256) \
        + (256 * 16 * 512 + 512) + (512 * 16 * 1 + 1)
    assert n_params(d) == 2 * one_scale


@pytest.mark.parametrize("size", [(64, 128), (32, 32), (48, 80)])
def test_global_generator_shape_and_range(size):
    torch.manual_seed(0)
    g = GlobalGenerator(in_ch=6, ngf=4, n_down=3, n_blocks=1)
    x = torch.randn(2, 6, *size)
    y = g(x)
    assert y.shape == (2, 3, *size)
    assert y.abs().max() <= 1.0
    assert g.features(x).shape == (2, 4, *size)


def test_generators_reject_sizes_not_divisible_by_their_stride():
    with pytest.raises(ValueError, match="input 60x64 must have width and height divisible by 8"):
        GlobalGenerator(ngf=2, n_down=3, n_blocks=1)(torch.zeros(1, 6, 64, 60))
    local = LocalEnhancer(ngf=2, global_kw=dict(n_down=2, n_blocks=1), n_blocks_local=1)
    with pytest.raises(ValueError, match="LocalEnhancer: .* divisible by 8"):
        local(torch.zeros(1, 6, 36, 64))


def test_local_enhancer_shape_and_load_global():
    torch.manual_seed(0)
    kw = dict(n_down=2, n_blocks=1)
    trained = GlobalGenerator(in_ch=6, ngf=8, **kw)
    local = LocalEnhancer(in_ch=6, ngf=4, global_kw=kw, n_blocks_local=1)
    assert local.n_down == 3
    local.load_global(trained.state_dict())
    for (name, p), q in zip(local.global_body.state_dict().items(), trained.body.state_dict().values()):
        assert torch.equal(p, q), name
    y = local(torch.randn(1, 6, 64, 128))
    assert y.shape == (1, 3, 64, 128) and y.abs().max() <= 1.0


def test_local_enhancer_rejects_mismatched_global_width():
    with pytest.raises(ValueError, match="2 \\* ngf"):
        LocalEnhancer(ngf=4, global_kw=dict(ngf=16, n_down=1, n_blocks=1))
    local = LocalEnhancer(ngf=4, global_kw=dict(n_down=1, n_blocks=1), n_blocks_local=1)
    with pytest.raises(ValueError, match="body"):
        local.load_global({"w": torch.zeros(1)})


def test_fresh_face_generator_refines_nothing():
    torch.manual_seed(0)
    f = FaceGenerator(ngf=4, n_down=2, n_blocks=1)
    label, fake = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(f.refine(label, fake), fake)  # the residual starts at exactly 0
    # ...and still learns: the output conv's weights get a gradient from the first step.
    (f.refine(label, fake) - 1).square().mean().backward()
    assert f.head[1].weight.grad.abs().sum() > 0


def test_face_generator_residual_and_refine():
    torch.manual_seed(0)
    f = FaceGenerator(ngf=4, n_down=2, n_blocks=1)
    f.head[1].reset_parameters()  # a trained-looking, non-zero output conv
    label, fake = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    r = f(torch.cat([label, fake], 1))
    assert r.shape == (2, 3, 32, 32) and r.abs().max() <= 1.0 and r.abs().max() > 0.01
    refined = f.refine(label, fake)
    assert torch.allclose(refined, fake + r)


def test_face_refine_passes_gradients_where_the_crop_saturates():
    torch.manual_seed(0)
    f = FaceGenerator(ngf=4, n_down=2, n_blocks=1)
    f.head[1].reset_parameters()
    label = torch.zeros(1, 3, 16, 16)
    fake = torch.ones(1, 3, 16, 16)  # a white crop: any positive residual goes past 1
    with torch.no_grad():
        r = f(torch.cat([label, fake], 1))
    assert (r > 0).sum() > 100
    f.refine(label, fake).sum().backward()
    # d(sum)/d(output bias) is the sum of tanh' = 1 - r^2 over every pixel, the saturated ones included
    assert torch.allclose(f.head[1].bias.grad, (1 - r ** 2).sum((0, 2, 3)), rtol=1e-4)


def test_face_generator_default_is_the_edn_size():
    # ngf 64, 3 downsamplings, 5 residual blocks: conv weights and biases worked out by hand
    # 7x7 6->64: 18880; downs 64->128, 128->256, 256->512: 73856 + 295168 + 1180160;
    # 10 convs 512->512 3x3: 23598080; ups 512->256, 256->128, 128->64: 1179904 + 295040 + 73792;
    # 7x7 64->3: 9411. Total 26724291.
    assert sum(p.numel() for p in FaceGenerator().parameters()) == 26724291


@pytest.mark.parametrize("size", [(64, 128), (32, 48)])
def test_multiscale_discriminator_outputs(size):
    d = MultiscaleDiscriminator(in_ch=12, ndf=4, n_layers=3, num_D=3)
    out = d(torch.randn(2, 12, *size))
    assert len(out) == 3
    h, w = size
    for scale in out:
        assert len(scale) == 3 + 2
        assert scale[-1].shape[:2] == (2, 1)
        # kernel 4 / padding 2: each stride-2 conv maps n -> n // 2 + 1, each stride-1 conv n -> n + 1
        eh, ew = h, w
        for _ in range(3):
            eh, ew = eh // 2 + 1, ew // 2 + 1
        assert scale[-1].shape[2:] == (eh + 2, ew + 2)
        h, w = (h + 1) // 2, (w + 1) // 2  # avg-pool 3 / stride 2 / padding 1


def test_init_weights_statistics():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(64, 64, 3)
    norm = torch.nn.InstanceNorm2d(64, affine=True)
    init_weights(conv)
    init_weights(norm)
    assert abs(conv.weight.std().item() - 0.02) < 0.001 and abs(conv.weight.mean().item()) < 0.001
    assert abs(norm.weight.mean().item() - 1.0) < 0.01 and torch.all(norm.bias == 0)


def test_channels_last_and_bf16_autocast_match_fp32():
    torch.manual_seed(0)
    g = GlobalGenerator(in_ch=6, ngf=4, n_down=2, n_blocks=1)
    d = MultiscaleDiscriminator(in_ch=6, ndf=4, n_layers=2, num_D=2)
    x = torch.randn(1, 6, 32, 64)
    ref = g(x)
    g_cl = g.to(memory_format=torch.channels_last)
    assert torch.allclose(g_cl(x.to(memory_format=torch.channels_last)), ref, atol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = g_cl(x.to(memory_format=torch.channels_last))
        p = d(torch.cat([x[:, :3], y], 1))
    assert y.shape == ref.shape and (y.float() - ref).abs().mean() < 0.05
    assert torch.isfinite(p[-1][-1].float()).all()
    y.float().mean().backward()  # backward through the bf16 graph works
    assert g.head[1].weight.grad is not None
