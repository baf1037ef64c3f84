"""Keeping freed memory in the process: a block freed and allocated again costs no new page faults."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Allocates and fills an 80 MiB tensor, frees it, allocates and fills a 64 MiB one, and prints the
# minor page faults of the second round. 64 MiB is 16384 pages of 4 KiB: fresh memory faults on each.
# (The second block is the smaller one so that it fits in the first whatever lies around it.)
PROBE = """
import json, resource, sys
import torch
from src.device import pick_device
if sys.argv[1] == "cpu":
    pick_device("cpu")
x = torch.ones(20 * 2 ** 20)
del x
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
x = torch.ones(16 * 2 ** 20)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before))
"""


def faults(arg):
    out = subprocess.run([sys.executable, "-c", PROBE, arg], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_cpu_device_reuses_freed_pages():
    # Without the setting glibc maps the block afresh: one fault per page (fewer if the kernel
    # hands out huge pages, still thousands).
    assert faults("none") > 4000
    # pick_device("cpu") keeps the freed block in the heap: the second allocation reuses its pages.
    assert faults("cpu") < 200


def test_keep_freed_memory_is_idempotent():
    from src.cpu_memory import keep_freed_memory
    first = keep_freed_memory()
    assert keep_freed_memory() == first
    assert first == sys.platform.startswith("linux")
