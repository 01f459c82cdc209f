"""The register stage: the energy integral and the values the meter shows.

Energy (kWh) integrates power over sim time, each reading's power holding over the interval it
closes, strictly in order, so the result does not depend on how a run is cut into batches. The
shown counter restarts at 0 on a reset while the true integral goes on (for the report). Faults on
this stage: `faults.Stuck` (the shown values freeze at the last reading before it).
"""

from __future__ import annotations

import numpy as np

from engine.model.faults import Fault, Readout, Stuck
from engine.model.randomness import Streams
from engine.model.readings import FloatArray
from engine.model.stage import Stage

Shown = tuple[float, float, float, float]
"""Power, voltage, current and energy as one reading shows them."""


class Register(Stage):
    """Energy of one device, and what its display shows."""

    def __init__(self, streams: Streams) -> None:
        super().__init__(streams)
        self.energy = 0.0
        """The true integral since the start (kWh)."""
        self.energy_offset = 0.0
        self.last_t: float | None = None
        self._frozen: Shown | None = None
        self._last_shown: Shown | None = None

    def start_at(self, t: float) -> None:
        """Energy counted from `t`."""
        self.last_t = t

    def reset(self) -> None:
        """The shown energy restarts at 0."""
        self.energy_offset = self.energy

    def add(self, fault: Fault) -> None:
        """A stuck display shows the last reading's values (the next one's if there was none) until thawed."""
        if isinstance(fault, Stuck) and not self._stuck():
            self._frozen = self._last_shown
        super().add(fault)

    def _changed(self) -> None:
        if not self._stuck():
            self._frozen = None

    def _stuck(self) -> bool:
        return bool(self.faults) and any(isinstance(fault, Stuck) for fault in self.faults)

    def over(
        self, t: FloatArray, power: FloatArray, voltage: FloatArray, current: FloatArray
    ) -> tuple[FloatArray, ...]:
        """Integrate `power` up to each of `t`; the shown power, voltage, current and energy."""
        n = len(t)
        dt = np.empty(n)
        dt[0] = t[0] - (self.last_t if self.last_t is not None else t[0])
        np.subtract(t[1:], t[:-1], out=dt[1:])
        energy = np.add.accumulate(np.concatenate(([self.energy], power * dt / 3600.0)))[1:]
        self.energy = float(energy[-1])
        self.last_t = float(t[-1])
        reported = energy - self.energy_offset
        for fault in self.faults:
            if isinstance(fault, Readout):
                power, current = fault.shown(power, current, self.streams)
        if self._stuck():
            if self._frozen is None:
                self._frozen = (float(power[0]), float(voltage[0]), float(current[0]), float(reported[0]))
            power, voltage, current, reported = (np.full(n, value) for value in self._frozen)
        self._last_shown = (float(power[-1]), float(voltage[-1]), float(current[-1]), float(reported[-1]))
        return power, voltage, current, reported

    def at(self, times: list[float], powers: list[float], voltages: list[float], currents: list[float]) -> list[Shown]:
        """`over` for a few readings, with Python floats."""
        energy = self.energy
        previous = self.last_t if self.last_t is not None else times[0]
        shown: list[Shown] = []
        for t, power, voltage, current in zip(times, powers, voltages, currents, strict=True):
            energy = energy + power * (t - previous) / 3600.0
            previous = t
            shown.append((power, voltage, current, energy - self.energy_offset))
        self.energy = energy
        self.last_t = times[-1]
        if self._stuck():
            if self._frozen is None:
                self._frozen = shown[0]
            shown = [self._frozen] * len(times)
        self._last_shown = shown[-1]
        return shown
