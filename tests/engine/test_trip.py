"""`trip` and `clear_trip`, and the breaker that trips by itself above `trip_current_a`."""

from __future__ import annotations

import pytest

from engine import parse_scenario
from engine.model.readings import Reading
from engine.runtime.report import build_report
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from tests.helpers import by_device, command, scenario_text, simulate

DEVICES = "devices: [{id: ac, kind: hvac, interval: 10s}, {id: oven, kind: appliance, interval: 1s}]\n"
HOUR = 3600.0


def _tripped(got: Reading, true: Reading) -> None:
    """A reading with the breaker open: no power, no current, the voltage there, published as usual."""
    assert (got.power, got.current) == (0.0, 0.0), got
    assert (got.t, got.voltage, got.seq, got.enabled) == (true.t, true.voltage, true.seq, true.enabled), got
    assert got.voltage > 150.0  # present, sagged or not


def test_a_trip_keeps_the_voltage_and_the_link_and_stops_power_until_clear_trip() -> None:
    events = """\
events:
  - {at: "+1h", action: trip, target: all}
  - {at: "+2h", action: clear_trip, target: all}
  - {at: "+3h", action: trip, target: oven, duration: 10m}
"""
    _, plain = simulate(scenario_text(DEVICES), 4 * HOUR)
    sim, sink = simulate(scenario_text(DEVICES + events), 4 * HOUR)
    truth = by_device(plain.readings())
    for device_id, readings in by_device(sink.readings()).items():
        assert len(readings) == len(truth[device_id])  # status online: every reading published
        for got, true in zip(readings, truth[device_id], strict=True):
            if HOUR <= got.t < 2 * HOUR or (device_id == "oven" and 3 * HOUR <= got.t < 3 * HOUR + 600):
                _tripped(got, true)
            elif device_id == "ac" and got.t == 2 * HOUR + 10:  # the breaker closed: the compressor's inrush
                assert got.power == pytest.approx(true.power * (1 + 4 * 2 / 10)) and got.voltage == true.voltage
            else:
                assert (got.power, got.current, got.voltage) == (true.power, true.current, true.voltage), got
        flat = [r.energy for r in readings if HOUR <= r.t < 2 * HOUR]
        assert len(set(flat)) == 1  # the register integrates zero power
        assert sim.by_id[device_id].status == "online"
    report = build_report(sim, run_id="r", source="t", until=sim.now, wall_seconds=0.0)
    assert [(e["t"], e["action"], e["phase"], e["source"]) for e in report["events"]] == [
        (HOUR, "trip", "start", "scenario"),
        (2 * HOUR, "clear_trip", "start", "scenario"),
        (2 * HOUR, "trip", "end", "scenario"),  # ended by the clear
        (3 * HOUR, "trip", "start", "scenario"),
        (3 * HOUR + 600, "trip", "end", "scenario"),
    ]


def test_trip_as_commands_inject_fault_and_clear_fault() -> None:
    sink = MemorySink()
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, sink)
    sim.advance(600.0)
    command(sim, "oven", "inject_fault", {"fault": "trip"})
    sim.advance(610.0)
    command(sim, "oven", "clear_fault", {"fault": "trip"})
    command(sim, "ac", "trip")
    sim.advance(700.0)
    command(sim, "ac", "clear_trip")
    sim.advance(800.0)
    _, plain = simulate(scenario_text(DEVICES), 800.0)
    truth = {(r.device_id, r.t): r for r in plain.readings()}
    for got in sink.readings():
        true = truth[got.device_id, got.t]
        if (got.device_id == "oven" and 600 <= got.t < 610) or (got.device_id == "ac" and 610 <= got.t < 700):
            _tripped(got, true)
        elif (got.device_id, got.t) == ("ac", 710.0):  # closed at 700: the compressor starts, 5x for 2 of 10 s
            assert got.power == pytest.approx(true.power * (1 + 4 * 2 / 10))
        else:
            assert (got.power, got.voltage, got.current, got.seq) == (true.power, true.voltage, true.current, true.seq)
            assert got.energy <= true.energy  # less counted: the trips
    assert [(e.action, e.targets) for e in sim.journal] == [
        ("trip", ("oven",)), ("clear_fault", ("oven",)), ("trip", ("oven",)), ("trip", ("ac",)),
        ("clear_trip", ("ac",)), ("trip", ("ac",)),
    ]  # fmt: skip
    assert [e.phase for e in sim.journal] == ["start", "start", "end", "start", "start", "end"]


def _brownout(limit: float | None) -> str:
    field = f", trip_current_a: {limit!r}" if limit is not None else ""
    return scenario_text(
        f"devices: [{{id: ac, kind: hvac, interval: 10s{field}}}]\n"
        'events:\n  - {at: "+13h", action: brownout, target: ac, factor: 0.95, duration: 1h}\n'
    )


