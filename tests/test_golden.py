"""Each named scenario, run for a fixed span with its seed, matches its committed output.

Two goldens per scenario: `NAME.jsonl`, the span's readings (every nth line), and `NAME.report.txt`,
the run report with the readings around each event and the hash of the whole span.
Regenerate after an intended change with `pytest tests/test_golden.py --update-golden`
and review the diff of tests/golden/ like code.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from engine import LoadedScenario, load_named, scenario_names
from engine.contract.readings import Encoder
from engine.runtime.driver import run_virtual
from engine.runtime.report import build_report
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation

GOLDEN = Path(__file__).parent / "golden"
# Each span covers the scenario's interesting part while keeping the files small.
SPANS = {
    "default": (7 * 3600, 8 * 3600),
    "office-week": (36 * 3600, 39 * 3600),
    "office-week-ci": (36 * 3600, 39 * 3600),
    "datacenter-day": (9 * 3600, 15 * 3600),
    "meter-faults": (0, 24 * 3600),
    "factory-shifts": (29 * 3600 + 1800, 30 * 3600 + 1800),  # Monday 05:30-06:30: the week's first shift starts
    "brownout-storm": (15 * 3600 + 900, 15 * 3600 + 2700),  # 15:15-15:45: a reset, trips, the feeder fault
    "fleet-1000": (6 * 3600 + 300, 6 * 3600 + 900),  # 06:05-06:15: store 017's outage, 12,000 readings
    "history-replay": (37 * 3600, 40 * 3600),
}
EVERY_NTH = {
    "default": 1,
    "office-week": 3,
    "office-week-ci": 3,
    "datacenter-day": 60,
    "meter-faults": 60,
    "factory-shifts": 5,
    "brownout-storm": 3,
    "fleet-1000": 10,
    "history-replay": 3,
}


def run_span(name: str) -> tuple[LoadedScenario, Simulation, MemorySink]:
    """The scenario run to the end of its span, the sink holding only what [start, end) produced."""
    loaded = load_named(name)
    sink = MemorySink()
    sim = Simulation(loaded.plan, sink)
    start, end = SPANS[name]
    run_virtual(sim, start)
    sink.batches.clear()
    sink.statuses.clear()
    run_virtual(sim, end)
    return loaded, sim, sink


def check(path: Path, actual: str, update: bool) -> None:
    """`actual` is what `path` holds; `--update-golden` writes it there instead."""
    if update:
        path.write_text(actual)
    assert path.exists(), f"no golden file {path.name}; run: pytest tests/test_golden.py --update-golden"
    assert actual == path.read_text(), f"{path.name} changed; if intended, regenerate with --update-golden"


def golden_output(name: str) -> bytes:
    """Readings of [start, end) of the scenario's span, every nth line to keep files reviewable."""
    loaded, sim, sink = run_span(name)
    encoder = Encoder(loaded.plan.start_epoch)
    lines = b"".join(encoder.jsonl(batch) for batch in sink.batches).splitlines(keepends=True)
    events = "".join(f"# {e.t:g} {e.action} {e.phase} {','.join(e.targets)}\n" for e in sim.journal)
    return events.encode() + b"".join(lines[:: EVERY_NTH[name]])


def test_every_named_scenario_has_a_golden_file() -> None:
    assert sorted(SPANS) == scenario_names()


@pytest.mark.parametrize("name", sorted(SPANS))
def test_golden_output(name: str, update_golden: bool) -> None:
    check(GOLDEN / f"{name}.jsonl", golden_output(name).decode(), update_golden)


# The run report's golden, next to the readings': the report, the readings around each event, the hash of the rest.
REPORT_READINGS = 3
"""Readings of each target shown before an event, and as many from it on: a few dozen per event."""
NORMALISED: dict[str, object] = {"run_id": "normalised", "wall_seconds": 0.0}
"""Report fields that differ between two runs of the same scenario."""


def _report_json(report: dict[str, Any]) -> str:
    """The report as JSON with one line per top-level field, device and event: a diff names what changed."""

    def field(value: object) -> str:
        if isinstance(value, list) and value:
            return "[\n" + ",\n".join(f"    {json.dumps(item)}" for item in value) + "\n  ]"
        return json.dumps(value)

    return "{\n" + ",\n".join(f"  {json.dumps(key)}: {field(value)}" for key, value in report.items()) + "\n}\n"


def report_golden(name: str) -> str:
    """The run report of the run to the span's end, the readings around each event of the span, and its hash.

    Built from the report as `iot-mock run` writes it: a change to the report's fields (the events'
    `params`, say) shows here, and is regenerated on purpose with `--update-golden` like the readings.
    """
    loaded, sim, sink = run_span(name)
    start, end = SPANS[name]
    built = build_report(sim, run_id="golden", source=loaded.source, until=end, wall_seconds=0.0, chain=loaded.chain)
    report: dict[str, Any] = dict(built)
    report |= NORMALISED
    report["scenario"]["source"] = Path(report["scenario"]["source"]).name  # the checkout's path varies
    for entry in [*report["scenario"].get("chain", []), *report["scenario"].get("files", [])]:
        entry["source"] = Path(entry["source"]).name
    encoder = Encoder(loaded.plan.start_epoch)
    output = b"".join(encoder.jsonl(batch) for batch in sink.batches)
    lines = output.decode().splitlines()
    times: dict[str, list[float]] = defaultdict(list)
    rows: dict[str, list[str]] = defaultdict(list)
    readings = (
        (batch.device_ids[device], t) for batch in sink.batches for device, t in zip(batch.device, batch.t, strict=True)
    )
    for (device_id, t), line in zip(readings, lines, strict=True):
        times[device_id].append(float(t))
        rows[device_id].append(line)
    parts = [
        f"# {name}: the run report of [0, {end:g}) s (its {', '.join(NORMALISED)} normalised: they vary between runs)",
        _report_json(report).rstrip("\n"),
        f"# sha256 of the JSON lines of the readings of [{start:g}, {end:g}) s: {len(lines)} readings, "
        f"{len(output)} bytes",
        hashlib.sha256(output).hexdigest(),
        f"# status changes in [{start:g}, {end:g}) s",
        *(json.dumps(dataclasses.asdict(change)) for change in sink.statuses),
    ]
    for event in (e for e in sim.journal if start <= e.t < end):
        parts.append(
            f"# {event.action} {event.phase} at {encoder.timestamp(event.t)} (t={event.t:g} s): of each target, "
            f"the last {REPORT_READINGS} readings before it and the first {REPORT_READINGS} from it on"
        )
        for device_id in event.targets:
            at = bisect.bisect_left(times[device_id], event.t)
            parts.extend(rows[device_id][max(0, at - REPORT_READINGS) : at + REPORT_READINGS])
    return "\n".join(parts) + "\n"


@pytest.mark.parametrize("name", sorted(SPANS))
def test_golden_report(name: str, update_golden: bool) -> None:
    check(GOLDEN / f"{name}.report.txt", report_golden(name), update_golden)
