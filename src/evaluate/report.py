"""The evaluation's numbers as a table, an HTML page with example strips, and metrics.json.

The settings named here (regions, metrics, the body crop's margin) are shared by the held-out
evaluation (heldout.py) and the --frames one (frames.py), so the pages describe what was measured.
"""
import html
import json
import math
import os

import numpy as np

from src.evaluate.metrics import FLICKER_MARGIN
from src.evaluate.plate import EDGE_BAND, EDGE_GAP, SPECKLE_LEVELS, SPECKLE_SIDE, SPECKLE_UPDOWN
from src.io.files import frame_name, write_bytes, write_image

# face_unrefined: the face crop of the generator's frame before the face GAN refines it (models with
# a face GAN only), so one evaluation shows whether the face stage helps.
REGIONS = ("whole", "body", "face", "face_unrefined")
FLICKER_SETTING = (f"mean |grey change| 0-255 (BT.601 luma) between consecutive frames over pixels "
                   f"outside the keypoints' box grown by {FLICKER_MARGIN} of its height, in both frames")
SPECKLE_SETTING = (f"share of the pixels outside the keypoints' box (grown by {SPECKLE_SIDE} of its height "
                   f"sideways, {SPECKLE_UPDOWN} up and down) more than {SPECKLE_LEVELS} grey levels from "
                   f"the background plate; plate-mode models")
WINDOW_EDGE_SETTING = (f"mean over the window's sides of |step - the real frame's step across the same line|, "
                       f"a step being the mean grey of a {EDGE_BAND}-px band inside (past {EDGE_GAP} px) "
                       f"- a {EDGE_BAND}-px band outside; the real-frames column: the plate's own")
IMAGE_METRICS = ("ssim", "psnr", "lpips", "lpips_vgg")
LPIPS_NETS = {"lpips": "alex", "lpips_vgg": "vgg"}   # metric name -> LPIPS trunk
METRIC_NAMES = {"ssim": "SSIM", "psnr": "PSNR", "lpips": "LPIPS", "lpips_vgg": "LPIPS-VGG"}
POSE_GROUPS = ("body", "face", "hands", "all")
BODY_MARGIN = 0.1     # body crop: keypoint bounding box grown by this share of its longer side
N_EXAMPLES = 4        # rows in each strip of the HTML page
IMAGES_DIR = "images"


def json_safe(value):
    """NaN/inf become null so that metrics.json is strict JSON."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def fmt(value, metric):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if metric == "psnr":
        return f"{value:.2f}"
    if metric in ("missed",):
        return f"{100 * value:.1f}%"
    if metric in ("speckle",):
        return f"{100 * value:.3f}%"
    if metric in ("distance", "flicker", "window_edge"):
        return f"{value:.2f}"
    return f"{value:.4f}"


TEMPORAL_ROWS = {"tlp": "tLP (lower is better)",
                 "lpips_step": "frame-to-frame LPIPS",
                 "flicker": "background flicker (grey levels)"}


def temporal_rows(columns, keys=tuple(TEMPORAL_ROWS)):
    """Table rows of the temporal numbers; columns: one summary dict (TemporalMeter) or None each."""
    return [[TEMPORAL_ROWS[k]] + ["" if c is None or k not in c else fmt(c[k], k) for c in columns]
            for k in keys]


FACE_ROWS = {"flicker": "face crop flicker (grey levels)", "noise": "face crop noise (grey levels)",
             "colour_noise": "face crop colour noise (grey levels)", "hit_rate": "face found by the detector"}


def face_rows(summary):
    """Rows of a FaceMeter summary (None: [])."""
    if summary is None:
        return []
    return [[what, "-" if k not in summary else
             (f"{100 * summary[k]:.1f}%" if k == "hit_rate" else fmt(summary[k], "flicker"))]
            for k, what in FACE_ROWS.items()]


PLATE_ROWS = {"speckle": "speckle outside the person (lower is better)",
              "window_edge": "window edge (grey levels, lower is better)"}


def plate_rows(summaries):
    """Table rows of the plate-mode numbers: one column per PlateMeter summary (None: a full-frame
    model), then the reference (real frames) of the first plate-mode one; [] without any."""
    ref = next((s for s in summaries if s is not None), None)
    if ref is None:
        return []
    return [[what] + ["" if s is None else fmt(s[k], k) for s in summaries] + [fmt(ref["reference_" + k], k)]
            for k, what in PLATE_ROWS.items()]


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
                        + [fmt(r["metrics"][region][m], m) for r in runs] + [""])
    rows += temporal_rows([r["temporal"] for r in runs] + [report["real_temporal"]])
    rows += plate_rows([r.get("plate") for r in runs])
    for key, what in (("distance", "pose distance {} (px)"), ("missed", "pose missed {}")):
        for g in POSE_GROUPS:
            rows.append([what.format(g)] + [fmt(r["pose"][g][key], key) for r in runs]
                        + [fmt(real[g][key], key)])
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
        return [(path, f"frame {frames[pos]}: LPIPS {fmt(whole['lpips'][pos], 'lpips')}, "
                       f"SSIM {fmt(whole['ssim'][pos], 'ssim')}") for path, (pos, _) in zip(paths, rows)]

    page = render_html(report, strip("example", examples), strip("worst", worst))
    write_bytes(os.path.join(out_dir, "index.html"), page.encode())
    write_bytes(os.path.join(out_dir, "metrics.json"), json.dumps(report, indent=1).encode())