def test_a_regulated_load_near_its_trip_current_trips_itself_at_the_first_reading_over_it_in_a_brownout() -> None:
    _, free = simulate(_brownout(None), 15 * HOUR)
    truth = free.readings()
    limit = 1.02 * max(r.current for r in truth if r.t < 13 * HOUR)
    first = next(r for r in truth if r.current > limit)
    assert 13 * HOUR < first.t < 14 * HOUR  # the sag raised the current of a constant-power load, near its limit
    ticks = [12.9 * HOUR + x * 0.37 for x in range(int(0.3 * HOUR / 0.37))]
    for steps in ([15 * HOUR], [*ticks, 15 * HOUR]):
        sim = Simulation(parse_scenario(_brownout(limit)).plan, sink := MemorySink())
        for until in steps:  # one go (numpy) and real-time-like ticks (Python floats): the same trip
            sim.advance(until)
        for got, true in zip(sink.readings(), truth, strict=True):
            if got.t < first.t:
                assert got == true
            else:  # the breaker stays open after the brownout: only a clear closes it
                _tripped(got, true)
        report = build_report(sim, run_id="r", source="t", until=sim.now, wall_seconds=0.0)
        assert report["events"][1] == {
            "t": first.t,
            "timestamp": report["events"][1]["timestamp"],
            "action": "trip",
            "phase": "start",
            "targets": ["ac"],
            "source": "meter",
            "params": {"current_a": round(first.current, 3), "trip_current_a": limit},
        }
        assert [(e["action"], e["source"]) for e in report["events"]] == [
            ("brownout", "scenario"), ("trip", "meter"), ("brownout", "scenario")
        ]  # fmt: skip


def test_after_a_clear_the_load_draws_again_and_trips_again_while_over_the_limit() -> None:
    text = scenario_text("devices: [{id: rack, kind: server, interval: 1m, rated_kw: 40, trip_current_a: 80}]\n")
    sink = MemorySink()
    sim = Simulation(parse_scenario(text).plan, sink)
    sim.advance(HOUR)
    command(sim, "rack", "set_power", {"kw": 60})  # about 89 A: over the limit
    sim.advance(HOUR + 1)  # the reading at 1h trips
    command(sim, "rack", "clear_trip")
    sim.advance(HOUR + 121)  # the next one trips again
    command(sim, "rack", "clear_override")
    command(sim, "rack", "clear_trip")
    sim.advance(2 * HOUR)
    readings = {r.t: r for r in sink.readings()}
    assert all(readings[t].power == 0.0 for t in (HOUR, HOUR + 60, HOUR + 120))
    assert all(0.0 < readings[t].current < 80 for t in (HOUR + 180, 2 * HOUR - 60))
    trips = [(e.t, e.phase, e.source) for e in sim.journal if e.action == "trip"]
    assert trips == [
        (HOUR, "start", "meter"),
        (HOUR + 1, "end", "command"),
        (HOUR + 60, "start", "meter"),
        (HOUR + 121, "end", "command"),
    ]
    actions = [e.action for e in sim.journal]
    assert actions == ["set_power", "trip", "clear_trip", "trip", "trip", "clear_override", "clear_trip", "trip"]


def test_the_breaker_rides_through_a_motor_start_and_trips_on_a_steady_overload() -> None:
    """After an outage the compressor starts at 5x for 2 s (85 A at 1 s readings): no trip at 25 A;
    a steady 34 A does trip."""
    text = scenario_text(
        """\
devices: [{id: ac, kind: hvac, interval: 1s, trip_current_a: 25}]
events:
  - {at: "+00:00:30", action: set_power, target: ac, kw: 10}
  - {at: "+00:10", action: outage, target: ac, duration: 1m}
  - {at: "+00:20", action: set_power, target: ac, kw: 20}
"""
    )
    sim, sink = simulate(text, 1800.0)
    started = [r for r in sink.readings() if 660 < r.t <= 662]
    assert len(started) == 2 and all(r.current > 60 for r in started)  # the inrush shows, 5x
    trips = [entry.t for entry in sim.journal if entry.source == "meter"]
    assert len(trips) == 1 and 1200 <= trips[0] < 1202


def test_a_meters_own_trip_is_a_fault_of_the_report_until_clear_trip_with_its_seq_range() -> None:
    text = scenario_text(
        """\
devices: [{id: ac, kind: hvac, interval: 1s, trip_current_a: 25}]
events:
  - {at: "+00:20", action: set_power, target: ac, kw: 20}
  - {at: "+00:24", action: set_power, target: ac, kw: 10}
  - {at: "+00:25", action: clear_trip, target: ac}
"""
    )
    for steps in ([1800.0], [1199.5, 1499.5, 1800.0], [x * 0.37 for x in range(1, 4865)] + [1800.0]):
        sink = MemorySink()
        sim = Simulation(parse_scenario(text).plan, sink)
        for until in steps:
            sim.advance(until)
        trips = [f for f in build_report(sim, run_id="r", source="s", until=1800.0, wall_seconds=0)["faults"]]
        assert [(f["action"], f["source"], f["start"]["t"], f["end"]) for f in trips] == [
            ("trip", "meter", 1200.0, {"t": 1500.0, "timestamp": "2025-08-04T00:25:00Z"})
        ], steps
        assert trips[0]["seq"] == {"ac": [1200, 1499]}
        zeros = [r.seq for r in sink.readings() if r.power == 0.0]
        assert (min(zeros), max(zeros), len(zeros)) == (1200, 1499, 300)


def test_clear_trip_on_a_closed_breaker_changes_nothing() -> None:
    """No trip, no motor start: a `clear_trip` on every device leaves the readings as they were."""
    base = "devices: [{id: h, kind: hvac, interval: 10s}, {id: m, kind: industrial, interval: 10s}]\n"
    _, plain = simulate(scenario_text(base), 3 * HOUR)
    _, cleared = simulate(scenario_text(base + 'events: [{at: "+2h", action: clear_trip, target: all}]\n'), 3 * HOUR)
    assert cleared.readings() == plain.readings()
