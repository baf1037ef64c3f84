"""Turn OpenPose network outputs (part heatmaps and part affinity fields) into people.

Pure numpy. Input maps are channel-first, all at the same resolution (the caller upsamples the
stride-8 network output first); every coordinate returned is in pixels of those maps.

    1. peaks:    each joint's heatmap, local maxima above a threshold, refined to sub-pixel
    2. limbs:    every pair of candidate joints that a limb could join is scored by sampling the
                 PAF along the segment: the mean of its projection on the segment direction, the
                 share of samples that agree, and a prior against limbs longer than half the map
    3. matching: per limb type, the best-scoring pairs are taken greedily, each joint used once
    4. grouping: limbs sharing a joint are chained into people (tree order, starting at the
                 neck); weak or tiny groups are dropped
"""
import collections

import numpy as np

# COCO-18, the joint order of the network's heatmap channels (channel 18 is the background).
COCO_NAMES = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
              "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar",
              "LEar"]
N_JOINTS = len(COCO_NAMES)
_J = {name: i for i, name in enumerate(COCO_NAMES)}

# The network's 19 limbs: (from joint, to joint, PAF channel of x, PAF channel of y), in the
# order that grows a skeleton from the neck outwards. The last two (shoulder-ear) duplicate a
# path through the face; they may complete a person but never start one.
_LIMB_LIST = [("Neck", "RShoulder", 12, 13), ("Neck", "LShoulder", 20, 21),
              ("RShoulder", "RElbow", 14, 15), ("RElbow", "RWrist", 16, 17),
              ("LShoulder", "LElbow", 22, 23), ("LElbow", "LWrist", 24, 25),
              ("Neck", "RHip", 0, 1), ("RHip", "RKnee", 2, 3), ("RKnee", "RAnkle", 4, 5),
              ("Neck", "LHip", 6, 7), ("LHip", "LKnee", 8, 9), ("LKnee", "LAnkle", 10, 11),
              ("Neck", "Nose", 28, 29), ("Nose", "REye", 30, 31), ("REye", "REar", 34, 35),
              ("Nose", "LEye", 32, 33), ("LEye", "LEar", 36, 37),
              ("RShoulder", "REar", 18, 19), ("LShoulder", "LEar", 26, 27)]
LIMBS = [(_J[a], _J[b], cx, cy) for a, b, cx, cy in _LIMB_LIST]
N_REDUNDANT = 2

Person = collections.namedtuple("Person", "keypoints score")
Person.__doc__ = """One decoded person: keypoints (18, 3) COCO order (x, y, peak value; all 0 when
missing), score (its joints' peak values plus its limbs' scores, divided by its number of joints:
OpenPose's measure; higher is surer)."""


def find_peaks(heatmap, threshold=0.1, max_peaks=32):
    """Local maxima of one heatmap (H, W) above `threshold`: (K, 3) array of x, y, value.

    Positions are refined to sub-pixel precision with a parabola through the neighbours; the
    strongest `max_peaks` are kept (a noisy map must not blow up the pairwise limb scoring).
    """
    h, w = heatmap.shape
    ys, xs = np.nonzero(heatmap > threshold)
    if len(ys) == 0:
        return np.zeros((0, 3), np.float32)
    padded = np.pad(heatmap, 1, constant_values=-np.inf)
    value = heatmap[ys, xs]
    py, px = ys + 1, xs + 1
    is_peak = np.ones(len(ys), bool)
    # Strictly above the neighbours before, at least equal to those after: one peak per plateau.
    for dy, dx in ((-1, -1), (-1, 0), (-1, 1), (0, -1)):
        is_peak &= value > padded[py + dy, px + dx]
    for dy, dx in ((1, 1), (1, 0), (1, -1), (0, 1)):
        is_peak &= value >= padded[py + dy, px + dx]
    ys, xs, value = ys[is_peak], xs[is_peak], value[is_peak]
    keep = np.argsort(-value, kind="stable")[:max_peaks]
    ys, xs, value = ys[keep], xs[keep], value[keep]
    fx = xs + _parabola_offset(heatmap[ys, np.maximum(xs - 1, 0)], value,
                               heatmap[ys, np.minimum(xs + 1, w - 1)])
    fy = ys + _parabola_offset(heatmap[np.maximum(ys - 1, 0), xs], value,
                               heatmap[np.minimum(ys + 1, h - 1), xs])
    return np.stack([fx, fy, value], axis=1).astype(np.float32)


