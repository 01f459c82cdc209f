"""`spikes`: while it lasts, some readings show their power and current times a factor; the rest is true."""

from __future__ import annotations

from engine import parse_scenario
from engine.runtime.report import build_report
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from tests.helpers import by_device, command, scenario_text, simulate

DEVICES = "devices: [{id: ac, kind: hvac, interval: 10s}, {id: oven, kind: appliance, interval: 1s}]\n"
SPIKES = 'events:\n  - {at: "+1h", action: spikes, target: all, probability: 0.2, factor: 3, duration: 1h}\n'


def test_spiking_readings_show_factor_times_the_true_power_and_current_and_nothing_else_changes() -> None:
    _, plain = simulate(scenario_text(DEVICES), 3 * 3600)
    sim, spiked = simulate(scenario_text(DEVICES + SPIKES), 3 * 3600)
    for device_id, readings in by_device(spiked.readings()).items():
        truth = by_device(plain.readings())[device_id]
        assert len(readings) == len(truth)
        hits = 0
        for got, true in zip(readings, truth, strict=True):
            assert (got.t, got.voltage, got.energy, got.seq) == (true.t, true.voltage, true.energy, true.seq)
            if got.power != true.power:
                assert 3600 <= got.t < 7200, got
                assert (got.power, got.current) == (true.power * 3.0, true.current * 3.0)
                hits += 1
        in_window = sum(1 for r in truth if 3600 <= r.t < 7200)
        assert 0.15 * in_window < hits < 0.25 * in_window, (device_id, hits, in_window)
    report = build_report(sim, run_id="r", source="t.yaml", until=sim.now, wall_seconds=0.0)
    assert [(e["action"], e["phase"], e.get("params")) for e in report["events"]] == [
        ("spikes", "start", {"probability": 0.2, "factor": 3.0}),
        ("spikes", "end", {"probability": 0.2, "factor": 3.0}),
    ]


def test_spikes_fall_on_the_same_readings_whatever_the_clock_steps() -> None:
    text = scenario_text(DEVICES + SPIKES)
    _, whole = simulate(text, 2 * 3600)
    sink = MemorySink()
    sim = Simulation(parse_scenario(text).plan, sink)
    t = 0.0
    while t < 2 * 3600:  # real-time-like ticks: one or two readings per device per advance
        t = min(2 * 3600.0, t + 0.37)
        sim.advance(t)
    assert sink.readings() == whole.readings()


def test_spikes_as_a_command_until_cleared() -> None:
    sink = MemorySink()
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, sink)
    sim.advance(600.0)
    command(sim, "oven", "inject_fault", {"fault": "spikes", "probability": 1.0, "factor": 2.0})
    command(sim, "oven", "set_online")  # another command meanwhile leaves the fault in force
    sim.advance(610.0)
    command(sim, "oven", "clear_fault", {"fault": "spikes"})
    sim.advance(620.0)
    _, plain = simulate(scenario_text(DEVICES), 620.0)
    truth = {r.t: r for r in by_device(plain.readings())["oven"]}
    for reading in by_device(sink.readings())["oven"]:
        factor = 2.0 if 600 <= reading.t < 610 else 1.0
        assert reading.power == truth[reading.t].power * factor, reading
    assert [(e.action, e.phase) for e in sim.journal] == [
        ("spikes", "start"),
        ("set_online", "start"),
        ("clear_fault", "start"),
        ("spikes", "end"),
    ]


def test_overlapping_spikes_share_each_readings_draw_whatever_the_clock_steps() -> None:
    """Two spikes in force together draw once per reading (they used to take turns on one stream, so
    the readings they hit depended on where a run was cut into steps)."""
    text = scenario_text(
        """\
devices: [{id: rack, kind: server, interval: 1s}]
events:
  - {at: "+00:01", action: spikes, probability: 0.3, factor: 2, duration: 10m}
  - {at: "+00:03", action: spikes, probability: 0.1, factor: 3, duration: 4m}
"""
    )
    _, plain = simulate(scenario_text("devices: [{id: rack, kind: server, interval: 1s}]\n"), 900)
    runs = []
    for steps in ([900.0], [x * 0.37 for x in range(1, 2433)] + [900.0], [x * 7.0 for x in range(1, 129)] + [900.0]):
        sim = Simulation(parse_scenario(text).plan, sink := MemorySink())
        for until in steps:
            sim.advance(until)
        runs.append(sink.readings())
    assert runs[0] == runs[1] == runs[2]
    ratios = {round(r.power / p.power, 9) for r, p in zip(runs[0], plain.readings(), strict=True) if 180 <= r.t < 420}
    assert ratios == {1.0, 2.0, 6.0}  # the rarer one hits only where the other does: factors multiply
