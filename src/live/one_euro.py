"""The One Euro filter (Casiez, Roussel and Vogel, CHI 2012), on live keypoints.

A low-pass filter whose cutoff rises with speed: a pose held still is smoothed hard (jitter
gone), a fast move passes with little lag. No future frame is needed, which is what live
driving has. Per coordinate, with dt the time since the previous sample:

    alpha(fc)  = 1 / (1 + tau / dt),  tau = 1 / (2 pi fc)
    dx         = (x - x_prev) / dt,   dx_hat = alpha(d_cutoff) dx + (1 - alpha(d_cutoff)) dx_hat_prev
    fc         = min_cutoff + beta |dx_hat|
    x_hat      = alpha(fc) x + (1 - alpha(fc)) x_prev

PoseFilter runs one filter per point of a (137, 3) pose, in units of `scale` pixels (the frame
height), so the same settings work at any camera size. A point that goes missing keeps its last
value for `hold` seconds (detectors drop a hand or a foot for a frame or two); after that it is
missing, and its filter starts afresh when it comes back instead of sweeping in from where it
was lost.
"""
import math

import numpy as np

MIN_CUTOFF = 1.0   # Hz: the cutoff of a point at rest
BETA = 8.0         # how fast the cutoff rises with speed, per (frame height per second)
D_CUTOFF = 1.0     # Hz: the cutoff of the speed estimate
HOLD = 0.3         # seconds a missing point keeps its last value


def alpha(cutoff, dt):
    """Smoothing factor of a first-order low-pass filter with this cutoff (Hz), step dt (s)."""
    tau = 1.0 / (2 * math.pi * np.asarray(cutoff, np.float64))
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    """The filter over an array of values, each filtered on its own (any shape).

    Elements can be restarted one by one (reset), and each keeps the time of its own last sample,
    so values that skip samples are stepped with their own dt.
    """

    def __init__(self, min_cutoff=MIN_CUTOFF, beta=BETA, d_cutoff=D_CUTOFF):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.value = self.speed = self.time = None

    def __call__(self, x, t, where=None):
        """Filter sample x taken at time t (seconds); returns the filtered values.

        where: a boolean array of x's shape: only those elements take the sample (the others keep
        their state); None = all. An element's first sample passes unchanged.
        """
        x = np.asarray(x, np.float64)
        if self.value is None:
            self.value, self.speed = x.copy(), np.zeros_like(x)
            self.time = np.full(x.shape, -np.inf)
        take = np.ones(x.shape, bool) if where is None else np.asarray(where, bool)
        first = take & ~np.isfinite(self.time)
        step = take & ~first & (t > self.time)
        dt = np.where(step, t - self.time, 1.0)
        a_d = alpha(self.d_cutoff, dt)
        speed = a_d * (x - self.value) / dt + (1 - a_d) * self.speed
        a = alpha(self.min_cutoff + self.beta * np.abs(speed), dt)
        self.speed = np.where(step, speed, np.where(first, 0.0, self.speed))
        self.value = np.where(step, a * x + (1 - a) * self.value, np.where(first, x, self.value))
        self.time = np.where(take, t, self.time)
        return self.value.copy()

    def reset(self, where):
        """Forget the elements in `where`: their next sample starts them afresh."""
        if self.time is not None:
            self.time = np.where(where, -np.inf, self.time)


class PoseFilter:
    """OneEuro on every point of (P, 3) poses (x, y, confidence), with missing points held."""

    def __init__(self, scale, hold=HOLD, **settings):
        self.scale, self.hold = float(scale), hold
        self.filter = OneEuro(**settings)
        self.last = None

    def __call__(self, kp, t):
        kp = np.asarray(kp, np.float32)
        if self.last is None:
            self.last = np.zeros_like(kp)
            self.seen = np.full(len(kp), -np.inf)
        found = kp[:, 2] > 0
        both = lambda mask: np.repeat(mask[:, None], 2, axis=1)  # noqa: E731  (x and y)
        self.filter.reset(both(found & (t - self.seen > self.hold)))   # back after a long gap
        xy = self.filter(kp[:, :2] / self.scale, t, where=both(found)) * self.scale
        held = ~found & (t - self.seen <= self.hold)
        out = np.zeros_like(kp)
        out[found, :2], out[found, 2] = xy[found], kp[found, 2]
        out[held] = self.last[held]
        self.seen[found] = t
        self.last = out
        return out
