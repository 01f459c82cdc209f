"""The run report: the ground truth a CI test compares its pipeline's results with.

Besides per-device totals and the journal (`events`), it lists each fault (`faults`): every
occurrence of an action that lasts, derived from the journal alone, with its span and, per device,
the `seq` range of the readings that fell in it, so a test can assert "my pipeline flagged exactly
these readings" from the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, TypedDict

from engine.contract.readings import Encoder
from engine.model.device import Device
from engine.model.specs import Plan
from engine.scenario.compose import ChainFile
from engine.simulation import Entry, Simulation


class PowerTotals(TypedDict):
    min: float | None
    max: float | None
    mean: float | None


class DeviceTotals(TypedDict):
    """What one device measured and sent, and the energy it measured (true, and as its counter showed it).

    `readings`: readings published, each once (`power_kw` is over them); `last_seq`: the last `seq`
    given (None: none yet), to each reading sent, or with a `buffer` to each reading measured, so a
    gap in `seq` is a reading lost: dropped at the meter, or still stored or held back at the end.
    Delivery: `generated` readings measured (sent or not); `published` messages sent, duplicates
    included; `duplicated` readings published twice; `delayed` readings held back (`out_of_order`);
    `held` readings stored while the link was down and forwarded on its return; `dropped_at_meter`
    readings dropped from a full buffer.
    """

    device_id: str
    kind: str
    readings: int
    last_seq: int | None
    energy_kwh: float
    energy_reported_kwh: float
    power_kw: PowerTotals
    generated: int
    published: int
    duplicated: int
    delayed: int
    held: int
    dropped_at_meter: int


class ReportEvent(TypedDict):
    """One journal entry: one phase of one action."""

    t: float
    timestamp: str
    action: str
    phase: str
    targets: list[str]
    source: str
    params: NotRequired[dict[str, object]]
    duration: NotRequired[float]


class Instant(TypedDict):
    t: float
    timestamp: str


class ReportFault(TypedDict):
    """One occurrence of an action that lasts (a fault, a timed action): when, where, and which readings.

    `id` is the index of its start in the report's `events`. `end` is None while it is still in
    force on one of its targets at the report. `seq` gives, per target, the first and last `seq` of
    the readings measured in [start, end) (None when none was), for a store-and-forward meter those
    it measured in the span, whenever they were sent.
    """

    id: int
    action: str
    start: Instant
    end: Instant | None
    targets: list[str]
    source: str
    params: dict[str, object]
    duration: float | None
    seq: dict[str, list[int] | None]


class ChainEntry(TypedDict):
    source: str
    sha256: str


class ScenarioIdentity(TypedDict):
    """Which scenario ran: `sha256` of its file; with `extends:`, `chain` lists every file, top first; `files`
    the data files it read (a weather CSV, the histories of replay devices), each once, with their sha256."""

    name: str
    revision: int
    sha256: str
    source: str
    chain: NotRequired[list[ChainEntry]]
    files: NotRequired[list[ChainEntry]]


class LivePart(TypedDict):
    """What a run published to MQTT adds: its clock, speed (None: virtual) and the MQTT counters."""

    clock: str
    speed: float | None
    mqtt: dict[str, object]


class Report(TypedDict):
    """The run report's JSON (a run published to MQTT adds its `LivePart`)."""

    run_id: str
    scenario: ScenarioIdentity
    seed: int
    start: str
    end: str
    duration_s: float
    wall_seconds: float
    readings: int
    energy_kwh: float
    devices: list[DeviceTotals]
    events: list[ReportEvent]
    faults: list[ReportFault]
    clock: NotRequired[str]
    speed: NotRequired[float | None]
    mqtt: NotRequired[dict[str, object]]


