"""The normalization stage: source keypoints -> labels placed like the target's (normalization.py).

Reads  <source>/keypoints.npz, <target>/keypoints.npz
Writes <source>/test_label/00000.png...   labels at the target's frame size
       <source>/pose_source_norm.npy      (T, 2) float32 head centres (for the face crop)
       <source>/norm.png                  plot of ankle rows and scale over time
       <source>/keypoints_norm.npz        PoseTrack, backend "normalized", written LAST: its
                                          presence means the labels are complete
"""
import os

import numpy as np
from tqdm import tqdm

from src.io.files import (atomic_path, frame_name, list_frames, remove_temporaries, save_npy,
                          sync_all)
from src.layout import (KEYPOINTS, NORM_HEADS, NORM_KEYPOINTS, NORM_LABELS, NORM_PLOT, SOURCE_DIR,
                        TARGET_DIR)
from src.normalize import maths as norm
from src.pose.keypoints import PoseTrack, head_centers
from src.pose.render import write_label


def run(source_dir=SOURCE_DIR, target_dir=TARGET_DIR, normalize=True, band=norm.DEFAULT_BAND):
    source_path = os.path.join(source_dir, KEYPOINTS)
    target_path = os.path.join(target_dir, KEYPOINTS)
    source = PoseTrack.load(source_path, "make_source.py")
    target = PoseTrack.load(target_path, "make_target.py")
    size = target.size

    if normalize:
        result = norm.normalize(source.keypoints, source.size, target.keypoints, size, band,
                                source_name=source_path, target_name=target_path)
        print(result.mapping.describe())
        kps = result.keypoints
    else:
        result = None
        kps = norm.to_target_frame(source.keypoints, source.size, size)
        print(f"--no-normalize: source poses only resized from {source.size[0]}x{source.size[1]} "
              f"to the target's {size[0]}x{size[1]} frame")

    # The finished-marker goes first, so an interrupted run is never taken for a complete one.
    done_path = os.path.join(source_dir, NORM_KEYPOINTS)
    if os.path.exists(done_path):
        os.remove(done_path)

    label_dir = os.path.join(source_dir, NORM_LABELS)
    os.makedirs(label_dir, exist_ok=True)
    for folder in (source_dir, label_dir):   # a run killed mid-write left these
        remove_temporaries(folder)
    for i, kp in enumerate(tqdm(kps, desc="normalized labels", unit="frame")):
        # Not flushed one by one: a re-run redoes them all; sync_all() precedes the marker.
        write_label(os.path.join(label_dir, frame_name(i)), kp, size, sync=False)
    keep = {frame_name(i) for i in range(len(kps))}
    for path in list_frames(label_dir):  # frames of an earlier, longer source
        if os.path.basename(path) not in keep:
            os.remove(path)

    save_npy(os.path.join(source_dir, NORM_HEADS), head_centers(kps).astype(np.float32))
    plot_path = os.path.join(source_dir, NORM_PLOT)
    if result is not None:
        plot(result, plot_path)
    elif os.path.exists(plot_path):
        os.remove(plot_path)  # a plot of an earlier normalized run would no longer be true

    sync_all()
    PoseTrack(keypoints=kps, fps=source.fps, size=size, crop=(0, 0, size[0], size[1]),
              video_size=size, backend="normalized",
              interpolated=source.interpolated).save(done_path)
    print(f"wrote {len(kps)} labels at {size[0]}x{size[1]} to {label_dir}, {done_path}")
    return result


def plot(result, path):
    """Ankle rows (source, mapped, target's close/far) and scale over time, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = result.mapping
    frames = np.arange(len(result.ankle))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    top.plot(frames, result.ankle, color="tab:gray", label="source ankle row")
    top.plot(frames, result.mapped_ankle, color="tab:blue", label="normalized ankle row")
    top.axhline(m.target.close, color="tab:green", ls="--", label="target close")
    top.axhline(m.target.far, color="tab:red", ls="--", label="target far")
    if m.narrow:
        top.axhline(m.target_far, color="tab:orange", ls=":", label="source far maps here")
    top.invert_yaxis()  # image rows grow downwards: lower in the plot = lower in the frame
    top.set_ylabel("ankle row (target pixels)")
    top.legend(loc="best", fontsize="small")
    top.set_title("pose normalization: ankle height (depth) and scale")
    bottom.plot(frames, result.params[:, 0], color="tab:purple")
    bottom.set_ylabel("scale")
    bottom.set_xlabel("frame")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
