"""What a preview draws, computed without a plotting library: a virtual run reduced to time buckets.

The run's readings never pile up in memory: a sink folds each batch into per-device, per-bucket
min, max, sum and count (numpy, a few passes per batch), so a week of 100 devices costs what the
simulation costs. A bucket keeps its min and max, so a spike or a dip shorter than a bucket still
shows; the site total and the per-kind totals are sums of the devices' bucket means (their energy
over the bucket), where a device that sent nothing in a bucket (a comm loss) counts 0.

The faults and events come from the run report (`faults`, `events`), as a CI test sees them.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from engine.errors import IotMockError
from engine.model.actions import CreateDevice
from engine.model.readings import FloatArray, IntArray, ReadingBatch, StatusChange
from engine.model.specs import DeviceSpec, Plan, Recorded
from engine.runtime.driver import run_virtual
from engine.runtime.report import Report, build_report
from engine.simulation import Simulation

POINTS = 1500
"""Time buckets across the span by default: about one per pixel of a figure's plot area."""


@dataclass(frozen=True, slots=True)
class Band:
    """A span when an action was in force (a fault, a timed action): shaded on the devices it targeted."""

    action: str
    start: float
    end: float
    """Sim seconds; the end of the span for one still in force at the end."""
    targets: tuple[str, ...]
    site_wide: bool
    """It targets most of the devices shown: shaded across the site rather than on device rows."""


@dataclass(frozen=True, slots=True)
class Instant:
    """An action that does not last (set_power, enable, reset...): a mark on the timeline."""

    action: str
    t: float
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Series:
    """A run reduced to `len(edges) - 1` buckets: per device (rows in `ids` order) min, mean and max power
    in kW (NaN where a device sent nothing), and the run's bands and instants."""

    title: str
    timezone: str
    start_epoch: float
    edges: FloatArray
    ids: tuple[str, ...]
    kinds: tuple[str, ...]
    low: FloatArray
    mean: FloatArray
    high: FloatArray
    energy_kwh: tuple[float, ...]
    bands: tuple[Band, ...]
    instants: tuple[Instant, ...]
    readings: int

    @property
    def until(self) -> float:
        return float(self.edges[-1])

    def local(self, seconds: FloatArray | Sequence[float]) -> list[datetime]:
        """Sim seconds as aware datetimes in the scenario's timezone (the axes show local time)."""
        zone = ZoneInfo(self.timezone)
        return [datetime.fromtimestamp(self.start_epoch + float(s), zone) for s in seconds]

    @property
    def centers(self) -> FloatArray:
        centers: FloatArray = (self.edges[:-1] + self.edges[1:]) / 2
        return centers

    def kind_totals(self) -> dict[str, FloatArray]:
        """kW per kind per bucket (the sum of its devices' means), kinds in order of first appearance."""
        filled = np.nan_to_num(self.mean)
        kinds = np.array(self.kinds)
        return {kind: filled[kinds == kind].sum(axis=0) for kind in dict.fromkeys(self.kinds)}

    def total(self) -> FloatArray:
        total: FloatArray = np.nan_to_num(self.mean).sum(axis=0)
        return total


