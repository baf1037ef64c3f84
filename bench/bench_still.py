"""Still-image mode: speed, pose fidelity and mesh integrity.

    .venv/bin/python bench/bench_still.py speed [--size 1024x512] [--frames 100] [--runs 5]
    .venv/bin/python bench/bench_still.py fidelity --video ../shared/data/source_aerobics.mp4
                                          [--size 1024x512] [--work /tmp/bench_still]

Both use the demo's still: one frame of the synthetic target (src.demo.data.still_photo), made
into a still target by make_target.py --image's code.

speed: the synthetic source dancer's poses, normalized onto the still, drive it; each frame's
deformation, rendering and compositing (everything transfer does per frame but the PNG write) is
timed. Reported per run: median ms per frame and the split; over runs: the median frames/s. The
machine may be shared: each run also times a fixed reference job (one full-frame cv2.remap plus
a frame copy, interleaved with the frames), and the ratio frame time / reference time changes
much less with the load than the frame time does.

fidelity: the source video goes through make_source.py, normalization.py and transfer.py onto
the still (as a user would run them); MediaPipe (static-image mode) then looks at every output
frame. Reported: share of frames where it finds the person; mean distance of its BODY_25 points
to the driving (normalized) pose, in pixels and as a share of the still's body height (the
person mask's height; a pose seen from behind is compared with its sides swapped, as the still
draws it: src/still/rig.py facing_front); mesh integrity: the share of frames without flipped triangles (before
and after fold untangling), the mesh's pieces (the body, and each arm taken off it and each hidden
hand's replacement, src/still/limbs.py) and its boundary loops (as many as pieces: it has no holes;
the cuts between the legs and at the armpits are open to the outline, so they are part of its
loop), and the
frames where the rendered person has uncovered pixels enclosed by a single body part (a hole torn
by the deformation; a gap between two parts, e.g. a raised arm and the head, is background).
"""
import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def make_still(folder, size):
    """The demo's still target in `folder` (MediaPipe runs once)."""
    from src.demo.data import still_photo
    from src.io.files import write_image
    from src.still import layout, stage
    photo = os.path.join(folder, "still.png")
    write_image(photo, still_photo(size)[0])
    stage.run(photo, os.path.join(folder, "target"), size)
    return layout.load(os.path.join(folder, "target"))


def synthetic_poses(still, n, size):
    """n poses of the synthetic source dancer, normalized onto the still."""
    from src.demo.data import dancer_pose
    from src.normalize.maths import normalize
    kps = np.stack([dancer_pose("source", t / 15, size).keypoints for t in range(n)])
    return normalize(kps, size, still.keypoints[None], size).keypoints


