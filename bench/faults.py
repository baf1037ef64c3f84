"""Fault injection: kill every stage with SIGKILL at random moments, re-run it, compare.

    python bench/faults.py [--trials 20] [--stages make_target,train_face,...] [--seed 0]
                           [--by time|progress] [--pose mediapipe|json] [--keep DIR]

Setup, in a temporary folder: a synthetic target and source dancer (src/demo/data.py), then one
uninterrupted run of every stage in pipeline order; a copy of the folder after each stage is the
reference. A trial of a stage copies the reference of the stage before it, starts the stage's
command, kills its whole process group (ffmpeg included) with SIGKILL at a random point of the
reference run, then runs the same command again to the end. The point is a time between 0 and
the reference run's duration (--by time), or a number of file changes between 1 and the
reference run's (--by progress: files written, replaced or removed, as seen by polling the
folder; the same point of the work however busy the machine is). The trial passes when
- the re-run exits with 0;
- the folder equals the stage's reference: every file there and no other; PNG, npy and other
  files byte for byte, npz array by array, mp4 decoded frame by frame, checkpoints tensor by
  tensor and the training loss log value by value (CPU, fp32: the same losses);
- no temporary file (.NAME.*.tmp.EXT, as src/io/files.py names them) is left anywhere.
The training page (web/) is checked for temporary files only: its plots are not an output.

Stages: make_target, make_source, normalization, train_body (body stage), train_face (face stage,
continuing the body checkpoint), transfer, make_mp4; then still mode: make_still (make_target.py
--image on one photo of the target), normalization_still (the source dancer's true poses onto
it), transfer_still. --pose json reads the dancers' true poses from OpenPose JSON files instead
of running MediaPipe (faster; used by the test suite); the photo's pose then comes from one too
(--keypoints).
"""
import argparse
import csv
import filecmp
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from src.layout import TRANSFER_MANIFEST  # noqa: E402

STAGES = ["make_target", "make_source", "normalization", "train_body", "train_face", "transfer",
          "make_mp4", "make_still", "normalization_still", "transfer_still"]
TARGET_FRAMES, SOURCE_FRAMES, VIDEO_SIZE, OUT_SIZE = 8, 8, (512, 256), "128x64"
STILL_SIZE, STILL_JSON = "256x128", "still_keypoints.json"
TRAIN = ["--name", "t", "--dataroot", "target", "--checkpoints_dir", "ckpt", "--resume",
         "--size", "64x32", "--ngf", "8", "--n_downsample", "2", "--n_blocks", "1", "--ndf", "8",
         "--num_D", "1", "--n_layers_D", "2", "--face_ngf", "8", "--face_n_blocks", "1",
         "--face_ndf", "8", "--lambda_vgg", "0", "--lambda_face_vgg", "0", "--niter", "1",
         "--niter_decay", "1", "--face_epochs", "1", "--batch_size", "2", "--num_workers", "0",
         "--save_latest_freq", "2", "--display_freq", "1000", "--device", "cpu"]
