"""A file run keeps freed batch memory in the heap (glibc's malloc tuned), and says when it cannot."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.skipif(not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"), reason="glibc only")
def test_glibc_takes_the_thresholds_of_a_file_run() -> None:
    # In a process of its own: the tuning is process-wide, and this test session keeps the defaults.
    code = "from engine.runtime.heap import keep_freed_memory; print(keep_freed_memory())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "True"  # mallopt found and both values accepted
