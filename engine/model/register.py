"""The register stage: the energy integral and the values the meter shows.

Energy (kWh) integrates power over sim time, each reading's power holding over the interval it
closes, strictly in order, so the result does not depend on how a run is cut into batches. The
true integral (`energy`, for the report) goes on whatever the register shows; what it shows is

    reported = wrap(energy - energy_offset + energy_error)

- `energy_offset`: `-energy_start_kwh` at the start, the true energy at a reset (the shown counter
  restarts at 0, whatever it started at);
- `energy_error`: what a drift (`faults.Drift`) over- or under-counted; it stays after the drift
  ends, and only a reset clears it;
- `wrap`: modulo the register's size (`register_kwh`), when it has one: a rollover. Such a
  register counts whole units of `RESOLUTION_KWH` (1 Wh, the contract's 3 decimals), as a real
  one does, so what it shows never rounds up to its size.

Faults on this stage: `faults.Stuck` (the shown values freeze at the last reading before it) and
the `faults.Readout` faults (`Spikes`, `Drift`), which change the shown power and current.
"""

from __future__ import annotations

import math

import numpy as np

from engine.model.faults import Drift, Fault, Readout, Stuck
from engine.model.randomness import Streams
from engine.model.readings import FloatArray
from engine.model.specs import DeviceSpec
from engine.model.stage import Stage

RESOLUTION_KWH = 0.001
"""A register that rolls over shows whole Wh: below its size, whatever the rounding of the payload."""

Shown = tuple[float, float, float, float]
"""Power, voltage, current and energy as one reading shows them."""


class Register(Stage):
    """Energy of one device, and what its display shows."""

    def __init__(self, spec: DeviceSpec, streams: Streams) -> None:
        super().__init__(streams)
        self.energy = 0.0
        """The true integral since the start (kWh)."""
        self.energy_offset = 0.0 - spec.energy_start_kwh
        self.energy_error = 0.0
        """Energy a drift added to (or, negative, took from) the register since the last reset (kWh)."""
        self.size = spec.register_kwh
        """The register's size (kWh): what it shows wraps modulo it; None for a register that never rolls over."""
        self.last_t: float | None = None
        self._frozen: Shown | None = None
        self._last_shown: Shown | None = None

    @property
    def energy_reported(self) -> float:
        """What the register shows now (kWh): reset, drift and rollover included."""
        return self._shown_energy(self.energy - self.energy_offset)

    def _shown_energy(self, reported: float) -> float:
        """`energy - energy_offset` as the register shows it: with a drift's error kept, wrapped at its size."""
        if self.energy_error:
            reported = reported + self.energy_error
        if self.size is None:
            return reported
        return math.floor(reported % self.size / RESOLUTION_KWH) * RESOLUTION_KWH

    def start_at(self, t: float) -> None:
        """Energy counted from `t`."""
        self.last_t = t

    def respec(self, spec: DeviceSpec) -> None:
        """A new spec from now on: its register size applies to what is shown next (the start value does not)."""
        self.size = spec.register_kwh

    def reset(self) -> None:
        """The shown energy restarts at 0 (a meter replaced or reset in the field): any drift error is gone."""
        self.energy_offset = self.energy
        self.energy_error = 0.0

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
        drifts = [fault for fault in self.faults if isinstance(fault, Drift)] if self.faults else []
        if drifts:
            reported = reported + self._drift_error(drifts, t, power * dt / 3600.0)
        elif self.energy_error:
            reported = reported + self.energy_error
        draws: dict[str, FloatArray] = {}
        for fault in self.faults:
            if isinstance(fault, Readout):
                u = None
                if fault.draws is not None:
                    u = draws.get(fault.draws)
                    if u is None:
                        u = draws[fault.draws] = self.streams.uniforms(fault.draws).array(n)
                power, current = fault.shown(t, power, current, u)
        if self.size is not None:
            reported = np.floor(np.mod(reported, self.size) / RESOLUTION_KWH) * RESOLUTION_KWH
        if self._stuck():
            if self._frozen is None:
                self._frozen = (float(power[0]), float(voltage[0]), float(current[0]), float(reported[0]))
            power, voltage, current, reported = (np.full(n, value) for value in self._frozen)
        self._last_shown = (float(power[-1]), float(voltage[-1]), float(current[-1]), float(reported[-1]))
        return power, voltage, current, reported

    def _drift_error(self, drifts: list[Drift], t: FloatArray, increments: FloatArray) -> FloatArray:
        """The register's error at each of `t`: every increment times (gain - 1), accumulated in order."""
        gain = drifts[0].gain(t)
        for drift in drifts[1:]:
            gain = gain * drift.gain(t)
        error = np.add.accumulate(np.concatenate(([self.energy_error], increments * (gain - 1.0))))[1:]
        self.energy_error = float(error[-1])
        return error

    def at(self, times: list[float], powers: list[float], voltages: list[float], currents: list[float]) -> list[Shown]:
        """`over` for a few readings, with Python floats (no drift: `Drift` samples with numpy)."""
        energy = self.energy
        previous = self.last_t if self.last_t is not None else times[0]
        offset = self.energy_offset
        shown: list[Shown] = []
        for t, power, voltage, current in zip(times, powers, voltages, currents, strict=True):
            energy = energy + power * (t - previous) / 3600.0
            previous = t
            shown.append((power, voltage, current, energy - offset))
        if self.energy_error or self.size is not None:  # rare: a drift's error kept, a register that rolls over
            shown = [
                (power, voltage, current, self._shown_energy(reported)) for power, voltage, current, reported in shown
            ]
        self.energy = energy
        self.last_t = times[-1]
        if self._stuck():
            if self._frozen is None:
                self._frozen = shown[0]
            shown = [self._frozen] * len(times)
        self._last_shown = shown[-1]
        return shown
