"""The register's faults: `drift`, `reset` (alias of `reset_energy`) and rollover at `register_kwh`."""

from __future__ import annotations

import itertools
import math

import pytest

from engine import parse_scenario
from engine.errors import CommandError
from engine.model.readings import Reading
from engine.runtime.report import build_report
from engine.runtime.sinks import MemorySink
from engine.scenario.actions import command_action
from engine.simulation import Simulation
from tests.helpers import by_device, command, scenario_text, simulate

DEVICES = "devices: [{id: ac, kind: hvac, interval: 10s}, {id: rack, kind: server, interval: 1m}]\n"
DAY = 86400.0


def _pairs(text: str, until: float) -> dict[str, list[tuple[Reading, Reading]]]:
    """Per device, each reading of `text` beside the same reading without its events."""
    _, plain = simulate(scenario_text(DEVICES), until)
    _, faulty = simulate(text, until)
    truth = by_device(plain.readings())
    return {
        device_id: list(zip(readings, truth[device_id], strict=True))
        for device_id, readings in by_device(faulty.readings()).items()
    }


def test_drift_grows_the_shown_power_current_and_increments_by_per_day_per_day_and_its_error_stays() -> None:
    events = 'events:\n  - {at: "+2h", action: drift, target: all, per_day: 0.5, duration: 12h}\n'
    text = scenario_text(DEVICES + events)
    for device_id, pairs in _pairs(text, 16 * 3600).items():
        error = 0.0
        for (got, true), (_, true_before) in zip(pairs[1:], pairs, strict=False):
            assert (got.t, got.voltage, got.seq) == (true.t, true.voltage, true.seq)
            gain = 1.0 + 0.5 * (got.t - 7200) / DAY if 7200 <= got.t < 14 * 3600 else 1.0
            assert got.power == pytest.approx(true.power * gain, rel=1e-12, abs=1e-12), got
            assert got.current == pytest.approx(true.current * gain, rel=1e-12, abs=1e-12), got
            error += (true.energy - true_before.energy) * (gain - 1.0)
            assert got.energy - true.energy == pytest.approx(error, rel=1e-9, abs=1e-9), (device_id, got)
        assert error > 0.04 * pairs[-1][1].energy  # after 12 h of up to +25 %: about 12 % more
    sim, _ = simulate(text, 16 * 3600)
    plain, _ = simulate(scenario_text(DEVICES), 16 * 3600)
    report, truth = (build_report(s, run_id="r", source="t", until=s.now, wall_seconds=0.0) for s in (sim, plain))
    for totals, true_totals in zip(report["devices"], truth["devices"], strict=True):
        assert totals["energy_kwh"] == true_totals["energy_kwh"]  # the true energy is kept
        assert totals["energy_reported_kwh"] > totals["energy_kwh"] * 1.04


def test_a_negative_drift_under_reads_down_to_zero() -> None:
    events = 'events:\n  - {at: "+0s", action: drift, target: rack, per_day: -0.5}\n'
    for got, true in _pairs(scenario_text(DEVICES + events), 3 * DAY)["rack"]:
        gain = max(0.0, 1.0 - 0.5 * got.t / DAY)
        assert got.power == pytest.approx(true.power * gain, rel=1e-12, abs=1e-12)
        assert got.energy <= true.energy
    assert got.power == 0.0 and got.energy > 0.0  # nothing more counted after two days


@pytest.mark.parametrize(("per_day", "message"), [(0.6, "less than or equal to 0.5"), (-1, "greater than or equal")])
def test_a_drift_beyond_half_a_day_is_refused(per_day: float, message: str) -> None:
    with pytest.raises(CommandError, match=f"per_day: Input should be {message}"):
        command_action("ac", "inject_fault", {"fault": "drift", "per_day": per_day})


def test_a_reset_restarts_the_register_at_zero_under_either_name_and_clears_a_drift_error() -> None:
    events = """\
events:
  - {at: "+1h", action: drift, target: all, per_day: 0.2, duration: 1h}
  - {at: "+3h", action: reset, target: ac}
  - {at: "+3h", action: reset_energy, target: rack}
"""
    pairs = _pairs(scenario_text(DEVICES + events), 5 * 3600)
    for device_id, interval in (("ac", 10.0), ("rack", 60.0)):
        after = [(got, true) for got, true in pairs[device_id] if got.t >= 3 * 3600]
        first, _ = after[0]
        assert first.t == 3 * 3600
        assert 0.0 < first.energy <= first.power * interval / 3600 * (1 + 1e-9)  # one reading's increment
        start = max(true.energy for _, true in pairs[device_id] if true.t < 3 * 3600)  # the energy at the reset
        for got, true in after:
            assert got.energy == pytest.approx(true.energy - start, rel=1e-9), (device_id, got)
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, MemorySink())
    sim.advance(3600.0)
    command(sim, "ac", "reset")
    command(sim, "rack", "reset_energy")
    assert [(e.action, e.source) for e in sim.journal] == [("reset", "command"), ("reset_energy", "command")]
    assert sim.by_id["ac"].register.energy_reported == 0.0 < sim.by_id["ac"].register.energy


ROLLOVER = "devices: [{id: ac, kind: hvac, interval: 10s, register_kwh: 99999.999, energy_start_kwh: 99999.5}]\n"


def test_the_register_rolls_over_once_at_its_size_and_stays_below_it() -> None:
    _, plain = simulate(scenario_text("devices: [{id: ac, kind: hvac, interval: 10s}]\n"), 2 * 3600)
    sim, rolled = simulate(scenario_text(ROLLOVER), 2 * 3600)
    readings = rolled.readings()
    assert all(0.0 <= r.energy < 99999.999 for r in readings)
    assert readings[0].energy >= 99999.5
    drops = [now for before, now in itertools.pairwise(readings) if now.energy < before.energy]
    assert len(drops) == 1 and drops[0].energy < 1.0
    for got, true in zip(readings, plain.readings(), strict=True):
        assert got.energy == math.floor(math.fmod(true.energy + 99999.5, 99999.999) / 0.001) * 0.001  # whole Wh
    report = build_report(sim, run_id="r", source="t", until=sim.now, wall_seconds=0.0)
    (device,) = report["devices"]
    assert device["energy_reported_kwh"] == round(
        math.floor(math.fmod(device["energy_kwh"] + 99999.5, 99999.999) / 0.001) * 0.001, 6
    )
    assert device["energy_reported_kwh"] == round(readings[-1].energy, 6)


def test_after_a_reset_a_rolling_register_restarts_at_zero_not_at_its_start_value() -> None:
    events = 'events:\n  - {at: "+10m", action: reset, target: ac}\n'
    _, sink = simulate(scenario_text(ROLLOVER + events), 3600)
    after = [r for r in sink.readings() if r.t >= 600]
    assert after[0].energy < 0.1 and after[-1].energy < 99999.0
    assert all(before.energy < now.energy for before, now in itertools.pairwise(after))
