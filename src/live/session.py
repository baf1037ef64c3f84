"""transfer.py --camera: build the live pipeline from the command line's choices and run it."""
import os

from src import layout
from src.errors import UserError
from src.live import calibrate, camera as cameras, loop, show, targets
from src.live.one_euro import PoseFilter


def add_arguments(parser):
    """transfer.py's live-mode options."""
    live = parser.add_argument_group("live mode (--camera)")
    live.add_argument("--camera", default=None, metavar="N|VIDEO",
                      help="drive the target live from webcam N, or from VIDEO played in real time "
                           "as a camera (frames that arrive while the loop is busy are dropped)")
    live.add_argument("--no-window", action="store_true",
                      help="show nothing (machines without a display); use with --record")
    live.add_argument("--record", default=None, metavar="FILE.mp4",
                      help="write what the window shows (camera | result) to FILE.mp4")
    live.add_argument("--virtual-camera", action="store_true",
                      help="also send the result to a virtual webcam for video calls (needs the "
                           "optional package pyvirtualcam)")
    live.add_argument("--mirror", action="store_true",
                      help="flip the camera image left to right, like a mirror")
    live.add_argument("--calibrate", type=float, default=calibrate.SECONDS, metavar="SECONDS",
                      help="seconds of the whole body in view that calibrate the person in front "
                           "of the camera onto the target; the window's r key calibrates again "
                           "(default: 1)")
    live.add_argument("--seconds", type=float, default=None,
                      help="stop after this many seconds (default: when the camera ends or q "
                           "is pressed)")


def run_from_args(args):
    return run(args.camera, args.target, args.name, args.checkpoints, device=args.device,
               which=args.which, window=not args.no_window, record=args.record,
               virtual_camera=args.virtual_camera, mirror=args.mirror,
               calibrate_seconds=args.calibrate, seconds=args.seconds)


def run(camera, target_dir="data/target", name="target", checkpoints_dir="checkpoints",
        device="auto", which="latest", window=True, record=None, virtual_camera=False,
        mirror=False, calibrate_seconds=calibrate.SECONDS, seconds=None):
    """Drive the target from `camera` (a webcam number or a video file); returns loop.Summary."""
    if record is not None and not record.lower().endswith(".mp4"):
        raise UserError(f"--record {record}: give a file name ending in .mp4")
    # What can fail at once fails first, before anything slow.
    shown = show.Window() if window else None
    virtual = show.VirtualCamera() if virtual_camera else None
    target = targets.open_target(target_dir, os.path.join(checkpoints_dir, name), device, which)
    from src.pose.mediapipe_backend import MediaPipeBackend
    # No iris model (a large share of the detection time here): live labels place the pupils
    # at the middle of the eye contours.
    backend = MediaPipeBackend(video=True, refine_face=False)
    cam = None
    try:
        cam = cameras.open_camera(camera, mirror)
        calibration = calibrate.Calibration(target.keypoints, target.size, cam.size,
                                            calibrate_seconds,
                                            target_name=os.path.join(target_dir, layout.KEYPOINTS))
        if virtual is not None:
            virtual.fps = cam.fps
        recorder = show.Recorder(record, cam.fps) if record else None
        print(f"{target.describe}; {cam.name}: {cam.size[0]}x{cam.size[1]} at {cam.fps:.1f} "
              f"frames/s" + ("" if window else "; no window"))
        detector = loop.Detector(cam, backend, PoseFilter(scale=cam.size[1]), calibration)
        summary = loop.run(cam, target, detector, window=shown, recorder=recorder,
                           virtual=virtual, seconds=seconds)
    finally:
        backend.close()
        if cam is not None:
            cam.close()
    print(summary.describe())
    if record:
        print(f"wrote {record} ({summary.recorded} frames at {cam.fps:.1f} frames/s)")
    return summary
