"""Framing a still: room around the person, and the window of the photo cut to --size.

Where the person touches an edge of the photo but no joint of theirs lies beyond it (feet on
the bottom edge, hair on the top one), the photo is extended there by PAD x the person's height
(the height of their mask), so that they stand in the frame with room around them. Where joints
lie beyond an edge (a knees-up or upper-body photo, see src/still/joints.py), the person is cut
off there: the window is then slid to that edge, so that the cut stays on the frame's edge.

The window is chosen as for a video frame (src/pose/crop.py choose_window). Wherever the photo
has to be extended (the room above, or a window wider than the photo), it is extended the same
way: its edge row (or column), with the person's pixels on it (their mask grown by EDGE_GROW)
replaced by the background beside them (interpolated along the edge), continued outward and
blurred along itself the more the farther it lies from the photo (FADE): a plain repeat draws
streaks across the whole extension, a blur that grows with the distance fades them out.
"""
import math

import cv2
import numpy as np

from src.pose.crop import CropWindow, choose_window
from src.still.joints import EDGE_TOUCH

PAD = 0.1          # room added at an edge the person touches, x the person's height
EDGE_GROW = 0.02   # the person on an edge line: their mask grown by this x their height (the
                   # mask's outline runs a little inside dark hair and shoes)
EDGES = ("left", "top", "right", "bottom")
FADE = 0.5         # an extended line is blurred along itself with sigma FADE x its distance from the photo


def edges_touched(mask):
    """{edge: True where the person (uint8 mask, 255) covers over EDGE_TOUCH of that edge}."""
    lines = {"left": mask[:, 0], "top": mask[0], "right": mask[:, -1], "bottom": mask[-1]}
    return {edge: bool((line > 0).mean() > EDGE_TOUCH) for edge, line in lines.items()}


def edges_cut(points, size):
    """{edge: True where one of the points (N, 2) lies beyond that edge of an image of size}."""
    w, h = size
    p = np.asarray(points, np.float64).reshape(-1, 2)
    return {"left": bool((p[:, 0] < -0.5).any()), "top": bool((p[:, 1] < -0.5).any()),
            "right": bool((p[:, 0] > w - 0.5).any()), "bottom": bool((p[:, 1] > h - 0.5).any())}


def room(mask, out_of_view_points):
    """(left, top, right, bottom) pixels to add to the photo, and the edges the person is cut at."""
    ys = np.flatnonzero(mask.any(axis=1))
    height = ys.max() - ys.min() + 1 if len(ys) else 0
    pad = math.ceil(PAD * height)
    touched = edges_touched(mask)
    cut = edges_cut(out_of_view_points, (mask.shape[1], mask.shape[0]))
    return tuple(pad if touched[e] and not cut[e] else 0 for e in EDGES), cut


def background_line(line, person):
    """An edge line of pixels (n, 3) with the person's pixels (bool (n,)) replaced by the
    background interpolated from either side (its median colour where it is all person)."""
    if not person.any():
        return line
    if person.all():
        return np.broadcast_to(np.median(line, axis=0).astype(line.dtype), line.shape)
    at = np.arange(len(line))
    return np.stack([np.interp(at, at[~person], line[~person, c]) for c in range(3)],
                    axis=1).round().astype(line.dtype)


def continued(line, n):
    """(n, L, 3) lines continuing `line` (L, 3) outward: the k-th (k = 1..n from the photo) is
    `line` blurred along itself with a Gaussian of sigma FADE x k (reflected at its ends),
    interpolated between blurs at sigmas 0, 1, 2, 4, ... ."""
    if n == 0:
        return np.zeros((0, *line.shape), line.dtype)
    line = line.astype(np.float32)[None]
    most = min(FADE * n, line.shape[1] / 3)
    sigmas = [0.0] + [2.0 ** k for k in range(int(np.ceil(np.log2(max(most, 1.0)))) + 1)]
    levels = np.stack([line[0]] + [cv2.GaussianBlur(line, (0, 0), sigmaX=s, sigmaY=0.01,
                                                    borderType=cv2.BORDER_REFLECT)[0]
                                   for s in sigmas[1:]])
    want = np.minimum(FADE * np.arange(1, n + 1), most)
    i = np.clip(np.searchsorted(sigmas, want, side="right") - 1, 0, len(sigmas) - 2)
    t = ((want - np.take(sigmas, i)) / (np.take(sigmas, i + 1) - np.take(sigmas, i)))[:, None, None]
    return np.round((1 - t) * levels[i] + t * levels[i + 1]).clip(0, 255).astype(np.uint8)


