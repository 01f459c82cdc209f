"""Recent history of the readings, kept by a sink so a page opened late sees the last hour at once.

Each device has a row: its latest reading (time, power, voltage, current, energy) and a ring of its
power, one point per `step` sim seconds (the power it showed at the end of each step, held from its
last reading), `points` points deep. Memory is bounded by devices x points: 4 bytes a point, so the
defaults (10 s, 360 points: the last hour) take 1.4 kB a device, 14 MB for 10,000 devices. A row
of a removed device is cleared and reused. Site totals by kind are sums of the rings' columns over
the devices of each kind, computed when asked (the kinds are the simulation's, not the sink's).

Every write ticks a counter and stamps the rows it changed, so a stream can send only the devices
whose reading changed since the tick it last saw (`changed_since`), and the steps closed since the
step it last saw (`columns`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.model.readings import ReadingBatch, StatusChange

STEP = 10.0
"""Sim seconds between two points of a device's ring."""
POINTS = 360
"""Points in a device's ring: with STEP, one hour of sim time."""
COLUMNS = ("t", "power", "voltage", "current", "energy")
"""The latest reading's values kept per device, in this order."""


@dataclass(frozen=True, slots=True)
class Changed:
    """The latest readings of the devices that changed since a tick, as columns (`COLUMNS`)."""

    tick: int
    ids: list[str]
    values: npt.NDArray[np.float64]  # (len(ids), len(COLUMNS))


class History:
    """Sink: each device's latest reading and a ring of its power, one point per `step` sim seconds."""

    def __init__(self, step: float = STEP, points: int = POINTS) -> None:
        self.step, self.points = step, points
        self.tick = 0
        self.bucket: int | None = None
        """The step in progress (sim time // step); the steps before it, up to `points`, are in the rings."""
        self._rows: dict[str, int] = {}
        self._free: list[int] = []
        self._latest = np.full((0, len(COLUMNS)), np.nan)
        self._ticks = np.zeros(0, dtype=np.int64)
        self._ring = np.full((0, points), np.nan, dtype=np.float32)
        self._lock = threading.Lock()  # the simulation's thread writes, the event loop reads

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        with self._lock:
            self.tick += 1
            for change in statuses:
                if change.removed and change.device_id in self._rows:
                    row = self._rows.pop(change.device_id)
                    self._latest[row] = np.nan
                    self._ring[row] = np.nan
                    self._ticks[row] = self.tick
                    self._free.append(row)
            if len(batch):
                self._take(batch)

    def _take(self, batch: ReadingBatch) -> None:
        rows_of = np.array([self._row(device_id) for device_id in batch.device_ids], dtype=np.int64)
        order = np.argsort(batch.t, kind="stable")
        t = batch.t[order]
        buckets = np.floor(t / self.step).astype(np.int64)
        if self.bucket is None:
            self.bucket = int(buckets[0])
        starts = np.flatnonzero(np.diff(buckets, prepend=buckets[0] - 1))
        for start, end in zip(starts.tolist(), [*starts[1:].tolist(), len(t)], strict=True):
            self._close_until(int(buckets[start]))
            part = order[start:end]
            rows = rows_of[batch.device[part]]
            # the last reading of each row in this part: first occurrence in the reversed part
            unique, first_from_end = np.unique(rows[::-1], return_index=True)
            picked = part[len(part) - 1 - first_from_end]
            newer = ~(batch.t[picked] < self._latest[unique, 0])  # late readings older than the kept one are out
            unique, picked = unique[newer], picked[newer]
            values = (batch.t, batch.power, batch.voltage, batch.current, batch.energy)
            self._latest[unique] = np.column_stack([column[picked] for column in values])
            self._ticks[unique] = self.tick

    def _close_until(self, bucket: int) -> None:
        """Close the steps before `bucket`: each gets the power every device shows at its end."""
        assert self.bucket is not None
        if bucket <= self.bucket:
            return
        power = self._latest[:, 1].astype(np.float32)
        for closed in range(max(self.bucket, bucket - self.points), bucket):
            self._ring[:, closed % self.points] = power
        self.bucket = bucket

    def _row(self, device_id: str) -> int:
        row = self._rows.get(device_id)
        if row is not None:
            return row
        if self._free:
            row = self._free.pop()
        else:
            row = len(self._ticks)
            grow = max(16, row)  # doubling: amortised
            self._latest = np.vstack((self._latest, np.full((grow, len(COLUMNS)), np.nan)))
            self._ticks = np.concatenate((self._ticks, np.zeros(grow, dtype=np.int64)))
            self._ring = np.vstack((self._ring, np.full((grow, self.points), np.nan, dtype=np.float32)))
            self._free.extend(range(row + grow - 1, row, -1))
        self._rows[device_id] = row
        return row

    def steps(self, since: int | None = None) -> list[int]:
        """The closed steps kept in the rings, oldest first (after `since` when given)."""
        if self.bucket is None:
            return []
        first = self.bucket - self.points
        if since is not None:
            first = max(first, since + 1)
        return list(range(max(first, 0), self.bucket))

    def times(self, steps: list[int]) -> list[float]:
        """The sim time of each step's point: its end."""
        return [(step + 1) * self.step for step in steps]

    def series(self, device_ids: Iterable[str], steps: list[int]) -> dict[str, list[float | None]]:
        """Each known device's power at `steps` (None before its first reading)."""
        columns = [step % self.points for step in steps]
        with self._lock:
            found = {i: self._ring[row, columns] for i in device_ids if (row := self._rows.get(i)) is not None}
        return {i: _listed(values) for i, values in found.items()}

    def totals(self, kind_of: Mapping[str, str], steps: list[int]) -> dict[str, list[float]]:
        """The site's power by kind at `steps`: the sum over the devices of each kind."""
        columns = [step % self.points for step in steps]
        by_kind: dict[str, list[int]] = {}
        with self._lock:
            for device_id, row in self._rows.items():
                kind = kind_of.get(device_id)
                if kind is not None:
                    by_kind.setdefault(kind, []).append(row)
            sums = {kind: np.nansum(self._ring[np.ix_(rows, columns)], axis=0) for kind, rows in by_kind.items()}
        return {kind: [round(float(v), 3) for v in values] for kind, values in sorted(sums.items())}

    def changed_since(self, tick: int) -> Changed:
        """The devices whose latest reading changed after `tick`, with those readings."""
        with self._lock:
            rows = np.flatnonzero(self._ticks > tick)
            ids_of = {row: device_id for device_id, row in self._rows.items()} if len(rows) else {}
            kept = [row for row in rows.tolist() if row in ids_of]
            return Changed(self.tick, [ids_of[row] for row in kept], self._latest[kept].copy())

    def latest(self, device_ids: Iterable[str]) -> Changed:
        """The latest readings of `device_ids` that have one."""
        with self._lock:
            found = [(i, row) for i in device_ids if (row := self._rows.get(i)) is not None]
            found = [(i, row) for i, row in found if not np.isnan(self._latest[row, 0])]
            return Changed(self.tick, [i for i, _ in found], self._latest[[row for _, row in found]].copy())


def _listed(values: npt.NDArray[np.float32]) -> list[float | None]:
    return [None if np.isnan(v) else round(float(v), 3) for v in values.tolist()]


def columns(changed: Changed) -> dict[str, object]:
    """The readings as JSON columns: ids, then each value rounded to what a meter shows."""
    body: dict[str, object] = {"id": changed.ids}
    for index, (name, places) in enumerate(zip(COLUMNS, (3, 3, 1, 3, 3), strict=True)):
        body[name] = np.round(changed.values[:, index], places).tolist()
    return body