BODY_STEPS = 2 * (TARGET_FRAMES // 2)   # 2 epochs of (frames - 1) pairs in batches of 2
ENV = dict(os.environ, OMP_NUM_THREADS="1")   # tiny models: one thread is fastest, and steady
POLL_S = 0.002                                 # how often a watched run's files are looked at


def commands(pose):
    """Stage -> command line (run in the trial folder)."""
    def pose_args(role):
        if pose == "json":
            return ["--pose", "json", "--json-dir", os.path.join("videos", f"{role}_json")]
        return ["--pose", "mediapipe"]
    still_pose = ["--keypoints", os.path.join("videos", STILL_JSON)] if pose == "json" else []
    py = [sys.executable]
    return {
        "make_target": py + [os.path.join(ROOT, "make_target.py"), "--video", "videos/target.mp4",
                             "--out", "target", "--size", OUT_SIZE] + pose_args("target"),
        "make_source": py + [os.path.join(ROOT, "make_source.py"), "--video", "videos/source.mp4",
                             "--out", "source", "--size", OUT_SIZE] + pose_args("source"),
        "normalization": py + [os.path.join(ROOT, "normalization.py"), "--source", "source",
                               "--target", "target"],
        "train_body": py + [os.path.join(ROOT, "train_pose2vid.py")] + TRAIN
        + ["--max_steps", str(BODY_STEPS)],
        "train_face": py + [os.path.join(ROOT, "train_pose2vid.py")] + TRAIN,
        "transfer": py + [os.path.join(ROOT, "transfer.py"), "--name", "t", "--source", "source",
                          "--out", "result/t", "--checkpoints", "ckpt", "--device", "cpu"],
        "make_mp4": py + [os.path.join(ROOT, "make_mp4.py"), "--frames", "result/t", "--out",
                          "result/t.mp4", "--source", "source", "--source-video",
                          "videos/source.mp4"],
        "make_still": py + [os.path.join(ROOT, "make_target.py"), "--image", "videos/still.png",
                            "--out", "target_still", "--size", STILL_SIZE] + still_pose,
        "normalization_still": py + [os.path.join(ROOT, "normalization.py"), "--source",
                                     "source_still", "--target", "target_still"],
        "transfer_still": py + [os.path.join(ROOT, "transfer.py"), "--target", "target_still",
                                "--source", "source_still", "--out", "result/still"],
    }


def make_videos(folder, pose):
    """The two dancer videos (the source with music) and, for --pose json, their poses as JSON;
    the photo of still mode, and the source dancer's true poses for it in ../source_still/ (as
    demo.sh gives the still the video stage's poses)."""
    from src.demo.data import make_dancer_video, still_photo
    from src.io.files import write_bytes, write_image
    from src.pose.openpose_json import pose_to_json, write_json_dir
    os.makedirs(folder)
    for role, n, audio in (("target", TARGET_FRAMES, False), ("source", SOURCE_FRAMES, True)):
        gt = make_dancer_video(os.path.join(folder, f"{role}.mp4"), role, n, size=VIDEO_SIZE,
                               fps=15, seed=1, audio=audio)
        os.remove(os.path.join(folder, f"{role}_gt.npz"))
        if pose == "json":
            write_json_dir(os.path.join(folder, f"{role}_json"), gt.keypoints, role)
    os.makedirs(os.path.join(os.path.dirname(folder), "source_still"))
    gt.save(os.path.join(os.path.dirname(folder), "source_still", "keypoints.npz"))
    photo, still_pose = still_photo(VIDEO_SIZE)
    write_image(os.path.join(folder, "still.png"), photo)
    if pose == "json":
        write_bytes(os.path.join(folder, STILL_JSON), pose_to_json(still_pose.keypoints).encode())


def run_to_end(cmd, cwd, timeout):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=ENV)
    return proc.returncode, proc.stderr


def snapshot(folder):
    """{path: (size, mtime)} of every file under `folder`."""
    out = {}
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:   # renamed or removed while we looked
                continue
            out[path] = (st.st_size, st.st_mtime_ns)
    return out


def changes_between(before, after):
    """Files written, changed or removed from one snapshot to the next."""
    return sum(before.get(path) != value for path, value in after.items()) + len(
        before.keys() - after.keys())


def run_watched(cmd, cwd, kill_after=None, kill_at=None, timeout=900):
    """Run `cmd`, polling the files under `cwd`; SIGKILL its process group once it has made
    `kill_after` file changes, or once it has run `kill_at` seconds (None: never). Returns (exit
    code or None if killed, the changes seen, stderr)."""
    seen, last = 0, snapshot(cwd)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True, env=ENV)
        start = time.perf_counter()
        while proc.poll() is None:
            elapsed = time.perf_counter() - start
            now = snapshot(cwd)
            seen += changes_between(last, now)
            last = now
            if (kill_after is not None and seen >= kill_after) or (
                    kill_at is not None and elapsed >= kill_at) or elapsed > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                if elapsed > timeout:
                    raise subprocess.TimeoutExpired(cmd, timeout)
                return None, seen, ""
            time.sleep(POLL_S)
        seen += changes_between(last, snapshot(cwd))
        err.seek(0)
        return proc.returncode, seen, err.read().decode(errors="replace")


# ----------------------------------------------------------------------------- comparing

def is_temporary(name):
    return name.startswith(".") and ".tmp" in name


def files_under(folder):
    out = set()
    for base, _, names in os.walk(folder):
        for name in names:
            out.add(os.path.relpath(os.path.join(base, name), folder))
    return out


def same_npz(a, b):
    with np.load(a) as x, np.load(b) as y:
        return sorted(x.files) == sorted(y.files) and all(
            np.array_equal(x[k], y[k]) for k in x.files)


def same_video(a, b):
    from src.io.video import VideoReader, has_audio
    fa, fb = list(VideoReader(a)), list(VideoReader(b))
    return (len(fa) == len(fb) and all(np.array_equal(x, y) for x, y in zip(fa, fb))
            and has_audio(a) == has_audio(b))


