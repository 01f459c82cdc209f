"""A one-line progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """`[#########.....]  62%  1,204,000 readings  410,000/s`, redrawn at most 10 times a second.

    100 % is drawn once, by the final update: the simulation reaching its end is not the run's end
    (the writers still flush), and two 100 % lines with different rates would disagree.
    """

    def __init__(self, total: float, stream: TextIO | None = None, *, force: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.enabled = force or self.stream.isatty()
        self.total = total
        self._started = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def update(self, done: float, readings: int, *, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        fraction = min(1.0, done / self.total) if self.total else 1.0
        if not final and (now - self._drawn < 0.1 or fraction >= 1.0):
            return
        self._drawn = now
        filled = int(fraction * 30)
        rate = readings / max(now - self._started, 1e-9)
        line = f"[{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}  {readings:,} readings  {rate:,.0f}/s"
        # Spaces over what is left of a longer previous line (the rate may have fewer digits now).
        padded = line.ljust(self._width)
        self._width = len(line)
        self.stream.write("\r" + padded + ("\n" if final else ""))
        self.stream.flush()
