"""The discrete behaviour of each kind of device, as SimPy processes.

A behaviour multiplies the device's load-curve level by a factor that changes at random
instants drawn from the device's own "behaviour" stream: a compressor that cycles, lighting
zones that switch, batch jobs on a server. The factors average about 1, so the daily curve
still sets the mean; the meter samples the factor in force at each reading. Near the rating the
meter's nameplate limit trims the peaks (a compressor cannot draw more than full load), so there
the mean falls a little below the curve.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Protocol

import numpy as np
import simpy

MINUTE = 60.0
HOUR = 3600.0
Process = Generator[simpy.Event, Any, None]


class Modulated(Protocol):
    def modulate(self, now: float, factor: float) -> None: ...


def hvac(env: simpy.Environment, meter: Modulated, rng: np.random.Generator) -> Process:
    """Compressor cycling: 6-12 min at full load, then 3-6 min with only the fans running."""
    while True:
        meter.modulate(env.now, 1.3)
        yield env.timeout(rng.uniform(6 * MINUTE, 12 * MINUTE))
        meter.modulate(env.now, 0.4)
        yield env.timeout(rng.uniform(3 * MINUTE, 6 * MINUTE))


def lighting(env: simpy.Environment, meter: Modulated, rng: np.random.Generator) -> Process:
    """Occupancy sensors switch zones every 5-30 min: the load steps within +-10 %."""
    while True:
        meter.modulate(env.now, rng.uniform(0.9, 1.1))
        yield env.timeout(rng.uniform(5 * MINUTE, 30 * MINUTE))


def server(env: simpy.Environment, meter: Modulated, rng: np.random.Generator) -> Process:
    """Batch jobs every 1-4 h raise the load by 10-25 % for 5-30 min."""
    while True:
        meter.modulate(env.now, 1.0)
        yield env.timeout(rng.uniform(1 * HOUR, 4 * HOUR))
        meter.modulate(env.now, rng.uniform(1.10, 1.25))
        yield env.timeout(rng.uniform(5 * MINUTE, 30 * MINUTE))


def industrial(env: simpy.Environment, meter: Modulated, rng: np.random.Generator) -> Process:
    """Micro-stoppages: the line runs 20-90 min, then idles at 35 % for 2-10 min."""
    while True:
        meter.modulate(env.now, 1.04)
        yield env.timeout(rng.uniform(20 * MINUTE, 90 * MINUTE))
        meter.modulate(env.now, 0.35)
        yield env.timeout(rng.uniform(2 * MINUTE, 10 * MINUTE))


def appliance(env: simpy.Environment, meter: Modulated, rng: np.random.Generator) -> Process:
    """Thermostats of ovens and fryers: heating 3-8 min, holding 1-4 min."""
    while True:
        meter.modulate(env.now, 1.25)
        yield env.timeout(rng.uniform(3 * MINUTE, 8 * MINUTE))
        meter.modulate(env.now, 0.55)
        yield env.timeout(rng.uniform(1 * MINUTE, 4 * MINUTE))


def replay(env: simpy.Environment, meter: Modulated, rng: np.random.Generator) -> Process:
    """None: a recorded history has its own cycles in it (the process ends at once)."""
    return
    yield  # a generator function all the same


Behaviour = Callable[[simpy.Environment, Modulated, np.random.Generator], Process]
"""A kind's behaviour process (`engine.model.kinds.KindSpec.behaviour`)."""
