"""Render the photo through the deformed mesh: one pass of inverse mapping.

The mesh's texture is the photo with the body under the separated arms below it (atlas): each
vertex has its texture coordinates there (uv), so an arm's layer shows the photo and the body's
layer what was painted under the arm, at the same place of the photo. The alphas are the masks
of the person and of the body: what the mesh holds of the background (a gap between an arm and
the body) is not drawn.

Parts are drawn one after the other, back to front (a painter's algorithm with alpha): where a
part's texture is transparent (in the photo, the background between the legs, say), the parts
behind it show, not the background. For each part:
1. Rasterise its triangle ids in drawing order into an int32 image: OpenCV fills each triangle
   in C; only the loop over triangles is Python.
2. Each triangle's affine map from its deformed corners back to its corners in the photo, applied
   to every covered pixel (the same as interpolating the photo coordinates with barycentric
   weights), gives a photo position per output pixel.
3. One cv2.remap samples the photo there (bilinear), and the result is laid over the frame so far
   with a one-pixel soft edge.

All of it happens inside the bounding box of the part's deformed triangles.
"""
import cv2
import numpy as np

from src.pose.keypoints import B
from src.still import rig

SUBPIXEL = 4   # fixed-point bits for cv2.fillConvexPoly
OUTSIDE = -1e4  # photo coordinate given to uncovered pixels (their alpha is 0 anyway)
SIDE_VIEW = 0.5  # shoulders narrower than this x the photo's: a side view


def atlas(photo, mask, body, body_mask):
    """The texture (2H + 1, W, 4): the photo with the person mask as its alpha, its last row once
    more (so that bilinear sampling at the photo's bottom edge does not reach the body), then the
    body texture with the body's mask as its alpha."""
    top = np.dstack([photo, mask])
    return np.ascontiguousarray(np.vstack([top, top[-1:], np.dstack([body, body_mask])]))


def body_row(height):
    """The atlas row where the body texture of a photo `height` rows high begins."""
    return height + 1


def draw_order(parts, front_back):
    """Triangle indices back to front for triangle parts (M,) and an order of parts."""
    return np.concatenate([np.flatnonzero(parts == p) for p in front_back]).astype(np.int64)


def inverse_affines(rest, deformed, triangles):
    """(M, 2, 3) maps from deformed-triangle pixels to texture pixels (rest: the vertices' uv)."""
    d = deformed[triangles].astype(np.float64)
    r = rest[triangles].astype(np.float64)
    dm = np.stack([d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]], axis=2)   # columns: edge vectors
    rm = np.stack([r[:, 1] - r[:, 0], r[:, 2] - r[:, 0]], axis=2)
    det = dm[:, 0, 0] * dm[:, 1, 1] - dm[:, 0, 1] * dm[:, 1, 0]
    ok = np.abs(det) > 1e-9
    inv = np.zeros_like(dm)
    inv[ok, 0, 0], inv[ok, 1, 1] = dm[ok, 1, 1] / det[ok], dm[ok, 0, 0] / det[ok]
    inv[ok, 0, 1], inv[ok, 1, 0] = -dm[ok, 0, 1] / det[ok], -dm[ok, 1, 0] / det[ok]
    lin = rm @ inv                                                    # (M, 2, 2)
    shift = r[:, 0] - (lin @ d[:, 0, :, None])[..., 0]
    return np.concatenate([lin, shift[..., None]], axis=2)


