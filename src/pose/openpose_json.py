"""OpenPose JSON keypoint files: import a directory of them, export a track as them.

The format is OpenPose's `--write_json` output, one file per frame named
`<name>_<frame number, 12 digits>_keypoints.json`:
    {"version": 1.3, "people": [{"person_id": [-1],
        "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...],   BODY_25 (75 numbers) or COCO-18 (54)
        "face_keypoints_2d": [...],                            70 points (210 numbers) or []
        "hand_left_keypoints_2d": [...], "hand_right_keypoints_2d": [...],   21 points or []
        "pose_keypoints_3d": [], ...}]}
A missing point is (0, 0, 0). Coordinates are pixels of the video frames the poses were found
on: the import expects the poses of the (upright) input video, as OpenPose writes them when run
on that video, and the export writes them in the same space, so an exported directory can be
imported again for the same video.

Import: files are ordered by the frame number in their name (by name if they have none), file i
holding frame i. COCO-18 poses are moved into BODY_25 (MidHip = the hips' midpoint; feet
missing). With several people in a frame the main person is kept, as the OpenPose backend
picks it (the one followed so far, else the largest and most central). A file that cannot be
read as such a pose file is skipped with a warning naming it (that frame has no pose); a
directory without any usable file is a UserError.
"""
import json
import os
import re
import sys

import numpy as np

from src.errors import UserError
from src.io.files import write_bytes
from src.pose.keypoints import BODY, FACE, LHAND, N_POINTS, RHAND
from src.pose.people import MainPersonTracker, coco18_to_137

SUFFIX = "_keypoints.json"
_FRAME_NUMBER = re.compile(r"(\d+)_keypoints\.json$")
# Field -> (where its points go in the 137 layout, accepted point counts).
FIELDS = {
    "pose_keypoints_2d": (BODY, (25, 18)),
    "face_keypoints_2d": (FACE, (70,)),
    "hand_left_keypoints_2d": (LHAND, (21,)),
    "hand_right_keypoints_2d": (RHAND, (21,)),
}


class MalformedFile(ValueError):
    """A JSON file that is not an OpenPose keypoint file (the message says why)."""


def list_json(folder):
    """Sorted *_keypoints.json paths in `folder`, by frame number where names carry one."""
    if not os.path.isdir(folder):
        raise UserError(f"{folder}: no such folder; give --json-dir the folder of OpenPose "
                        f"*{SUFFIX} files")
    names = [n for n in os.listdir(folder) if n.endswith(SUFFIX) and not n.startswith(".")]

    def order(name):
        match = _FRAME_NUMBER.search(name)
        return (int(match.group(1)) if match else -1, name)

    return [os.path.join(folder, n) for n in sorted(names, key=order)]


def _person_to_137(person):
    """One entry of "people" -> (137, 3) float32; raises MalformedFile."""
    if not isinstance(person, dict):
        raise MalformedFile("a person is not a JSON object")
    out = np.zeros((N_POINTS, 3), np.float32)
    for field, (part, counts) in FIELDS.items():
        values = person.get(field, [])
        if values is None or len(values) == 0:
            continue
        expected = " or ".join(str(3 * c) for c in counts)
        try:
            points = np.asarray(values, np.float64)
        except (TypeError, ValueError):
            raise MalformedFile(f"{field} is not a list of numbers") from None
        if points.ndim != 1 or len(points) not in [3 * c for c in counts]:
            raise MalformedFile(f"{field} has {len(values)} values; expected {expected} numbers")
        if not np.isfinite(points).all():
            raise MalformedFile(f"{field} has non-finite numbers")
        points = points.reshape(-1, 3)
        if field == "pose_keypoints_2d" and len(points) == 18:
            points = _coco18_to_137(points)[BODY]
        out[part] = points
    out[out[:, 2] <= 0] = 0.0
    return out


def _coco18_to_137(coco):
    # The OpenPose backend's mapping is the one COCO-18 -> BODY_25 rule (imported when needed:
    # that module loads torch).
    return coco18_to_137(np.asarray(coco, np.float32))


