"""The site's local clock: sim time to local wall time (DST included) and kinds of day.

Load curves follow local time, so a device switches on at 08:00 local on both sides of a DST
change. UTC offsets are read from the IANA database once per simulated hour (and bisected to
the second around a change), then looked up in bulk for each batch of readings.
"""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime

import numpy as np

from engine.model.profiles import DAY, SATURDAY, SUNDAY, WEEKDAY, FloatArray
from engine.model.zones import site_zone

_EPOCH_DAY = date(1970, 1, 1).toordinal()
_HORIZON = 7 * DAY


class SiteCalendar:
    """Local time and day types of a site whose sim time 0 is `start_epoch` (UTC seconds)."""

    def __init__(self, start_epoch: float, timezone: str, holidays: frozenset[date] = frozenset()) -> None:
        self.start_epoch = start_epoch
        self.zone = site_zone(timezone)
        self._holidays = {day.toordinal() - _EPOCH_DAY for day in holidays}
        self._changes: list[float] = [-np.inf]  # sim times where the UTC offset changes
        self._offsets: list[float] = [self._offset_at(0.0)]
        self._change_array, self._offset_array = np.array(self._changes), np.array(self._offsets)
        self._scanned = 0.0

    def _offset_at(self, t: float) -> float:
        moment = datetime.fromtimestamp(self.start_epoch + t, UTC).astimezone(self.zone)
        offset = moment.utcoffset()
        return offset.total_seconds() if offset is not None else 0.0

    def _scan(self, until: float) -> None:
        """Record every offset change up to `until` plus a horizon, probing hourly."""
        target = until + _HORIZON
        t = self._scanned
        while t < target:
            later = t + 3600.0
            if self._offset_at(later) != self._offsets[-1]:
                low, high = t, later  # the change lies in (low, high]
                while high - low > 1.0:
                    mid = (low + high) // 2
                    low, high = (low, mid) if self._offset_at(mid) != self._offsets[-1] else (mid, high)
                self._changes.append(high)
                self._offsets.append(self._offset_at(high))
                self._change_array, self._offset_array = np.array(self._changes), np.array(self._offsets)
            t = later
        self._scanned = t

    def local(self, t: FloatArray) -> FloatArray:
        """Seconds since the local 1970 epoch (local wall time as if it were UTC) for sim times t."""
        if t[-1] >= self._scanned:
            self._scan(float(t[-1]))
        if len(self._changes) == 1:
            return t + (self.start_epoch + self._offsets[0])
        which = np.searchsorted(self._change_array, t, side="right") - 1
        return t + (self.start_epoch + self._offset_array[which])

    def local_at(self, t: float) -> float:
        """`local` for one sim time, with the same arithmetic."""
        if t >= self._scanned:
            self._scan(t)
        if len(self._changes) == 1:
            return t + (self.start_epoch + self._offsets[0])
        return t + (self.start_epoch + self._offsets[bisect.bisect_right(self._changes, t) - 1])

    def day_type(self, day: int) -> int:
        """WEEKDAY, SATURDAY or SUNDAY (holidays included) of local day number `day` since 1970."""
        if day in self._holidays:
            return SUNDAY
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
        return WEEKDAY if weekday < 5 else SATURDAY if weekday == 5 else SUNDAY


def utc_epoch(local_start: datetime, timezone: str) -> float:
    """UTC epoch seconds of a naive local date-time; a time skipped by DST moves forward."""
    aware = local_start.replace(tzinfo=site_zone(timezone))
    return aware.timestamp()
