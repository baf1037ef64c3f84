"""The training page: <checkpoints_dir>/<name>/web/index.html with sample rows and a loss plot.

Sample rows (label | generated | real) are PNGs in web/images/, named by step; the page lists them
newest first under a plot of the losses in loss_log.csv (web/loss.png). Both are rewritten while
training runs, so reloading the page in a browser shows the progress.
"""
import csv
import html
import os
import re

import numpy as np

from src.io.files import atomic_path, write_bytes, write_image

LOSS_COLUMNS = ["G_GAN", "G_feat", "G_VGG", "G_L1", "G_Alex", "G_alpha", "D_real", "D_fake", "F_GAN", "F_feat", "F_VGG", "FD_real", "FD_fake"]
LOG_COLUMNS = ["step", "stage", "epoch", "lr", *LOSS_COLUMNS, "samples_per_s"]


class LossLog:
    """Appends one CSV row per step to loss_log.csv (columns LOG_COLUMNS; blank = not in this stage)."""

    def __init__(self, path):
        self.path = path
        if not os.path.isfile(path):
            with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
                csv.writer(f).writerow(LOG_COLUMNS)

    def truncate(self, last_step):
        """Drop rows after `last_step` (steps a resumed run will train again) and any partial line."""
        rows = [r for r in read_log(self.path) if int(r["step"]) <= last_step]
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, LOG_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def append(self, values):
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, LOG_COLUMNS).writerow({k: _fmt(v) for k, v in values.items()})


def _fmt(value):
    return f"{value:.6g}" if isinstance(value, float) else value


def read_log(path):
    """Rows of loss_log.csv as dicts of strings; a partly written last line is skipped."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if r.get("samples_per_s") not in (None, "")
                and (r.get("step") or "").isdigit()]


def sample_name(step):
    return f"step_{step:07d}.png"


def write_sample_row(web_dir, step, *images):
    """Save the row of RGB uint8 images of one height (label | generated | real ...) for `step`."""
    row = np.concatenate(images, axis=1)
    path = os.path.join(web_dir, "images", sample_name(step))
    write_image(path, row)
    return path


def prune_samples(web_dir, last_step):
    """Delete sample rows of steps after `last_step` (a resumed run makes them again)."""
    image_dir = os.path.join(web_dir, "images")
    for name in os.listdir(image_dir) if os.path.isdir(image_dir) else []:
        match = re.fullmatch(r"step_(\d+)\.png", name)
        if match and int(match[1]) > last_step:
            os.remove(os.path.join(image_dir, name))


def plot_losses(log_path, png_path):
    """Generator and discriminator losses against the step (moving average over ~1% of the run)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_log(log_path)
    if not rows:
        return False
    steps = np.array([int(r["step"]) for r in rows])
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    window = max(1, len(rows) // 100)
    judges = [c for c in LOSS_COLUMNS if c.startswith(("D_", "FD_"))]
    makers = [c for c in LOSS_COLUMNS if c not in judges]
    for ax, names, title in ((axes[0], makers, "generators"), (axes[1], judges, "discriminators")):
        for name in names:
            ok = np.array([r[name] != "" for r in rows])
            if not ok.any():
                continue
            values = np.array([float(r[name]) for r in rows if r[name] != ""])
            k = min(window, len(values))  # a stage that just started has few values
            smooth = np.convolve(values, np.ones(k) / k, mode="valid")
            ax.plot(steps[ok][k - 1:], smooth, label=name, lw=1)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return True


def update_page(web_dir, title, log_path, status=""):
    """Re-plot the losses and rewrite index.html listing the sample rows, newest first."""
    plot = os.path.join(web_dir, "loss.png")
    has_plot = plot_losses(log_path, plot)
    image_dir = os.path.join(web_dir, "images")
    names = sorted((n for n in os.listdir(image_dir) if re.fullmatch(r"step_\d+\.png", n)),
                   reverse=True) if os.path.isdir(image_dir) else []
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<meta http-equiv='refresh' content='60'>",
             "<style>body{font-family:sans-serif;margin:1em}img{max-width:100%}"
             "h3{margin:1.2em 0 .3em;font-weight:normal}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    if status:
        parts.append(f"<p>{html.escape(status)}</p>")
    if has_plot:
        parts.append("<h2>Losses</h2><img src='loss.png' alt='loss plot'>")
    parts.append("<h2>Samples: label | generated | real</h2><p>Face stage rows add the face crops, "
                 "enlarged: label | generated | refined | real.</p>")
    for name in names:
        step = int(name[5:-4])
        parts.append(f"<h3>step {step}</h3><img src='images/{name}' loading='lazy' alt='step {step}'>")
    if not names:
        parts.append("<p>no samples yet</p>")
    parts.append("</body></html>\n")
    write_bytes(os.path.join(web_dir, "index.html"), "\n".join(parts).encode())
