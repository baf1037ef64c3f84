"""make_target.py --image: one photo -> a still target (pose, mask, mesh, background).

The photo is read upright (EXIF orientation honoured). MediaPipe Holistic in static-image mode
finds the pose and the person mask in it. Photos the rig cannot animate are refused with a
one-line reason: nobody, several people, a person cut off at the frame edge, or limbs that touch
the body (the mesh would glue them together). Then the photo is cut to --size around the
person as the video stage cuts frames (src/pose_stage.py choose_window), the mask is
triangulated, the mesh bound to the skeleton, and the person painted out of the background.
Files: see src/still/layout.py.
"""
import os
import sys

import cv2
import numpy as np
from tqdm import tqdm

from src.errors import UserError
from src.files import write_image
from src.keypoints import B, PoseTrack
from src.pose_stage import FrameCutter, check_output_folder, choose_window
from src.still import layout, mesh, rig

BACKGROUNDS = ("inpaint", "blur", "plain")
TIP = ("use a photo of one person, whole body in view with some space around it, arms away from "
       "the body, on a plain background")
DETECT_MAX_SIDE = 1280      # the detector sees the photo at most this large (speed only)
MASK_THRESHOLD = 0.5
OTHER_PERSON = 0.25         # another mask region this large x the person's: several people
OTHER_PERSON_JOINTS = 8     # a second pose with this many body joints: several people
EDGE_TOUCH = 0.01           # share of an edge's pixels the person may touch
MESH_SPACING = 1 / 40       # lattice spacing, x the body height
CROTCH = 0.2                # the legs stay joined this close (x body height) to the mid-hip
ARMPIT = 0.06               # arm and body stay joined this close (x body height) to the shoulder
ATTACH = 0.15               # arm and body meet only within this x body height of the shoulder
OVER_BODY_MARGIN = 0.02     # the torso region, grown by this x body height, for the arm test
INPAINT_MAX_SIDE = 512      # inpainting runs at most this large, then is scaled up
INPAINT_GROW = 0.02         # the hole painted out: the mask grown by this x the body height


def add_arguments(parser):
    parser.add_argument("--image", default=None, metavar="PHOTO",
                        help="make a still target from one photo (JPEG or PNG) instead of a "
                             "video: pose, mask, mesh and background in <out>/still/; transfer.py "
                             "then animates the photo without training. Best: one person, whole "
                             "body in view, arms away from the body, plain background")
    parser.add_argument("--background", choices=BACKGROUNDS, default="inpaint",
                        help="with --image: what is behind the moving person: inpaint (the photo "
                             "with the person painted out, default), blur (the same, blurred) or "
                             "plain (the photo's median colour around the person)")


def read_photo(path):
    if not os.path.isfile(path):
        raise UserError(f"{path}: not found; give the path of a JPEG or PNG photo")
    img = cv2.imread(path, cv2.IMREAD_COLOR)   # applies the EXIF orientation
    if img is None:
        raise UserError(f"{path}: not a readable image; give a JPEG or PNG photo")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def detect(photo):
    """(keypoints (137, 3) in photo pixels, person probability (H, W) float32 or None)."""
    # The backend module's mapping and its stderr silencer; Holistic itself is made here because
    # the still needs the segmentation mask, which the video backend does not compute.
    from src.pose.mediapipe_backend import _QuietStderr, _landmarks, map_landmarks
    h, w = photo.shape[:2]
    shrink = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = photo if shrink == 1 else cv2.resize(photo, None, fx=shrink, fy=shrink,
                                                 interpolation=cv2.INTER_AREA)
    quiet = _QuietStderr()
    try:
        with quiet:
            from mediapipe.python.solutions import holistic
            with holistic.Holistic(static_image_mode=True, model_complexity=1,
                                   enable_segmentation=True, refine_face_landmarks=True) as model:
                result = model.process(np.ascontiguousarray(small))
    finally:
        quiet.close()
    kp = map_landmarks(_landmarks(result.pose_landmarks, with_visibility=True),
                       _landmarks(result.face_landmarks), _landmarks(result.left_hand_landmarks),
                       _landmarks(result.right_hand_landmarks), (w, h))
    prob = result.segmentation_mask
    if prob is not None and shrink != 1:
        prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
    return kp, prob


