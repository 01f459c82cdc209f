"""Timeline events: outage, comm loss, disable/enable, brownout, stuck; and the status changes."""

from __future__ import annotations

from tests.helpers import by_device, scenario_text, simulate

DEVICES = """\
devices:
  - {id: ac, kind: hvac, interval: 1m}
  - {id: oven, kind: appliance, interval: 1m}
  - {id: rack, kind: server, interval: 1m}
"""


def run(events: str, until: float = 4 * 3600):  # type: ignore[no-untyped-def]
    sim, sink = simulate(scenario_text(DEVICES + "events:\n" + events), until)
    return sim, sink, by_device(sink.readings())


def test_outage_zeroes_power_voltage_current_and_freezes_energy() -> None:
    sim, _, readings = run('  - {at: "+01:00", action: outage, target: ac, duration: 30m}\n')
    during = [r for r in readings["ac"] if 3600 <= r.t < 5400]
    assert len(during) == 30
    assert all(r.power == r.voltage == r.current == 0 for r in during)
    assert len({r.energy for r in during}) == 1
    after = next(r for r in readings["ac"] if r.t == 5400)
    assert after.power > 0 and after.voltage > 200
    assert all(r.power > 0 for r in readings["oven"])  # other devices are untouched
    assert [(e.t, e.action, e.phase, e.targets) for e in sim.journal] == [
        (3600.0, "outage", "start", ("ac",)),
        (5400.0, "outage", "end", ("ac",)),
    ]


def test_comm_loss_silences_the_device_and_energy_jumps_on_return() -> None:
    _, sink, readings = run('  - {at: "+01:00", action: comm_loss, target: [ac, rack], duration: 20m}\n')
    ac = readings["ac"]
    assert not [r for r in ac if 3600 <= r.t < 4800]
    before, back = next(r for r in ac if r.t == 3540), next(r for r in ac if r.t == 4800)
    assert back.seq == before.seq + 1  # seq counts published readings: no gap for the consumer
    # The meter kept integrating while silent: the rack's energy jump covers the 21 minutes.
    rack_before = next(r for r in readings["rack"] if r.t == 3540)
    rack_back = next(r for r in readings["rack"] if r.t == 4800)
    minutes = (rack_back.energy - rack_before.energy) / (rack_before.power / 60)
    assert 15 < minutes < 30
    statuses = [(s.t, s.device_id, s.status, s.reason) for s in sink.statuses if s.reason != "start"]
    assert statuses == [
        (3600.0, "ac", "offline", "comm_loss"),
        (3600.0, "rack", "offline", "comm_loss"),
        (4800.0, "ac", "online", "comm_loss_end"),
        (4800.0, "rack", "online", "comm_loss_end"),
    ]


def test_disable_drops_to_standby_and_enable_restores() -> None:
    _, sink, readings = run(
        '  - {at: "+01:00", action: disable, target: {kind: server}}\n'
        '  - {at: "+02:00", action: enable, target: rack}\n'
    )
    rack = readings["rack"]
    off = [r for r in rack if 3600 <= r.t < 7200]
    assert len(off) == 60 and all(not r.enabled and r.power < 45 * 0.004 for r in off)
    assert all(r.enabled and r.power > 20 for r in rack if r.t >= 7200)
    changes = [(s.t, s.enabled) for s in sink.statuses if s.device_id == "rack"]
    assert changes == [(0.0, True), (3600.0, False), (7200.0, True)]


def test_brownout_lowers_voltage_resistive_loads_draw_less_regulated_ones_more_current() -> None:
    _, _, readings = run('  - {at: "+01:00", action: brownout, factor: 0.8, duration: 1h}\n')
    for device_id in ("ac", "oven", "rack"):
        during = [r for r in readings[device_id] if 3600 <= r.t < 7200]
        assert all(230 * 0.8 * 0.98 <= r.voltage <= 230 * 0.8 * 1.02 for r in during), device_id
        assert all(r.voltage > 225 for r in readings[device_id] if r.t >= 7200)
    oven = [r.power for r in readings["oven"] if 3600 <= r.t < 7200]
    assert max(oven) < 15 * 0.64 * 1.25 * 1.1  # resistive: power x 0.8**2


def test_stuck_sensor_repeats_the_last_values() -> None:
    _sim, _, readings = run('  - {at: "+01:00", action: stuck, target: rack, duration: 30m}\n')
    rack = readings["rack"]
    last_good = next(r for r in rack if r.t == 3540)
    stuck = [r for r in rack if 3600 <= r.t < 5400]
    assert {(r.power, r.voltage, r.current, r.energy) for r in stuck} == {
        (last_good.power, last_good.voltage, last_good.current, last_good.energy)
    }
    assert [r.seq for r in stuck] == list(range(last_good.seq + 1, last_good.seq + 31))
    recovered = next(r for r in rack if r.t == 5400)
    assert recovered.energy > last_good.energy + 0.4 * 45 * 0.5  # the true energy went on


def test_overlapping_outages_nest() -> None:
    _, _, readings = run(
        '  - {at: "+01:00", action: outage, target: ac, duration: 1h}\n'
        '  - {at: "+01:30", action: outage, target: ac, duration: 1h}\n'
    )
    dark = [r.t for r in readings["ac"] if r.voltage == 0]
    assert dark == [3600.0 + 60 * i for i in range(90)]


def test_events_after_the_run_never_happen() -> None:
    sim, _, _ = run('  - {at: "+5d", action: outage}\n')
    assert list(sim.journal) == []
