"""Virtual time: advance the simulation as fast as the CPU allows, in batches of readings."""

from __future__ import annotations

from collections.abc import Callable

from engine.simulation import Simulation

TARGET_BATCH = 500_000
"""Readings per advance: big enough to amortise numpy calls, small enough to stay in cache."""


def batch_span(sim: Simulation) -> float:
    """Sim seconds per advance so that a batch holds about TARGET_BATCH readings."""
    rate = sum(1.0 / meter.interval for meter in sim.devices)
    return min(6 * 3600.0, max(1.0, TARGET_BATCH / rate)) if rate else 6 * 3600.0


def run_virtual(sim: Simulation, until: float, *, progress: Callable[[float, int], None] | None = None) -> None:
    """Advance `sim` to `until` in batches; `progress(sim_time, readings)` after each one."""
    span = batch_span(sim)
    start = sim.now
    step = 0
    t = start
    while t < until:
        step += 1
        t = min(until, start + step * span)
        sim.advance(t)
        if progress is not None:
            progress(t, sim.readings_emitted)
