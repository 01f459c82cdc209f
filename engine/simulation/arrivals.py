"""Seeded Poisson arrivals: the instants of an event scheduled at a `rate` rather than `at` a time.

The gaps are exponential, drawn by inversion from one stream's uniforms (numpy's `random()`, the
same on every machine), one per arrival, lazily: a run that goes on for ever draws as it goes, and
a run cut short draws only what it reached. Each instant is rounded to the millisecond, as the
report shows it, from the unrounded running sum (so rounding never accumulates).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np


def arrivals(generator: np.random.Generator, rate: float, start: float, until: float | None) -> Iterator[float]:
    """Instants of a Poisson process of `rate` per second in [start, until), ascending; until None: unbounded."""
    t = start
    while True:
        t -= math.log1p(-float(generator.random())) / rate
        at = round(t, 3)
        if until is not None and at >= until:
            return
        yield at
