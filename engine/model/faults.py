"""Faults: modifiers on the device stage they affect, active from their start to their end.

A fault is a small value added to one stage's list (`Device.add_fault`) and removed by identity at
its end, so two overlapping faults of one kind nest: the supply stays off until both outages have
ended, and two sags multiply. A stage with no fault takes its plain path; faults are rare, so the
common case costs nothing. A new kind of fault is one class here, on the stage it modifies, plus
the scenario action that starts it (`engine/scenario/actions.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from engine.model.randomness import Streams
from engine.model.readings import BoolArray, FloatArray

StageName = Literal["load", "electrics", "register", "link"]
"""The stages a reading passes: demand, supply and conversion, the metering register, the link out."""


@dataclass(eq=False, slots=True)
class Fault:
    """A fault in force on one stage; compared by identity, so equal faults nest."""

    name: ClassVar[str]
    stage: ClassVar[StageName]
    arrays_only: ClassVar[bool] = False
    """True for a fault written with numpy only: while it is in force, its device samples with numpy
    even one reading at a time (the two forms give the same values, so nothing else changes)."""


@dataclass(eq=False, slots=True)
class Readout(Fault, ABC):
    """A fault on what the register shows (power and current), after the energy was integrated."""

    stage = "register"
    arrays_only = True
    draws: ClassVar[str | None] = None
    """The purpose of the stream it draws from, one uniform per reading: faults of one purpose in force
    together share each reading's draw, so the draws per reading stay fixed however many overlap."""

    @abstractmethod
    def shown(
        self, t: FloatArray, power: FloatArray, current: FloatArray, u: FloatArray | None
    ) -> tuple[FloatArray, FloatArray]:
        """The power and current shown at the instants `t` instead of the measured ones (`u`: the
        readings' draws from its stream, when it `draws`)."""


@dataclass(eq=False, slots=True)
class Outage(Fault):
    """Supply lost: power, voltage and current are 0, energy stays flat; the meter keeps reporting."""

    name = "outage"
    stage = "electrics"


@dataclass(eq=False, slots=True)
class Sag(Fault):
    """A brownout: the voltage times `factor` while it lasts."""

    name = "brownout"
    stage = "electrics"
    factor: float


@dataclass(eq=False, slots=True)
class Stuck(Fault):
    """A stuck sensor: the register shows the values of the last reading before it began."""

    name = "stuck"
    stage = "register"


@dataclass(eq=False, slots=True)
class Spikes(Readout):
    """Transient spikes: each reading's power and current times `factor` with `probability`.

    One draw per reading from the device's own `spikes` stream while any spikes fault lasts, shared
    by overlapping ones (each hits where the draw is below its probability, and their factors
    multiply), so spikes fall on the same readings whatever the batch cuts; voltage and the energy
    integral are untouched.
    """

    name = "spikes"
    draws = "spikes"
    probability: float
    factor: float

    def shown(
        self, t: FloatArray, power: FloatArray, current: FloatArray, u: FloatArray | None
    ) -> tuple[FloatArray, FloatArray]:
        assert u is not None
        hit = u < self.probability
        if not hit.any():
            return power, current
        return np.where(hit, power * self.factor, power), np.where(hit, current * self.factor, current)


@dataclass(eq=False, slots=True)
class Drift(Readout):
    """A drifting meter: shown power and current, and the register's increments, times a gain that grows
    by `per_day` per day since `since` (negative: a meter that under-reads; the gain stops at 0).

    The register keeps the energy it over- or under-counted after the drift ends (`Register`); the
    true integral is untouched. Two drifts multiply, as two sags do.
    """

    name = "drift"
    per_day: float
    since: float
    """Sim time the drift began: its gain is 1 then."""

    def gain(self, t: FloatArray) -> FloatArray:
        """The factor on what the meter shows at the instants `t`."""
        return np.maximum(1.0 + self.per_day * ((t - self.since) / 86400.0), 0.0)

    def shown(
        self, t: FloatArray, power: FloatArray, current: FloatArray, u: FloatArray | None
    ) -> tuple[FloatArray, FloatArray]:
        gain = self.gain(t)
        return power * gain, current * gain


@dataclass(eq=False, slots=True)
class Trip(Fault):
    """The breaker is open (overcurrent): power and current 0, the voltage still present, the meter online.

    Put by a `trip` action, or by the device itself when a reading's line current exceeds its
    `trip_current_a` (`Electrics.breaker`); it lasts until `clear_trip` (or the action's duration).
    """

    name = "trip"
    stage = "electrics"


@dataclass(eq=False, slots=True)
class CommLoss(Fault):
    """The link is down: no reading leaves the meter, which goes on measuring."""

    name = "comm_loss"
    stage = "link"


@dataclass(eq=False, slots=True)
class Duplicate(Fault):
    """Duplicated messages: a reading sent live goes out twice, identical (same `seq`), with `probability`."""

    name = "duplicate"
    stage = "link"
    probability: float


@dataclass(eq=False, slots=True)
class OutOfOrder(Fault):
    """Messages out of order: a reading sent live is held back, with `probability`, for up to `max_delay`
    seconds (uniform in (0, max_delay]); the readings measured meanwhile go out before it."""

    name = "out_of_order"
    stage = "link"
    probability: float
    max_delay: float


# Overlapping faults of one kind act as one (the highest probability, the longest delay), so that each
# reading sent live draws a fixed count from the kind's stream, whatever the batch cuts and the overlaps.
def draw_twice(active: list[Duplicate], n: int, streams: Streams) -> BoolArray:
    """Which of the next `n` readings sent live go out twice: one draw each from the `duplicate` stream."""
    hit: BoolArray = streams.uniforms("duplicate").array(n) < max(fault.probability for fault in active)
    return hit


def draw_delays(active: list[OutOfOrder], n: int, streams: Streams) -> FloatArray:
    """Seconds each of the next `n` readings sent live is held back (0: on time): two draws each from the
    `out_of_order` stream, whether and how long."""
    draws = streams.uniforms("out_of_order").array(2 * n)
    probability, longest = max(fault.probability for fault in active), max(fault.max_delay for fault in active)
    delay: FloatArray = np.where(draws[0::2] < probability, longest * (1.0 - draws[1::2]), 0.0)
    return delay