def _parabola_offset(before, at, after):
    """Offset in [-0.5, 0.5] of the vertex of the parabola through three equally spaced values."""
    curvature = before - 2 * at + after
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(curvature < 0, 0.5 * (before - after) / curvature, 0.0)
    return np.clip(np.nan_to_num(offset), -0.5, 0.5)


def score_limb(starts, ends, paf_x, paf_y, n_samples=10, paf_threshold=0.05, min_agree=0.8):
    """Score every start->end pair (starts (A, 2), ends (B, 2)) against one limb's PAF.

    Returns (A, B) scores: the mean projection of the field on the segment direction plus a
    penalty for segments longer than half the map height; -inf where the pair is not a limb
    (fewer than `min_agree` of the samples point along the segment, or the score is <= 0).
    """
    h, w = paf_x.shape
    delta = ends[None, :, :] - starts[:, None, :]                   # (A, B, 2)
    length = np.linalg.norm(delta, axis=-1)
    unit = delta / np.maximum(length, 1e-6)[..., None]
    t = np.linspace(0.0, 1.0, n_samples)
    samples = starts[:, None, None, :] + t[None, None, :, None] * delta[:, :, None, :]
    sx = np.clip(np.rint(samples[..., 0]), 0, w - 1).astype(np.intp)
    sy = np.clip(np.rint(samples[..., 1]), 0, h - 1).astype(np.intp)
    along = paf_x[sy, sx] * unit[..., None, 0] + paf_y[sy, sx] * unit[..., None, 1]
    score = along.mean(axis=-1) + np.minimum(0.5 * h / np.maximum(length, 1e-6) - 1.0, 0.0)
    agree = (along > paf_threshold).mean(axis=-1)
    ok = (agree >= min_agree) & (score > 0) & (length > 0)
    return np.where(ok, score, -np.inf)


def match_limbs(scores):
    """Greedy bipartite matching: (i, j, score) triples, best first, each row/column used once."""
    rows, cols = np.nonzero(np.isfinite(scores))
    order = np.argsort(-scores[rows, cols], kind="stable")
    used_i, used_j, pairs = set(), set(), []
    for k in order:
        i, j = int(rows[k]), int(cols[k])
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            pairs.append((i, j, float(scores[i, j])))
    return pairs


def decode(heatmaps, pafs, peak_threshold=0.1, paf_threshold=0.05, n_samples=10,
           min_agree=0.8, min_joints=4, min_score=0.4, max_peaks=32):
    """All people in one frame's maps: heatmaps (>=18, H, W), pafs (38, H, W) -> [Person].

    People are sorted by total score, best first. A person needs `min_joints` joints and a
    Person.score of at least `min_score`.
    """
    heatmaps = np.asarray(heatmaps, np.float32)
    pafs = np.asarray(pafs, np.float32)
    if not (np.isfinite(heatmaps.sum()) and np.isfinite(pafs.sum())):   # one pass, no mask
        return []           # a broken network output: nobody, rather than nonsense
    # All peaks of all joints in one table; a peak's row number is its id.
    peaks = [find_peaks(heatmaps[j], peak_threshold, max_peaks) for j in range(N_JOINTS)]
    first_id = np.cumsum([0] + [len(p) for p in peaks])
    table = np.concatenate(peaks)

    groups = []             # each: [joint -> peak id or -1 (int array), summed score]
    for limb, (a, b, cx, cy) in enumerate(LIMBS):
        if len(peaks[a]) == 0 or len(peaks[b]) == 0:
            continue
        scores = score_limb(peaks[a][:, :2], peaks[b][:, :2], pafs[cx], pafs[cy],
                            n_samples, paf_threshold, min_agree)
        for i, j, limb_score in match_limbs(scores):
            _attach(groups, a, b, first_id[a] + i, first_id[b] + j, limb_score, table,
                    may_start=limb < len(LIMBS) - N_REDUNDANT)

    people = []
    for ids, total in groups:
        n = int((ids >= 0).sum())
        if n < min_joints or total / n < min_score:
            continue
        kp = np.zeros((N_JOINTS, 3), np.float32)
        kp[ids >= 0] = table[ids[ids >= 0]]
        people.append((total, Person(kp, float(total / n))))
    people.sort(key=lambda item: -item[0])
    return [person for _, person in people]


