"""The discrete behaviour of each kind of device, as processes written in SimPy's style.

A behaviour multiplies the device's load-curve level by a factor that changes at random
instants drawn from the device's own "behaviour" stream: a compressor that cycles, lighting
zones that switch, batch jobs on a server. The factors average about 1, so the daily curve
still sets the mean; the meter samples the factor in force at each reading. Near the rating the
meter's nameplate limit trims the peaks (a compressor cannot draw more than full load), so there
the mean falls a little below the curve.

A behaviour touches nothing but its own device's factor, so no SimPy event needs to wake it: a
`Stepper` runs it lazily, when the device samples readings, up to the last of them, each step at the
instant SimPy would have woken it (`now + delay`, computed as SimPy does). The factors are the same;
the 144,000 SimPy events a day of a 1,000-device site (profiled: a sixth of a file run's
simulation) are not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Protocol

MINUTE = 60.0
HOUR = 3600.0
Process = Generator[float, None, None]
"""A behaviour's steps: it yields `time.timeout(delay)`, and runs on at `now + delay`."""


class Draws(Protocol):
    """A behaviour's random stream (`engine.model.randomness.Uniforms`)."""

    def uniform(self, low: float, high: float) -> float: ...


class Modulated(Protocol):
    def modulate(self, now: float, factor: float) -> None: ...


class Time(Protocol):
    """What a behaviour sees of time, as of a SimPy environment: `now`, and a `timeout` to yield."""

    @property
    def now(self) -> float: ...

    def timeout(self, delay: float) -> float: ...


class Stepper:
    """One device's behaviour, run to an instant when the device samples up to it (`run_to`)."""

    def __init__(self, start: float, steps: Callable[[Time], Process]) -> None:
        self.now = start
        self.due = start
        """When the behaviour runs next (inf once it returned)."""
        self._steps = steps(self)

    def timeout(self, delay: float) -> float:
        return delay

    def run_to(self, t: float) -> None:
        """Every step due at or before `t`: the factor in force at a reading at `t` includes a change at `t`."""
        while self.due <= t:
            self.now = self.due
            try:
                delay = next(self._steps)
            except StopIteration:
                self.due = math.inf
                return
            self.due = self.now + delay

    def stop(self) -> None:
        """The device is gone: no more steps."""
        self.due = math.inf
        self._steps.close()


def hvac(env: Time, meter: Modulated, rng: Draws) -> Process:
    """Compressor cycling: 6-12 min at full load, then 3-6 min with only the fans running."""
    while True:
        meter.modulate(env.now, 1.3)
        yield env.timeout(rng.uniform(6 * MINUTE, 12 * MINUTE))
        meter.modulate(env.now, 0.4)
        yield env.timeout(rng.uniform(3 * MINUTE, 6 * MINUTE))


def lighting(env: Time, meter: Modulated, rng: Draws) -> Process:
    """Occupancy sensors switch zones every 5-30 min: the load steps within +-10 %."""
    while True:
        meter.modulate(env.now, rng.uniform(0.9, 1.1))
        yield env.timeout(rng.uniform(5 * MINUTE, 30 * MINUTE))


def server(env: Time, meter: Modulated, rng: Draws) -> Process:
    """Batch jobs every 1-4 h raise the load by 10-25 % for 5-30 min."""
    while True:
        meter.modulate(env.now, 1.0)
        yield env.timeout(rng.uniform(1 * HOUR, 4 * HOUR))
        meter.modulate(env.now, rng.uniform(1.10, 1.25))
        yield env.timeout(rng.uniform(5 * MINUTE, 30 * MINUTE))


def industrial(env: Time, meter: Modulated, rng: Draws) -> Process:
    """Micro-stoppages: the line runs 20-90 min, then idles at 35 % for 2-10 min."""
    while True:
        meter.modulate(env.now, 1.04)
        yield env.timeout(rng.uniform(20 * MINUTE, 90 * MINUTE))
        meter.modulate(env.now, 0.35)
        yield env.timeout(rng.uniform(2 * MINUTE, 10 * MINUTE))


def appliance(env: Time, meter: Modulated, rng: Draws) -> Process:
    """Thermostats of ovens and fryers: heating 3-8 min, holding 1-4 min."""
    while True:
        meter.modulate(env.now, 1.25)
        yield env.timeout(rng.uniform(3 * MINUTE, 8 * MINUTE))
        meter.modulate(env.now, 0.55)
        yield env.timeout(rng.uniform(1 * MINUTE, 4 * MINUTE))


def replay(env: Time, meter: Modulated, rng: Draws) -> Process:
    """None: a recorded history has its own cycles in it (the process ends at once)."""
    return
    yield  # a generator function all the same


Behaviour = Callable[[Time, Modulated, Draws], Process]
"""A kind's behaviour process (`engine.model.kinds.KindSpec.behaviour`)."""
