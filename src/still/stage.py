"""make_target.py --image: one photo -> a still target (pose, mask, mesh, background).

The photo is read upright and the people in it found (src/still/people.py); one of them is
chosen and their skeleton completed where the photo does not show it (src/still/joints.py).
Then the photo is given room around the person and cut to --size (src/still/framing.py), the mask
is triangulated and the mesh bound to the skeleton. An arm that touches the body, the head, a
leg or the other arm would be glued to it by the mesh: it is taken off the body instead, with a
mesh of its own, and the body under it filled in (src/still/limbs.py). Cloth that fills the space
between the legs (a skirt, a dress) hangs on both legs, so it stretches as they part
(src/still/skirt.py). Last, the person is painted out of the background. Files: see src/still/layout.py.
"""
import os
import sys

import cv2
import numpy as np
from tqdm import tqdm

from src.errors import UserError, note
from src.io.files import remove_temporaries, write_image
from src.pose.keypoints import B, PoseTrack
from src.pose.options import auto_size
from src.pose.stage import check_output_folder
from src.still import framing, joints, layout, limbs, mesh, people, render, rig, skirt
from src.still.photo import (TIP, fill_holes, given_pose, read_photo, segment as photo_segment,
                             with_head_extras)

BACKGROUNDS = ("inpaint", "blur", "plain")
MESH_SPACING = 1 / 40       # lattice spacing, x the body height
CROTCH = 0.2                # the legs stay joined this close (x body height) to the mid-hip
ARMPIT = 0.06               # arm and body stay joined this close (x body height) to the shoulder
ATTACH = 0.15               # arm and body meet only within this x body height of the shoulder
INPAINT_MAX_SIDE = 512      # inpainting runs at most this large, then is scaled up
INPAINT_GROW = 0.02         # the hole painted out: the mask grown by this x the body height


def add_arguments(parser):
    parser.add_argument("--image", default=None, metavar="PHOTO",
                        help="make a still target from one photo (JPEG or PNG) instead of a "
                             "video: pose, mask, mesh and background in <out>/still/; transfer.py "
                             "then animates the photo without training. Best: one person, whole "
                             "body in view, plain background; arms touching the body are taken off "
                             "it and the body behind them painted in")
    parser.add_argument("--background", choices=BACKGROUNDS, default="inpaint",
                        help="with --image: what is behind the moving person: inpaint (the photo "
                             "with the person painted out, default), blur (the same, blurred) or "
                             "plain (the photo's median colour around the person)")
    parser.add_argument("--keypoints", default=None, metavar="FILE",
                        help="with --image: the person's pose as an OpenPose JSON file (BODY_25, "
                             "in pixels of the photo; its first person) instead of detecting it: "
                             "for a drawn figure the detector does not see, or to correct its pose")
    parser.add_argument("--person", type=int, default=None, metavar="N",
                        help="with --image, when the photo shows several people: animate the Nth "
                             "from the left (1 = the leftmost); default: the largest. The others "
                             "stay in the background")


def triangle_part(primary, triangles):
    """Body part of each triangle: the part most of its corners belong to (rig.PARTS)."""
    part = rig.BONE_PART[primary][triangles]
    votes = np.stack([(part == p).sum(axis=1) for p in range(len(rig.PARTS))], axis=1)
    return votes.argmax(axis=1)


def glued_arms(vertices, triangles, primary, kp, height):
    """The arms ("r_arm", "l_arm") that touch the body away from the shoulder, or the head, a leg
    or the other arm, in a mesh of the whole person: the mesh would glue them together."""
    part = rig.BONE_PART[primary][triangles]                     # (M, 3)
    has = {name: (part == i).any(axis=1) for i, name in enumerate(rig.PARTS)}
    centre = vertices[triangles].mean(axis=1)
    glued = []
    for arm, shoulder in (("r_arm", "RShoulder"), ("l_arm", "LShoulder")):
        off = np.hypot(*(centre - kp[B[shoulder], :2]).T)
        others = ("head", "r_leg", "l_leg", "l_arm" if arm == "r_arm" else "r_arm")
        if (has[arm] & has["torso"] & (off > ATTACH * height)).any() \
                or any((has[arm] & has[other]).any() for other in others):
            glued.append(arm)
    return glued


def open_seams(vertices, triangles, primary, kp, height, bridge=None):
    """Let limbs part where the photo shows them joined: below the shoulder (the armpit) an
    arm gets its own copy of the vertices it shares with the body, and below the crotch the left
    leg its own copy of those it shares with the right one, except over the rows of cloth
    between the legs (a skirt.Bridge, or None). Returns (vertices, triangles, primary)."""
    part = triangle_part(primary, triangles)
    seams = [(rig.PARTS.index("r_arm"), None, B["RShoulder"], ARMPIT),
             (rig.PARTS.index("l_arm"), None, B["LShoulder"], ARMPIT),
             (rig.PARTS.index("l_leg"), rig.PARTS.index("r_leg"), B["MidHip"], CROTCH)]
    for side, other, joint, keep_joined in seams:
        chosen = part == side
        far = np.hypot(*(vertices - kp[joint, :2]).T) > keep_joined * height
        if other is not None:   # only where this side meets `other`
            touches = np.zeros(len(vertices), bool)
            touches[triangles[part == other].ravel()] = True
            far &= touches
            if bridge is not None:
                far &= vertices[:, 1] > bridge.joined
        n = len(vertices)
        vertices, triangles, origin = mesh.detach(vertices, triangles, chosen, far)
        primary = primary[origin]
        copies = np.arange(len(origin)) >= n
        # A copy on the limb's side belongs to that limb.
        own = rig.BONE_PART == side
        if copies.any():
            primary[copies] = np.flatnonzero(own)[rig.nearest_bone(vertices[copies], kp, own)]
    return vertices, triangles, primary


