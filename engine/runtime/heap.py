"""Memory for a file run: freed batch arrays kept by the C allocator for the next batch.

A file run builds every batch in fresh arrays of a few megabytes (the merged columns, the sampling's
temporaries, the encoded lines). glibc hands blocks that large to the kernel with `mmap` and gives them
back on `free`, so the next batch faults every page in again and the kernel zeroes it: measured, a third
of the batch merge and a tenth of the simulation of the 1,000-device day. Raising the allocator's mmap
and trim thresholds keeps those blocks in the heap, where the next batch reuses them; the peak stays a
few batches.

Process-wide, so only a process that runs nothing else calls it (the `run` command, a `--jobs` worker);
a live service keeps the defaults (its batches are small, and it returns memory it no longer needs).
"""

from __future__ import annotations

import ctypes
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 256 << 20
"""Blocks up to this size come from the heap (a batch's columns are 8 MB each, its text blocks 3 MB)."""
_TRIM_THRESHOLD = 1 << 30
"""Free memory at the heap's top kept up to this much rather than returned to the kernel."""


def keep_freed_memory() -> bool:
    """Tune glibc's malloc for a file run; False (and nothing changed) with another C library."""
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return False
        libc = ctypes.CDLL(None)  # the process's own symbols: glibc's among them
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
        )
    except (OSError, AttributeError, ValueError):  # no such confstr name, no libc found, no mallopt
        return False
