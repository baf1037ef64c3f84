"""Live mode (transfer.py --camera): frames shown per second, latency and drops, with a video
played as the camera.

    .venv/bin/python bench/bench_live.py [--video ../shared/data/source_aerobics.mp4]
        [--camera-size 640x480] [--rounds 3] [--configs still,model] [--work /tmp/bench_live]

The video is cut to the camera's shape (centre crop) and scaled to --camera-size once, into
--work. Two targets, as a user would drive them:
    still   the demo's still (one frame of the synthetic target, make_target.py --image at
            --still-size, default 512x256)
    model   the demo's trained model (checkpoints/demo and data/target, from `make demo`; at the
            demo's 256x128), skipped with a note when it is not there
Each round runs the whole live loop (src.live.session.run, --no-window, camera | result panels
built as for the window) over the whole video in real time. Per round: frames shown, dropped,
delivered, frames shown per second (from the first shown frame to the last; the rate from the
median interval beside it), median latency. Over rounds: the medians. The stages alone (pose
detection per camera frame, drawing per pose) are timed once per configuration on the same
frames, so the loop's rate can be compared with the slower stage and with their sum.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def camera_clip(video, size, work):
    """`video` centre-cropped to the shape of `size` and scaled to it (no audio), in work/."""
    from src.io.video import VideoReader, ffmpeg_exe
    w, h = size
    out = os.path.join(work, f"camera_{w}x{h}.mp4")
    if not os.path.isfile(out):
        vw, vh = VideoReader(video).size
        cw, ch = (vh * w // h, vh) if vw * h > vh * w else (vw, vw * h // w)
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", video, "-vf",
                        f"crop={cw}:{ch},scale={w}:{h}", "-an", "-c:v", "libx264", "-crf", "18",
                        out], check=True)
    return out


def still_target(work, size):
    from src.demo.data import still_photo
    from src.io.files import write_image
    from src.layout import KEYPOINTS
    from src.still import stage
    folder = os.path.join(work, f"still_{size[0]}x{size[1]}")
    if not os.path.isfile(os.path.join(folder, KEYPOINTS)):
        photo = os.path.join(work, "still.png")
        write_image(photo, still_photo(size)[0])
        stage.run(photo, folder, size)
    return folder


def stage_times(clip, target, frames=60):
    """Median ms per frame of pose detection (tracking mode, as live) and of drawing."""
    from src.io.video import VideoReader
    from src.live.calibrate import Calibration
    from src.pose.mediapipe_backend import MediaPipeBackend
    reader = VideoReader(clip, max_frames=frames)
    backend = MediaPipeBackend(video=True, refine_face=False)
    detect, poses = [], []
    for rgb in reader:
        t = time.perf_counter()
        poses.append(backend.detect(rgb))
        detect.append(time.perf_counter() - t)
    backend.close()
    cal = Calibration(target.keypoints, target.size, reader.size, seconds=0)
    mapped = [cal.map(kp, i / 30) for i, kp in enumerate(poses)]
    draw = []
    for kp in mapped:
        t = time.perf_counter()
        target.frame(kp)
        draw.append(time.perf_counter() - t)
    return 1000 * statistics.median(detect), 1000 * statistics.median(draw[5:] or draw)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default=os.path.join(ROOT, "..", "shared", "data", "source_aerobics.mp4"))
    ap.add_argument("--camera-size", default="640x480")
    ap.add_argument("--still-size", default="512x256")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--configs", default="still,model")
    ap.add_argument("--work", default="/tmp/bench_live")
    args = ap.parse_args()
    from src.live import session, targets
    os.makedirs(args.work, exist_ok=True)
    size = tuple(int(v) for v in args.camera_size.split("x"))
    clip = camera_clip(args.video, size, args.work)
    runs = {}
    for config in args.configs.split(","):
        if config == "still":
            still_size = tuple(int(v) for v in args.still_size.split("x"))
            kw = dict(target_dir=still_target(args.work, still_size))
        elif config == "model":
            if not os.path.isfile(os.path.join(ROOT, "checkpoints", "demo", "latest.pt")):
                print("model: checkpoints/demo/latest.pt not found; run `make demo` first")
                continue
            kw = dict(target_dir=os.path.join(ROOT, "data", "target"), name="demo",
                      checkpoints_dir=os.path.join(ROOT, "checkpoints"), device="cpu")
        else:
            raise SystemExit(f"--configs: unknown configuration {config}")
        target = targets.open_target(kw["target_dir"], os.path.join(
            kw.get("checkpoints_dir", "checkpoints"), kw.get("name", "target")), "cpu")
        detect_ms, draw_ms = stage_times(clip, target)
        summaries = [session.run(clip, window=False, **kw) for _ in range(args.rounds)]
        runs[config] = (summaries, detect_ms, draw_ms)
    print(f"\ncamera {size[0]}x{size[1]} ({os.path.basename(args.video)} played as a camera), "
          f"{args.rounds} rounds, medians:")
    for config, (summaries, detect_ms, draw_ms) in runs.items():
        med = lambda key: statistics.median(getattr(s, key) for s in summaries)  # noqa: E731
        print(f"{config:6s} shown {med('shown'):.0f}, dropped {med('dropped'):.0f} of "
              f"{med('delivered'):.0f} delivered; {med('mean_fps'):.1f} frames/s shown (rounds: "
              + ", ".join(f"{s.mean_fps:.1f}" for s in summaries) + f"; median interval "
              f"{med('fps'):.1f}); latency {med('latency_ms'):.0f} ms; "
              f"stages alone: detect {detect_ms:.1f} ms, draw {draw_ms:.1f} ms "
              f"(slower stage {1000 / max(detect_ms, draw_ms):.1f} frames/s, their sum "
              f"{1000 / (detect_ms + draw_ms):.1f})")


if __name__ == "__main__":
    main()
