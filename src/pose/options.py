"""The options of make_source.py and make_target.py (the pose stage): flags, sizes, and the
folders and files each role writes."""
import dataclasses
import os

from src.errors import UserError
from src.layout import (FACE_BOXES, KEYPOINTS, SOURCE_FRAMES, SOURCE_HEADS, SOURCE_LABELS,
                        TARGET_FRAMES, TARGET_LABELS, VIDEO, role_dir)
from src.pose import BACKENDS, smoothing


@dataclasses.dataclass(frozen=True)
class Layout:
    img: str      # processed frames
    label: str    # label images
    extra: str    # per-frame face data for later stages


LAYOUTS = {
    "source": Layout(SOURCE_FRAMES, SOURCE_LABELS, SOURCE_HEADS),
    "target": Layout(TARGET_FRAMES, TARGET_LABELS, FACE_BOXES),
}
DEFAULT_SIZE = (1024, 512)   # --size auto: for a landscape (or square) video
PORTRAIT_SIZE = (512, 1024)  # --size auto: for a portrait video (phones)
FITS = ("auto", "crop", "pad")
POSE_CHOICES = BACKENDS + ("json",)


@dataclasses.dataclass
class StageOptions:
    """Everything the two stage scripts accept (see add_arguments for the meaning)."""
    video: str
    out: str
    size: tuple = None           # None: auto_size of the video
    fit: str = "auto"
    pose: str = "mediapipe"
    json_dir: str = None
    export_json: str = None
    max_frames: int = None
    device: str = "auto"
    weights: str = None
    scales: str = None
    smooth: float = smoothing.DEFAULT_STRENGTH
    max_gap: int = smoothing.DEFAULT_MAX_GAP


def parse_size(text):
    """"1024x512" -> (1024, 512); "auto" -> None (auto_size); UserError otherwise."""
    if str(text).lower() == "auto":
        return None
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        w = h = 0
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise UserError(f"--size {text}: expected WIDTHxHEIGHT with even numbers of at least 16 "
                        "pixels, e.g. 1024x512, or auto")
    return w, h


def auto_size(video_size):
    """The output size that follows the video's orientation."""
    return PORTRAIT_SIZE if video_size[1] > video_size[0] else DEFAULT_SIZE


def add_arguments(parser, role):
    """The command-line flags shared by make_source.py and make_target.py."""
    layout = LAYOUTS[role]
    video = os.path.join(role_dir(role), VIDEO)
    parser.add_argument("--video", default=video,
                        help=f"input video (default: {video}); phone videos are "
                             "turned upright from their rotation metadata")
    kept = f", {VIDEO} (the video, for its music)" if role == "source" else ""
    parser.add_argument("--out", default=role_dir(role),
                        help=f"output folder (default: {role_dir(role)}); writes {layout.img}/, "
                             f"{layout.label}/, {layout.extra}{kept} and {KEYPOINTS} (last)")
    parser.add_argument("--size", default="auto",
                        help="output frame size WIDTHxHEIGHT, or auto (default): 1024x512 for a "
                             "landscape video, 512x1024 for a portrait one; the frames keep "
                             "their aspect ratio, see --fit")
    parser.add_argument("--fit", choices=FITS, default="auto",
                        help="how a video of another aspect ratio becomes --size: auto (default) "
                             "crops a window around the person found in a few sampled frames, "
                             "or pads with the background colour when the person would not fit; "
                             "crop always crops; pad keeps the whole video frame and pads")
    parser.add_argument("--pose", choices=POSE_CHOICES, default="mediapipe",
                        help="pose detector: mediapipe (default; offline, CPU), openpose (the "
                             "OpenPose network; needs its weights file, see --weights), json "
                             "(read OpenPose JSON files from --json-dir instead of detecting)")
    parser.add_argument("--json-dir", default=None,
                        help="with --pose json: folder of OpenPose *_keypoints.json files (BODY_25 "
                             "or COCO-18, face and hands optional), one per video frame, in the "
                             "pixels of the input video")
    parser.add_argument("--export-json", default=None, metavar="DIR",
                        help="also write the cleaned poses as OpenPose *_keypoints.json files into "
                             "DIR (pixels of the input video, like OpenPose's --write_json)")
    parser.add_argument("--max-frames", type=int, default=None,
                        help="process only the first N frames (default: all)")
    parser.add_argument("--device", default="auto",
                        help="auto (default), cpu or cuda: for --pose openpose; MediaPipe always "
                             "runs on the CPU")
    parser.add_argument("--weights", default=None,
                        help="with --pose openpose: the weights file (default: "
                             "src/pose/pose_model.pth)")
    parser.add_argument("--scales", default=None,
                        help="with --pose openpose: comma-separated scales of the multi-scale "
                             "search, relative to a 368 px high input (default: 0.5,1,1.5,2)")
    parser.add_argument("--smooth", type=float, default=smoothing.DEFAULT_STRENGTH,
                        metavar="STRENGTH",
                        help="jitter filter strength: half-width in frames of a confidence-"
                             f"weighted Savitzky-Golay window (default: {smoothing.DEFAULT_STRENGTH}, mild; "
                             "4 is strong; 0 = off)")
    parser.add_argument("--no-smooth", dest="smooth", action="store_const", const=0,
                        help="turn the jitter filter off (same as --smooth 0)")
    parser.add_argument("--max-gap", type=int, default=smoothing.DEFAULT_MAX_GAP,
                        help="fill gaps of up to this many frames where a point was lost, by "
                             f"linear interpolation (default: {smoothing.DEFAULT_MAX_GAP}; 0 = "
                             "never); longer gaps stay empty")


def options_from_args(args):
    return StageOptions(video=args.video, out=args.out, size=parse_size(args.size), fit=args.fit,
                        pose=args.pose, json_dir=args.json_dir, export_json=args.export_json,
                        max_frames=args.max_frames, device=args.device, weights=args.weights,
                        scales=args.scales, smooth=args.smooth, max_gap=args.max_gap)
