"""A moving average of the generator's weights: the network that makes the frames.

A GAN's generator jumps around its optimum from step to step (D keeps moving the target), and
any one step's weights carry that step's noise: speckle, a colour cast, a blurred part. The
exponential moving average of the weights over the last steps (Yazici et al., "The Unusual
Effectiveness of Averaging in GAN Training", ICLR 2019; StyleGAN's G_ema) sits nearer the middle
and costs one lerp per step. Training still runs on the raw weights; only the frames come from
the average.

Early on the average would drag the first random weights along, so its decay ramps up as in
TensorFlow's ExponentialMovingAverage with num_updates: min(decay, (1 + n) / (10 + n)) at update
n (0-based).
"""
import copy

import torch


def ramped_decay(decay, n):
    """The decay of update n (0-based)."""
    return min(decay, (1 + n) / (10 + n))


class WeightAverage:
    """The moving average of `net`'s parameters (its buffers are copied), as a network of its own."""

    def __init__(self, net, decay):
        self.decay = decay
        self.net = copy.deepcopy(net).requires_grad_(False)

    @torch.no_grad()
    def update(self, net, n):
        """Move the average towards `net`'s weights after the optimiser's n-th step (0-based)."""
        mine = list(self.net.parameters())
        theirs = [p.detach() for p in net.parameters()]
        torch._foreach_lerp_(mine, theirs, 1.0 - ramped_decay(self.decay, n))
        for a, b in zip(self.net.buffers(), net.buffers()):
            a.copy_(b)
