"""Commands change a running simulation at the current instant and are recorded."""

from __future__ import annotations

import pytest

from engine import CommandError, parse_scenario
from engine.runtime.sinks import MemorySink
from engine.scenario.actions import ACTION_NAMES
from engine.simulation import Simulation
from tests.helpers import by_device, command, scenario_text

TEXT = scenario_text("devices: [{id: ac, kind: hvac, interval: 10s}, {id: rack, kind: server, interval: 10s}]\n")


def fresh() -> tuple[Simulation, MemorySink]:
    sink = MemorySink()
    return Simulation(parse_scenario(TEXT).plan, sink), sink


def test_commands_take_effect_from_the_current_instant() -> None:
    sim, sink = fresh()
    sim.advance(600)
    command(sim, "rack", "set_power", {"kw": 12.5})
    sim.advance(1200)
    command(sim, "rack", "clear_override")
    command(sim, "rack", "disable")
    sim.advance(1800)
    command(sim, "rack", "enable")
    command(sim, "rack", "set_interval", {"interval": "1m"})
    sim.advance(2400)
    rack = by_device(sink.readings())["rack"]
    overridden = [r.power for r in rack if 600 <= r.t < 1200]
    assert len(overridden) == 60 and all(12.5 * 0.9 <= p <= 12.5 * 1.1 for p in overridden)
    assert all(not r.enabled for r in rack if 1200 <= r.t < 1800)
    assert [r.t for r in rack if r.t >= 1800] == [1800.0 + 60 * i for i in range(10)]
    assert [(e.t, e.action, e.source) for e in sim.journal] == [
        (600.0, "set_power", "command"),
        (1200.0, "clear_override", "command"),
        (1200.0, "disable", "command"),
        (1800.0, "enable", "command"),
        (1800.0, "set_interval", "command"),
    ]
    assert sim.journal[0].params == {"kw": 12.5}


def test_offline_online_and_status_changes() -> None:
    sim, sink = fresh()
    sim.advance(100)
    command(sim, "ac", "set_offline")
    sim.advance(200)
    command(sim, "ac", "set_online")
    sim.advance(300)
    ac = by_device(sink.readings())["ac"]
    assert [r.t for r in ac] == [
        0,
        10,
        20,
        30,
        40,
        50,
        60,
        70,
        80,
        90,
        200,
        210,
        220,
        230,
        240,
        250,
        260,
        270,
        280,
        290,
    ]
    assert [(s.t, s.status, s.reason) for s in sink.statuses if s.device_id == "ac"] == [
        (0.0, "online", "start"),
        (100.0, "offline", "set_offline"),
        (200.0, "online", "set_online"),
    ]


def test_injected_faults_end_after_their_duration_or_when_cleared() -> None:
    sim, sink = fresh()
    sim.advance(100)
    command(sim, "ac", "inject_fault", {"fault": "outage", "duration": "1m"})
    command(sim, "rack", "inject_fault", {"fault": "brownout", "factor": 0.5})
    sim.advance(400)
    command(sim, "rack", "clear_fault", {"fault": "brownout"})
    sim.advance(500)
    readings = by_device(sink.readings())
    assert [r.t for r in readings["ac"] if r.voltage == 0] == [100, 110, 120, 130, 140, 150]
    assert all(r.voltage < 120 for r in readings["rack"] if 100 <= r.t < 400)
    assert all(r.voltage > 220 for r in readings["rack"] if r.t >= 400)
    assert [(e.t, e.action, e.phase) for e in sim.journal] == [
        (100.0, "outage", "start"),
        (100.0, "brownout", "start"),
        (160.0, "outage", "end"),
        (400.0, "clear_fault", "start"),
        (400.0, "brownout", "end"),  # cleared: its end is journaled then
    ]


def test_reset_energy_restarts_the_reported_counter() -> None:
    sim, sink = fresh()
    sim.advance(3600)
    command(sim, "ac", "reset_energy")
    sim.advance(3700)
    ac = by_device(sink.readings())["ac"]
    assert ac[-11].energy > 1 and ac[-10].t == 3600 and ac[-10].energy < 0.1


@pytest.mark.parametrize(
    ("device", "name", "params", "message"),
    [
        ("nope", "enable", None, "nope: unknown device"),
        ("ac", "explode", None, f"ac: unknown command 'explode'; one of: {', '.join(ACTION_NAMES)}"),
        ("ac", "set_power", {}, "ac: set_power: give exactly one of 'kw' or 'fraction'"),
        ("ac", "set_power", {"kw": -1}, "ac: set_power: kw: Input should be greater than or equal to 0"),
        ("ac", "set_interval", {"interval": "5x"}, "ac: set_interval: interval: must be a duration like"),
        ("ac", "enable", {"now": True}, "ac: enable: now: Extra inputs are not permitted"),
        ("ac", "inject_fault", {"fault": "fire"}, "ac: inject_fault: fault: Input should be 'outage'"),
        ("ac", "inject_fault", {"fault": "outage", "factor": 0.5}, "ac: inject_fault: factor: Extra inputs are not"),
        ("ac", "inject_fault", {"fault": "brownout", "factor": 2}, "ac: inject_fault: factor: Input should be less"),
        ("ac", "inject_fault", {"fault": "out_of_order", "max_delay": "soon"}, "ac: inject_fault: max_delay: must"),
        ("ac", "enable", [1], "ac: params must be an object, got list"),
    ],
)
def test_bad_commands_are_refused_with_a_precise_reason(device: str, name: str, params: object, message: str) -> None:
    sim, _ = fresh()
    with pytest.raises(CommandError) as caught:
        command(sim, device, name, params)
    assert str(caught.value).startswith(message)
    assert list(sim.journal) == []


def test_no_command_applies_once_the_run_has_ended() -> None:
    """A command arriving while a stopped run drains must not bring a cleared device back."""
    sim = Simulation(parse_scenario(scenario_text("devices: [{id: a, kind: hvac}]\n")).plan, MemorySink())
    sim.advance(60.0)
    sim.end()
    with pytest.raises(CommandError, match="the run has ended"):
        command(sim, "a", "disable")
    assert sim.by_id["a"].enabled is True
