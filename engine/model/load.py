"""The load stage: what a device draws, before the supply and the meter have their say.

Demand is the rated power times the load curve times the behaviour factor (or an override, or
standby when switched off), times the power noise, and stays under the nameplate unless an
override asks for more (`kinds.nameplate`). `over` computes many readings with numpy, `at` a few
with Python floats (cheaper for the one reading per tick of real time); both do the same
operations in the same order, which IEEE 754 makes bit-identical, and the determinism tests hold
them to it.
"""

from __future__ import annotations

import bisect

import numpy as np

from engine.model.calendar import SiteCalendar
from engine.model.kinds import STANDBY_FRACTION, nameplate
from engine.model.profiles import ProfileCursor
from engine.model.randomness import Streams
from engine.model.readings import FloatArray
from engine.model.specs import DeviceSpec
from engine.model.stage import Stage


class Load(Stage):
    """Demand of one device: load curve, behaviour, override, on/off, and its noise."""

    def __init__(self, spec: DeviceSpec, calendar: SiteCalendar, streams: Streams) -> None:
        super().__init__(streams)
        self.spec = spec
        self.calendar = calendar
        self._profile = ProfileCursor(spec.profile, calendar.day_type)
        self._rng = streams.uniforms("power")
        self.enabled = True
        self.override_kw: float | None = None
        # Behaviour factor change points (sim time, factor), trimmed as readings pass them.
        self._factor_t: list[float] = [0.0]
        self._factor: list[float] = [1.0]

    @property
    def overloaded(self) -> bool:
        """A `set_power` above the rating: a scripted overload, drawn as asked (with noise), unlimited."""
        return self.override_kw is not None and self.override_kw > self.spec.rated_kw

    def respec(self, spec: DeviceSpec) -> None:
        if spec.profile != self.spec.profile:
            self._profile = ProfileCursor(spec.profile, self.calendar.day_type)
        self.spec = spec

    def modulate(self, now: float, factor: float) -> None:
        """The behaviour factor from `now` on (called by the device's behaviour process)."""
        self._factor_t.append(now)
        self._factor.append(factor)

    def over(self, t: FloatArray) -> FloatArray:
        """Demand (kW) at the instants `t`, noise and nameplate included."""
        spec = self.spec
        u = self._rng.array(2 * len(t))
        power = self._level_kw(t) * (1.0 + spec.noise * (u[0::2] + u[1::2] - 1.0))
        if not self.overloaded:
            power = nameplate(power, spec.rated_kw)
        self._trim_factors(float(t[-1]))
        return power

    def at(self, times: list[float]) -> list[float]:
        """`over` for a few instants, with Python floats."""
        spec = self.spec
        noise, rated = spec.noise, spec.rated_kw
        u = self._rng.values(2 * len(times))
        level = self._level_kw_at
        limited = not self.overloaded
        powers = []  # loops, not comprehensions: Python 3.11 makes a function object per comprehension
        i = 0
        for t in times:
            power = level(t) * (1.0 + noise * (u[i] + u[i + 1] - 1.0))
            powers.append(nameplate(power, rated) if limited else power)
            i += 2
        if len(self._factor_t) > 1:
            self._trim_factors(times[-1])
        return powers

    def _level_kw(self, t: FloatArray) -> FloatArray:
        """Power before noise: standby, override, or rated x load curve x behaviour factor."""
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

    def _level_kw_at(self, t: float) -> float:
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

    def _trim_factors(self, sampled_to: float) -> None:
        """Forget factor changes older than the one in force at the last sampled reading."""
        keep = bisect.bisect_right(self._factor_t, sampled_to) - 1
        if keep > 0:
            del self._factor_t[:keep]
            del self._factor[:keep]
