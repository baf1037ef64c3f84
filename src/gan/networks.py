"""Generators and discriminators of pix2pixHD (Wang et al., CVPR 2018) as used by Everybody Dance Now.

The body generator sees 6 channels: the current label and the previous generated frame (the paper's
temporal smoothing). Normalisation is InstanceNorm without affine parameters and padding is reflection
padding, as in pix2pixHD. Every op here also runs in channels_last and under bf16 autocast.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from src.gan.chroma import ChromaBlur


def init_weights(module):
    """pix2pixHD's init: conv weights ~ N(0, 0.02); norm weights ~ N(1, 0.02) with zero bias.

    Conv biases keep PyTorch's default init, as in pix2pixHD. Call as `net.apply(init_weights)`.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)) and module.weight is not None:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def check_size(x, n_down, who):
    """Transposed convs restore the size exactly only if H and W are divisible by 2 ** n_down."""
    step = 2 ** n_down
    h, w = x.shape[-2:]
    if h % step or w % step:
        raise ValueError(f"{who}: input {w}x{h} must have width and height divisible by {step}; "
                         "pick a frame size that is a multiple of it")


def _norm(channels):
    return nn.InstanceNorm2d(channels, affine=False)


def _conv7_block(in_ch, out_ch):
    """Reflection-padded 7x7 conv + norm + ReLU: the full-resolution front end."""
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, out_ch, 7), _norm(out_ch), nn.ReLU(True)]


def _down_block(in_ch, out_ch):
    """Stride-2 3x3 conv halving the resolution."""
    return [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1), _norm(out_ch), nn.ReLU(True)]


def _up_block(in_ch, out_ch):
    """Transposed 3x3 conv doubling the resolution exactly (output_padding 1)."""
    return [nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1),
            _norm(out_ch), nn.ReLU(True)]


def _output_head(in_ch, out_ch, chroma_sigma=0.0):
    """Reflection-padded 7x7 conv to the image channels, tanh to [-1, 1]; with chroma_sigma > 0 the
    colour (not the brightness) is then blurred by that many pixels (src/gan/chroma.py)."""
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, out_ch, 7), nn.Tanh()]
    return nn.Sequential(*layers, *([ChromaBlur(chroma_sigma)] if chroma_sigma > 0 else []))


class ResnetBlock(nn.Module):
    """x + (pad, conv3x3, IN, ReLU, pad, conv3x3, IN)(x)."""

    def __init__(self, channels):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels))

    def forward(self, x):
        return x + self.block(x)


class GlobalGenerator(nn.Module):
    """pix2pixHD's global generator G1.

    Input (N, in_ch, H, W) with H and W divisible by 2**n_down; output (N, out_ch, H, W) in [-1, 1].
    `body` maps the input to the last feature map (ngf channels, full resolution); `head` is the final
    7x7 conv + tanh (+ the chroma blur). The local enhancer reuses `body` alone.
    """

    def __init__(self, in_ch=6, out_ch=3, ngf=64, n_down=4, n_blocks=9, chroma_sigma=0.0):
        super().__init__()
        self.n_down = n_down
        layers = _conv7_block(in_ch, ngf)
        for i in range(n_down):
            layers += _down_block(ngf * 2 ** i, ngf * 2 ** (i + 1))
        layers += [ResnetBlock(ngf * 2 ** n_down) for _ in range(n_blocks)]
        for i in range(n_down, 0, -1):
            layers += _up_block(ngf * 2 ** i, ngf * 2 ** (i - 1))
        self.body = nn.Sequential(*layers)
        self.head = _output_head(ngf, out_ch, chroma_sigma)
        self.apply(init_weights)

    def features(self, x):
        """The last feature map before the output conv: (N, ngf, H, W)."""
        check_size(x, self.n_down, type(self).__name__)
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))


class LocalEnhancer(nn.Module):
    """pix2pixHD's two-stage generator: G1 on the 2x downsampled input, G2 at full resolution.

    G1 is a GlobalGenerator with ngf = 2 * ngf whose output conv is dropped; its last feature map is
    added to G2's downsampled front-end features, then G2's residual blocks and upsampling follow.
    `global_kw` sets G1's n_down and n_blocks (defaults: the paper's 4 and 9).
    Input H and W must be divisible by 2 ** (n_down + 1).
    """

    def __init__(self, in_ch=6, out_ch=3, ngf=32, global_kw=None, n_blocks_local=3, chroma_sigma=0.0):
        super().__init__()
        global_kw = dict(global_kw or {})
        global_ngf = global_kw.pop("ngf", 2 * ngf)
        if global_ngf != 2 * ngf:
            raise ValueError(f"LocalEnhancer: the global generator's ngf must be 2 * ngf = {2 * ngf}, "
                             f"got {global_ngf}")
        # Built whole (so its parameter names match a trained GlobalGenerator) but only `body` is kept.
        global_g = GlobalGenerator(in_ch, out_ch, global_ngf, **global_kw)
        self.global_body = global_g.body
        self.n_down = global_g.n_down + 1
        self.local_down = nn.Sequential(*_conv7_block(in_ch, ngf), *_down_block(ngf, 2 * ngf))
        self.local_up = nn.Sequential(*[ResnetBlock(2 * ngf) for _ in range(n_blocks_local)],
                                      *_up_block(2 * ngf, ngf))
        self.head = _output_head(ngf, out_ch, chroma_sigma)
        self.local_down.apply(init_weights)
        self.local_up.apply(init_weights)
        self.head.apply(init_weights)

    def load_global(self, state_dict):
        """Initialise G1 from a trained GlobalGenerator's state_dict (its output conv is ignored)."""
        body = {k[len("body."):]: v for k, v in state_dict.items() if k.startswith("body.")}
        if not body:
            raise ValueError("LocalEnhancer.load_global: state_dict has no 'body.*' keys; "
                             "pass GlobalGenerator.state_dict()")
        self.global_body.load_state_dict(body, strict=True)

    def forward(self, x):
        check_size(x, self.n_down, "LocalEnhancer")
        coarse = downsample(x)
        return self.head(self.local_up(self.local_down(x) + self.global_body(coarse)))


