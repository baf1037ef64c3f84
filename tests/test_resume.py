"""Frames kept across re-runs (src/io/resume.py), the mechanism both transfers use."""
import json
import os

from src.io.resume import prepare_output


def make_frames(folder, n, manifest, state=True):
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        open(os.path.join(folder, f"{i:05d}.png"), "wb").write(b"png")
    with open(os.path.join(folder, ".transfer.json"), "w") as f:
        json.dump(manifest, f)
    if state:
        open(os.path.join(folder, ".previous_frame.npz"), "wb").write(b"state")


def test_same_inputs_keep_the_frames_and_drop_those_past_the_new_length(tmp_path):
    out = str(tmp_path / "out")
    make_frames(out, 5, {"labels": "a"})
    os.remove(os.path.join(out, "00002.png"))     # a gap: frames after it are made again
    start = prepare_output(out, {"labels": "a"}, 4, state_files=(".previous_frame.npz",))
    assert start == 2
    assert sorted(os.listdir(out)) == [".previous_frame.npz", ".transfer.json", "00000.png",
                                       "00001.png", "00003.png"]


def test_other_inputs_or_restart_remove_frames_and_state(tmp_path, capsys):
    out = str(tmp_path / "out")
    make_frames(out, 3, {"labels": "a"})
    open(os.path.join(out, ".00003.x1y2.tmp.png"), "wb").write(b"half")   # a killed write
    assert prepare_output(out, {"labels": "b"}, 3, state_files=(".previous_frame.npz",)) == 0
    assert sorted(os.listdir(out)) == [".transfer.json"]
    with open(os.path.join(out, ".transfer.json")) as f:
        assert json.load(f) == {"labels": "b"}
    assert "the 3 frames in" in capsys.readouterr().out
    make_frames(out, 2, {"labels": "b"})
    assert prepare_output(out, {"labels": "b"}, 2, restart=True,
                          state_files=(".previous_frame.npz",)) == 0
    assert sorted(os.listdir(out)) == [".transfer.json"]