@dataclass(frozen=True, slots=True)
class DeviceFigures:
    """What the report tells of one device, as plain numbers: a worker of a parallel run hands them over."""

    device_id: str
    kind: str
    present: bool
    """It still exists (not deleted)."""
    readings: int
    seq: int
    energy: float
    energy_reported: float
    power_min: float
    power_max: float
    power_sum: float
    generated: int
    published: int
    duplicated: int
    delayed: int
    held: int
    dropped_at_meter: int

    @classmethod
    def of(cls, device: Device, *, present: bool) -> DeviceFigures:
        link, register = device.link, device.register
        return cls(
            device.spec.id, device.spec.kind, present, link.readings, link.seq, register.energy,
            register.energy_reported, link.power_min, link.power_max, link.power_sum, link.generated,
            link.published, link.duplicated, link.delayed, link.held, link.dropped_at_meter,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunFigures:
    """What a report is built from: one simulation's, or those of the parts of a parallel run put together."""

    plan: Plan
    seed: int
    readings: int
    devices: tuple[DeviceFigures, ...]
    """Every device by index, deleted ones too (their readings went out)."""
    journal: tuple[Entry, ...]

    @classmethod
    def of(cls, sim: Simulation) -> RunFigures:
        devices = tuple(DeviceFigures.of(d, present=d.spec.id in sim.by_id) for d in sim.all_devices)
        return cls(sim.plan, sim.seed, sim.readings_emitted, devices, tuple(sim.journal))


def build_report(
    run: Simulation | RunFigures,
    *,
    run_id: str,
    source: str,
    until: float,
    wall_seconds: float,
    chain: Sequence[ChainFile] = (),
) -> Report:
    """Run id, scenario identity, seed, span, per-device totals and the journal of every action applied.

    `chain`: the files of the scenario's `extends:` chain, recorded when there is more than one."""
    figures = run if isinstance(run, RunFigures) else RunFigures.of(run)
    plan = figures.plan
    encoder = Encoder(plan.start_epoch)

    def stamp(t: float) -> str:
        return encoder.timestamp(t)

    devices: list[DeviceTotals] = []
    for device in figures.devices:
        count = device.readings
        devices.append(
            {
                "device_id": device.device_id,
                "kind": device.kind,
                "readings": count,
                "last_seq": device.seq - 1 if device.seq else None,
                "energy_kwh": round(device.energy, 6),
                "energy_reported_kwh": round(device.energy_reported, 6),
                "power_kw": {
                    "min": round(device.power_min, 6) if count else None,
                    "max": round(device.power_max, 6) if count else None,
                    "mean": round(device.power_sum / count, 6) if count else None,
                },
                "generated": device.generated,
                "published": device.published,
                "duplicated": device.duplicated,
                "delayed": device.delayed,
                "held": device.held,
                "dropped_at_meter": device.dropped_at_meter,
            }
        )
    identity: ScenarioIdentity = {
        "name": plan.name,
        "revision": plan.revision,
        "sha256": plan.source_sha256,
        "source": source,
    }
    if len(chain) > 1:
        identity["chain"] = [{"source": f.source, "sha256": f.sha256} for f in chain]
    if plan.data_files:
        identity["files"] = [{"source": path, "sha256": sha256} for path, sha256 in plan.data_files]
    return {
        "run_id": run_id,
        "scenario": identity,
        "seed": figures.seed,
        "start": stamp(0.0),
        "end": stamp(until),
        "duration_s": until,
        "wall_seconds": round(wall_seconds, 3),
        "readings": figures.readings,
        "energy_kwh": round(sum(device.energy for device in figures.devices), 6),
        "devices": devices,
        "events": [_event(entry, stamp(entry.t)) for entry in figures.journal],
        "faults": _faults(figures, stamp),
    }


def _event(entry: Entry, timestamp: str) -> ReportEvent:
    event: ReportEvent = {
        "t": _instant(entry.t),
        "timestamp": timestamp,
        "action": entry.action,
        "phase": entry.phase,
        "targets": list(entry.targets),
        "source": entry.source,
    }
    if entry.params:
        event["params"] = dict(entry.params)
    if entry.duration is not None:
        event["duration"] = entry.duration
    return event


def _faults(figures: RunFigures, stamp: Callable[[float], str]) -> list[ReportFault]:
    """Every occurrence in the journal, with the span and the `seq` range it covered on each target."""
    journal = figures.journal
    ends: dict[int, list[Entry]] = {}
    for entry in journal:
        if entry.phase == "end" and entry.occurrence is not None:
            ends.setdefault(entry.occurrence, []).append(entry)
    now_seq = {device.device_id: device.seq for device in figures.devices}  # deleted ones too: final
    present = {device.device_id for device in figures.devices if device.present}
    faults: list[ReportFault] = []
    for index, start in enumerate(journal):
        if start.phase != "start" or start.occurrence is None or not start.targets:
            continue  # not an occurrence, or one that applied to no device
        occurrence = start.occurrence
        first_seq = dict(zip(start.targets, start.next_seq, strict=True))
        ended: dict[str, int] = {}
        for end in ends.get(occurrence, []):
            ended.update(zip(end.targets, end.next_seq, strict=True))
        # Ended when it ended on every target (or the target is gone): at its last end entry.
        gone = {device_id for device_id in start.targets if device_id not in present}
        over = bool(ends.get(occurrence)) and set(start.targets) <= set(ended) | gone
        finish = ends[occurrence][-1].t if over else None
        faults.append(
            {
                "id": index,
                "action": start.action,
                "start": {"t": _instant(start.t), "timestamp": stamp(start.t)},
                "end": {"t": _instant(finish), "timestamp": stamp(finish)} if finish is not None else None,
                "targets": list(start.targets),
                "source": start.source,
                "params": dict(start.params),
                "duration": start.duration,
                "seq": {
                    device_id: _seq_range(first, ended.get(device_id, now_seq[device_id]))
                    for device_id, first in first_seq.items()
                },
            }
        )
    return faults


def _instant(t: float) -> float:
    """Sim seconds to the millisecond, as timestamps show them (an arrival at a rate plus a duration is
    not exact in binary: 82.59899999999999)."""
    return round(t, 3)


def _seq_range(first: int, after: int) -> list[int] | None:
    """[first, last] of the seqs from `first` up to `after` (excluded); None when there are none."""
    return [first, after - 1] if after > first else None


def write_report(report: Mapping[str, object], path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
