"""The load stage: what a device draws, before the supply and the meter have their say.

Demand is the rated power times the load curve times the behaviour factor (times the weather's
for HVAC on a site with `weather:`), or for a replay device its history's power
(`engine.model.history`), or an override, or standby when switched off; times the power
noise (`engine.model.noise`: a slow Ornstein-Uhlenbeck wander), and stays under the nameplate
unless an override asks for more (`kinds.nameplate`). A motor start (`start_motor`: the run's
start or the device's creation, the end of an outage, an enable) adds its inrush on top, beyond
the nameplate: a reading at t is the mean over (t - interval, t], so it shows the part of the
inrush inside that window. `over` computes many readings with numpy, `at` a few with Python
floats (cheaper for the one reading per tick of real time); both do the same operations in the
same order, which IEEE 754 makes bit-identical, and the determinism tests hold them to it.
"""

from __future__ import annotations

import bisect

import numpy as np

from engine.model.behaviours import Stepper
from engine.model.calendar import SiteCalendar
from engine.model.history import Playback
from engine.model.kinds import KINDS, STANDBY_FRACTION, nameplate
from engine.model.noise import Wander
from engine.model.profiles import ProfileCursor
from engine.model.randomness import Streams
from engine.model.readings import FloatArray
from engine.model.specs import DeviceSpec
from engine.model.stage import Stage
from engine.model.weather import Climate, TemperatureCursor, thermal_load, thermal_load_at


