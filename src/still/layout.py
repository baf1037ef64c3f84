"""The still target's files, written by make_target.py --image and read by transfer.py.

    <target>/still/photo.png        the processed photo (--size), RGB
    <target>/still/mask.png         the person mask (255 = person), what the mesh was made from; the
                                    photo's alpha where the mesh reaches beyond it
    <target>/still/background.png   the photo with the person removed and filled in
    <target>/still/body.png         the photo with the body under the separated arms filled in
    <target>/still/mesh.npz         the mesh and its binding to the skeleton, the body's mask (Still)
    <target>/still/preview.png      the photo with the mesh and the skeleton drawn on it (to look at)
    <target>/keypoints.npz          the photo's pose as a one-frame PoseTrack, written LAST

A folder is a still target when still/mesh.npz holds the same pose as keypoints.npz: a later
make_target.py --video into the same folder replaces keypoints.npz and so turns it back into a
video target.
"""
import dataclasses
import os

import numpy as np

from src.errors import UserError
from src.io.files import read_image, save_npz
from src.layout import KEYPOINTS as KEYPOINTS_FILE
from src.pose.keypoints import PoseTrack

STILL_DIR = "still"
PHOTO, MASK, BACKGROUND, BODY, MESH, PREVIEW = ("photo.png", "mask.png", "background.png",
                                                "body.png", "mesh.npz", "preview.png")


def still_path(target_dir, name):
    return os.path.join(target_dir, STILL_DIR, name)


@dataclasses.dataclass
class Still:
    """What transfer needs of a still target (images RGB uint8 at the target's size)."""
    photo: np.ndarray
    mask: np.ndarray             # (H, W) uint8 the person mask (255 = person)
    background: np.ndarray
    body: np.ndarray             # the photo with the body under the separated arms filled in
    body_mask: np.ndarray        # (H, W) uint8 the body without the separated arms (255), filled in
    keypoints: np.ndarray        # (137, 3) the photo's pose
    vertices: np.ndarray         # (N, 2) float32 mesh vertices, photo pixels
    uv: np.ndarray               # (N, 2) float32 their texture coordinates (render.atlas)
    triangles: np.ndarray        # (M, 3) int32, counter-clockwise on screen
    weights: np.ndarray          # (N, bones) float32 skinning weights (src/still/rig.py BONES)
    pivot: np.ndarray            # (N,) int32 rig point each vertex turns about
    primary: np.ndarray          # (N,) int32 bone each vertex belongs to
    parts: np.ndarray            # (M,) int32 body part of each triangle (rig.PARTS)

    def save_mesh(self, path):
        save_npz(path, keypoints=self.keypoints, vertices=self.vertices, uv=self.uv,
                 body_mask=self.body_mask, triangles=self.triangles,
                 weights=self.weights, pivot=self.pivot, primary=self.primary, parts=self.parts)


def mesh_matches(target_dir):
    """True when target_dir holds a finished still target (see the module docstring)."""
    mesh, kps = still_path(target_dir, MESH), os.path.join(target_dir, KEYPOINTS_FILE)
    if not (os.path.isfile(mesh) and os.path.isfile(kps)):
        return False
    try:
        with np.load(mesh, allow_pickle=False) as z:
            bound = z["keypoints"]
        track = PoseTrack.load(kps)
    except (OSError, ValueError, KeyError, UserError):
        return False
    return len(track) == 1 and np.array_equal(track.keypoints[0], bound)


def load(target_dir):
    """The Still in target_dir (UserError naming the file when something is missing)."""
    hint = "re-run make_target.py --image"
    mesh = still_path(target_dir, MESH)
    try:
        with np.load(mesh, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("keypoints", "vertices", "uv", "body_mask", "triangles",
                                        "weights", "pivot", "primary", "parts")}
    except (OSError, ValueError, KeyError) as err:
        raise UserError(f"{mesh}: not a still mesh of this project ({err}); {hint}") from None
    n, m = len(arrays["vertices"]), len(arrays["triangles"])
    if (arrays["weights"].shape[0], len(arrays["uv"]), len(arrays["pivot"]),
            len(arrays["primary"]), len(arrays["parts"])) != (n, n, n, n, m) or arrays["keypoints"].shape != (137, 3):
        raise UserError(f"{mesh}: arrays of mismatched sizes; {hint}")
    photo = read_image(still_path(target_dir, PHOTO))
    images = {}
    for field, name in (("background", BACKGROUND), ("body", BODY)):
        images[field] = read_image(still_path(target_dir, name))
        if photo.shape != images[field].shape:
            raise UserError(f"{still_path(target_dir, name)}: {images[field].shape[1]}x"
                            f"{images[field].shape[0]}, but the photo is {photo.shape[1]}x"
                            f"{photo.shape[0]}; {hint}")
    mask = read_image(still_path(target_dir, MASK))[..., 0]
    if mask.shape != photo.shape[:2] or arrays["body_mask"].shape != photo.shape[:2]:
        raise UserError(f"{still_path(target_dir, MASK)}: {mask.shape[1]}x{mask.shape[0]}, but the "
                        f"photo is {photo.shape[1]}x{photo.shape[0]}; {hint}")
    return Still(photo=photo, mask=mask, **images, **arrays)
