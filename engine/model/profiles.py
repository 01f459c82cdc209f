"""Daily load curves: what fraction of its rated power a device draws at each local time of day.

The built-in curves follow published building schedules (the ASHRAE 90.1 / US DOE reference
building schedules for offices, plus common shift and catering patterns), so a device needs no
curve of its own. Curves are piecewise linear between their points, continuous across midnight
(the last point of a day leads to the first point of the next day, whatever kind of day it is).
Only +, -, * and / are used, so values are bit-identical on every machine.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
DAY = 86400.0
WEEKDAY, SATURDAY, SUNDAY = 0, 1, 2


@dataclass(frozen=True, slots=True)
class DailyCurve:
    """Points (seconds after local midnight, fraction of rated power) of one kind of day."""

    seconds: tuple[float, ...]
    levels: tuple[float, ...]

    @classmethod
    def parse(cls, curve: Sequence[float] | Mapping[str, float]) -> DailyCurve:
        """From 24 hourly values, or from {'HH:MM': level} points."""
        if isinstance(curve, Mapping):
            points = sorted((int(k[:2]) * 3600.0 + int(k[3:5]) * 60.0, float(v)) for k, v in curve.items())
            return cls(tuple(p[0] for p in points), tuple(p[1] for p in points))
        return cls(tuple(h * 3600.0 for h in range(len(curve))), tuple(float(v) for v in curve))


@dataclass(frozen=True, slots=True)
class DailyProfile:
    """A curve for weekdays, saturdays and sundays (holidays count as sundays)."""

    name: str
    weekday: DailyCurve
    saturday: DailyCurve
    sunday: DailyCurve

    def curve(self, day_type: int) -> DailyCurve:
        return (self.weekday, self.saturday, self.sunday)[day_type]

    def points(self, first: int, day_types: Sequence[int]) -> tuple[FloatArray, FloatArray]:
        """The curve points of consecutive local days from day number `first`, in absolute local seconds."""
        xs: list[float] = []
        ys: list[float] = []
        for offset, day_type in enumerate(day_types):
            curve = self.curve(day_type)
            base = (first + offset) * DAY
            xs.extend(base + s for s in curve.seconds)
            ys.extend(curve.levels)
        return np.array(xs), np.array(ys)

    def levels(self, local: FloatArray, day_type: Callable[[int], int]) -> FloatArray:
        """Levels at `local` (seconds since the local 1970 epoch, ascending) for `day_type(day)`."""
        first = int(local[0] // DAY) - 1
        last = int(local[-1] // DAY) + 1
        xs, ys = self.points(first, [day_type(day) for day in range(first, last + 1)])
        return interpolate(local, xs, ys)


class ProfileCursor:
    """Levels of one profile along increasing times, reusing a week of curve points at a time."""

    def __init__(self, profile: DailyProfile, day_type: Callable[[int], int]) -> None:
        self.profile = profile
        self.day_type = day_type
        self._first = self._last = 0
        self._xs: FloatArray | None = None
        self._ys: FloatArray | None = None
        self._x_list: list[float] = []
        self._y_list: list[float] = []

    def _cover(self, start: int, end: int) -> tuple[FloatArray, FloatArray]:
        if self._xs is None or self._ys is None or start <= self._first or end >= self._last:
            self._first, self._last = start - 1, max(end, start + 7) + 1
            days = tuple(self.day_type(day) for day in range(self._first, self._last + 1))
            self._xs, self._ys, self._x_list, self._y_list = _shared_points(self.profile, self._first, days)
        return self._xs, self._ys

    def levels(self, local: FloatArray) -> FloatArray:
        xs, ys = self._cover(int(local[0] // DAY), int(local[-1] // DAY))
        return interpolate(local, xs, ys)

    def level_at(self, local: float) -> float:
        """`levels` for one instant, with the same arithmetic in Python floats."""
        day = int(local // DAY)
        self._cover(day, day)
        return interpolate_at(local, self._x_list, self._y_list)


@functools.lru_cache(maxsize=1024)
def _shared_points(
    profile: DailyProfile, first: int, day_types: tuple[int, ...]
) -> tuple[FloatArray, FloatArray, list[float], list[float]]:
    """The points of a span of days, shared by every cursor of the same profile (read only)."""
    xs, ys = profile.points(first, day_types)
    return xs, ys, xs.tolist(), ys.tolist()


def interpolate(x: FloatArray, xp: FloatArray, fp: FloatArray) -> FloatArray:
    """Linear interpolation with separate ufunc steps (no fused multiply-add, same bits everywhere)."""
    right = np.searchsorted(xp, x, side="right")
    left = right - 1
    x0, x1 = xp[left], xp[right]
    y0, y1 = fp[left], fp[right]
    fraction = (x - x0) / (x1 - x0)
    return y0 + (y1 - y0) * fraction


def interpolate_at(x: float, xp: list[float], fp: list[float]) -> float:
    """`interpolate` at one point, with the same arithmetic in Python floats."""
    right = bisect.bisect_right(xp, x)
    x0, x1, y0, y1 = xp[right - 1], xp[right], fp[right - 1], fp[right]
    return y0 + (y1 - y0) * ((x - x0) / (x1 - x0))


def profile_from_curves(
    name: str,
    weekday: Sequence[float] | Mapping[str, float],
    saturday: Sequence[float] | Mapping[str, float] | None = None,
    sunday: Sequence[float] | Mapping[str, float] | None = None,
) -> DailyProfile:
    """A profile whose missing saturday falls back to sunday then weekday, and vice versa."""
    saturday_curve = saturday if saturday is not None else sunday if sunday is not None else weekday
    sunday_curve = sunday if sunday is not None else saturday if saturday is not None else weekday
    return DailyProfile(
        name, DailyCurve.parse(weekday), DailyCurve.parse(saturday_curve), DailyCurve.parse(sunday_curve)
    )


# ASHRAE 90.1 office lighting: 5 % at night, high from 08 to 18, a lunch dip, evening cleaning.
_LIGHTING = profile_from_curves(
    "lighting",
    weekday=[0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.10, 0.30, 0.90, 0.90, 0.90, 0.90,
             0.80, 0.90, 0.90, 0.90, 0.90, 0.90, 0.85, 0.40, 0.25, 0.15, 0.10, 0.05],
    saturday=[0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.10, 0.10, 0.30, 0.30, 0.30, 0.30,
              0.15, 0.15, 0.15, 0.15, 0.15, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05],
    sunday=[0.05] * 24,
)  # fmt: skip
# Office HVAC: setback at night, morning pre-cooling from 06, afternoon cooling peak near 15.
_HVAC = profile_from_curves(
    "hvac",
    weekday=[0.08, 0.08, 0.08, 0.08, 0.08, 0.10, 0.35, 0.60, 0.65, 0.66, 0.70, 0.75,
             0.80, 0.85, 0.90, 0.92, 0.88, 0.75, 0.45, 0.20, 0.10, 0.08, 0.08, 0.08],
    saturday=[0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.30, 0.40, 0.42, 0.45, 0.45,
              0.45, 0.30, 0.10, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08],
    sunday=[0.08] * 24,
)  # fmt: skip
# Data-centre rack: flat near 70 % with a small working-hours bump from user traffic.
_SERVER = profile_from_curves(
    "server",
    weekday=[0.68, 0.67, 0.67, 0.67, 0.67, 0.67, 0.68, 0.70, 0.73, 0.75, 0.76, 0.76,
             0.75, 0.76, 0.76, 0.75, 0.74, 0.72, 0.71, 0.70, 0.70, 0.69, 0.69, 0.68],
    sunday=[0.68, 0.67, 0.67, 0.67, 0.67, 0.67, 0.67, 0.67, 0.68, 0.69, 0.69, 0.69,
            0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69, 0.68, 0.68, 0.68, 0.68],
)  # fmt: skip
# Two-shift production line (06-14, 14-22) with breaks; standby at night and on weekends.
_INDUSTRIAL = profile_from_curves(
    "industrial",
    weekday={"00:00": 0.12, "05:30": 0.12, "06:00": 0.55, "06:30": 0.90, "09:30": 0.92, "09:45": 0.45,
             "10:00": 0.90, "11:45": 0.92, "12:00": 0.40, "12:30": 0.90, "13:45": 0.90, "14:00": 0.55,
             "14:15": 0.90, "17:45": 0.92, "18:00": 0.40, "18:30": 0.90, "21:30": 0.88, "22:00": 0.30,
             "22:30": 0.12, "23:59": 0.12},
    sunday=[0.10] * 24,
)  # fmt: skip
# Cafeteria kitchen: refrigeration all day, breakfast and lunch peaks, a small dinner service.
_APPLIANCE = profile_from_curves(
    "appliance",
    weekday={"00:00": 0.06, "05:30": 0.06, "06:30": 0.45, "07:30": 0.60, "09:00": 0.35, "10:30": 0.50,
             "11:30": 0.90, "12:30": 0.95, "13:30": 0.60, "14:30": 0.25, "16:30": 0.25, "17:30": 0.40,
             "19:00": 0.35, "20:00": 0.10, "21:00": 0.06, "23:59": 0.06},
    saturday={"00:00": 0.06, "07:00": 0.06, "08:00": 0.25, "11:30": 0.40, "13:30": 0.40, "14:30": 0.06,
              "23:59": 0.06},
    sunday=[0.06] * 24,
)  # fmt: skip

# Industrial shift patterns (`shifts`, `days` of an industrial device): ramps at shift starts and
# ends, a break in each shift, a low standby (lights, compressed air, controls) outside them.
_STANDBY = 0.10
_SHIFTS: dict[int, dict[str, float]] = {
    1: {"00:00": _STANDBY, "05:30": _STANDBY, "06:00": 0.55, "06:30": 0.90, "09:30": 0.92, "09:45": 0.45,
        "10:00": 0.90, "11:45": 0.92, "12:00": 0.40, "12:30": 0.90, "13:30": 0.88, "14:00": 0.30,
        "14:30": _STANDBY, "23:59": _STANDBY},
    2: {"00:00": _STANDBY, "05:30": _STANDBY, "06:00": 0.55, "06:30": 0.90, "09:30": 0.92, "09:45": 0.45,
        "10:00": 0.90, "11:45": 0.92, "12:00": 0.40, "12:30": 0.90, "13:45": 0.90, "14:00": 0.55,
        "14:15": 0.90, "17:45": 0.92, "18:00": 0.40, "18:30": 0.90, "21:30": 0.88, "22:00": 0.30,
        "22:30": _STANDBY, "23:59": _STANDBY},
    3: {"00:00": 0.88, "01:45": 0.90, "02:00": 0.40, "02:30": 0.88, "05:45": 0.90, "06:00": 0.55,
        "06:15": 0.90, "09:45": 0.92, "10:00": 0.40, "10:30": 0.90, "13:45": 0.90, "14:00": 0.55,
        "14:15": 0.90, "17:45": 0.92, "18:00": 0.40, "18:30": 0.90, "21:45": 0.88, "22:00": 0.55,
        "22:15": 0.88, "23:59": 0.88},
}  # fmt: skip


def shift_profile_name(shifts: int, days: int) -> str:
    """The built-in profile of `shifts` a day on `days` days a week from Monday."""
    return f"industrial-{shifts}x{days}"


def _shift_profile(shifts: int, days: int) -> DailyProfile:
    working, idle = _SHIFTS[shifts], [_STANDBY] * 24
    return profile_from_curves(
        shift_profile_name(shifts, days),
        weekday=working,
        saturday=working if days >= 6 else idle,
        sunday=working if days == 7 else idle,
    )


SHIFT_PROFILES: dict[str, DailyProfile] = {
    profile.name: profile for profile in (_shift_profile(s, d) for s in (1, 2, 3) for d in (5, 6, 7))
}
BUILTIN_PROFILES: dict[str, DailyProfile] = {
    profile.name: profile for profile in (_HVAC, _LIGHTING, _SERVER, _INDUSTRIAL, _APPLIANCE)
} | SHIFT_PROFILES
REPLAY_PROFILE = profile_from_curves("replay", [1.0] * 24)
"""The placeholder curve of a `replay` device (its history sets its power): not a profile to name."""