def person_region(prob, kp):
    """(mask of the person's region, area of the largest other region), uint8 255 = person."""
    binary = (prob >= MASK_THRESHOLD).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return np.zeros_like(binary), 0
    pts = np.round(kp[:25][kp[:25, 2] > 0, :2]).astype(int)
    h, w = binary.shape
    pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)]
    votes = np.bincount(labels[pts[:, 1], pts[:, 0]], minlength=n) if len(pts) else np.zeros(n)
    votes[0] = 0
    areas = stats[:, cv2.CC_STAT_AREA].astype(float)
    main = int(votes.argmax()) if votes.max() > 0 else int(areas[1:].argmax() + 1)
    others = [areas[i] for i in range(1, n) if i != main]
    return ((labels == main) * 255).astype(np.uint8), max(others, default=0)


def fill_holes(mask):
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(mask)
    cv2.drawContours(out, contours, -1, 255, -1)
    return out


def another_person(photo, mask, kp):
    """True when the detector finds a second person once the first is painted out.

    (MediaPipe finds one person, and its mask covers only that person.)"""
    grow = max(3, int(round(INPAINT_GROW * rig.body_height(kp))))
    hole = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    rest = photo.copy()
    rest[hole > 0] = np.median(photo[hole == 0], axis=0) if (hole == 0).any() else 0
    other, _ = detect(rest)
    return (other[:25, 2] > 0).sum() >= OTHER_PERSON_JOINTS


def check_photo(path, photo, kp, prob):
    """Refuse photos the rig cannot animate (UserError); returns the person's mask."""
    if prob is None or not (kp[:25, 2] > 0).any():
        raise UserError(f"{path}: no person found; {TIP}")
    mask, other = person_region(prob, kp)
    area = float((mask > 0).sum())
    if other > OTHER_PERSON * area or another_person(photo, mask, kp):
        raise UserError(f"{path}: several people found; {TIP}")
    missing = [n for n in rig.REQUIRED if kp[B[n], 2] <= 0]
    if missing:
        raise UserError(f"{path}: the person is cut off or hidden (not visible: "
                        f"{', '.join(missing)}); {TIP}")
    h, w = mask.shape
    for edge, pixels in (("top", mask[0]), ("bottom", mask[-1]), ("left", mask[:, 0]),
                         ("right", mask[:, -1])):
        if (pixels > 0).mean() > EDGE_TOUCH:
            raise UserError(f"{path}: the person is cut off at the {edge} edge of the photo; {TIP}")
    check_arms_clear(path, kp)
    return fill_holes(mask)


def check_arms_clear(path, kp):
    """Elbows, wrists and hands must lie outside the torso (grown by a margin)."""
    height = rig.body_height(kp)
    quad = kp[[B["RShoulder"], B["LShoulder"], B["LHip"], B["RHip"]], :2].astype(np.float32)
    centre = quad.mean(axis=0)
    margin = OVER_BODY_MARGIN * height
    grown = centre + (quad - centre) * (1 + margin / max(1.0, np.abs(quad - centre).max()))
    pts = rig.rig_points(kp)
    for side, names in (("right", ("RElbow", "RWrist")), ("left", ("LElbow", "LWrist"))):
        joints = [B[n] for n in names] + [rig.R_HAND_END if side == "right" else rig.L_HAND_END]
        for j in joints:
            if pts[j, 2] > 0 and cv2.pointPolygonTest(grown, tuple(map(float, pts[j, :2])), False) >= 0:
                raise UserError(f"{path}: the {side} arm lies over the body; the mesh would glue "
                                f"it to the torso; {TIP}")


def triangle_part(primary, triangles):
    """Body part of each triangle: the part most of its corners belong to (rig.PARTS)."""
    part = rig.BONE_PART[primary][triangles]
    votes = np.stack([(part == p).sum(axis=1) for p in range(len(rig.PARTS))], axis=1)
    return votes.argmax(axis=1)


def check_glue(path, vertices, triangles, primary, kp, height):
    """Refuse a photo where an arm touches the body away from the shoulder, or the head, a leg
    or the other arm: the mesh would glue them together."""
    part = rig.BONE_PART[primary][triangles]                     # (M, 3)
    has = {name: (part == i).any(axis=1) for i, name in enumerate(rig.PARTS)}
    centre = vertices[triangles].mean(axis=1)
    for arm, shoulder, side in (("r_arm", "RShoulder", "right"), ("l_arm", "LShoulder", "left")):
        off = np.hypot(*(centre - kp[B[shoulder], :2]).T)
        if (has[arm] & has["torso"] & (off > ATTACH * height)).any():
            raise UserError(f"{path}: the {side} arm touches the body; the mesh would glue it to "
                            f"the torso; {TIP}")
        for other in ("head", "r_leg", "l_leg", "l_arm" if arm == "r_arm" else "r_arm"):
            if (has[arm] & has[other]).any():
                words = other.replace("r_", "right ").replace("l_", "left ")
                raise UserError(f"{path}: the {side} arm touches the {words}; {TIP}")