def extend(photo, mask, pads):
    """The photo (H, W, 3) and mask extended by pads (left, top, right, bottom) pixels."""
    left, top, right, bottom = pads
    if not any(pads):
        return photo, mask
    edge = photo.copy()
    ys = np.flatnonzero(mask.any(axis=1))
    grow = max(2, round(EDGE_GROW * (ys.max() - ys.min() + 1))) if len(ys) else 2
    person = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)) > 0
    if top:
        edge[0] = background_line(photo[0], person[0])
    if bottom:
        edge[-1] = background_line(photo[-1], person[-1])
    if left:
        edge[:, 0] = background_line(photo[:, 0], person[:, 0])
    if right:
        edge[:, -1] = background_line(photo[:, -1], person[:, -1])
    # Sides first, then the rows above and below across the whole extended width.
    out = np.concatenate([continued(edge[:, 0], left)[::-1].transpose(1, 0, 2), edge,
                          continued(edge[:, -1], right).transpose(1, 0, 2)], axis=1)
    out = np.concatenate([continued(out[0], top)[::-1], out, continued(out[-1], bottom)], axis=0)
    h, w = mask.shape
    out[top:top + h, left:left + w] = photo
    return out, cv2.copyMakeBorder(mask, top, bottom, left, right, cv2.BORDER_CONSTANT, value=0)


def slide_to_cuts(window, cut):
    """The window moved so that it ends at each edge where the person is cut off."""
    (vw, vh), ww, wh = window.video_size, window.x1 - window.x0, window.y1 - window.y0
    x0, y0 = window.x0, window.y0
    x0 = 0 if cut["left"] else vw - ww if cut["right"] else x0
    y0 = 0 if cut["top"] else vh - wh if cut["bottom"] else y0
    return CropWindow(x0, y0, x0 + ww, y0 + wh, window.video_size, window.size)


def frame(photo, mask, kp, out_of_view, size):
    """Cut a photo (RGB), its person mask and pose (137, 3) to `size` (w, h). `out_of_view`:
    BODY_25 indices of the joints beyond the photo's edges. Returns (image, mask, keypoints,
    window, pads): the window in the pixels of the photo extended by pads (left, top, right,
    bottom)."""
    pads, cut = room(mask, kp[list(out_of_view), :2])
    photo, mask = extend(photo, mask, pads)
    kp = np.array(kp, np.float32, copy=True)
    kp[:, 0] += np.where(kp[:, 2] > 0, pads[0], 0)
    kp[:, 1] += np.where(kp[:, 2] > 0, pads[1], 0)
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    window = slide_to_cuts(choose_window((w, h), size, (xs.min(), ys.min(), xs.max() + 1,
                                                       ys.max() + 1), "auto"), cut)
    # Extend the photo under the window where the window reaches past it.
    more = (max(0, -window.x0), max(0, -window.y0), max(0, window.x1 - w), max(0, window.y1 - h))
    big, big_mask = extend(photo, mask, more)
    x0, y0 = window.x0 + more[0], window.y0 + more[1]
    x1, y1 = window.x1 + more[0], window.y1 + more[1]
    shrink = (x1 - x0) > size[0]
    resize = lambda img, how: cv2.resize(img[y0:y1, x0:x1], tuple(size), interpolation=how)
    image = resize(big, cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    cut_mask = ((resize(big_mask, cv2.INTER_LINEAR) >= 128) * 255).astype(np.uint8)
    return image, cut_mask, window.to_frame(kp), window, pads
