"""One device's energy meter: its state, and its readings computed in bulk between events.

Discrete things (timeline events, commands, behaviour changes) happen in SimPy; between two of
them the meter's state is constant, so `sample(until)` computes every reading due before `until`
with numpy. Each reading draws a fixed number of values from the device's own streams and energy
is accumulated strictly in order, so results do not depend on where a run is cut into batches:
virtual, accelerated and real-time runs give the same bytes.

Physics per reading: `power = phases * V * I * PF / 1000` (kW, V, A), and `energy` (kWh) is the
integral of power over sim time, each reading's power holding over the interval it closes.
Demand (curve, behaviour, noise) stays below the nameplate (`kinds.nameplate`) unless a command
overrides the power above the rating; a brownout then scales it down for resistive loads.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from engine.model.calendar import SiteCalendar
from engine.model.kinds import KINDS, STANDBY_FRACTION, nameplate
from engine.model.profiles import ProfileCursor
from engine.model.randomness import Uniforms, stream
from engine.model.readings import Chunk, FloatArray, Outbox, Status
from engine.model.specs import DeviceSpec, SiteSpec

_FEW = 4
"""Up to this many readings per call, `sample` computes with Python floats (cheaper than numpy)."""


class Meter:
    """State and sampling of one device; mutated only by the simulation at a sim instant."""

    def __init__(
        self, spec: DeviceSpec, index: int, site: SiteSpec, calendar: SiteCalendar, seed: int, *, stagger: bool = False
    ) -> None:
        self.spec = spec
        self.index = index
        self.nominal_voltage = site.voltage
        self.voltage_exponent = KINDS[spec.kind].voltage_exponent
        self.calendar = calendar
        self._profile = ProfileCursor(spec.profile, calendar.day_type)
        self._power_rng = Uniforms(stream(seed, spec.id, "power"))
        self._voltage_rng = Uniforms(stream(seed, spec.id, "voltage"))
        # Reading slots are anchor + k * interval, so changing the interval re-anchors.
        self.interval = spec.interval
        # Staggered meters read at a seeded offset into each interval, to the millisecond.
        self._anchor = round(float(stream(seed, spec.id, "phase").random()) * spec.interval, 3) if stagger else 0.0
        self._next_k = 0
        self._last_t: float | None = None
        # State that events and commands change.
        self.enabled = True
        self.online = True
        self.comm_losses = 0
        self.outages = 0
        self.stuck = 0
        self.brownouts: list[float] = []
        self.override_kw: float | None = None
        self._frozen: tuple[float, float, float, float] | None = None
        self._last_values: tuple[float, float, float, float] | None = None
        # Behaviour factor change points (sim time, factor), trimmed as readings pass them.
        self._factor_t: list[float] = [0.0]
        self._factor: list[float] = [1.0]
        # What happened, for the run report.
        self.energy = 0.0
        self.energy_offset = 0.0
        self.seq = 0
        self.published = 0
        self.revision = 0
        """Counts changes of this meter's state (events, commands), so views of it can be cached."""
        self.power_sum = 0.0
        self.power_min = math.inf
        self.power_max = -math.inf

    @property
    def next_due(self) -> float:
        """Sim time of the next reading."""
        return self._anchor + self._next_k * self.interval

    @property
    def status(self) -> Status:
        return "online" if self.online and self.comm_losses == 0 else "offline"

    @property
    def overloaded(self) -> bool:
        """A `set_power` above the rating: a scripted overload, drawn as asked (with noise), unlimited."""
        return self.override_kw is not None and self.override_kw > self.spec.rated_kw

    def modulate(self, now: float, factor: float) -> None:
        """The behaviour factor from `now` on (called by the device's behaviour process)."""
        self._factor_t.append(now)
        self._factor.append(factor)

    def start_at(self, t: float) -> None:
        """A meter created at sim time `t`: no readings before it, energy counted from it."""
        self._next_k = max(0, math.ceil((t - self._anchor) / self.interval))
        self._last_t = t

    def respec(self, spec: DeviceSpec) -> None:
        """Another spec of the same device (same id and kind) from now on."""
        if spec.profile != self.spec.profile:
            self._profile = ProfileCursor(spec.profile, self.calendar.day_type)
        interval_changed = spec.interval != self.spec.interval
        self.spec = spec
        if interval_changed:
            self.set_interval(spec.interval)

    def set_interval(self, interval: float) -> None:
        """The next reading stays where it was due; the ones after it come every `interval`."""
        self._anchor = self._anchor + self._next_k * self.interval
        self._next_k = 0
        self.interval = interval

    def freeze(self) -> None:
        """Start a stuck sensor: values stay at the last reading."""
        self.stuck += 1
        if self.stuck == 1:
            self._frozen = self._last_values

    def unfreeze(self) -> None:
        self.stuck = max(0, self.stuck - 1)
        if self.stuck == 0:
            self._frozen = None

    def clear_faults(self, fault: str | None = None) -> None:
        """End faults now: one kind (`outage`, `comm_loss`, `brownout`, `stuck`) or all of them."""
        if fault in (None, "outage"):
            self.outages = 0
        if fault in (None, "comm_loss"):
            self.comm_losses = 0
        if fault in (None, "brownout"):
            self.brownouts.clear()
        if fault in (None, "stuck"):
            self.stuck = 0
            self._frozen = None

    def reset_energy(self) -> None:
        """The reported energy counter restarts at 0 (the true integral goes on, for the report)."""
        self.energy_offset = self.energy

    def _slot_count(self, until: float) -> int:
        anchor, interval = self._anchor, self.interval
        end = max(self._next_k, math.ceil((until - anchor) / interval))
        while end > self._next_k and anchor + (end - 1) * interval >= until:
            end -= 1
        while anchor + end * interval < until:
            end += 1
        return end - self._next_k

    def sample(self, until: float, out: Outbox) -> None:
        """Readings due before `until` under the current state, into `out` if published."""
        n = self._slot_count(until)
        if n <= 0:
            return
        if n <= _FEW:
            self._sample_few(n, out)
            return
        spec = self.spec
        k = np.arange(self._next_k, self._next_k + n, dtype=np.float64)
        t: FloatArray = k * self.interval + self._anchor
        self._next_k += n
        u = self._power_rng.array(2 * n)
        power_noise = u[0::2] + u[1::2] - 1.0
        u = self._voltage_rng.array(2 * n)
        voltage_noise = u[0::2] + u[1::2] - 1.0

        power = self._power_kw(t) * (1.0 + spec.noise * power_noise)
        if not self.overloaded:
            power = nameplate(power, spec.rated_kw)
        sag = math.prod(self.brownouts)
        voltage = self.nominal_voltage * (1.0 + spec.voltage_noise * voltage_noise) * sag
        for _ in range(self.voltage_exponent if sag != 1.0 else 0):  # repeated * rather than libm pow
            power = power * sag
        if self.outages:
            power = np.zeros(n)
            voltage = np.zeros(n)
        current = power * 1000.0 / (spec.phases * np.maximum(voltage, 1e-9) * spec.power_factor)

        dt = np.empty(n)
        dt[0] = t[0] - (self._last_t if self._last_t is not None else t[0])
        np.subtract(t[1:], t[:-1], out=dt[1:])
        energy = np.add.accumulate(np.concatenate(([self.energy], power * dt / 3600.0)))[1:]
        self.energy = float(energy[-1])
        self._last_t = float(t[-1])
        self._trim_factors(self._last_t)

        reported = energy - self.energy_offset
        if self.stuck:
            if self._frozen is None:
                self._frozen = (float(power[0]), float(voltage[0]), float(current[0]), float(reported[0]))
            p, v, c, e = self._frozen
            power, voltage, current, reported = (np.full(n, value) for value in (p, v, c, e))
        self._last_values = (float(power[-1]), float(voltage[-1]), float(current[-1]), float(reported[-1]))
        if self.status == "offline":
            return
        seq = np.arange(self.seq, self.seq + n, dtype=np.int64)
        self.seq += n
        self.published += n
        self.power_sum += float(power.sum())
        self.power_min = min(self.power_min, float(power.min()))
        self.power_max = max(self.power_max, float(power.max()))
        millis = self.interval % 1.0 != 0.0 or self._anchor % 1.0 != 0.0
        out.chunks.append(Chunk(self.index, t, power, voltage, current, reported, seq, self.enabled, millis))

    def _sample_few(self, n: int, out: Outbox) -> None:
        """`sample` for a few readings (real time) with Python floats, bit for bit the same.

        Every value goes through the same operations in the same order as the numpy path, which
        IEEE 754 makes exact; the determinism tests cut runs into odd steps to hold both to it.
        """
        times = [k * self.interval + self._anchor for k in range(self._next_k, self._next_k + n)]
        self._next_k += n
        self._read(times, out)

    def read_now(self, now: float, out: Outbox) -> None:
        """One extra reading at `now`, outside the schedule (the API's `simulate`)."""
        self._read([now], out)

    def _read(self, times: list[float], out: Outbox) -> None:
        """Readings at `times` (ascending, after the last one), with Python floats, as rows."""
        spec = self.spec
        n = len(times)
        u = self._power_rng.values(2 * n)
        w = self._voltage_rng.values(2 * n)
        sag = math.prod(self.brownouts) if self.brownouts else 1.0
        exponent = self.voltage_exponent if sag != 1.0 else 0
        power_factor = spec.power_factor
        limited = not self.overloaded
        energy = self.energy
        previous = self._last_t if self._last_t is not None else times[0]
        values: list[tuple[float, float, float, float]] = []
        for i, t in enumerate(times):
            power = self._power_kw_at(t) * (1.0 + spec.noise * (u[2 * i] + u[2 * i + 1] - 1.0))
            if limited:
                power = nameplate(power, spec.rated_kw)
            voltage = self.nominal_voltage * (1.0 + spec.voltage_noise * (w[2 * i] + w[2 * i + 1] - 1.0)) * sag
            for _ in range(exponent):
                power = power * sag
            if self.outages:
                power = voltage = 0.0
            energy = energy + power * (t - previous) / 3600.0
            previous = t
            current = power * 1000.0 / (spec.phases * max(voltage, 1e-9) * power_factor)
            values.append((power, voltage, current, energy - self.energy_offset))
        self.energy = energy
        self._last_t = times[-1]
        if len(self._factor_t) > 1:
            self._trim_factors(self._last_t)
        if self.stuck:
            if self._frozen is None:
                self._frozen = values[0]
            values = [self._frozen] * n
        self._last_values = values[-1]
        if self.status == "offline":
            return
        enabled, index, seq = self.enabled, self.index, self.seq
        millis = self.interval % 1.0 != 0.0 or self._anchor % 1.0 != 0.0 or times[0] % 1.0 != 0.0
        self.seq += n
        self.published += n
        for t, (power, voltage, current, energy) in zip(times, values, strict=True):
            out.rows.append((t, index, power, voltage, current, energy, seq, enabled, millis))
            seq += 1
        powers = [row[0] for row in values]
        self.power_sum += sum(powers)
        self.power_min = min(self.power_min, *powers)
        self.power_max = max(self.power_max, *powers)

    def _power_kw_at(self, t: float) -> float:
        """`_power_kw` for one instant."""
        spec = self.spec
        if not self.enabled:
            return spec.rated_kw * STANDBY_FRACTION
        if self.override_kw is not None:
            return self.override_kw
        level = self._profile.level_at(self.calendar.local_at(t))
        if len(self._factor) > 1:
            level = level * self._factor[bisect.bisect_right(self._factor_t, t) - 1]
        elif self._factor[0] != 1.0:
            level = level * self._factor[0]
        return spec.rated_kw * level

    def _power_kw(self, t: FloatArray) -> FloatArray:
        """Power before noise: override, standby, or rated x load curve x behaviour factor."""
        spec = self.spec
        if not self.enabled:
            return np.full(len(t), spec.rated_kw * STANDBY_FRACTION)
        if self.override_kw is not None:
            return np.full(len(t), self.override_kw)
        level = self._profile.levels(self.calendar.local(t))
        if len(self._factor) > 1:
            which = np.searchsorted(np.array(self._factor_t), t, side="right") - 1
            level = level * np.array(self._factor)[which]
        elif self._factor[0] != 1.0:
            level = level * self._factor[0]
        return spec.rated_kw * level

    def _trim_factors(self, sampled_to: float) -> None:
        """Forget factor changes older than the one in force at the last sampled reading."""
        keep = bisect.bisect_right(self._factor_t, sampled_to) - 1
        if keep > 0:
            del self._factor_t[:keep]
            del self._factor[:keep]
