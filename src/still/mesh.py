"""Triangulate a person mask: points along the outline plus a lattice inside, Delaunay, and only
the triangles that lie inside the mask.

The outline is sampled every spacing/2 pixels (a finer outline keeps the silhouette; the inside
only has to carry the texture) and the inside on a triangular lattice of `spacing`, kept at least
INNER_GAP x spacing away from the outline so that no sliver triangles form along it. A Delaunay
triangle is dropped when its centroid or any of a few points along each of its edges falls
outside the mask (grown by TEST_GROW pixels): that removes the triangles bridging concave gaps
(between an arm and the body, between the legs) without testing every pixel.
"""
import cv2
import numpy as np
from scipy.spatial import Delaunay

INNER_GAP = 0.6
TEST_GROW = 2      # pixels: the mask is grown this much for the inside test (chords along the
                   # outline may pass a fraction of a pixel outside it)
MIN_ALTITUDE = 1.0  # pixels: flatter triangles made only of outline points are dropped (three
                    # neighbours, or a fan along a straight stretch); they cover nothing and the
                    # least bending flips them
UNTANGLE_STEPS = 20
EDGE_SAMPLES = (1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6)


def main_outline(mask):
    """The longest outer contour of a binary uint8 mask as (K, 2) float pixel coordinates."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return np.zeros((0, 2), np.float64)
    return max(contours, key=len)[:, 0].astype(np.float64)


def resample_closed(points, step):
    """Points every `step` pixels of arc length along a closed polyline (K, 2)."""
    closed = np.vstack([points, points[:1]])
    seg = np.hypot(*np.diff(closed, axis=0).T)
    arc = np.concatenate([[0], np.cumsum(seg)])
    n = max(3, int(round(arc[-1] / step)))
    at = np.linspace(0, arc[-1], n, endpoint=False)
    return np.stack([np.interp(at, arc, closed[:, 0]), np.interp(at, arc, closed[:, 1])], axis=1)


def lattice(mask, spacing):
    """Triangular-lattice points inside the mask, at least INNER_GAP x spacing from its edge."""
    h, w = mask.shape
    inside = cv2.distanceTransform(mask, cv2.DIST_L2, 5) >= INNER_GAP * spacing
    row_step = spacing * np.sqrt(3) / 2
    points = []
    for r, y in enumerate(np.arange(spacing / 2, h, row_step)):
        xs = np.arange(spacing / 2 + (r % 2) * spacing / 2, w, spacing)
        points.append(np.stack([xs, np.full_like(xs, y)], axis=1))
    points = np.concatenate(points)
    ij = np.round(points).astype(int)
    return points[inside[ij[:, 1].clip(0, h - 1), ij[:, 0].clip(0, w - 1)]]


def inside_mask(mask, points):
    ij = np.round(points).astype(int)
    h, w = mask.shape
    ok = (ij[..., 0] >= 0) & (ij[..., 0] < w) & (ij[..., 1] >= 0) & (ij[..., 1] < h)
    return ok & (mask[ij[..., 1].clip(0, h - 1), ij[..., 0].clip(0, w - 1)] > 0)


def triangulate(mask, spacing):
    """Mesh of the main region of a binary uint8 mask (255 = person).

    Returns vertices (N, 2) float32 (x, y pixels) and triangles (M, 3) int32, counter-clockwise
    on screen (positive signed area with y pointing down), every vertex used.
    """
    outline = main_outline(mask)
    if len(outline) < 3:
        return np.zeros((0, 2), np.float32), np.zeros((0, 3), np.int32)
    ring = resample_closed(outline, spacing / 2)
    points = np.vstack([ring, lattice(mask, spacing)])
    tris = Delaunay(points).simplices
    corners = points[tris]                                        # (M, 3, 2)
    tests = [corners.mean(axis=1)]
    for a, b in ((0, 1), (1, 2), (2, 0)):
        for f in EDGE_SAMPLES:
            tests.append(corners[:, a] + f * (corners[:, b] - corners[:, a]))
    grown = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * TEST_GROW + 1,) * 2))
    keep = np.all([inside_mask(grown, t) for t in tests], axis=0)
    keep &= (min_altitudes(points, tris) >= MIN_ALTITUDE) | ~(tris < len(ring)).all(axis=1)
    tris = tris[keep | closes_hole(tris, keep)]
    used = np.unique(tris)
    remap = np.full(len(points), -1)
    remap[used] = np.arange(len(used))
    vertices, tris = points[used].astype(np.float32), remap[tris].astype(np.int32)
    flip = signed_areas(vertices, tris) < 0
    tris[flip] = tris[flip][:, [0, 2, 1]]
    return vertices, tris


def signed_areas(vertices, triangles):
    """Signed area of each triangle; positive = counter-clockwise on screen (y down)."""
    p = vertices[triangles].astype(np.float64)
    d1, d2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    return -(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / 2


def closes_hole(triangles, keep):
    """Dropped triangles whose three sides all border kept ones: one-triangle holes, left where
    a triangle slightly outside the outline passed the (grown) inside test and hid the outline's
    own sliver behind it. Putting them back keeps the mesh free of holes."""
    edges = np.sort(triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 3, 2), axis=2)
    kept = edges[keep].reshape(-1, 2)
    code = lambda e: e[..., 0].astype(np.int64) * (1 << 32) + e[..., 1]
    uses = dict(zip(*np.unique(code(kept), return_counts=True)))
    count = np.vectorize(lambda c: uses.get(c, 0))(code(edges)) if len(kept) else np.zeros(edges.shape[:2])
    return ~keep & (count == 1).all(axis=1)


def min_altitudes(points, triangles):
    """Smallest height of each triangle (twice the area over the longest side), pixels."""
    p = points[triangles].astype(np.float64)
    area2 = np.abs(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]))
    longest = np.max([np.hypot(*(p[:, a] - p[:, b]).T) for a, b in ((0, 1), (1, 2), (2, 0))], axis=0)
    return area2 / np.maximum(longest, 1e-9)


def neighbour_mean(n, triangles, include_self=False):
    """Sparse (n, n) matrix whose product with per-vertex values gives each vertex the mean over
    its mesh neighbours (and itself, with include_self)."""
    from scipy import sparse
    i = triangles[:, [0, 1, 2, 1, 2, 0]].ravel()
    j = triangles[:, [1, 2, 0, 0, 1, 2]].ravel()
    a = sparse.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)).tocsr()
    a.data[:] = 1
    if include_self:
        a = a + sparse.identity(n, format="csr")
    count = np.asarray(a.sum(axis=1)).ravel()
    return (sparse.diags(1 / np.maximum(count, 1)) @ a).tocsr()


def untangle(vertices, triangles, neighbours, steps=UNTANGLE_STEPS):
    """Undo folds: the corners of flipped triangles move half-way to their neighbours' mean,
    up to `steps` times, until no triangle is flipped. Folds happen where a joint closes (an arm
    coming down to the side squeezes the armpit); elsewhere nothing moves."""
    v = vertices.astype(np.float64)
    for _ in range(steps):
        flipped = signed_areas(v, triangles) <= 0
        if not flipped.any():
            break
        corners = np.unique(triangles[flipped])
        v[corners] = 0.5 * v[corners] + 0.5 * (neighbours[corners] @ v)
    return v.astype(np.float32)


def detach(vertices, triangles, chosen, at):
    """Open a seam: the `chosen` triangles (bool (M,)) get their own copies of the vertices
    flagged in `at` (bool (N,)) that they share with the other triangles. At rest nothing moves;
    deformed, the two sides may part. Returns (vertices, triangles, origin): origin[i] is the
    vertex that vertex i copies (itself for the old ones)."""
    shared = np.zeros(len(vertices), bool)
    used_chosen = np.zeros(len(vertices), bool)
    used_chosen[triangles[chosen].ravel()] = True
    shared[triangles[~chosen].ravel()] = True
    split = np.flatnonzero(at & shared & used_chosen)
    copy_of = np.arange(len(vertices))
    copy_of[split] = len(vertices) + np.arange(len(split))
    triangles = triangles.copy()
    triangles[chosen] = copy_of[triangles[chosen]]
    origin = np.concatenate([np.arange(len(vertices)), split])
    return vertices[origin], triangles, origin