def make_background(photo, mask, height, kind):
    """The photo without the person: painted out (inpaint), then blurred (blur); or plain."""
    outside = mask == 0
    if kind == "plain":
        colour = np.median(photo[outside], axis=0) if outside.any() else np.full(3, 255)
        return np.broadcast_to(colour.astype(np.uint8), photo.shape).copy()
    grow = max(3, int(round(INPAINT_GROW * height)))
    hole = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    h, w = mask.shape
    shrink = min(1.0, INPAINT_MAX_SIDE / max(h, w))
    small = cv2.resize(photo, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    small_hole = (cv2.resize(hole, (small.shape[1], small.shape[0]),
                             interpolation=cv2.INTER_NEAREST) > 0).astype(np.uint8)
    filled = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
    filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    out = photo.copy()
    out[hole > 0] = filled[hole > 0]
    if kind == "blur":
        out = cv2.GaussianBlur(out, (0, 0), max(2.0, height / 40))
    return out


def preview(photo, vertices, triangles, parts, kp):
    """The photo with the mesh (one colour per body part) and the joints."""
    colours = [(255, 60, 60), (255, 220, 0), (60, 200, 60), (0, 200, 255), (160, 80, 255),
               (255, 120, 220), (60, 200, 60), (0, 200, 255)]
    img = (photo * 0.6).astype(np.uint8)
    for p, colour in enumerate(colours):
        polys = np.round(vertices[triangles[parts == p]]).astype(np.int32)
        cv2.polylines(img, list(polys), True, colour, 1, cv2.LINE_AA)
    for j in np.flatnonzero(kp[:25, 2] > 0):
        cv2.circle(img, tuple(int(v) for v in np.round(kp[j, :2])), 3, (255, 255, 255), -1)
    return img


def layers(photo, mask, kp, height, spacing, glued, bridge):
    """The mesh of a person whose `glued` arms are taken off the body (limbs.separate): the body,
    then each such arm, then each hidden hand's replacement, as separate pieces. Returns
    (vertices, uv, triangles, primary, body texture, body mask, person mask, hidden-hand part of
    each triangle or -1)."""
    rest = rig.rig_points(kp)
    apart = limbs.separate(photo, mask, kp, glued, height)
    on_arm = np.isin(rig.BONE_PART, [rig.PARTS.index(a) for a in glued])
    vertices, triangles = mesh.triangulate(apart.body, spacing)
    primary = rig.primary_bones(vertices.astype(np.float64), rest, apart.body, ~on_arm)
    vertices, triangles, primary = open_seams(vertices, triangles, primary, kp, height, bridge)
    uv = vertices + np.float32((0, render.body_row(photo.shape[0])))
    pieces = [(vertices, uv, triangles, primary, -1)]
    for arm, region in apart.arms.items():
        v, t = mesh.triangulate(region, spacing)
        own = rig.BONE_PART == rig.PARTS.index(arm)
        pieces.append((v, v, t, rig.primary_bones(v.astype(np.float64), rest, region, own), -1))
    for hand in apart.hands:
        v, t = mesh.triangulate(hand.mask, spacing / 2)
        bone = rig.BONE_INDEX[hand.arm[0] + "_hand"]
        uv = v @ hand.to_photo[:, :2].T.astype(np.float32) + hand.to_photo[:, 2].astype(np.float32)
        pieces.append((v, uv, t, np.full(len(v), bone, np.int32),
                       rig.PARTS.index(hand.arm[0] + "_hand_hidden")))
    start = np.cumsum([0] + [len(p[0]) for p in pieces])
    return (np.concatenate([p[0] for p in pieces]).astype(np.float32),
            np.concatenate([p[1] for p in pieces]).astype(np.float32),
            np.concatenate([p[2] + s for p, s in zip(pieces, start)]).astype(np.int32),
            np.concatenate([p[3] for p in pieces]).astype(np.int32), apart.texture, apart.body,
            apart.mask,
            np.concatenate([np.full(len(p[2]), p[4]) for p in pieces]))


def build(photo, mask, kp, background="inpaint"):
    """The Still of a processed photo (RGB), its person mask (uint8, 255 = person) and pose
    (137, 3): mesh, binding, background. Arms glued to the body or to each other get meshes of
    their own (limbs.py)."""
    height = rig.body_height(kp)
    rest = rig.rig_points(kp)
    spacing = max(3.0, MESH_SPACING * height)
    vertices, triangles = mesh.triangulate(mask, spacing)
    primary = rig.primary_bones(vertices.astype(np.float64), rest, mask)
    # An arm the photo hides keeps its photo angle: nothing of it to take off the body.
    glued = [arm for arm in glued_arms(vertices, triangles, primary, kp, height)
             if not any(kp[B[arm[0].upper() + j], 2] == rig.HELD for j in ("Elbow", "Wrist"))]
    bridge = skirt.find(photo, mask, kp)
    if glued:
        vertices, uv, triangles, primary, body, body_mask, person, hidden = layers(
            photo, mask, kp, height, spacing, glued, bridge)
    else:
        vertices, triangles, primary = open_seams(vertices, triangles, primary, kp, height, bridge)
        uv, body, body_mask, person = vertices, photo, mask, mask
        hidden = np.full(len(triangles), -1)
    binding = rig.bind(vertices, triangles, rest, height, primary)
    if bridge is not None:
        binding = skirt.hang(binding, vertices, bridge, height)
    parts = rig.triangle_parts(triangles, binding)
    parts[hidden >= 0] = hidden[hidden >= 0]
    return layout.Still(photo=photo, mask=person,
                        background=make_background(photo, mask, height, background),
                        body=body, body_mask=body_mask, keypoints=np.asarray(kp, np.float32),
                        vertices=vertices, uv=uv, triangles=triangles, weights=binding.weights,
                        pivot=binding.pivot, primary=binding.primary, parts=parts)


def write(out, still, track):
    """Write the still target's files (layout.py); keypoints.npz last, as the finished-marker."""
    kps_path = os.path.join(out, layout.KEYPOINTS_FILE)
    if os.path.exists(kps_path):
        os.remove(kps_path)
    for folder in (out, os.path.join(out, layout.STILL_DIR)):
        remove_temporaries(folder)   # of a run that was killed mid-write
    write_image(layout.still_path(out, layout.PHOTO), still.photo)
    write_image(layout.still_path(out, layout.MASK), still.mask)
    write_image(layout.still_path(out, layout.BACKGROUND), still.background)
    write_image(layout.still_path(out, layout.BODY), still.body)
    write_image(layout.still_path(out, layout.PREVIEW),
                preview(still.photo, still.vertices, still.triangles, still.parts, still.keypoints))
    still.save_mesh(layout.still_path(out, layout.MESH))
    track.save(kps_path)


def run(image, out, size, background="inpaint", person=None, detect=None, keypoints=None,
        segment=None):
    """Make the still target in `out` from the photo `image` at `size` (w, h; None: portrait or
    landscape as the photo is); returns the layout.Still. person: --person. keypoints:
    --keypoints, an OpenPose JSON file with the pose, instead of detecting it. detect, segment:
    the detector and the segmenter (src/still/photo.py detect, segment; tests give their own)."""
    check_output_folder(out)
    photo = read_photo(image)
    size = tuple(size) if size else auto_size((photo.shape[1], photo.shape[0]))
    with tqdm(total=3, desc="still target", unit="step", file=sys.stderr) as bar:
        if keypoints:
            found = people.given(photo, given_pose(keypoints, image), segment)
            if not found:
                raise UserError(f"{image}: the segmenter found no person in the photo to go with "
                                f"the pose of {keypoints}; {TIP}")
        else:
            found = people.find(photo, **({"detect": detect} if detect else {}))
        if not found:
            raise UserError(f"{image}: no person found (also tried the photo in grey, smaller, "
                            f"with even contrast and its middle); {TIP}, or give the pose with "
                            f"--keypoints FILE (OpenPose JSON)")
        chosen, lines = people.choose(image, found, person)
        mask_photo = chosen.mask
        if not keypoints:   # a given pose's mask is the selfie segmenter's already
            mask_photo = with_head_extras(mask_photo, (segment or photo_segment)(photo),
                                          chosen.keypoints)
        mask_photo = fill_holes(mask_photo)
        skeleton = joints.complete(image, chosen.keypoints, mask_photo)
        second_look = [f"{image}: {chosen.note}"] if chosen.note else []
        for line in lines + second_look + skeleton.notes:
            note(f"note: {line}")
        out_of_view = [B[n] for n in skeleton.out_of_view]
        img, mask, kp, window, pads = framing.frame(photo, mask_photo, skeleton.keypoints,
                                                    out_of_view, size)
        mask = fill_holes(mask)
        bar.update()
        still = build(img, mask, kp, background)
        bar.update()
        crop = (window.x0 - pads[0], window.y0 - pads[1], window.x1 - pads[0], window.y1 - pads[1])
        track = PoseTrack(keypoints=still.keypoints[None], fps=1.0, size=size, crop=crop,
                          video_size=(photo.shape[1], photo.shape[0]),
                          backend="json" if keypoints else "mediapipe")
        write(out, still, track)
        bar.update()
    print(f"still target in {out}: {size[0]}x{size[1]}, mesh of {len(still.vertices)} vertices and "
          f"{len(still.triangles)} triangles (look at {layout.still_path(out, layout.PREVIEW)}); "
          "next: python normalization.py, then python transfer.py")
    return still
