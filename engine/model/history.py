"""History replay: a device plays recorded readings (a CSV file), looped on the site's local calendar.

The rows' times are local wall-clock seconds in the scenario's timezone (as `SiteCalendar.local`
gives them). The history loops with a period of whole weeks (`loop: week`: weekday and time of day
kept, so a Monday plays on Mondays) or whole days (`loop: day`: time of day kept): the period is the
largest number of whole units the rows cover, a row's span counted to the next row and the last
row's as long as the gap before it. A local time `L` plays the history at `first + (L - first) mod
period`; rows after the period are not played, and from the last row played the curve leads back
to the first row (the history starts again). A file shorter than one unit cannot loop and is refused.

Between rows the power is linear (`interpolation: linear`) or holds the row at or before
(`hold`). Power is scaled (`scale`); a recorded current scales with it and a recorded voltage plays
as it is: the row's power factor, `P / (phases * V * I)`, holds between them, so an override or a
sag still gives `power = phases * V * I * PF`. Only numpy operations, on whole batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from engine.model.calendar import SiteCalendar
from engine.model.profiles import DAY
from engine.model.readings import FloatArray

WEEK = 7 * DAY
Loop = Literal["day", "week"]
Interpolation = Literal["linear", "hold"]
UNITS: dict[Loop, float] = {"day": DAY, "week": WEEK}
IndexArray = npt.NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class History:
    """The rows of one history file: local seconds (increasing), power (kW), and voltage (V), current (A)
    when the file has them. Shared read-only by every device that plays it (compared by identity)."""

    source: str
    sha256: str
    local: FloatArray
    power: FloatArray
    voltage: FloatArray | None = None
    current: FloatArray | None = None


@dataclass(frozen=True, slots=True)
class ReplaySpec:
    """How a device plays a history: its loop, between rows, and the factor on its power and current."""

    history: History
    loop: Loop = "week"
    interpolation: Interpolation = "linear"
    scale: float = 1.0
    csv: str = ""
    """The file as the scenario names it (relative to its folder)."""


def loop_rows(history: History, loop: Loop) -> tuple[int, float]:
    """How many rows one period plays, and the period (s); raises ValueError for a file too short to loop."""
    local = history.local
    if len(local) < 2:
        raise ValueError(f"needs at least 2 rows to replay, got {len(local)}")
    unit = UNITS[loop]
    span = float(local[-1] - local[0]) + float(local[-1] - local[-2])
    units = math.floor(span / unit + 1e-9)
    if units < 1:
        hours = span / 3600.0
        shorter = " or use loop: day" if loop == "week" and span >= DAY else ""
        raise ValueError(
            f"covers {hours:g} h, less than one {loop}: `loop: {loop}` needs at least a whole {loop} of rows{shorter}"
        )
    period = units * unit
    count = int(np.searchsorted(local, local[0] + period, side="left"))
    return count, period


def peak_kw(history: History, loop: Loop) -> float:
    """The highest power among the rows a loop plays (kW, unscaled)."""
    count, _ = loop_rows(history, loop)
    return float(history.power[:count].max())


class Playback:
    """One device's view of its history: power, voltage and power factor at sim times, in batches.

    `calendar` gives the sim times' local times (no calendar: the times are local already)."""

    def __init__(
        self,
        spec: ReplaySpec,
        *,
        phases: int,
        nominal_voltage: float,
        power_factor: float,
        calendar: SiteCalendar | None = None,
    ) -> None:
        history = spec.history
        self.calendar = calendar
        self._last: tuple[FloatArray, IndexArray, FloatArray] | None = None
        """The last batch's times and positions: its power and its supply are asked for in turn."""
        count, self.period = loop_rows(history, spec.loop)
        self.first = float(history.local[0])
        self.hold = spec.interpolation == "hold"
        # One period of rows, closed by the first row one period later: the loop's way back to its start.
        self._x = np.append(history.local[:count], self.first + self.period)
        self._power = _closed(history.power[:count] * spec.scale)
        self._voltage = _closed(history.voltage[:count]) if history.voltage is not None else None
        self._power_factor: FloatArray | None = None
        if history.current is not None:
            volts = history.voltage[:count] if history.voltage is not None else np.full(count, nominal_voltage)
            drawn = history.power[:count] * 1000.0
            apparent = phases * volts * history.current[:count]
            ratio = np.divide(drawn, apparent, out=np.full(count, power_factor), where=(apparent > 0) & (drawn > 0))
            self._power_factor = _closed(np.minimum(ratio, 1.0))
        self.recorded = self._voltage is not None or self._power_factor is not None
        """The file gives voltage or current: the electrics take them (`supply`)."""

    def _positions(self, t: FloatArray) -> tuple[IndexArray, FloatArray]:
        """Index of the row at or before each played position, and the fraction of the way to the next."""
        if self._last is not None and self._last[0] is t:
            return self._last[1], self._last[2]
        local = self.calendar.local(t) if self.calendar is not None else t
        position = self.first + np.mod(local - self.first, self.period)
        left: IndexArray = np.clip(np.searchsorted(self._x, position, side="right") - 1, 0, len(self._x) - 2)
        x0 = self._x[left]
        fraction: FloatArray = np.clip((position - x0) / (self._x[left + 1] - x0), 0.0, 1.0)
        self._last = (t, left, fraction)  # held, so `t` cannot be freed and its id reused
        return left, fraction

    def _at(self, values: FloatArray, left: IndexArray, fraction: FloatArray) -> FloatArray:
        y0: FloatArray = values[left]
        if self.hold:
            return y0
        y1: FloatArray = values[left + 1]
        return y0 + (y1 - y0) * fraction

    def power(self, t: FloatArray) -> FloatArray:
        """Power (kW, scaled) played at the times `t`."""
        left, fraction = self._positions(t)
        return self._at(self._power, left, fraction)

    def supply(self, t: FloatArray) -> tuple[FloatArray | None, FloatArray | None]:
        """Recorded voltage (V) and power factor at the times `t`; None for what the file does not give."""
        left, fraction = self._positions(t)
        voltage = self._at(self._voltage, left, fraction) if self._voltage is not None else None
        factor = self._at(self._power_factor, left, fraction) if self._power_factor is not None else None
        return voltage, factor


def _closed(values: FloatArray) -> FloatArray:
    """The period's values followed by the first one again (the loop's wrap)."""
    return np.append(values, values[0])
