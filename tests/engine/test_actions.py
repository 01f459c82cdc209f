"""One vocabulary: every action can be a scenario event, a command or an injected event, and each is journaled."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import get_args

import pytest
from pydantic import TypeAdapter

from engine import CommandError, SimulationError, parse_scenario
from engine.model.behaviours import Draws, Modulated, Process, Time
from engine.model.device import Device
from engine.model.faults import Fault
from engine.model.kinds import KINDS
from engine.model.specs import Kind
from engine.runtime.report import build_report
from engine.runtime.sinks import MemorySink
from engine.scenario import reference
from engine.scenario.actions import ACTION_NAMES, ACTIONS, FAULT_NAMES, command_action
from engine.scenario.events import TargetedAction
from engine.simulation import Simulation
from tests.helpers import by_device, command, scenario_text, simulate

DEVICES = "devices: [{id: ac, kind: hvac, interval: 10s}, {id: rack, kind: server, interval: 10s}]\n"


def test_every_command_can_be_scheduled_in_a_scenario_file() -> None:
    text = scenario_text(
        DEVICES
        + textwrap.dedent("""\
        events:
          - {at: "+10m", action: set_power, target: rack, kw: 12.5}
          - {at: "+20m", action: clear_override, target: rack}
          - {at: "+20m", action: set_offline, target: ac}
          - {at: "+30m", action: set_online, target: ac}
          - {at: "+30m", action: set_interval, target: ac, interval: 1m}
          - {at: "+40m", action: reset_energy, target: rack}
          - {at: "+40m", action: inject_fault, target: rack, fault: brownout, factor: 0.5, duration: 5m}
        """)
    )
    sim, sink = simulate(text, 3600)
    readings = by_device(sink.readings())
    rack, ac = readings["rack"], readings["ac"]
    assert all(12.5 * 0.9 <= r.power <= 12.5 * 1.1 for r in rack if 600 <= r.t < 1200)
    assert not [r for r in ac if 1200 <= r.t < 1800]  # offline: nothing sent
    assert [r.t for r in ac if r.t >= 1800] == [1800.0 + 60 * i for i in range(30)]
    assert next(r for r in rack if r.t == 2400).energy < 0.1 < next(r for r in rack if r.t == 2390).energy
    assert all(r.voltage < 130 for r in rack if 2400 < r.t < 2700)
    assert all(r.voltage > 200 for r in rack if r.t >= 2700)
    assert [(e.t, e.action, e.phase, e.targets, e.source) for e in sim.journal] == [
        (600.0, "set_power", "start", ("rack",), "scenario"),
        (1200.0, "clear_override", "start", ("rack",), "scenario"),
        (1200.0, "set_offline", "start", ("ac",), "scenario"),
        (1800.0, "set_online", "start", ("ac",), "scenario"),
        (1800.0, "set_interval", "start", ("ac",), "scenario"),
        (2400.0, "reset_energy", "start", ("rack",), "scenario"),
        (2400.0, "brownout", "start", ("rack",), "scenario"),  # inject_fault is the fault it names
        (2700.0, "brownout", "end", ("rack",), "scenario"),
    ]
    assert sim.journal[0].params == {"kw": 12.5} and sim.journal[6].params == {"factor": 0.5}
    assert sim.journal[6].duration == 300.0


def test_at_one_instant_the_scenario_acts_first_then_commands_in_arrival_order() -> None:
    text = scenario_text(DEVICES + 'events:\n  - {at: "+100s", action: set_power, target: rack, kw: 5}\n')
    sink = MemorySink()
    sim = Simulation(parse_scenario(text).plan, sink)
    sim.advance(100.0)  # the scenario's action at 100 s is due but not yet applied
    command(sim, "rack", "set_power", {"kw": 7})
    command(sim, "rack", "disable")
    assert [(e.t, e.action, e.source) for e in sim.journal] == [
        (100.0, "set_power", "scenario"),
        (100.0, "set_power", "command"),
        (100.0, "disable", "command"),
    ]
    command(sim, "rack", "enable")
    sim.advance(200.0)
    rack = by_device(sink.readings())["rack"]
    assert all(7 * 0.9 <= r.power <= 7 * 1.1 for r in rack if r.t >= 100)  # the command, applied last, holds


def test_the_report_timeline_is_the_journal_with_typed_params() -> None:
    text = scenario_text(DEVICES + 'events:\n  - {at: "+1m", action: brownout, target: all, duration: 1m}\n')
    sim, _ = simulate(text, 600)
    report = build_report(sim, run_id="r", source="t.yaml", until=sim.now, wall_seconds=0.0)
    assert report["events"] == [
        {"t": 60.0, "timestamp": "2025-08-04T00:01:00Z", "action": "brownout", "phase": "start",
         "targets": ["ac", "rack"], "source": "scenario", "params": {"factor": 0.85}, "duration": 60.0},
        {"t": 120.0, "timestamp": "2025-08-04T00:02:00Z", "action": "brownout", "phase": "end",
         "targets": ["ac", "rack"], "source": "scenario", "params": {"factor": 0.85}, "duration": 60.0},
    ]  # fmt: skip


def test_a_refused_action_names_the_device_and_the_sim_time_and_changes_nothing() -> None:
    sink = MemorySink()
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, sink)
    sim.advance(50.0)
    with pytest.raises(CommandError) as refused:
        command(sim, "nope", "disable")
    assert (refused.value.device_id, refused.value.sim_time, refused.value.reason) == ("nope", 50.0, "unknown device")
    assert list(sim.journal) == []


REQUIRED: dict[str, dict[str, object]] = {
    "inject_fault": {"fault": "stuck"},
    "set_power": {"kw": 1},
    "set_interval": {"interval": "1m"},
}
"""The parameters an action cannot do without."""


def test_each_name_is_one_action_accepted_everywhere() -> None:
    assert len(set(ACTION_NAMES)) == len(ACTION_NAMES) == len(ACTIONS)
    injected = TypeAdapter(TargetedAction)
    for name in ACTION_NAMES:
        member = next(cls for cls in ACTIONS if get_args(cls.model_fields["action"].annotation) == (name,))
        params = REQUIRED.get(name, {})
        assert isinstance(command_action("ac", name, params), tuple(ACTIONS)), name
        assert type(injected.validate_python({"action": name, "target": "all", **params})).__mro__[1] is member
        text = scenario_text(DEVICES + f"events: [{{at: '+1m', action: {name}, {_yaml(params)}}}]\n")
        assert parse_scenario(text).plan.events[0].at == 60.0, name


def test_every_fault_action_puts_the_fault_of_its_name_on_a_stage() -> None:
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, MemorySink())
    device: Device = sim.by_id["ac"]
    for name in FAULT_NAMES:
        action = command_action("ac", "inject_fault", {"fault": name})
        fault = action.start(device, sim.now)
        assert isinstance(fault, Fault) and fault.name == name and fault in getattr(device, fault.stage).faults
        action.end(device, fault, sim.now)
        assert device.faults() == []


def _yaml(params: dict[str, object]) -> str:
    return ", ".join(f"{key}: {value}" for key, value in params.items()) or "target: all"


def test_the_readme_holds_the_generated_table_of_actions(update_golden: bool) -> None:
    readme = Path(__file__).parents[2] / "README.md"
    text = readme.read_text()
    begin, end = text.index(reference.BEGIN), text.index(reference.END) + len(reference.END)
    if update_golden:
        readme.write_text(text[:begin] + reference.section() + text[end:])
        text = readme.read_text()
        begin, end = text.index(reference.BEGIN), text.index(reference.END) + len(reference.END)
    assert text[begin:end] == reference.section(), "the README's actions table is stale: pytest --update-golden"


def test_a_failing_device_is_named_with_the_sim_time(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(env: Time, device: Modulated, rng: Draws) -> Process:
        yield env.timeout(125.0)
        raise ZeroDivisionError("compressor")

    monkeypatch.setitem(KINDS, "hvac", dataclasses.replace(KINDS["hvac"], behaviour=broken))  # a defect at 125 s
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, MemorySink())
    with pytest.raises(SimulationError) as failed:
        sim.advance(600.0)
    assert (failed.value.device_id, failed.value.sim_time) == ("ac", 125.0)
    assert "hvac behaviour failed: ZeroDivisionError('compressor')" in str(failed.value)


def test_each_kind_is_defined_once() -> None:
    assert get_args(Kind) == tuple(KINDS)


def test_every_actions_example_is_a_valid_event_of_its_action() -> None:
    """The README's examples (one per action) parse, each to its own action on at least one device."""
    devices = """\
devices:
  - {id: meter-1, kind: hvac}
  - {id: meter-2, kind: hvac}
  - {id: ac, kind: hvac, tags: [noisy]}
  - {id: rack-01, kind: server}
  - {id: rack-07, kind: server}
  - {id: line-1, kind: industrial}
  - {id: kitchen, kind: appliance}
  - {id: lights, kind: lighting}
"""
    events = "".join(f"  - {cls.example}\n" for cls in ACTIONS)
    plan = parse_scenario(scenario_text(devices + "duration: 7d\nevents:\n" + events)).plan
    names = [get_args(cls.model_fields["action"].annotation)[0] for cls in ACTIONS]
    assert len(plan.events) == len(names) == len(set(names))
    for name, event in zip(names, plan.events, strict=True):
        resolved = "brownout" if name == "inject_fault" else name
        assert event.action.action == resolved and event.targets, name
