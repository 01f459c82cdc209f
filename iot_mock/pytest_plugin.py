"""The pytest plugin (entry point `pytest11`): a scenario run in virtual time as a fixture.

    def test_my_pipeline_flags_the_outage(iot_mock_run):
        run = iot_mock_run("meter-faults", duration="2h")
        ...run.readings, run.columns, run.statuses, run.report...

Installed with the package, it costs a session that does not use it nothing: this module defines
the fixture only, and the engine is imported when a test first asks for a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from engine.runtime.report import Report


@dataclass(frozen=True)
class Run:
    """What a run produced: the readings as the JSON lines hold them (and as typed columns, the same
    values), the status changes as published, and the run report."""

    readings: list[dict[str, Any]]
    columns: dict[str, Any]
    """`device_id` (a list of str) and numpy arrays: `epoch_ms`, `power`, `voltage`, `current`, `energy`,
    `enabled`, `seq`, one element per reading in the order of `readings`."""
    statuses: list[dict[str, Any]]
    report: Report


def run_scenario(
    scenario: str, *, duration: str | float | None = None, seed: int | None = None, start: str | datetime | None = None
) -> Run:
    """Run a scenario (a name from `scenarios/`, a path, or YAML text) in virtual time."""
    import json

    import numpy as np

    from engine import load_named, parse_scenario
    from engine.contract.messages import status_payload
    from engine.contract.readings import Encoder
    from engine.runtime.driver import run_virtual
    from engine.runtime.report import build_report
    from engine.runtime.sinks import MemorySink
    from engine.scenario.compile import moved_to
    from engine.scenario.durations import parse_duration
    from engine.simulation import Simulation

    loaded = parse_scenario(scenario) if "\n" in scenario else load_named(scenario)
    plan = loaded.plan
    if start is not None:
        plan = moved_to(plan, datetime.fromisoformat(start) if isinstance(start, str) else start)
    until = plan.duration if duration is None else parse_duration(duration)
    sim = Simulation(plan, sink := MemorySink(), seed=seed)
    run_virtual(sim, until)
    encoder = Encoder(plan.start_epoch)
    readings = [json.loads(line) for batch in sink.batches for line in encoder.jsonl(batch).splitlines()]
    parts = [encoder.columns(batch) for batch in sink.batches]
    names = ("epoch_ms", "power", "voltage", "current", "energy", "enabled", "seq")
    columns: dict[str, Any] = {
        name: np.concatenate([part[name] for part in parts]) if parts else np.empty(0) for name in names
    }
    columns["device_id"] = [batch.device_ids[d] for batch in sink.batches for d in batch.device.tolist()]
    statuses = [json.loads(status_payload(change, encoder.timestamp(change.t))) for change in sink.statuses]
    report = build_report(sim, run_id="pytest", source=loaded.source, until=until, wall_seconds=0.0)
    return Run(readings, columns, statuses, report)


@pytest.fixture
def iot_mock_run() -> Callable[..., Run]:
    """`iot_mock_run(scenario, *, duration=None, seed=None, start=None)`: a virtual-time run (`Run`)."""
    return run_scenario
