"""The electrics stage: supply voltage (noise, sags, outages) and `P = phases * V * I * PF`.

A sag scales the voltage; resistive loads (voltage exponent 2) then draw less power, regulated
ones draw the same power at a higher current. An outage zeroes power, voltage and current; an
open breaker (`faults.Trip`) zeroes power and current, the voltage still there. A device with a
`trip_current_a` trips its breaker itself (`breaker`): at the first reading whose line current
exceeds it, so a brownout can trip a regulated load. Faults on this stage: `faults.Sag`,
`faults.Outage` and `faults.Trip`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.model.faults import Outage, Sag, Trip
from engine.model.kinds import KINDS
from engine.model.randomness import Streams
from engine.model.readings import FloatArray
from engine.model.specs import DeviceSpec, SiteSpec
from engine.model.stage import Stage

Values = tuple[FloatArray, FloatArray, FloatArray]
Recorded = tuple[FloatArray | None, FloatArray | None]
"""A replay's recorded voltage (V) and power factor per reading, None for what its file does not give."""


class Electrics(Stage):
    """Voltage and current of one device's supply, given the power it draws."""

    def __init__(self, spec: DeviceSpec, site: SiteSpec, streams: Streams) -> None:
        super().__init__(streams)
        self.nominal_voltage = site.voltage
        self.voltage_exponent = KINDS[spec.kind].voltage_exponent
        self._rng = streams.uniforms("voltage")

    def _sag(self) -> float:
        return math.prod(fault.factor for fault in self.faults if isinstance(fault, Sag)) if self.faults else 1.0

    def _dead(self) -> bool:
        return any(isinstance(fault, Outage) for fault in self.faults)

    def _open(self) -> bool:
        return any(isinstance(fault, Trip) for fault in self.faults)

    def over(self, spec: DeviceSpec, power: FloatArray, recorded: Recorded | None = None) -> Values:
        """Power (after a sag), voltage and current for the demands `power`.

        `recorded`: a replay's voltage and power factor per reading, where its file gives them (then
        the voltage has no noise of its own: the recording's is in it)."""
        n = len(power)
        u = self._rng.array(2 * n)
        sag = self._sag()
        supply, factor = recorded if recorded is not None else (None, None)
        if supply is None:
            voltage = self.nominal_voltage * (1.0 + spec.voltage_noise * (u[0::2] + u[1::2] - 1.0)) * sag
        else:
            voltage = supply * sag
        for _ in range(self.voltage_exponent if sag != 1.0 else 0):  # repeated * rather than libm pow
            power = power * sag
        if self.faults:
            if self._dead():
                power = np.zeros(n)
                voltage = np.zeros(n)
            elif self._open():
                power = np.zeros(n)
        pf = spec.power_factor if factor is None else factor
        current = power * 1000.0 / (spec.phases * np.maximum(voltage, 1e-9) * pf)
        return power, voltage, current

    def at(self, spec: DeviceSpec, powers: list[float]) -> tuple[list[float], list[float], list[float]]:
        """`over` for a few readings, with Python floats."""
        w = self._rng.values(2 * len(powers))
        nominal, noise, phases, factor = self.nominal_voltage, spec.voltage_noise, spec.phases, spec.power_factor
        sag, exponent, dead, off = 1.0, 0, False, False
        if self.faults:  # rare: a sag, an outage or a trip
            sag = self._sag()
            exponent = self.voltage_exponent if sag != 1.0 else 0
            dead = self._dead()
            off = self._open()
        out_power, out_voltage, out_current = [], [], []  # loops: see Load.at
        i = 0
        for power in powers:
            voltage = nominal * (1.0 + noise * (w[i] + w[i + 1] - 1.0))
            i += 2
            if sag != 1.0:
                voltage = voltage * sag
                for _ in range(exponent):
                    power = power * sag
            if dead:
                power = voltage = 0.0
            elif off:
                power = 0.0
            out_power.append(power)
            out_voltage.append(voltage)
            out_current.append(power * 1000.0 / (phases * max(voltage, 1e-9) * factor))
        return out_power, out_voltage, out_current

    def breaker(
        self, limit: float, power: FloatArray, current: FloatArray, surge: FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray, tuple[int, float] | None]:
        """Power and current after a breaker at `limit` amps: from the first reading whose current exceeds
        it on, 0. Returns that reading's index and current too (None when it holds): the caller puts
        the `Trip` in force, for the readings after these. During a motor start the limit is `surge`
        times higher (a breaker's time-current curve rides through an inrush)."""
        over = current > (limit if surge is None else limit * surge)
        if not over.any():
            return power, current, None
        first = int(np.argmax(over))
        tripped = float(current[first])
        power, current = power.copy(), current.copy()
        power[first:] = 0.0
        current[first:] = 0.0
        return power, current, (first, tripped)

    def breaker_at(
        self, limit: float, powers: list[float], currents: list[float], surge: list[float] | None = None
    ) -> tuple[int, float] | None:
        """`breaker` for a few readings, with Python floats: the lists are changed in place."""
        for first, current in enumerate(currents):
            if current > (limit if surge is None else limit * surge[first]):
                for i in range(first, len(currents)):
                    powers[i] = currents[i] = 0.0
                return first, current
        return None