class Buckets:
    """A sink that folds readings into per-device time buckets (no reading is kept)."""

    def __init__(self, ids: Sequence[str], until: float, buckets: int) -> None:
        self.rows = {device_id: row for row, device_id in enumerate(ids)}
        self.until = until
        self.buckets = buckets
        size = len(ids) * buckets
        self.sum = np.zeros(size)
        self.count = np.zeros(size, dtype=np.int64)
        self.low = np.full(size, np.inf)
        self.high = np.full(size, -np.inf)
        self._map: tuple[tuple[str, ...], IntArray] | None = None

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        if not len(batch):
            return
        if self._map is None or self._map[0] != batch.device_ids:
            rows = np.array([self.rows.get(device_id, -1) for device_id in batch.device_ids], dtype=np.int64)
            self._map = (batch.device_ids, rows)
        rows = self._map[1][batch.device]
        bucket = np.minimum((batch.t * (self.buckets / self.until)).astype(np.int64), self.buckets - 1)
        keep = (rows >= 0) & (batch.t < self.until)
        key = (rows * self.buckets + bucket)[keep]
        power = batch.power[keep]
        self.sum += np.bincount(key, weights=power, minlength=self.sum.size)
        self.count += np.bincount(key, minlength=self.count.size)
        np.minimum.at(self.low, key, power)
        np.maximum.at(self.high, key, power)

    def arrays(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(min, mean, max) per device row and bucket; NaN where a device sent nothing."""
        shape = (len(self.rows), self.buckets)
        empty = self.count == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(empty, np.nan, self.sum / self.count)
        low = np.where(empty, np.nan, self.low)
        high = np.where(empty, np.nan, self.high)
        return low.reshape(shape), mean.reshape(shape), high.reshape(shape)


def chosen(plan: Plan, *, patterns: Sequence[str] = (), kinds: Sequence[str] = ()) -> Plan:
    """The plan with only the devices whose id matches one of `patterns` (globs) and whose kind is one of
    `kinds` (each filter applies when given), and the events that touch them; IotMockError when none is left."""

    def wanted(device: DeviceSpec) -> bool:
        return (not patterns or any(fnmatch.fnmatchcase(device.id, pattern) for pattern in patterns)) and (
            not kinds or device.kind in kinds
        )

    devices = tuple(device for device in plan.devices if wanted(device))
    if not devices:
        asked = [*(f"--devices {p}" for p in patterns), *(f"--kind {k}" for k in kinds)]
        raise IotMockError(f"{' '.join(asked)}: no device of {plan.name} matches (its devices: {_some(plan)})")
    if len(devices) == len(plan.devices):
        return plan
    kept = {device.id for device in devices}
    events = tuple(
        dataclasses.replace(event, targets=targets)
        for event in plan.events
        if (targets := tuple(target for target in event.targets if target in kept))
    )
    return dataclasses.replace(plan, devices=devices, events=events, session=_kept_session(plan, kept, wanted))


def _kept_session(plan: Plan, kept: set[str], wanted: Callable[[DeviceSpec], bool]) -> tuple[Recorded, ...]:
    """A recording's changes that touch the kept devices (and those it creates that the filters want)."""
    out = []
    for recorded in plan.session:
        change = recorded.change
        if isinstance(change, CreateDevice) and wanted(change.spec):
            kept.add(change.spec.id)
        targets = tuple(target for target in recorded.targets if target in kept)
        if targets:
            out.append(dataclasses.replace(recorded, targets=targets))
    return tuple(out)


def _some(plan: Plan) -> str:
    ids = [device.id for device in plan.devices]
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def bucket_count(plan: Plan, until: float, points: int) -> int:
    """`points` buckets, fewer when a bucket would be shorter than the slowest device's interval
    (a bucket with no reading of a device would make its line, and the site total, saw-toothed)."""
    slowest = max((device.interval for device in plan.devices), default=1.0)
    return max(1, min(points, math.floor(until / slowest)))


def collect(plan: Plan, *, until: float, seed: int | None = None, points: int = POINTS) -> Series:
    """Run `plan` in virtual time to `until` and reduce it to a Series of at most `points` buckets."""
    ids = tuple(device.id for device in plan.devices)
    count = bucket_count(plan, until, points)
    sink = Buckets(ids, until, count)
    sim = Simulation(plan, sink, seed=seed)
    run_virtual(sim, until)
    report = build_report(sim, run_id="preview", source="", until=until, wall_seconds=0.0)
    low, mean, high = sink.arrays()
    energy = {device["device_id"]: device["energy_kwh"] for device in report["devices"]}
    bands, instants = timeline(report, shown=len(ids), until=until)
    return Series(
        title=f"{plan.name} r{plan.revision}",
        timezone=plan.timezone,
        start_epoch=plan.start_epoch,
        edges=np.linspace(0.0, until, count + 1),
        ids=ids,
        kinds=tuple(device.kind for device in plan.devices),
        low=low,
        mean=mean,
        high=high,
        energy_kwh=tuple(energy.get(device_id, 0.0) for device_id in ids),
        bands=bands,
        instants=instants,
        readings=sim.readings_emitted,
    )


def timeline(report: Report, *, shown: int, until: float) -> tuple[tuple[Band, ...], tuple[Instant, ...]]:
    """The report's faults as bands (site-wide when they target more than half of the `shown` devices,
    and more than one), and its other actions' starts as instants."""
    bands = tuple(
        Band(
            action=fault["action"],
            start=fault["start"]["t"],
            end=fault["end"]["t"] if fault["end"] is not None else until,
            targets=tuple(fault["targets"]),
            site_wide=len(fault["targets"]) > 1 and len(fault["targets"]) * 2 > shown,
        )
        for fault in report["faults"]
    )
    lasting = {fault["id"] for fault in report["faults"]}
    instants = tuple(
        Instant(action=event["action"], t=event["t"], targets=tuple(event["targets"]))
        for index, event in enumerate(report["events"])
        if event["phase"] == "start" and index not in lasting and event["targets"]
    )
    return bands, instants