def same_values(x, y, path=""):
    """Recursive comparison of checkpoint contents; float tensors to fp32 round-off."""
    import torch
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(
            same_values(x[k], y[k], f"{path}/{k}") for k in x)
    if isinstance(x, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(
            same_values(a, b, path) for a, b in zip(x, y))
    if isinstance(x, torch.Tensor):
        if not isinstance(y, torch.Tensor) or x.shape != y.shape or x.dtype != y.dtype:
            return False
        if x.is_floating_point():
            return torch.allclose(x, y, rtol=1e-4, atol=1e-6)
        return torch.equal(x, y)
    if isinstance(x, np.ndarray):
        return isinstance(y, np.ndarray) and np.array_equal(x, y)
    if isinstance(x, float):
        return np.isclose(x, y, rtol=1e-4, atol=1e-6)
    return x == y


def same_checkpoint(a, b):
    import torch
    x, y = torch.load(a, weights_only=False), torch.load(b, weights_only=False)
    # Python's and numpy's global generators are saved but never seeded (training draws from
    # torch's only): two uninterrupted runs differ there too.
    for state in (x, y):
        for name in ("python", "numpy"):
            state.get("rng", {}).pop(name, None)
    return same_values(x, y)


def same_loss_log(a, b):
    from src.gan.web import LOG_COLUMNS
    with open(a, newline="") as f, open(b, newline="") as g:
        ra, rb = list(csv.DictReader(f)), list(csv.DictReader(g))
    if len(ra) != len(rb):
        return False
    for x, y in zip(ra, rb):
        for column in LOG_COLUMNS:
            if column == "samples_per_s":
                continue
            if x[column] != y[column] and not (
                    x[column] and y[column]
                    and np.isclose(float(x[column]), float(y[column]), rtol=1e-4, atol=1e-6)):
                return False
    return True


def same_manifest(a, b, roots):
    """Transfer manifests name their inputs by absolute path and modification time: the paths
    must match within their own run folders (`roots`), the other values exactly."""
    import json
    with open(a) as f, open(b) as g:
        x, y = json.load(f), json.load(g)

    def within(value, root):
        return os.path.relpath(value, root) if isinstance(value, str) and os.path.isabs(value) \
            else value
    return x.keys() == y.keys() and all(
        within(x[k], roots[0]) == within(y[k], roots[1]) for k in x if not k.endswith("_mtime_ns"))


def same_file(a, b, roots):
    ext = os.path.splitext(a)[1]
    if ext == ".npz":
        return same_npz(a, b)
    if ext == ".mp4":
        return same_video(a, b)
    if ext == ".pt":
        return same_checkpoint(a, b)
    if os.path.basename(a) == "loss_log.csv":
        return same_loss_log(a, b)
    if os.path.basename(a) == TRANSFER_MANIFEST:   # names the run's own (absolute) paths
        return same_manifest(a, b, roots)
    return filecmp.cmp(a, b, shallow=False)


def differences(got, want):
    """What differs between a trial folder and the reference; [] when they match."""
    problems = []
    have, expected = files_under(got), files_under(want)
    temporary = sorted(f for f in have if is_temporary(os.path.basename(f)))
    if temporary:
        problems.append(f"temporary files left: {temporary[:5]}")
    page = os.path.join("ckpt", "t", "web") + os.sep
    have = {f for f in have if not f.startswith(page) and f not in temporary}
    expected = {f for f in expected if not f.startswith(page)}
    if have - expected:
        problems.append(f"extra files: {sorted(have - expected)[:5]}")
    if expected - have:
        problems.append(f"missing files: {sorted(expected - have)[:5]}")
    changed = [f for f in sorted(have & expected)
               if not same_file(os.path.join(got, f), os.path.join(want, f), (got, want))]
    if changed:
        problems.append(f"differing files: {changed[:5]}" + (f" and {len(changed) - 5} more"
                                                           if len(changed) > 5 else ""))
    return problems


# ----------------------------------------------------------------------------- the runs

class Faults:
    """The reference runs of every stage (in `work`), then trials."""

    def __init__(self, work, pose="mediapipe", log=print, keep_failed=False):
        self.work, self.log, self.keep_failed = work, log, keep_failed
        self.cmds = commands(pose)
        self.refs, self.seconds, self.changes = {}, {}, {}
        previous = os.path.join(work, "ref_videos")
        make_videos(os.path.join(previous, "videos"), pose)
        for stage in STAGES:
            ref = os.path.join(work, f"ref_{stage}")
            shutil.copytree(previous, ref)
            start = time.perf_counter()
            rc, self.changes[stage], err = run_watched(self.cmds[stage], ref)
            self.seconds[stage] = time.perf_counter() - start
            if rc != 0:
                raise RuntimeError(f"reference run of {stage} failed ({rc}):\n{err[-2000:]}")
            self.refs[stage] = ref
            self.log(f"reference {stage}: {self.seconds[stage]:.1f} s, "
                     f"{self.changes[stage]} file changes")
            previous = ref
        self.inputs = dict(zip(STAGES, [os.path.join(work, "ref_videos")] + [
            self.refs[s] for s in STAGES[:-1]]))

    def trial(self, stage, fraction, index, by="time"):
        """One kill after `fraction` of the reference run, and the re-run; returns (passed,
        killed, problems). by="time": of its time (random moments, Python's start-up included);
        by="progress": of its file changes, at least one (the same point however busy the
        machine is)."""
        folder = os.path.join(self.work, f"trial_{stage}_{index}")
        shutil.copytree(self.inputs[stage], folder)
        if by == "time":
            delay = fraction * self.seconds[stage]
            killed = run_watched(self.cmds[stage], folder, kill_at=delay)[0] is None
            when = f"after {delay:.2f} s"
        else:
            count = max(1, int(fraction * self.changes[stage]))
            killed = run_watched(self.cmds[stage], folder, kill_after=count)[0] is None
            when = f"after {count} of {self.changes[stage]} file changes"
        rc, err = run_to_end(self.cmds[stage], folder, timeout=max(300, 10 * self.seconds[stage]))
        problems = differences(folder, self.refs[stage]) if rc == 0 else [
            f"re-run exit {rc}: {err.strip().splitlines()[-1:]}"]
        if problems:
            problems.append(f"killed {when}" if killed else "not killed")
        if not problems or not self.keep_failed:
            shutil.rmtree(folder, ignore_errors=True)
        return not problems, killed, problems

    def run(self, stages, trials, seed=0, fractions=None, by="time"):
        """{stage: (passed, run, killed)}, printing each failure. The kills come at random
        fractions of each reference run, or at the given `fractions` (one per trial); of its time
        or of its file changes (`by`, see trial)."""
        rng = random.Random(seed)
        results = {}
        for stage in stages:
            passed = killed = 0
            for i in range(trials):
                fraction = fractions[i] if fractions else rng.random()
                ok, was_killed, problems = self.trial(stage, fraction, i, by)
                passed += ok
                killed += was_killed
                if not ok:
                    self.log(f"FAIL {stage} trial {i + 1}: " + "; ".join(problems))
            results[stage] = (passed, trials, killed)
            self.log(f"{stage}: {passed}/{trials} passed ({killed} killed mid-run, the others "
                     "finished before the kill)")
        return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=20, help="trials per stage (default: 20)")
    ap.add_argument("--stages", default=",".join(STAGES),
                    help=f"comma-separated stages (default: all: {','.join(STAGES)})")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill times (default: 0)")
    ap.add_argument("--by", choices=("time", "progress"), default="time",
                    help="kill after a share of the reference run's time, or of its file "
                         "changes (default: time)")
    ap.add_argument("--pose", choices=("mediapipe", "json"), default="mediapipe",
                    help="detector of the pose stages (default: mediapipe)")
    ap.add_argument("--keep", default=None, metavar="DIR",
                    help="work in DIR and keep it, with the folders of failed trials (default: "
                         "a temporary folder, removed)")
    args = ap.parse_args()
    stages = args.stages.split(",")
    unknown = set(stages) - set(STAGES)
    if unknown:
        ap.error(f"unknown stages {sorted(unknown)}; choose from {','.join(STAGES)}")
    start = time.perf_counter()
    if args.keep:
        os.makedirs(args.keep, exist_ok=False)
        work = args.keep
    else:
        work = tempfile.mkdtemp(prefix="faults_")
    try:
        results = Faults(work, args.pose, keep_failed=bool(args.keep)).run(stages, args.trials,
                                                                           args.seed, by=args.by)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'stage':14s} passed  killed mid-run")
    for stage, (passed, total, killed) in results.items():
        print(f"{stage:14s} {passed:2d}/{total:<3d} {killed:3d}")
    print(f"total {time.perf_counter() - start:.0f} s")
    sys.exit(0 if all(p == t for p, t, _ in results.values()) else 1)


if __name__ == "__main__":
    main()
