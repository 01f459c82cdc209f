"""Small helpers shared by tests: run a scenario text into memory."""

from __future__ import annotations

import textwrap

from engine import parse_scenario
from engine.model.readings import Reading
from engine.runtime.sinks import MemorySink
from engine.runtime.virtual import run_virtual
from engine.simulation import Simulation

READING_FIELDS = ["device_id", "timestamp", "power", "voltage", "current", "energy", "status", "enabled", "seq"]
"""The fields of a reading payload, in the contract's order."""


def scenario_text(body: str, **fields: object) -> str:
    """A minimal valid scenario with `body` appended (dedented)."""
    header = {"version": 1, "name": "test", "start": "2025-08-04T00:00:00", "timezone": "UTC", "seed": 1}
    header.update(fields)
    lines = [f"{key}: {value}" for key, value in header.items()]
    return "\n".join(lines) + "\n" + textwrap.dedent(body)


def simulate(text: str, until: float, *, seed: int | None = None) -> tuple[Simulation, MemorySink]:
    sink = MemorySink()
    sim = Simulation(parse_scenario(text, "test.yaml").plan, sink, seed=seed)
    run_virtual(sim, until)
    return sim, sink


def by_device(readings: list[Reading]) -> dict[str, list[Reading]]:
    out: dict[str, list[Reading]] = {}
    for reading in readings:
        out.setdefault(reading.device_id, []).append(reading)
    return out
