"""Fault injection, short: every stage killed with SIGKILL mid-run and re-run must end exactly as
an uninterrupted run, with no temporary file left (bench/faults.py: 20 random kills per stage)."""
import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Kill points as shares of each stage's file changes in its uninterrupted run (0: at the first
# file it writes). Tied to the work done, not to the clock, so a busy machine moves them nowhere.
FRACTIONS = {"train_body": [0.5], "train_face": [0.5], "transfer": [0.5]}
DEFAULT_FRACTIONS = [0.0, 0.5]


def load_faults():
    spec = importlib.util.spec_from_file_location("faults", os.path.join(ROOT, "bench", "faults.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


faults = load_faults()


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Uninterrupted runs of every stage on small generated data (poses from JSON: fast)."""
    return faults.Faults(str(tmp_path_factory.mktemp("faults")), pose="json", log=lambda _: None)


@pytest.mark.parametrize("stage", faults.STAGES)
def test_killed_stage_reruns_to_the_uninterrupted_result(references, stage):
    fractions = FRACTIONS.get(stage, DEFAULT_FRACTIONS)
    failures = []
    references.log = failures.append
    passed, total, killed = references.run([stage], len(fractions), fractions=fractions,
                                           by="progress")[stage]
    assert passed == total == len(fractions), failures
    # A stage that ends within one look at its folder after the kill point escapes the kill.
    assert killed >= 1, "no trial killed the stage mid-run"


def test_a_difference_or_a_temporary_file_is_caught(references, tmp_path):
    import shutil
    got = tmp_path / "copy"
    shutil.copytree(references.refs["normalization"], got)
    assert faults.differences(str(got), references.refs["normalization"]) == []
    (got / "source" / ".keypoints_norm.k3j.tmp.npz").write_bytes(b"")
    label = got / "source" / "test_label" / "00001.png"
    label.write_bytes(label.read_bytes()[:-20] + bytes(20))
    problems = faults.differences(str(got), references.refs["normalization"])
    assert any("temporary files left" in p for p in problems)
    assert any("00001.png" in p for p in problems)


def test_file_changes_count_writes_replacements_and_removals():
    before = {"a.png": (10, 1), "b.png": (10, 1), "c.tmp": (5, 1)}
    after = {"a.png": (10, 1), "b.png": (12, 2), "d.png": (7, 3)}   # b replaced, c gone, d new
    assert faults.changes_between(before, after) == 3
    assert faults.changes_between(after, after) == 0