def read_people(path):
    """All people of one file as a list of (137, 3) arrays; raises MalformedFile."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise MalformedFile(f"not valid JSON ({str(err)[:80]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise MalformedFile('no "people" list')
    people = [_person_to_137(p) for p in data["people"]]
    return [p for p in people if (p[:, 2] > 0).any()]


def read_json_dir(folder, size=None, max_frames=None):
    """A folder of OpenPose JSON files -> (T, 137, 3) float32 main-person poses, frame i = file i.

    size: (w, h) of the frames, used to pick the main person (largest, most central); None
    takes the extent of all poses. Malformed files are skipped with one warning naming them.
    """
    paths = list_json(folder)[:max_frames]
    if not paths:
        raise UserError(f"{folder}: no *{SUFFIX} files; give --json-dir the folder OpenPose "
                        "wrote with --write_json")
    per_frame, bad = [], []
    for path in paths:
        try:
            per_frame.append(read_people(path))
        except MalformedFile as err:
            bad.append(f"{os.path.basename(path)} ({err})")
            per_frame.append(None)
    if len(bad) == len(paths):
        raise UserError(f"{folder}: none of the {len(paths)} *{SUFFIX} files is a readable "
                        f"OpenPose keypoint file (e.g. {bad[0]}); re-export them with OpenPose")
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        print(f"warning: {folder}: skipped {len(bad)} malformed JSON file(s), their frames get "
              f"no pose: {shown}", file=sys.stderr)
    if size is None:
        everything = [p for people in per_frame if people for p in people]
        extent = np.concatenate([p[p[:, 2] > 0, :2] for p in everything]) if everything else None
        size = tuple(extent.max(axis=0) + 1) if extent is not None else (1, 1)
    return _main_people(per_frame, size)


def _main_people(per_frame, size):
    """(T, 137, 3): per frame the main person, followed over frames as the OpenPose backend does."""
    out = np.zeros((len(per_frame), N_POINTS, 3), np.float32)
    if all(len(people or []) <= 1 for people in per_frame):
        for t, people in enumerate(per_frame):
            if people:
                out[t] = people[0]
        return out
    # The backend's tracker is the one rule for "the main person" (it loads torch: only here).
    tracker = MainPersonTracker()
    for t, people in enumerate(per_frame):
        main = tracker.update([p[BODY] for p in people or []], size)
        if main is not None:
            out[t] = people[main]
    return out


def pose_to_json(kp):
    """One (137, 3) pose -> the OpenPose JSON text of its frame ("people" empty when no point)."""
    people = []
    if (kp[:, 2] > 0).any():
        person = {"person_id": [-1]}
        for field, (part, _) in FIELDS.items():
            person[field] = [round(float(v), 3) for v in np.asarray(kp[part], np.float64).ravel()]
        for field in ("pose_keypoints_3d", "face_keypoints_3d", "hand_left_keypoints_3d",
                      "hand_right_keypoints_3d"):
            person[field] = []
        people.append(person)
    return json.dumps({"version": 1.3, "people": people})


def json_name(stem, index):
    return f"{stem}_{index:012d}{SUFFIX}"


def write_json_dir(folder, kps, stem):
    """Write one OpenPose JSON file per frame of `kps` (T, 137, 3) into `folder`, atomically.

    Files of this stem from an earlier, longer export are removed so the folder holds exactly
    this track.
    """
    os.makedirs(folder, exist_ok=True)
    for t, kp in enumerate(kps):
        write_bytes(os.path.join(folder, json_name(stem, t)), pose_to_json(kp).encode())
    pattern = re.compile(re.escape(stem) + r"_(\d{12})" + re.escape(SUFFIX) + "$")
    for name in os.listdir(folder):
        match = pattern.match(name)
        if match and int(match.group(1)) >= len(kps):
            os.remove(os.path.join(folder, name))

