"""Frames written one by one into an output folder, kept across re-runs made from the same inputs.

A run names what its frames are made from in a manifest (<out>/.transfer.json: a JSON dict of
input paths and their modification times). A re-run with the same manifest keeps the frames on
disk (00000.png on, as far as they go without a gap) and makes the rest; frames made from other
inputs, or beyond the new run's length, are removed, with any state files that describe them.
Both transfers use this: the GAN's (src/gan/transfer.py), which also keeps the state its next
frame is fed, and the still's (src/still/transfer.py).
"""
import json
import os

from src.io.files import frame_name, list_frames, remove_temporaries, write_bytes
from src.layout import TRANSFER_MANIFEST


def read_manifest(path):
    """The manifest at `path`, or None when it is missing or unreadable."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def prepare_output(out_dir, wanted, n, restart=False, state_files=()):
    """Clear what must not be kept for a run of `n` frames with manifest `wanted`; return the
    index of the first frame to make. restart: keep nothing. state_files: names in out_dir that
    belong to the kept frames (removed when the frames are)."""
    os.makedirs(out_dir, exist_ok=True)
    remove_temporaries(out_dir)  # of a run that was killed mid-write
    path = os.path.join(out_dir, TRANSFER_MANIFEST)
    frames = list_frames(out_dir)
    if frames and (restart or read_manifest(path) != wanted):
        if not restart:
            print(f"note: the {len(frames)} frames in {out_dir} come from other inputs (another "
                  "checkpoint, still or labels); making every frame again")
        for frame in frames + [os.path.join(out_dir, name) for name in state_files]:
            if os.path.exists(frame):
                os.remove(frame)
        frames = []
    keep = {frame_name(i) for i in range(n)}
    for frame in frames:  # frames of an earlier, longer source
        if os.path.basename(frame) not in keep:
            os.remove(frame)
    write_bytes(path, json.dumps(wanted, indent=1).encode())
    start = 0
    while start < n and os.path.isfile(os.path.join(out_dir, frame_name(start))):
        start += 1
    return start
