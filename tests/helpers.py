"""Small helpers shared by tests: run a scenario text into memory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine import ScenarioError, load_scenario, parse_scenario
from engine.model.readings import Reading
from engine.runtime.driver import run_virtual
from engine.runtime.sinks import MemorySink
from engine.scenario.actions import command_action
from engine.simulation import Simulation

READING_FIELDS = ["device_id", "timestamp", "power", "voltage", "current", "energy", "status", "enabled", "seq"]
"""The fields of a reading payload, in the contract's order."""
NAMED_SCENARIOS = ["brownout-storm", "datacenter-day", "default", "factory-shifts", "fleet-1000", "history-replay",
                   "meter-faults", "office-week", "office-week-ci"]  # fmt: skip
"""The named scenarios in scenarios/, in the order listed: written out, so a scenario gone missing fails."""


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


# Templates that once ran for a minute or took gigabytes, and the error each gets now (on line 4).
HOSTILE_TEMPLATES = [
    ("{{ 'x'|center(1000000000) }}", "template: center: width 1000000000 above 1000000"),
    ("{{ '%1000000000d' % 1 }}", "template: format width 1000000000 above 1000000"),
    ("{{ '%*d' % (1000000000, 1) }}", "template: format width 1000000000 above 1000000"),
    ("{{ '%1000000000d'|format(1) }}", "template: format width 1000000000 above 1000000"),
    ("{{ '{:1000000000}'.format(1) }}", "template: format width 1000000000 above 1000000"),
    ("{{ (((10**100)**100)**100)**100 }}", "template: result of ** longer than 100000 bits"),
    ("{{ lipsum(200000) }}", "template: lipsum: 200000 paragraphs of up to 100 words above 100000"),
    ("{{ 'a'|indent(1000000000) }}", "template: indent: width 1000000000 above 1000000"),
    ("{{ 'ab'|batch(1000000000, 'x')|list }}", "template: batch: linecount 1000000000 above 1000000"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "template: recursion too deep (does a macro call itself?)"),
    ("{{ (['x' * 1000000] * 300) | join | length }}", "template needs more than 256 MiB of memory"),
]


def hostile_scenario(body: str) -> str:
    """A valid scenario with `body` on line 4."""
    return f"version: 1\nname: x\ndevices: [{{id: a, kind: hvac}}]\n# {body}\n"


def command(sim: Simulation, device_id: str, name: str, params: object = None) -> None:
    """Apply a command now, as the driver does one from MQTT or REST (parameters validated first)."""
    sim.apply(command_action(device_id, name, params), (device_id,))


def messages(path: Path) -> list[str]:
    """The issues of a scenario file that does not load, each rendered as the CLI prints it."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [issue.render(caught.value.source) for issue in caught.value.issues]