def speed(args):
    import tempfile
    from src.pose.options import parse_size
    from src.still import render
    from src.still.transfer import Animator
    size = parse_size(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        still = make_still(tmp, size)
    poses = synthetic_poses(still, args.frames, size)
    animator = Animator(still)
    w, h = size
    ident_x, ident_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def reference():
        frame = still.background.copy()
        return cv2.remap(frame, ident_x, ident_y, cv2.INTER_LINEAR)

    runs = []
    for run in range(args.runs):
        split = {"deform": [], "render": [], "frame": [], "reference": []}
        for kp in poses:
            t0 = time.perf_counter()
            vertices = animator.deform(kp)
            t1 = time.perf_counter()
            order = render.draw_order(still.parts, render.front_back(kp, still.keypoints))
            animator.renderer.render(vertices, order)
            t2 = time.perf_counter()
            reference()
            t3 = time.perf_counter()
            split["deform"].append(t1 - t0)
            split["render"].append(t2 - t1)
            split["frame"].append(t2 - t0)
            split["reference"].append(t3 - t2)
        med = {k: 1000 * statistics.median(v) for k, v in split.items()}
        med["ratio"] = med["frame"] / med["reference"]
        runs.append(med)
        print(f"run {run + 1}: {med['frame']:.1f} ms/frame ({1000 / med['frame']:.1f} frames/s): "
              f"deform {med['deform']:.1f}, render + composite {med['render']:.1f}; "
              f"reference {med['reference']:.2f} ms, ratio {med['ratio']:.1f}; "
              f"load {os.getloadavg()[0]:.1f}")
    frame = statistics.median(r["frame"] for r in runs)
    ratio = statistics.median(r["ratio"] for r in runs)
    print(json.dumps({"size": args.size, "vertices": len(still.vertices),
                      "triangles": len(still.triangles), "runs": args.runs,
                      "frames_per_run": args.frames, "median_ms_per_frame": round(frame, 2),
                      "median_frames_per_s": round(1000 / frame, 1),
                      "median_ratio_to_reference": round(ratio, 2),
                      "cv2_threads": cv2.getNumThreads()}))


def holes(ids, parts):
    """Uncovered pixels enclosed by one body part alone (from the rendered triangle ids): a hole
    torn in the mesh. Gaps enclosed by two parts, e.g. between a raised arm and the head, are the
    background seen between them, not holes."""
    covered = ids >= 0
    outside = np.pad(covered, 1).astype(np.uint8)
    cv2.floodFill(outside, None, (0, 0), 1)
    enclosed = (outside[1:-1, 1:-1] == 0).astype(np.uint8)
    n, labels = cv2.connectedComponents(enclosed, connectivity=4)
    total = 0
    for k in range(1, n):
        region = (labels == k).astype(np.uint8)
        ring = (cv2.dilate(region, np.ones((3, 3), np.uint8)) > 0) & covered
        if len(np.unique(parts[ids[ring]])) == 1:
            total += int(region.sum())
    return total


def pieces(triangles):
    """Connected pieces of a triangle mesh (triangles sharing vertices)."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components
    n = int(triangles.max()) + 1
    i, j = triangles[:, [0, 1, 2]].ravel(), triangles[:, [1, 2, 0]].ravel()
    graph = sparse.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return len(np.unique(labels[np.unique(triangles)]))


def boundary_loops(triangles):
    """Closed boundary loops of a triangle mesh: 1 for a disc, more when it has holes."""
    edges = np.sort(triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    unique, count = np.unique(edges, axis=0, return_counts=True)
    border = unique[count == 1]
    parent = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a
    for a, b in border:
        parent[find(a)] = find(b)
    return len({find(a) for a in border.ravel()})


def fidelity(args):
    from src.evaluate.metrics import pose_distance
    from src.layout import KEYPOINTS, NORM_KEYPOINTS
    from src.normalize import stage as normalize_stage
    from src.pose import make_backend, options as pose_options, stage as pose_stage
    from src.pose.keypoints import PoseTrack
    from src.still import mesh, render, rig, transfer as still_transfer
    from src.still.transfer import Animator
    size = pose_options.parse_size(args.size)
    work = args.work
    os.makedirs(work, exist_ok=True)
    still = make_still(work, size)
    target, source, out = (os.path.join(work, d) for d in ("target", "source", "out"))
    if not os.path.isfile(os.path.join(source, KEYPOINTS)):
        pose_stage.run_stage("source", pose_options.StageOptions(video=args.video, out=source,
                                                               size=size))
    normalize_stage.run(source, target)
    still_transfer.run(target, source, out, restart=True)
    poses = PoseTrack.load(os.path.join(source, NORM_KEYPOINTS)).keypoints

    animator = Animator(still)
    flips_raw, flips, gaps = [], [], []
    for kp in poses:
        raw = rig.deform(still.vertices, animator.binding, animator.rest, animator.pose(kp))
        flips_raw.append(int((mesh.signed_areas(raw, still.triangles) <= 0).sum()))
        vertices = animator.deform(kp)
        flips.append(int((mesh.signed_areas(vertices, still.triangles) <= 0).sum()))
        order = render.draw_order(still.parts, render.front_back(kp, still.keypoints))
        animator.renderer.coverage(vertices, order)
        gaps.append(holes(animator.renderer.ids, still.parts))

    ys = np.flatnonzero((cv2.imread(os.path.join(target, "still", "mask.png"), 0) > 0).any(axis=1))
    height = float(ys.max() - ys.min() + 1)
    backend = make_backend("mediapipe", video=False)
    try:
        detected = np.stack([backend.detect(cv2.cvtColor(cv2.imread(os.path.join(out, f"{i:05d}.png")),
                                                         cv2.COLOR_BGR2RGB))
                             for i in range(len(poses))])
    finally:
        backend.close()
    found = (detected[:, :25, 2] > 0).any(axis=1)
    per_frame = []
    for ref, det in zip(poses, detected):
        # A pose seen from behind is drawn as the photo's front with its sides swapped: compared
        # as drawn (the detector names the output's sides as a front view's).
        d = pose_distance(rig.facing_front(ref, still.keypoints), det)["body"]["distance"]
        if np.isfinite(d):
            per_frame.append(d)
    per_frame = np.array(per_frame)
    worst = np.argsort([-f for f in flips])[:3]
    report = {
        "frames": len(poses), "size": args.size, "body_height_px": height,
        "found_share": round(float(found.mean()), 4),
        "body_distance_px_mean": round(float(per_frame.mean()), 2),
        "body_distance_share_of_height_mean": round(float(per_frame.mean() / height), 4),
        "body_distance_share_of_height_p95": round(float(np.percentile(per_frame, 95) / height), 4),
        "frames_without_flips_before_untangling": round(float(np.mean(np.array(flips_raw) == 0)), 4),
        "frames_without_flips": round(float(np.mean(np.array(flips) == 0)), 4),
        "mesh_pieces": pieces(still.triangles),
        "mesh_boundary_loops": boundary_loops(still.triangles),
        "frames_with_holes": int(np.sum(np.array(gaps) > 0)),
        "most_flipped_frames": [int(i) for i in worst if flips[i] > 0],
        "holed_frames": [int(i) for i in np.flatnonzero(np.array(gaps) > 0)][:20],
    }
    print(json.dumps(report, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("speed", help="frames/s of deform + render + composite")
    s.add_argument("--size", default="1024x512")
    s.add_argument("--frames", type=int, default=100)
    s.add_argument("--runs", type=int, default=5)
    f = sub.add_parser("fidelity", help="MediaPipe on the output frames; mesh integrity")
    f.add_argument("--video", required=True, help="source video, e.g. ../shared/data/source_aerobics.mp4")
    f.add_argument("--size", default="1024x512")
    f.add_argument("--work", default="/tmp/bench_still",
                   help="working folder (the source's poses are kept and reused)")
    args = parser.parse_args()
    speed(args) if args.command == "speed" else fidelity(args)


if __name__ == "__main__":
    main()