def downsample(x):
    """pix2pixHD's 2x downsampling: 3x3 average pool, stride 2, padding ignored in the average."""
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


class FaceGenerator(GlobalGenerator):
    """The paper's face residual generator: a small GlobalGenerator on (label crop, generated crop).

    forward(cat([label_crop, fake_crop], 1)) returns a tanh-bounded residual in [-1, 1] (its colour
    blurred with chroma_sigma); `refine` adds it to the generated crop. The EDN authors' size is
    ngf 64, 3 downsamplings, 5 blocks (27 M parameters). Its output conv starts at zero.
    """

    def __init__(self, in_ch=6, out_ch=3, ngf=64, n_down=3, n_blocks=5, chroma_sigma=0.0):
        super().__init__(in_ch, out_ch, ngf, n_down, n_blocks, chroma_sigma)
        # The residual starts at exactly 0, so refinement starts as the identity: a randomly drawn
        # output conv adds coloured noise to every face, which a short face stage never removes.
        nn.init.zeros_(self.head[1].weight)
        nn.init.zeros_(self.head[1].bias)

    def refine(self, label_crop, fake_crop):
        """The refined face crop: fake_crop + residual. Not clamped: a clamp would stop the gradient
        wherever the sum leaves [-1, 1]; conversion to an image (data.to_rgb) clamps."""
        return fake_crop + self(torch.cat([label_crop, fake_crop], dim=1))


class NLayerDiscriminator(nn.Module):
    """PatchGAN: kernel 4, padding 2, stride 2 for n_layers convs, then two stride-1 convs.

    forward returns the n_layers + 2 intermediate maps (for feature matching); the last is the
    1-channel prediction map (no sigmoid: least-squares GAN).
    """

    def __init__(self, in_ch, ndf=64, n_layers=3):
        super().__init__()
        stages = [nn.Sequential(nn.Conv2d(in_ch, ndf, 4, stride=2, padding=2), nn.LeakyReLU(0.2, True))]
        ch = ndf
        for i in range(1, n_layers + 1):
            out = min(ch * 2, 512)
            stride = 2 if i < n_layers else 1
            stages.append(nn.Sequential(nn.Conv2d(ch, out, 4, stride=stride, padding=2), _norm(out),
                                        nn.LeakyReLU(0.2, True)))
            ch = out
        stages.append(nn.Sequential(nn.Conv2d(ch, 1, 4, stride=1, padding=2)))
        self.stages = nn.ModuleList(stages)

    def forward(self, x):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class MultiscaleDiscriminator(nn.Module):
    """num_D PatchGANs; scale i sees the input downsampled i times (full resolution first).

    forward(x) -> list over scales of lists of n_layers + 2 feature maps, the last being the prediction.
    """

    def __init__(self, in_ch, ndf=64, n_layers=3, num_D=2):
        super().__init__()
        self.num_D = num_D
        self.n_layers = n_layers
        self.scales = nn.ModuleList(NLayerDiscriminator(in_ch, ndf, n_layers) for _ in range(num_D))
        self.apply(init_weights)

    def forward(self, x):
        results = []
        for i, d in enumerate(self.scales):
            if i > 0:
                x = downsample(x)
            results.append(d(x))
        return results


# --- the networks a run's options describe (one construction for training, inference and checkpoints) ---

LABEL_CH = 3  # labels are RGB stick figures
IMAGE_CH = 3


def build_generator(opt):
    """Body generator: input (label, previous frame) = 6 channels, output RGB (+ alpha in plate mode)."""
    out_ch = IMAGE_CH + (opt.background == "plate")
    if opt.netG == "local":
        return LocalEnhancer(LABEL_CH + IMAGE_CH, out_ch, ngf=opt.ngf // 2,
                             global_kw=dict(ngf=opt.ngf, n_down=opt.n_downsample, n_blocks=opt.n_blocks),
                             n_blocks_local=opt.n_blocks_local, chroma_sigma=opt.chroma_sigma)
    return GlobalGenerator(LABEL_CH + IMAGE_CH, out_ch, ngf=opt.ngf, n_down=opt.n_downsample,
                           n_blocks=opt.n_blocks, chroma_sigma=opt.chroma_sigma)


def build_discriminator(opt):
    """Body discriminator on a pair: (label_t, label_t+1, image_t, image_t+1) = 12 channels."""
    return MultiscaleDiscriminator(2 * (LABEL_CH + IMAGE_CH), ndf=opt.ndf, n_layers=opt.n_layers_D,
                                   num_D=opt.num_D)


def build_face_generator(opt):
    """Face residual generator on (label crop, generated crop)."""
    return FaceGenerator(LABEL_CH + IMAGE_CH, IMAGE_CH, ngf=opt.face_ngf, n_down=opt.face_n_downsample,
                         n_blocks=opt.face_n_blocks, chroma_sigma=opt.chroma_sigma)


def build_face_discriminator(opt):
    """Face discriminator on (label crop, face crop)."""
    return MultiscaleDiscriminator(LABEL_CH + IMAGE_CH, ndf=opt.face_ndf, n_layers=opt.n_layers_D,
                                   num_D=opt.face_num_D)
