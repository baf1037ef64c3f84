"""Keep freed memory inside the process when the networks run on the CPU.

Every training step (and every generated frame) allocates the same large activations and gradients
again, tens of MB each, and frees them at its end. By default glibc hands blocks that large back to
the system (munmap, and trimming the top of the heap), so the next step gets fresh pages: one page
fault, and the page zeroed, for every 4 KiB it touches. Serving every block from the heap and
never trimming it removes that cost, for somewhat more peak memory (bench/profile_step.py and
bench/bench_transfer.py measure both; figures in docs/benchmarks.md).
"""
import ctypes
import sys

# mallopt parameters, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
_NEVER = 2 ** 31 - 1  # largest value mallopt takes (an int)

_kept = False


def keep_freed_memory():
    """Tell glibc's malloc to keep freed blocks for reuse; True once set, False where not glibc.

    Process-wide and for the rest of the process; calling it again does nothing.
    """
    global _kept
    if _kept or not sys.platform.startswith("linux"):
        return _kept
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # another C library (musl has no libc.so.6)
        return False
    # Blocks of any size come from the heap (no mmap), and the heap's free top is never returned.
    _kept = mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, _NEVER) == 1
    return _kept
