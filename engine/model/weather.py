"""The site's outdoor temperature, and how much of its capacity an HVAC unit needs for it.

Either a table of temperatures (a CSV file's rows: `engine.scenario.weather_csv`), linear between
rows, or a seeded synthetic climate: a yearly cosine (coldest in mid-January), a daily cosine (warmest at
15:00 local), and a smooth anomaly, the sum of three sinusoids whose periods (2-12 days),
amplitudes (0.5-2 C) and phases come from the "weather" stream of the run's seed: warm spells
and cold snaps. The temperature is computed with `math` at each local hour and linear between
hours (only +, -, * and / there), so it is a pure function of sim time and seed: the same for any
batch cut, and bit-identical in the numpy and the Python-float path.

An HVAC unit works to hold its `setpoint_c`: inside the deadband (`setpoint_c +- deadband_c / 2`)
only its fans run (`VENTILATION` of its load); beyond it, cooling above or heating below, the
load grows linearly with the gap and reaches full load `DESIGN_GAP_C` outside the deadband (and
more, up to `MAX_LOAD`, on an extreme day; the nameplate trims it). Occupancy (the profile) and
compressor cycling (the behaviour) multiply this.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from engine.model.profiles import DAY, FloatArray, interpolate, interpolate_at
from engine.model.randomness import stream
from engine.model.specs import WeatherSpec

HOUR = 3600.0
YEAR_DAYS = 365.2425
COLDEST_DAY = 15.0
"""Day of the year (from 1 January) of the lowest seasonal temperature."""
WARMEST_HOUR = 15.0
VENTILATION = 0.25
"""The load of an HVAC unit inside its deadband: fans and controls, no heating or cooling."""
DESIGN_GAP_C = 10.0
"""Degrees beyond the deadband at which the unit needs its full load."""
MAX_LOAD = 1.5


@dataclass(frozen=True, slots=True)
class Climate:
    """A site's weather with its seeded anomaly: (period days, amplitude C, phase) per sinusoid."""

    spec: WeatherSpec
    anomaly: tuple[tuple[float, float, float], ...]

    @classmethod
    def of(cls, spec: WeatherSpec, seed: int) -> Climate:
        draws = stream(seed, "", "weather").random(9).tolist()
        anomaly = tuple(
            (2.0 + 10.0 * draws[3 * i], 0.5 + 1.5 * draws[3 * i + 1], 2.0 * math.pi * draws[3 * i + 2])
            for i in range(3)
        )
        return cls(spec, anomaly)

    def at_hour(self, hour: int) -> float:
        """The temperature (C) at a whole local hour (hours since the local 1970 epoch)."""
        spec = self.spec
        day = hour / 24.0
        season = -spec.seasonal_swing_c * math.cos(2.0 * math.pi * (day - COLDEST_DAY) / YEAR_DAYS)
        daily = spec.daily_swing_c * math.cos(2.0 * math.pi * (hour % 24 - WARMEST_HOUR) / 24.0)
        anomaly = sum(
            amplitude * math.sin(2.0 * math.pi * day / period + phase) for period, amplitude, phase in self.anomaly
        )
        return spec.mean_c + season + daily + anomaly


class TemperatureCursor:
    """Temperatures along increasing local times, reusing the hourly points of a span of days."""

    def __init__(self, climate: Climate) -> None:
        self.climate = climate
        self._first = self._last = 0
        self._xs: FloatArray = np.empty(0)
        self._ys: FloatArray = np.empty(0)
        self._x_list: list[float] = []
        self._y_list: list[float] = []

    def _cover(self, start: int, end: int) -> None:
        if self.climate.spec.table:
            if not self._x_list:
                self._xs, self._ys, self._x_list, self._y_list = _table(self.climate.spec.table)
            return
        if not self._x_list or start <= self._first or end >= self._last:
            self._first, self._last = start - 1, max(end, start + 7) + 1
            self._xs, self._ys, self._x_list, self._y_list = _hourly(self.climate, self._first, self._last)

    def temperatures(self, local: FloatArray) -> FloatArray:
        """Outdoor temperature (C) at `local` (seconds since the local 1970 epoch, ascending)."""
        self._cover(int(local[0] // DAY), int(local[-1] // DAY))
        return interpolate(local, self._xs, self._ys)

    def temperature_at(self, local: float) -> float:
        """`temperatures` for one instant, with the same arithmetic in Python floats."""
        day = int(local // DAY)
        self._cover(day, day)
        return interpolate_at(local, self._x_list, self._y_list)


@functools.lru_cache(maxsize=256)
def _hourly(climate: Climate, first: int, last: int) -> tuple[FloatArray, FloatArray, list[float], list[float]]:
    """Hourly points of local days `first` to `last`, shared by every HVAC unit of the site (read only)."""
    hours = range(first * 24, (last + 1) * 24 + 1)
    xs = [hour * HOUR for hour in hours]
    ys = [climate.at_hour(hour) for hour in hours]
    return np.array(xs), np.array(ys), xs, ys


@functools.lru_cache(maxsize=8)
def _table(table: tuple[tuple[float, float], ...]) -> tuple[FloatArray, FloatArray, list[float], list[float]]:
    """A CSV's points, held flat a century before and after them (read only, shared)."""
    xs = [table[0][0] - 100 * YEAR_DAYS * DAY, *(x for x, _ in table), table[-1][0] + 100 * YEAR_DAYS * DAY]
    ys = [table[0][1], *(y for _, y in table), table[-1][1]]
    return np.array(xs), np.array(ys), xs, ys


def thermal_load(temperature: FloatArray, setpoint_c: float, deadband_c: float) -> FloatArray:
    """The fraction of its load an HVAC unit needs at these outdoor temperatures (see the module doc)."""
    half = deadband_c / 2.0
    gap = np.maximum(temperature - (setpoint_c + half), 0.0) + np.maximum((setpoint_c - half) - temperature, 0.0)
    return VENTILATION + (1.0 - VENTILATION) * np.minimum(gap / DESIGN_GAP_C, MAX_LOAD)


def thermal_load_at(temperature: float, setpoint_c: float, deadband_c: float) -> float:
    """`thermal_load` for one temperature, with the same arithmetic."""
    half = deadband_c / 2.0
    gap = max(temperature - (setpoint_c + half), 0.0) + max((setpoint_c - half) - temperature, 0.0)
    return VENTILATION + (1.0 - VENTILATION) * min(gap / DESIGN_GAP_C, MAX_LOAD)