class Load(Stage):
    """Demand of one device: load curve, behaviour, override, on/off, and its noise."""

    def __init__(
        self,
        spec: DeviceSpec,
        calendar: SiteCalendar,
        streams: Streams,
        climate: Climate | None = None,
        playback: Playback | None = None,
    ) -> None:
        super().__init__(streams)
        self.spec = spec
        self.calendar = calendar
        self.playback = playback
        """A `replay` device's history, which replaces the load curve; it has only the numpy form (`over`)."""
        self._profile = ProfileCursor(spec.profile, calendar.day_type)
        self._rng = streams.uniforms("power")
        self._noise = Wander(KINDS[spec.kind].noise_tau)
        self._weather = TemperatureCursor(climate) if climate is not None and spec.kind == "hvac" else None
        self._starts: list[float] = [0.0]
        self._last_read: float | None = None
        """The time of the last reading: the window of the next one opens there (after `set_interval`,
        an extra reading, its gap is not the interval)."""
        """Motor starts whose inrush may still show in a reading (sim times)."""
        self.enabled = True
        self.override_kw: float | None = None
        self.surge: FloatArray | list[float] | None = None
        """The inrush multiplier of each reading last computed (None: no start in them): a breaker rides
        through a motor start, so `trip_current_a` applies to the steady current."""
        # Behaviour factor change points (sim time, factor), trimmed as readings pass them.
        self._factor_t: list[float] = [0.0]
        self._factor: list[float] = [1.0]
        self.behaviour: Stepper | None = None
        """The behaviour that modulates it, run up to each reading before it is computed (the simulation's)."""

    @property
    def overloaded(self) -> bool:
        """A `set_power` above the rating: a scripted overload, drawn as asked (with noise), unlimited."""
        return self.override_kw is not None and self.override_kw > self.spec.rated_kw

    def respec(self, spec: DeviceSpec) -> None:
        if spec.profile != self.spec.profile:
            self._profile = ProfileCursor(spec.profile, self.calendar.day_type)
        self.spec = spec

    def start_motor(self, now: float) -> None:
        """The motor starts at `now` (power on, enable): its inrush, if the device has one, begins."""
        self._starts.append(now)

    def started_at(self, now: float) -> None:
        """A device created at `now`: its only start so far is then."""
        self._starts = [now]

    def modulate(self, now: float, factor: float) -> None:
        """The behaviour factor from `now` on (called by the device's behaviour process)."""
        self._factor_t.append(now)
        self._factor.append(factor)

    def over(self, t: FloatArray, interval: float) -> FloatArray:
        """Demand (kW) at the instants `t` of readings `interval` apart: noise, nameplate and inrush included."""
        spec = self.spec
        if self.behaviour is not None:
            self.behaviour.run_to(float(t[-1]))
        u = self._rng.array(2 * len(t))
        z = self._noise.over(t, u, interval)
        power = self._level_kw(t) * np.maximum(1.0 + spec.noise * z, 0.0)  # a wander never draws below 0
        if not self.overloaded:
            # A history plays as recorded up to its rating (its peak): only its noise can reach it.
            power = nameplate(power, spec.rated_kw) if self.playback is None else np.minimum(power, spec.rated_kw)
        self.surge = None
        if self._starts and spec.inrush is not None and self.enabled:
            self.surge = self._inrush(t, interval)
            power = power * self.surge
        self._trim(float(t[-1]), interval)
        self._last_read = float(t[-1])
        return power

    def at(self, times: list[float], interval: float) -> list[float]:
        """`over` for a few instants, with Python floats."""
        spec = self.spec
        if self.behaviour is not None:
            self.behaviour.run_to(times[-1])
        noise, rated = spec.noise, spec.rated_kw
        zs = self._noise.at(times, self._rng.values(2 * len(times)), interval)
        level = self._level_kw_at
        limited = not self.overloaded
        inrush = self._inrush_at if self._starts and spec.inrush is not None and self.enabled else None
        powers = []  # loops, not comprehensions: Python 3.11 makes a function object per comprehension
        for t, z in zip(times, zs, strict=True):
            factor = 1.0 + noise * z
            power = level(t) * (factor if factor > 0.0 else 0.0)  # as np.maximum(factor, 0.0)
            powers.append(nameplate(power, rated) if limited else power)
        self.surge = None
        if inrush is not None:  # rare: in the seconds after a start
            surge = self.surge = []
            for i, t in enumerate(times):
                gain = inrush(t, self._window(t, interval) if i == 0 else interval)
                surge.append(gain)
                powers[i] = powers[i] * gain
        if len(self._factor_t) > 1 or self._starts:
            self._trim(times[-1], interval)
        self._last_read = times[-1]
        return powers

    def _inrush(self, t: FloatArray, interval: float) -> FloatArray:
        """1 + (factor - 1) x the fraction of each reading's window (t - interval, t] inside a start's inrush."""
        assert self.spec.inrush is not None
        extra, duration = self.spec.inrush.factor - 1.0, self.spec.inrush.duration
        multiplier = np.ones(len(t))
        width: FloatArray | float = interval
        opened = t - interval
        first = self._window(float(t[0]), interval)
        if first != interval:  # the first reading closes a longer or shorter gap
            opened[0] = float(t[0]) - first
            width = np.full(len(t), interval)
            width[0] = first
        for start in self._starts:
            overlap = np.maximum(np.minimum(t, start + duration) - np.maximum(opened, start), 0.0)
            multiplier = multiplier + extra * (overlap / width)
        return multiplier

    def _window(self, t: float, interval: float) -> float:
        """The span a reading at `t` averages: since the last reading, which is `interval` but for the
        first reading after a change of interval or an extra reading (then exactly that gap)."""
        if self._last_read is None or abs((t - self._last_read) - interval) <= 1e-6:
            return interval
        return t - self._last_read

    def _inrush_at(self, t: float, width: float) -> float:
        """`_inrush` for one reading, averaging the `width` seconds before it."""
        assert self.spec.inrush is not None
        extra, duration = self.spec.inrush.factor - 1.0, self.spec.inrush.duration
        multiplier = 1.0
        opened = t - width
        for start in self._starts:
            overlap = max(min(t, start + duration) - max(opened, start), 0.0)
            multiplier = multiplier + extra * (overlap / width)
        return multiplier

    def _level_kw(self, t: FloatArray) -> FloatArray:
        """Power before noise: standby, override, or rated x load curve x behaviour factor."""
        spec = self.spec
        if not self.enabled:
            return np.full(len(t), spec.rated_kw * STANDBY_FRACTION)
        if self.override_kw is not None:
            return np.full(len(t), self.override_kw)
        if self.playback is not None:
            return self.playback.power(t)
        local = self.calendar.local(t)
        level = self._profile.levels(local)
        if self._weather is not None:
            level = level * thermal_load(self._weather.temperatures(local), spec.setpoint_c, spec.deadband_c)
        if len(self._factor) > 1:
            which = np.searchsorted(np.array(self._factor_t), t, side="right") - 1
            level = level * np.array(self._factor)[which]
        elif self._factor[0] != 1.0:
            level = level * self._factor[0]
        return spec.rated_kw * level

    def _level_kw_at(self, t: float) -> float:
        spec = self.spec
        assert self.playback is None, "a replay device samples with numpy only (Device._numpy_only)"
        if not self.enabled:
            return spec.rated_kw * STANDBY_FRACTION
        if self.override_kw is not None:
            return self.override_kw
        local = self.calendar.local_at(t)
        level = self._profile.level_at(local)
        if self._weather is not None:
            level = level * thermal_load_at(self._weather.temperature_at(local), spec.setpoint_c, spec.deadband_c)
        if len(self._factor) > 1:
            level = level * self._factor[bisect.bisect_right(self._factor_t, t) - 1]
        elif self._factor[0] != 1.0:
            level = level * self._factor[0]
        return spec.rated_kw * level

    def _trim(self, sampled_to: float, interval: float) -> None:
        """Forget factor changes older than the one in force at the last sampled reading, and the starts
        whose inrush ended before the window of the next reading opens (they add exactly 0 to it)."""
        keep = bisect.bisect_right(self._factor_t, sampled_to) - 1
        if keep > 0:
            del self._factor_t[:keep]
            del self._factor[:keep]
        if self._starts:
            duration = self.spec.inrush.duration if self.spec.inrush is not None else 0.0
            opens = sampled_to - interval
            self._starts = [start for start in self._starts if start + duration > opens]