def _attach(groups, a, b, id_a, id_b, limb_score, table, may_start):
    """Add the limb (joint a = peak id_a, joint b = peak id_b) to the groups it touches."""
    owners = [g for g in groups if g[0][a] == id_a or g[0][b] == id_b]
    if len(owners) == 2:
        first, second = owners
        if not ((first[0] >= 0) & (second[0] >= 0)).any():
            # Two fragments of one person joined by this limb: merge them.
            first[0] = np.maximum(first[0], second[0])
            first[1] += second[1] + limb_score
            groups.remove(second)
            return
    if owners:
        group = owners[0]
        if group[0][b] == -1:
            group[0][b] = id_b
            group[1] += table[id_b, 2] + limb_score
        elif group[0][a] == -1:
            group[0][a] = id_a
            group[1] += table[id_a, 2] + limb_score
        return
    if may_start:
        ids = np.full(N_JOINTS, -1)
        ids[a], ids[b] = id_a, id_b
        groups.append([ids, table[id_a, 2] + table[id_b, 2] + limb_score])


# ---------------------------------------------------------------------------------------------
# Synthetic maps: what a perfect network would output for known poses (tests and benchmarks).

# A standing person facing the camera (their right on the image's left): (x, y) per COCO joint
# in fractions of the body height, x from the body axis, y down from the top of the head.
_STANDING = {"Nose": (0, .08), "Neck": (0, .18), "RShoulder": (-.10, .19), "RElbow": (-.14, .33),
             "RWrist": (-.16, .46), "LShoulder": (.10, .19), "LElbow": (.14, .33),
             "LWrist": (.16, .46), "RHip": (-.06, .50), "RKnee": (-.07, .72),
             "RAnkle": (-.08, .95), "LHip": (.06, .50), "LKnee": (.07, .72),
             "LAnkle": (.08, .95), "REye": (-.03, .06), "LEye": (.03, .06),
             "REar": (-.06, .07), "LEar": (.06, .07)}


def standing_pose(cx, top, height):
    """(18, 3) COCO pose of a standing person centred on x = cx, head at y = top."""
    kp = np.ones((N_JOINTS, 3), np.float32)
    for name, (x, y) in _STANDING.items():
        kp[_J[name], :2] = cx + x * height, top + y * height
    return kp


def render_maps(people, height, width, sigma=2.5, paf_half_width=2.5):
    """Ideal network output for poses ((18, 3) each) on (height, width) maps.

    Returns heatmaps (19, H, W): a Gaussian per joint (max over people), background = 1 - max;
    pafs (38, H, W): the unit vector of each limb on a band around it, averaged where bands of
    the same limb type overlap (as OpenPose's training targets).
    """
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    heat = np.zeros((N_JOINTS + 1, height, width), np.float32)
    paf = np.zeros((2 * len(LIMBS), height, width), np.float32)
    count = np.zeros((len(LIMBS), height, width), np.float32)
    for kp in people:
        for j in np.nonzero(kp[:, 2] > 0)[0]:
            dist2 = (xx - kp[j, 0]) ** 2 + (yy - kp[j, 1]) ** 2
            np.maximum(heat[j], np.exp(-dist2 / (2 * sigma ** 2)), out=heat[j])
        for k, (a, b, cx, cy) in enumerate(LIMBS):
            if kp[a, 2] <= 0 or kp[b, 2] <= 0:
                continue
            delta = kp[b, :2] - kp[a, :2]
            length = float(np.linalg.norm(delta))
            ux, uy = delta / max(length, 1e-6)
            rx, ry = xx - kp[a, 0], yy - kp[a, 1]
            along = rx * ux + ry * uy
            band = (along >= -1) & (along <= length + 1) & (np.abs(rx * uy - ry * ux) <= paf_half_width)
            paf[cx][band] += ux
            paf[cy][band] += uy
            count[k][band] += 1
    for k, (_, _, cx, cy) in enumerate(LIMBS):
        paf[cx] /= np.maximum(count[k], 1)
        paf[cy] /= np.maximum(count[k], 1)
    heat[N_JOINTS] = 1 - heat[:N_JOINTS].max(axis=0)
    return heat, paf
