"""Still mode's quality by one-photo self-reenactment, beside the photo unmoved and a trained GAN.

    python bench/still_reenact.py [--video ../shared/data/target_edn_subject4.mp4] [--size 256x128]
                                  [--gan-budget-min 10 | --gan CKPT_DIR] [--photo-frame N] [--work /tmp/still_reenact]

The protocol single-image animators report on UBC-Fashion and TikTok: one frame of a real video of
one person is the photo, the video's own poses drive it, and the generated frames are compared with
the real ones. On EDN subject 4 (the video), at --size (256x128, the GAN's size):

1. make_target.py on the first 1000 frames (as bench/quality_budget.py does, kept in --work): the
   real frames, their poses (the one detection run that every row uses), labels and the plate.
2. Two protocols, each with its own photo:
   - held-out: driven by frames 800-999 (the GAN's held-out frames); the photo is the frame among
     them with the arms down: facing the camera, the wrists lowest below the hips (as a share of
     the torso); --photo-frame overrides it. A photo still mode refuses gives way to the next.
   - T-pose: the photo is frame 300 (40 s in, arms out), driven by frames 300-389.
   The photo is the video's frame at its own size (1024x512), made into a still target by
   make_target.py --image's code at --size; the protocol's poses are normalized onto it
   (normalization.py's code) and animated (transfer.py's code): the "still" row. The "still, own
   poses" row is driven by the video's poses as they are, as the single-image animators'
   protocol does (and as the GAN is): a one-photo target has one depth, so normalization places
   every pose at the photo's ankle row and size, and a dancer who steps towards the camera
   does not come closer.
3. The plate-mode GAN (the cpu preset, bench/quality_budget.py's training) trained on frames 0-799
   for --gan-budget-min minutes of wall time; it draws each protocol's frames from their own labels,
   as src.evaluate does, starting each protocol from a blank previous frame. The T-pose frames are
   among the frames it was trained on: there it is an upper bound, not a fair rival. A --work
   folder keeps the model: delete <work>/ckpt to train it again. --gan uses a model trained
   elsewhere instead (bench/quality_budget.py's 30-minute cpu30, say).
4. For every frame: SSIM, LPIPS (AlexNet and VGG) of the whole frame and of the body crop (the box
   around the real person's keypoints, grown as src.evaluate's body crop), against the real frame,
   for the still's frame, the photo unmoved and the GAN's frame.

Prints a table per protocol with the ratio of each row's body LPIPS to the unmoved photo's;
writes <work>/still_reenact.json and side-by-side PNGs (real | still | GAN) in <work>/strips/.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from src.pose.keypoints import B  # noqa: E402

HELD_OUT = range(800, 1000)
T_POSE = 300                # 40 s into the video at 7.5 frames/s: the arms held out
T_POSE_FRAMES = 90          # driven over this many frames from the T-pose photo on
CANDIDATES = 5              # arms-down photos tried before giving up on the protocol
N_STRIPS = 4                # side-by-side PNGs per protocol
GAN = "plate"               # bench/quality_budget.py's configuration
NAMES = {"ssim": "SSIM", "lpips": "LPIPS-Alex", "lpips_vgg": "LPIPS-VGG"}
COLUMNS = [("whole", "ssim"), ("body", "ssim"), ("whole", "lpips"), ("body", "lpips"),
           ("whole", "lpips_vgg"), ("body", "lpips_vgg")]


def arms_down_order(kps, frames):
    """frames (of kps (T, 137, 3)) facing the camera, from the arms most down to the least: how far
    the wrists' mean row lies below the hips' mean row, over the neck-to-mid-hip length. Facing the
    camera: the right shoulder on the image's left (a back view is no photo to animate). Frames
    without both wrists, both hips, both shoulders, the neck and the mid-hip are left out."""
    need = [B[n] for n in ("RWrist", "LWrist", "RHip", "LHip", "RShoulder", "LShoulder", "Neck", "MidHip")]
    scores = {}
    for t in frames:
        kp = np.asarray(kps[t], np.float64)
        if (kp[need, 2] <= 0).any() or kp[B["RShoulder"], 0] >= kp[B["LShoulder"], 0]:
            continue
        torso = np.hypot(*(kp[B["MidHip"], :2] - kp[B["Neck"], :2]))
        if torso <= 0:
            continue
        wrists = kp[[B["RWrist"], B["LWrist"]], 1].mean()
        hips = kp[[B["RHip"], B["LHip"]], 1].mean()
        scores[int(t)] = (wrists - hips) / torso
    return sorted(scores, key=lambda t: (-scores[t], t))


def video_frame(path, index):
    """Frame `index` of the video at its own size (RGB)."""
    from src.io.video import VideoReader
    for i, frame in enumerate(VideoReader(path, max_frames=index + 1)):
        if i == index:
            return frame.copy()
    raise SystemExit(f"{path}: has no frame {index}")


def make_still(args, index, target_track):
    """The still target of the video's frame `index` in <work>/still_<index>; None (and the reason
    printed) when still mode refuses it."""
    from src.errors import UserError
    from src.io.files import write_image
    from src.layout import KEYPOINTS
    from src.pose.keypoints import PoseTrack
    from src.pose.options import parse_size
    from src.still import layout, stage
    folder = os.path.join(args.work, f"still_{index}")
    photo = os.path.join(folder, f"frame_{index}.png")
    os.makedirs(folder, exist_ok=True)
    write_image(photo, video_frame(args.video, index))
    try:
        stage.run(photo, folder, parse_size(args.size))
    except UserError as err:
        print(f"  frame {index} refused by still mode: {err}", flush=True)
        return None
    crop = tuple(PoseTrack.load(os.path.join(folder, KEYPOINTS)).crop)
    if crop != tuple(target_track.crop):
        # Another window would not line up the still's frames with the real ones.
        raise SystemExit(f"{folder}: the still's window {crop} is not the video's {tuple(target_track.crop)}")
    return folder, layout.load(folder)


def animate(args, still_dir, track, frames, name, normalized=True):
    """The still driven by the poses of `frames`: a list of RGB frames. normalized: the poses
    normalized onto it (normalization.py's code), as a user runs it; else the video's own poses
    as they are (the photo is one of the video's frames, so they already fit it)."""
    from src.io.files import list_frames, read_image
    from src.layout import KEYPOINTS, NORM_KEYPOINTS
    from src.normalize import stage as normalize
    from src.pose.keypoints import PoseTrack
    from src.still import transfer
    tag = name if normalized else name + "_own"
    source = os.path.join(args.work, f"source_{tag}")
    os.makedirs(source, exist_ok=True)
    frames = list(frames)
    poses = PoseTrack(keypoints=track.keypoints[frames], fps=track.fps, size=track.size, crop=track.crop,
                      video_size=track.video_size, backend=track.backend,
                      interpolated=None if track.interpolated is None else track.interpolated[frames])
    if normalized:
        poses.save(os.path.join(source, KEYPOINTS))
        normalize.run(source, still_dir)
    else:
        poses.save(os.path.join(source, NORM_KEYPOINTS))
    out = os.path.join(args.work, f"frames_{tag}")
    transfer.run(still_dir, source, out, restart=True)
    return [read_image(p) for p in list_frames(out)]


def train_gan(args, target):
    """The plate-mode GAN's checkpoint folder, trained for --gan-budget-min unless --work has it."""
    import quality_budget
    ckpt = os.path.join(args.work, "ckpt", GAN)
    if os.path.isfile(os.path.join(ckpt, "latest.pt")):
        print(f"GAN: reusing {ckpt} (delete it to train again)", flush=True)
    else:
        budget = argparse.Namespace(work=args.work, size=args.size, budget_min=args.gan_budget_min,
                                    configs=[GAN])
        print(f"GAN: training {GAN} (cpu preset) for {args.gan_budget_min:g} min", flush=True)
        quality_budget.train_all(budget, target)
    return ckpt


def gan_frames(predictor, target, frames):
    """The GAN's frames for `frames`, each from its real label, as src.evaluate draws them."""
    from src.io.files import read_image
    predictor.reset()
    windows = predictor.window_track(target.track.keypoints[frames], target.track.size)
    out = []
    for pos, t in enumerate(frames):
        out.append(predictor.predict(read_image(target.labels[t]), face_box=target.face_boxes[t],
                                     window=None if windows is None else windows[pos]))
    return out


def measure(target, frames, rows, lpips, size):
    """{row: {region: {metric: mean}}} over frames; rows: {row: list of frames, or one image}."""
    from tqdm import tqdm
    from src.evaluate.heldout import body_box, image_metrics
    from src.evaluate.metrics import nanmean
    from src.gan.images import resize_frame
    from src.io.files import read_image
    values = {row: [] for row in rows}
    for pos, t in enumerate(tqdm(frames, desc="measure", unit="frame")):
        real = resize_frame(read_image(target.images[t]), size)
        boxes = {"whole": (0, 0, size[0], size[1]), "body": body_box(target.track.keypoints[t], size)}
        for row, fakes in rows.items():
            fake = fakes if isinstance(fakes, np.ndarray) else fakes[pos]
            values[row].append(image_metrics(fake, real, boxes, lpips))
    return {row: {region: {m: nanmean([v[region][m] for v in vs]) for _, m in COLUMNS}
                  for region in ("whole", "body")} for row, vs in values.items()}


def save_strips(args, name, target, frames, rows, size):
    """N_STRIPS PNGs real | still | GAN, at twice the size."""
    import cv2
    from src.gan.images import resize_frame
    from src.io.files import read_image, write_image
    folder = os.path.join(args.work, "strips")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for pos in np.linspace(0, len(frames) - 1, N_STRIPS).round().astype(int):
        t = frames[pos]
        panels = [resize_frame(read_image(target.images[t]), size)] + [
            rows[r][pos] for r in ("still", "GAN") if r in rows]
        strip = np.concatenate(panels, axis=1)
        strip = cv2.resize(strip, (strip.shape[1] * 2, strip.shape[0] * 2), interpolation=cv2.INTER_NEAREST)
        paths.append(os.path.join(folder, f"{name}_{t:04d}.png"))
        write_image(paths[-1], strip)
    return paths


def table(name, photo, frames, result):
    """Print one protocol's rows; the last column: body LPIPS over the unmoved photo's."""
    print(f"\n{name}: photo frame {photo}, driven by frames {frames[0]}-{frames[1]}")
    heads = [f"{NAMES[m]} {region}" for region, m in COLUMNS]
    print(f"{'':<16} | {' | '.join(heads)} | body LPIPS / unmoved (Alex, VGG)")
    base = result["unmoved photo"]["body"]
    for row, m in result.items():
        cells = " | ".join(f"{m[region][k]:>{len(h)}.3f}" for (region, k), h in zip(COLUMNS, heads))
        ratios = f"{m['body']['lpips'] / base['lpips']:.2f}x, {m['body']['lpips_vgg'] / base['lpips_vgg']:.2f}x"
        print(f"{row:<16} | {cells} | {ratios}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", default=os.path.join(ROOT, "..", "shared", "data", "target_edn_subject4.mp4"),
                    help="the real video (default: EDN subject 4, 1000 frames)")
    ap.add_argument("--size", default="256x128", help="frame size WIDTHxHEIGHT of every row (default 256x128, "
                    "the GAN's; a --work folder keeps the target of one size)")
    ap.add_argument("--gan-budget-min", type=float, default=10.0, help="wall-clock minutes of the GAN's "
                    "training (default 10; 0: no GAN row)")
    ap.add_argument("--gan", default=None, help="a trained checkpoint folder for the GAN row instead of "
                    "training one, e.g. <work>/ckpt/cpu30 of bench/quality_budget.py --configs cpu30 on the "
                    "same video and --size (trained on frames 0-799)")
    ap.add_argument("--photo-frame", type=int, default=None, help="the held-out protocol's photo (one of "
                    "frames 800-999); default: the one with the arms most down")
    ap.add_argument("--work", default="/tmp/still_reenact", help="working folder (kept; the target and "
                    "the GAN are reused)")
    args = ap.parse_args()
    if args.photo_frame is not None and args.photo_frame not in HELD_OUT:
        ap.error(f"--photo-frame {args.photo_frame}: must be one of the held-out frames 800-999")
    os.makedirs(args.work, exist_ok=True)
    started = time.time()

    import quality_budget  # bench/: the target's make_target run and the GAN's training
    from src.evaluate.metrics import Lpips
    from src.evaluate.report import LPIPS_NETS
    from src.gan.dataset import TargetFrames
    from src.gan.inference import FramePredictor
    target_dir = quality_budget.prepare_target(argparse.Namespace(work=args.work, video=args.video,
                                                                  size=args.size, frames=1000))
    target = TargetFrames(target_dir)
    size = tuple(target.track.size)
    if len(target) < HELD_OUT.stop:
        raise SystemExit(f"{args.video}: {len(target)} frames; the protocols need {HELD_OUT.stop}")

    order = ([args.photo_frame] if args.photo_frame is not None
             else arms_down_order(target.track.keypoints, HELD_OUT)[:CANDIDATES])
    print(f"arms-down candidates in frames 800-999: {order}", flush=True)
    protocols = []
    for index in order:
        made = make_still(args, index, target.track)
        if made:
            protocols.append(("held-out", index, list(HELD_OUT), made))
            break
    else:
        print("held-out protocol: every candidate photo refused", flush=True)
    made = make_still(args, T_POSE, target.track)
    if made:
        protocols.append(("T-pose", T_POSE, list(range(T_POSE, T_POSE + T_POSE_FRAMES)), made))

    predictor = steps = budget = None
    if args.gan or args.gan_budget_min > 0:
        predictor = FramePredictor(args.gan or train_gan(args, target_dir), device="cpu")
        if tuple(predictor.size) != size or predictor.options.holdout != 0.2:
            raise SystemExit(f"{args.gan}: trained at {predictor.options.size} with --holdout "
                             f"{predictor.options.holdout}; the protocols need {args.size} and 0.2")
        steps, budget = int(predictor.step), predictor.options.max_minutes
    lpips = {m: Lpips("cpu", net=net) for m, net in LPIPS_NETS.items()}

    report = {"video": args.video, "size": list(size), "gan": {"steps": steps, "budget_min": budget},
              "protocols": {}}
    for name, photo, frames, (still_dir, still) in protocols:
        print(f"\n{name}: photo frame {photo} ({still_dir})", flush=True)
        rows = {"still": animate(args, still_dir, target.track, frames, name),
                "still, own poses": animate(args, still_dir, target.track, frames, name, normalized=False),
                "unmoved photo": still.photo}
        if predictor is not None:
            rows["GAN"] = gan_frames(predictor, target, frames)
        result = measure(target, frames, rows, lpips, size)
        strips = save_strips(args, name, target, frames, rows, size)
        report["protocols"][name] = {"photo_frame": photo, "frames": [frames[0], frames[-1]],
                                     "metrics": result, "strips": strips}
    for name, p in report["protocols"].items():
        table(name, p["photo_frame"], p["frames"], p["metrics"])
    if predictor is not None:
        how = f"for {budget:g} min: " if budget and not args.gan else ""   # --gan: its last stage's limit
        print(f"\nGAN: {args.gan or GAN} trained on frames 0-799 {how}{steps} steps; "
              f"the T-pose frames are among its training frames")
    with open(os.path.join(args.work, "still_reenact.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"side-by-side PNGs (real | still | GAN) in {os.path.join(args.work, 'strips')}; "
          f"{(time.time() - started) / 60:.1f} min in all")


if __name__ == "__main__":
    main()