def open_seams(vertices, triangles, primary, kp, height):
    """Let limbs part where the photo shows them joined: below the shoulder (the armpit) an
    arm gets its own copy of the vertices it shares with the body, and below the crotch the left
    leg its own copy of those it shares with the right one. Returns (vertices, triangles,
    primary)."""
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
               (255, 120, 220)]
    img = (photo * 0.6).astype(np.uint8)
    for p, colour in enumerate(colours):
        polys = np.round(vertices[triangles[parts == p]]).astype(np.int32)
        cv2.polylines(img, list(polys), True, colour, 1, cv2.LINE_AA)
    for j in np.flatnonzero(kp[:25, 2] > 0):
        cv2.circle(img, tuple(int(v) for v in np.round(kp[j, :2])), 3, (255, 255, 255), -1)
    return img


def build(photo, mask, kp, background="inpaint", name="photo"):
    """The Still of a processed photo (RGB), its person mask (uint8, 255 = person) and pose
    (137, 3): mesh, binding, background. UserError (naming `name`) when a limb is glued to the
    body or to another limb."""
    height = rig.body_height(kp)
    rest = rig.rig_points(kp)
    vertices, triangles = mesh.triangulate(mask, max(3.0, MESH_SPACING * height))
    primary = rig.primary_bones(vertices.astype(np.float64), rest, mask)
    check_glue(name, vertices, triangles, primary, kp, height)
    vertices, triangles, primary = open_seams(vertices, triangles, primary, kp, height)
    binding = rig.bind(vertices, triangles, rest, height, primary)
    return layout.Still(photo=photo, background=make_background(photo, mask, height, background),
                        keypoints=np.asarray(kp, np.float32), vertices=vertices,
                        triangles=triangles, weights=binding.weights, pivot=binding.pivot,
                        primary=binding.primary, parts=rig.triangle_parts(triangles, binding))


def write(out, still, mask, track):
    """Write the still target's files (layout.py); keypoints.npz last, as the finished-marker."""
    kps_path = os.path.join(out, layout.KEYPOINTS_FILE)
    if os.path.exists(kps_path):
        os.remove(kps_path)
    write_image(layout.still_path(out, layout.PHOTO), still.photo)
    write_image(layout.still_path(out, layout.MASK), mask)
    write_image(layout.still_path(out, layout.BACKGROUND), still.background)
    write_image(layout.still_path(out, layout.PREVIEW),
                preview(still.photo, still.vertices, still.triangles, still.parts, still.keypoints))
    still.save_mesh(layout.still_path(out, layout.MESH))
    track.save(kps_path)


def run(image, out, size, background="inpaint"):
    """Make the still target in `out` from the photo `image`; returns the layout.Still."""
    check_output_folder(out)
    photo = read_photo(image)
    with tqdm(total=3, desc="still target", unit="step", file=sys.stderr) as bar:
        kp_photo, prob = detect(photo)
        mask_photo = check_photo(image, photo, kp_photo, prob)
        bar.update()
        # Cut the photo to the output size around the person, like a video frame.
        ys, xs = np.nonzero(mask_photo)
        window = choose_window((photo.shape[1], photo.shape[0]), size,
                               (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), "auto")
        border = np.concatenate([photo[0], photo[-1], photo[:, 0], photo[:, -1]])
        pad = tuple(int(c) for c in np.median(border, axis=0))
        img = FrameCutter(window, pad)(photo)
        mask = FrameCutter(window, (0, 0, 0))(np.repeat(mask_photo[..., None], 3, axis=2))[..., 0]
        mask = fill_holes(((mask >= 128) * 255).astype(np.uint8))
        still = build(img, mask, window.to_frame(kp_photo), background, image)
        bar.update()
        track = PoseTrack(keypoints=still.keypoints[None], fps=1.0, size=size, crop=window.crop,
                          video_size=(photo.shape[1], photo.shape[0]), backend="mediapipe")
        write(out, still, mask, track)
        bar.update()
    print(f"still target in {out}: {size[0]}x{size[1]}, mesh of {len(still.vertices)} vertices and "
          f"{len(still.triangles)} triangles (look at {layout.still_path(out, layout.PREVIEW)}); "
          "next: python normalization.py, then python transfer.py")
    return still
