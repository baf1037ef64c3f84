"""transfer.py on a still target: the photo deformed into each normalized source pose.

Reads  <source>/keypoints_norm.npz   the normalized source poses (normalization.py), which must
                                     be in the still's frame size
       <target>/still/, <target>/keypoints.npz   the still target (src/still/layout.py)
Writes <out>/00000.png...            one frame per source pose, each written atomically
       <out>/.transfer.json          what the frames are made from

Frames do not depend on each other, so a re-run keeps the frames an earlier run of the same
still and poses left, and makes the rest. Frames of another still or other poses are replaced.
"""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from src.errors import UserError
from src.io.files import frame_name, write_image
from src.io.resume import prepare_output
from src.layout import NORM_KEYPOINTS as KEYPOINTS_NORM
from src.pose.keypoints import PoseTrack
from src.still import layout, mesh, render, rig

MAX_PENDING = 4   # frames made but not yet written


class Animator:
    """A still ready to be posed: frame(keypoints) -> RGB frame. Everything per frame but the
    PNG writing happens here (this is what bench/bench_still.py times)."""

    def __init__(self, still):
        self.still = still
        self.rest = rig.rig_points(still.keypoints)
        # Limbs reaching out of view keep their photo angle, so the cut stays at the edge, and so
        # do limbs the photo hides: it does not show them moving.
        self.fixed = rig.held_bones(self.rest, still.photo.shape[1::-1])
        self.binding = rig.Binding(still.weights, still.pivot, still.primary)
        self.neighbours = mesh.neighbour_mean(len(still.vertices), still.triangles)
        self.renderer = render.Renderer(render.atlas(still.photo, still.mask, still.body,
                                                     still.body_mask), still.background,
                                        still.uv, still.triangles, still.parts)

    def pose(self, kp):
        """The still's retargeted pose (rig.Pose) for a driving pose (137, 3)."""
        kp = rig.facing_front(kp, self.still.keypoints)
        return rig.retarget(self.rest, rig.rig_points(kp), self.fixed)

    def deform(self, kp):
        """Mesh vertices for a driving pose (137, 3)."""
        vertices = rig.deform(self.still.vertices, self.binding, self.rest, self.pose(kp))
        return mesh.untangle(vertices, self.still.triangles, self.neighbours)

    def frame(self, kp):
        order = render.draw_order(self.still.parts, render.front_back(kp, self.still.keypoints))
        return self.renderer.render(self.deform(kp), order)


def manifest(target_dir, poses_path):
    mesh = layout.still_path(target_dir, layout.MESH)
    return {"still": os.path.realpath(mesh), "still_mtime_ns": os.stat(mesh).st_mtime_ns,
            "poses": os.path.realpath(poses_path), "poses_mtime_ns": os.stat(poses_path).st_mtime_ns}


def run(target_dir, source_dir, out_dir, restart=False):
    """Make <out_dir>/00000.png... from the still in target_dir; returns a summary dict."""
    poses_path = os.path.join(source_dir, KEYPOINTS_NORM)
    if not os.path.isfile(poses_path):
        raise UserError(f"{poses_path}: not found; run normalization.py --target {target_dir} first")
    poses = PoseTrack.load(poses_path, "normalization.py")
    still = layout.load(target_dir)
    h, w = still.photo.shape[:2]
    if tuple(poses.size) != (w, h):
        raise UserError(f"{poses_path}: poses at {poses.size[0]}x{poses.size[1]}, but the still in "
                        f"{target_dir} is {w}x{h}; re-run normalization.py --target {target_dir}")
    n = len(poses)
    start = prepare_output(out_dir, manifest(target_dir, poses_path), n, restart)
    print(f"still target {target_dir}: {len(still.vertices)} vertices, {len(still.triangles)} "
          f"triangles; no model needed")
    if start == n:
        print(f"all {n} frames are already in {out_dir}; nothing to do (--restart makes them again)")
        return {"frames": n, "made": 0, "kept": n, "out": out_dir}
    if start > 0:
        print(f"resuming: frames 0-{start - 1} are kept, making {start}-{n - 1}")
    animator = Animator(still)
    # PNG encoding releases the GIL: two writer threads overlap it with the next frames.
    with ThreadPoolExecutor(2) as writer:
        pending = []
        for i in tqdm(range(start, n), desc="transfer (still)", unit="frame", initial=start,
                      total=n, file=sys.stderr):
            frame = animator.frame(poses.keypoints[i])
            pending.append(writer.submit(write_image, os.path.join(out_dir, frame_name(i)), frame))
            while len(pending) > MAX_PENDING or (pending and pending[0].done()):
                pending.pop(0).result()
        for p in pending:
            p.result()
    print(f"wrote frames {start}-{n - 1} ({w}x{h}) to {out_dir}; "
          f"next: python make_mp4.py --frames {out_dir}")
    return {"frames": n, "made": n - start, "kept": start, "out": out_dir}
