"""Inrush: a motor start draws `factor` times for `duration`, and each reading shows its window's share."""

from __future__ import annotations

import pytest

from engine import parse_scenario
from engine.model.actions import CreateDevice
from engine.runtime.sinks import MemorySink
from engine.scenario.compile import device_spec
from engine.scenario.device_format import Device
from engine.simulation import Simulation
from tests.helpers import by_device, scenario_text, simulate

FLAT = """\
profiles:
  flat: {weekday: {"00:00": 0.5}}
"""
LEVEL = 10.0  # rated 20 kW on a flat 0.5, no noise: every steady reading is exactly this


def _site(devices: str, events: str = "") -> str:
    return scenario_text(FLAT + f"devices:\n{devices}" + (f"events:\n{events}" if events else ""))


def _powers(text: str, until: float, device: str = "m") -> dict[float, float]:
    _, sink = simulate(text, until)
    return {r.t: r.power for r in by_device(sink.readings())[device]}


def _meter(interval: str, extra: str = "", kind: str = "hvac", noise: float = 0) -> str:
    return (
        f"  - {{id: m, kind: {kind}, rated_kw: 20, profile: flat, noise: {noise}, behaviour: false, "
        f"interval: {interval}{extra}}}\n"
    )


def test_a_ten_second_meter_shows_a_fifth_of_a_two_second_inrush() -> None:
    powers = _powers(_site(_meter("10s")), 60)
    assert powers[0.0] == LEVEL  # covers (-10, 0]: before the start
    assert powers[10.0] == pytest.approx(LEVEL * (1 + 4 * 2 / 10))  # 1.8x: 2 s of 5x in 10 s
    assert all(powers[t] == LEVEL for t in (20.0, 30.0, 40.0, 50.0))


def test_a_one_second_meter_shows_two_readings_at_five_times() -> None:
    powers = _powers(_site(_meter("1s")), 6)
    assert [powers[t] for t in (0.0, 1.0, 2.0, 3.0, 4.0)] == [LEVEL, 5 * LEVEL, 5 * LEVEL, LEVEL, LEVEL]


def test_the_inrush_exceeds_the_nameplate_and_is_in_the_energy() -> None:
    text = _site("  - {id: m, kind: industrial, rated_kw: 20, noise: 0, behaviour: false, interval: 1s,"
                 " profile: full, inrush: {factor: 3, duration: 1s}}\n").replace(
        "flat:", 'full: {weekday: {"00:00": 1.2}}\n  flat:'
    )  # fmt: skip
    sim, sink = simulate(text, 5)
    rows = sink.readings()
    steady = rows[3].power
    assert steady < 20.0 and rows[1].power == pytest.approx(3 * steady) and rows[1].power > 20.0
    assert rows[2].power == steady
    assert sim.by_id["m"].register.energy == pytest.approx((3 * steady + 3 * steady) / 3600)


def test_after_an_outage_ends_and_only_when_the_last_one_ends() -> None:
    events = (
        '  - {at: "+00:01", action: outage, target: m, duration: 60s}\n'
        '  - {at: "+00:01:30", action: outage, target: m, duration: 60s}\n'
    )
    powers = _powers(_site(_meter("10s"), events), 300)
    assert powers[120.0] == 0.0 and powers[140.0] == 0.0  # the first ended at 120, the second goes on
    assert powers[150.0] == LEVEL  # the second ended at 150; this reading's window (140, 150] is before it
    assert powers[160.0] == pytest.approx(LEVEL * 1.8)
    assert all(powers[t] == LEVEL for t in (170.0, 180.0, 200.0))


def test_after_enable_and_after_a_timed_disable() -> None:
    events = (
        '  - {at: "+00:01", action: disable, target: m, duration: 60s}\n'
        '  - {at: "+00:03", action: disable, target: m}\n'
        '  - {at: "+00:04", action: enable, target: m}\n'
        '  - {at: "+00:04:30", action: enable, target: m}\n'
    )
    powers = _powers(_site(_meter("10s"), events), 330)
    assert powers[130.0] == pytest.approx(LEVEL * 1.8)  # the disable ended at 120
    assert powers[250.0] == pytest.approx(LEVEL * 1.8)  # enabled at 240
    assert powers[280.0] == LEVEL  # enabling an enabled device starts nothing


def test_off_when_the_device_says_so_and_for_kinds_without_motors() -> None:
    assert _powers(_site(_meter("1s", ", inrush: false")), 4)[1.0] == LEVEL
    assert _powers(_site(_meter("1s", kind="server")), 4)[1.0] == LEVEL


def test_a_device_created_at_runtime_starts_with_its_inrush() -> None:
    sim = Simulation(parse_scenario(_site(_meter("10s"))).plan, sink := MemorySink())
    sim.advance(100)
    body = Device(id="new", kind="hvac", rated_kw=20, profile="flat", noise=0, behaviour=False, interval=10)
    sim.apply(CreateDevice(device_spec(body, sim.plan.profiles, sim.plan.site)), ())
    sim.advance(130)
    new = {r.t: r.power for r in by_device(sink.readings())["new"]}
    assert new[100.0] == LEVEL and new[110.0] == pytest.approx(LEVEL * 1.8) and new[120.0] == LEVEL


def test_the_float_path_and_the_numpy_path_agree() -> None:
    events = '  - {at: "+00:00:35", action: outage, target: m, duration: 3s}\n'
    text = _site(_meter("500ms", ", inrush: {factor: 4, duration: 1500ms}", noise=0.1), events)

    def rows(steps: list[float]) -> list[tuple[float, float, float]]:
        sim = Simulation(parse_scenario(text).plan, sink := MemorySink())
        for until in steps:
            sim.advance(until)
        return [(r.t, r.power, r.energy) for r in sink.readings()]

    bulk = rows([80.0])  # numpy: many readings per call
    assert rows([x * 0.3 for x in range(1, 267)] + [80.0]) == bulk  # Python floats: one or two per call
    assert bulk[1][1] > 3 * bulk[4][1] and bulk[77][1] > 3 * bulk[80][1]  # the start and the outage's end


def test_the_reading_after_a_change_of_interval_averages_its_own_gap() -> None:
    """A 10 s meter restarted at 7203 s, switched to 1 s readings at 7204 s: its reading at 7210 s closes
    the 10 s since 7200 s, so it shows 2 s of the 5x start over 10 s (the new 1 s interval lost it)."""
    base = """\
devices: [{id: m, kind: industrial, interval: 10s, behaviour: false}]
events:
  - {at: "+1h", action: set_power, target: m, kw: 50}
  - {at: "+2h", action: outage, target: m, duration: 3s}
"""
    changed = base + '  - {at: "+2h4s", action: set_interval, target: m, interval: 1s}\n'
    _, plain = simulate(scenario_text(base), 7230.0)
    _, sink = simulate(scenario_text(changed), 7230.0)
    after = {r.t: r for r in sink.readings()}
    before = {r.t: r for r in plain.readings()}
    assert after[7210.0].power == pytest.approx(before[7210.0].power)  # the same window, the same start
    assert after[7210.0].power > 1.7 * after[7211.0].power
    real_time = Simulation(parse_scenario(scenario_text(changed)).plan, ticks := MemorySink())
    for step in range(1, 19520):
        real_time.advance(step * 0.37)
    assert [r for r in ticks.readings() if r.t <= 7215] == [r for r in sink.readings() if r.t <= 7215]