class Renderer:
    """Draws one still (texture, mesh) in many poses over a background, reusing its buffers.
    uv: (N, 2) each vertex's place in the texture."""

    def __init__(self, texture, background, uv, triangles, triangle_parts):
        self.texture = np.ascontiguousarray(texture)
        self.background = background
        self.uv = uv.astype(np.float32)
        self.triangles = triangles
        self.parts = triangle_parts
        h, w = background.shape[:2]
        self.ids = np.full((h, w), -1, np.int32)
        self.edge = np.zeros((h, w), np.uint8)   # the mesh's coverage, softened at its outline
                                                 # (valid inside the last render's box only)
        self.size = (w, h)

    def coverage(self, deformed, order):
        """Triangle id per pixel (-1: none) inside the box (x0, y0, x1, y1) of the deformed
        triangles `order` (drawn in that order: the last one drawn on a pixel holds it)."""
        w, h = self.size
        corners = deformed[self.triangles[order]]                      # (len(order), 3, 2)
        x0, y0 = np.floor(corners.min(axis=(0, 1))).astype(int) - 1
        x1, y1 = np.ceil(corners.max(axis=(0, 1))).astype(int) + 2
        box = (max(0, x0), max(0, y0), min(w, x1), min(h, y1))
        self.ids[box[1]:box[3], box[0]:box[2]] = -1
        fixed = np.round(corners * (1 << SUBPIXEL)).astype(np.int32)
        fill = cv2.fillConvexPoly
        for t, corner in zip(order, fixed):
            fill(self.ids, corner, int(t), cv2.LINE_8, SUBPIXEL)
        return box

    def render(self, deformed, order):
        """The frame (H, W, 3) uint8 with the photo's person in the deformed mesh; order: the
        triangles back to front (draw_order)."""
        frame = self.background.copy()
        if not len(order):
            return frame
        # The soft edge follows the outline of the whole mesh, not the seams between its parts.
        x0, y0, x1, y1 = self.coverage(deformed, order)
        covered = (self.ids[y0:y1, x0:x1] >= 0).astype(np.uint8) * 255
        self.edge[y0:y1, x0:x1] = np.minimum(cv2.blur(covered, (3, 3)), covered)
        affine = inverse_affines(self.uv, deformed, self.triangles)
        columns = np.empty((6, len(affine) + 1), np.float32)   # id -1 takes the last column
        columns[:, :-1] = affine.reshape(-1, 6).T
        columns[:, -1] = (0, 0, OUTSIDE, 0, 0, OUTSIDE)
        parts = self.parts[order]
        starts = np.flatnonzero(np.r_[True, parts[1:] != parts[:-1]])
        for layer in np.split(order, starts[1:]):
            self.draw_layer(frame, deformed, layer, columns)
        return frame

    def draw_layer(self, frame, deformed, layer, columns):
        """Lay the triangles `layer` (one part) over `frame`, in place."""
        x0, y0, x1, y1 = self.coverage(deformed, layer)
        if x1 <= x0 or y1 <= y0:
            return
        ids = self.ids[y0:y1, x0:x1]
        a, b, c, d, e, f = (np.take(col, ids) for col in columns)
        xs = np.arange(x0, x1, dtype=np.float32)[None, :]
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        person = cv2.remap(self.texture, a * xs + b * ys + c, d * xs + e * ys + f, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        edge = np.where(ids >= 0, self.edge[y0:y1, x0:x1], 0).astype(np.uint8)
        alpha = cv2.multiply(edge, person[..., 3], scale=1 / 255, dtype=cv2.CV_32F) * (1 / 255)
        frame[y0:y1, x0:x1] = cv2.blendLinear(np.ascontiguousarray(person[..., :3]),
                                              frame[y0:y1, x0:x1], alpha, 1 - alpha)


def front_back(kp_driving, kp_photo):
    """Parts back to front for one driving pose (see docs/still.md: limbs in front or behind).

    Arms are in front of the torso and head; legs behind the torso; a hidden hand replaced by the
    other one (src/still/limbs.py) behind everything, so that it shows only away from the body.
    An arm goes behind when the driving pose shows that side turned away from the camera: the
    person's back (rig.seen_from_behind: both arms), or shoulders narrower than SIDE_VIEW x the
    photo's (a side view: the arm on the side the nose points to), or an arm it does not show
    (rig.unseen_arms).
    """
    behind = set(rig.unseen_arms(kp_driving))
    r, l, nose, neck = (kp_driving[B[n]] for n in ("RShoulder", "LShoulder", "Nose", "Neck"))
    across_photo = kp_photo[B["LShoulder"], :2] - kp_photo[B["RShoulder"], :2]
    if rig.seen_from_behind(kp_driving, kp_photo):
        behind |= {"r_arm", "l_arm"}
    elif (r[2] > 0 and l[2] > 0 and nose[2] > 0 and neck[2] > 0
          and abs(l[0] - r[0]) < SIDE_VIEW * abs(across_photo[0])):
        # The nose points toward the side that turned away from the camera.
        behind.add("l_arm" if (nose[0] - neck[0]) * (l[0] - r[0]) > 0 else "r_arm")
    order_arms_back = [p for p in ("r_arm", "l_arm") if p in behind]
    order_arms_front = [p for p in ("r_arm", "l_arm") if p not in behind]
    names = (["r_hand_hidden", "l_hand_hidden"] + order_arms_back
             + ["r_leg", "l_leg", "torso", "head"] + order_arms_front)
    return [rig.PARTS.index(n) for n in names]

