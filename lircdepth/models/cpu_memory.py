"""Keep freed CPU memory in the process instead of handing it back to the kernel.

glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh
mmap and unmaps it on free, so each large activation of a 896 x 1600 forward costs
page faults and kernel page zeroing, every run. Measured on the 2-core CI machine, that
made memory-bound layers (depthwise convs, copies) 3-5x slower than their arithmetic.
Raising the mmap and trim thresholds lets the heap reuse the same pages run after run:
the peak resident memory stays reserved, which is what a long-running depth node wants.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_LARGEST_HEAP_BLOCK = 2**30  # bytes; only blocks above this still get their own mmap
_NEVER_TRIM = 2**31 - 1  # mallopt takes an int


def retain_freed_memory() -> bool:
    """Make glibc's malloc keep freed blocks for reuse; False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    trim = mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM)
    mmap = mallopt(_M_MMAP_THRESHOLD, _LARGEST_HEAP_BLOCK)
    return bool(trim and mmap)
