"""Real-time sampling cost: the Python-float path, as a 1 Hz site samples it tick by tick.

2,000 devices of every kind at a 1 s interval (staggered), advanced in 0.1 s ticks for 120 s of
sim time without a clock (so only the sampling is timed): each tick samples the few devices due,
one reading each, through `Device._read`. Prints microseconds per reading.
"""

from __future__ import annotations

import time

from engine import parse_scenario
from engine.model.readings import ReadingBatch, StatusChange
from engine.simulation import Simulation

KINDS = ("hvac", "lighting", "server", "industrial", "appliance")
SCENARIO = (
    "version: 1\nname: bench-realtime\nstart: 2025-08-04T00:00:00\nseed: 42\nstagger: true\ndevices:\n"
    + "".join(f"  - {{id: dev-{i:04d}, kind: {KINDS[i % 5]}, interval: 1s}}\n" for i in range(2000))
)


class _Count:
    def __init__(self) -> None:
        self.readings = 0

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        self.readings += len(batch)


def main() -> None:
    sink = _Count()
    sim = Simulation(parse_scenario(SCENARIO).plan, sink)
    sim.advance(5.0)  # warm up: caches, first blocks of random values
    before = sink.readings
    started = time.perf_counter()
    for tick in range(51, 1251):
        sim.advance(tick * 0.1)
    elapsed = time.perf_counter() - started
    count = sink.readings - before
    print(f"real-time ticks: {count:,} readings in {elapsed:.2f} s = {elapsed / count * 1e6:.1f} us/reading")


if __name__ == "__main__":
    main()
