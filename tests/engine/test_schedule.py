"""Events at a seeded `rate` (Poisson arrivals, maybe between `from` and `until`) and `{tag: NAME}` targets."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from engine import ScenarioError, load_scenario, parse_scenario
from engine.model.randomness import stream
from engine.simulation import Simulation
from engine.simulation.arrivals import arrivals
from tests.helpers import scenario_text, simulate

DEVICES = """\
devices:
  - {id: ac, kind: hvac, interval: 1m, tags: [roof, north]}
  - {id: rack, kind: server, interval: 1m, tags: [north]}
  - {id: oven, kind: appliance, interval: 1m}
"""


def starts(sim: Simulation, action: str) -> list[float]:
    return [e.t for e in sim.journal if e.action == action and e.phase == "start"]


def test_arrivals_are_a_poisson_process_of_the_rate() -> None:
    times = list(arrivals(stream(3, "events/0", "arrivals"), 1 / 60, 100.0, 100.0 + 60 * 20_000))
    gaps = np.diff([100.0, *times])
    assert 19_500 < len(times) < 20_500  # 20,000 expected, sd 141
    assert abs(gaps.mean() - 60) < 1.5 and abs(gaps.std() - 60) < 2.5  # exponential: mean = sd = 1/rate
    assert all(t == round(t, 3) for t in times) and times == sorted(times) and times[0] >= 100
    assert abs(float(np.mean(gaps > 120)) - math.exp(-2)) < 0.01


def test_a_rate_event_happens_at_seeded_instants_each_with_its_end() -> None:
    text = scenario_text(DEVICES + 'events:\n  - {rate: "6/h", action: outage, target: ac, duration: 2m}\n')
    sim, _ = simulate(text, 10 * 3600)
    instants = starts(sim, "outage")
    expected = list(itertools.islice(arrivals(stream(1, "events/0", "arrivals"), 6 / 3600, 0.0, None), len(instants)))
    assert instants == expected and 40 < len(instants) < 80
    assert all(0 <= t < 10 * 3600 for t in instants)
    ends = [e.t for e in sim.journal if e.action == "outage" and e.phase == "end"]
    assert all(round(t + 120, 3) in {round(end, 3) for end in ends} for t in instants if t + 120 < 10 * 3600)
    again, _ = simulate(text, 10 * 3600)
    assert starts(again, "outage") == instants


def test_the_run_seed_draws_the_arrivals_and_each_event_has_its_own() -> None:
    text = scenario_text(
        DEVICES + "events:\n"
        '  - {rate: "4/h", action: reset_energy, target: oven}\n'
        '  - {rate: "4/h", action: reset_energy, target: rack}\n'
    )
    sim, _ = simulate(text, 5 * 3600)
    other, _ = simulate(text, 5 * 3600, seed=99)

    def of(s: Simulation, device_id: str) -> list[float]:
        return [e.t for e in s.journal if e.targets == (device_id,)]

    assert of(sim, "oven") != of(sim, "rack")  # keyed by the event's index, not by what it does
    assert of(sim, "oven") != of(other, "oven")
    assert of(other, "oven") == list(arrivals(stream(99, "events/0", "arrivals"), 4 / 3600, 0.0, 5 * 3600.0))


def test_from_and_until_bound_the_arrivals() -> None:
    event = '  - {rate: "1/min", action: set_power, kw: 1, target: oven, from: "+02:00", until: "2025-08-04T03:00"}\n'
    sim, _ = simulate(scenario_text(DEVICES + "events:\n" + event), 6 * 3600)
    instants = starts(sim, "set_power")
    assert 40 < len(instants) < 80 and all(7200 <= t < 10800 for t in instants)
    assert instants == list(arrivals(stream(1, "events/0", "arrivals"), 1 / 60, 7200.0, 10800.0))
    plan = parse_scenario(scenario_text(DEVICES + "events:\n" + event)).plan
    (scheduled,) = plan.events
    assert (scheduled.at, scheduled.until, scheduled.rate, scheduled.key) == (7200.0, 10800.0, 1 / 60, "events/0")


@pytest.mark.parametrize(
    ("rate", "per_second"),
    [("3/day", 3 / 86400), ("1/h", 1 / 3600), ("2/week", 2 / 604800), ("10/min", 10 / 60), ("1/30m", 1 / 1800),
     ("0.5/hour", 0.5 / 3600), ("1/s", 1.0)],
)  # fmt: skip
def test_rates_read_as_a_count_per_period(rate: str, per_second: float) -> None:
    text = scenario_text(DEVICES + f'events:\n  - {{rate: "{rate}", action: outage}}\n')
    assert parse_scenario(text).plan.events[0].rate == pytest.approx(per_second)


def test_bad_schedules_are_located_at_their_field(tmp_path: Path) -> None:
    text = scenario_text(
        DEVICES + "events:\n"
        "  - {action: outage}\n"
        '  - {at: "+1h", rate: "1/h", action: outage}\n'
        '  - {at: "+1h", from: "+2h", action: outage}\n'
        '  - {rate: "1/h", from: "+3h", until: "+2h", action: outage}\n'
        '  - {rate: "1/h", until: "2025-08-03T00:00", action: outage}\n'
        '  - {rate: "5/s", action: outage}\n'
        '  - {rate: "often", action: outage}\n'
        '  - {rate: "0/h", action: outage}\n'
        '  - {rate: "1/h", from: "2025-08-03T12:00", action: outage}\n'
        '  - {rate: "1/h", action: outage, target: {tag: south}}\n'
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    got = [issue.render(caught.value.source) for issue in caught.value.issues]
    rate = "must be a rate like '3/day', '1/h', '2/week', '10/min' or '1/30m'"
    assert got == [
        f"{path}:11: events[0].at: is required (or a `rate` of seeded arrivals)",
        f"{path}:12: events[1].rate: give either `at` (once) or `rate` (seeded arrivals), not both",
        f"{path}:13: events[2].from: only with `rate` (the span of its arrivals), got '+2h'",
        f"{path}:14: events[3].until: must be after `from` (+3h), got '+2h'",
        f"{path}:15: events[4].until: is before the scenario start, got '2025-08-03T00:00'",
        f"{path}:16: events[5].rate: must be at most 1/s (one arrival a second), got '5/s'",
        f"{path}:17: events[6].rate: {rate}, got 'often'",
        f"{path}:18: events[7].rate: must be a positive rate, got '0/h'",
        f"{path}:19: events[8].from: is before the scenario start, got '2025-08-03T12:00'",
        f"{path}:20: events[9].target: no device has tag 'south'",
    ]


def test_a_tag_targets_every_device_with_it() -> None:
    text = scenario_text(
        DEVICES + "events:\n"
        '  - {at: "+1h", action: outage, target: {tag: north}, duration: 10m}\n'
        '  - {at: "+2h", action: disable, target: {tag: roof}}\n'
    )
    sim, _ = simulate(text, 3 * 3600)
    assert [(e.action, e.phase, e.targets) for e in sim.journal] == [
        ("outage", "start", ("ac", "rack")),
        ("outage", "end", ("ac", "rack")),
        ("disable", "start", ("ac",)),
    ]
    assert not sim.by_id["ac"].enabled and sim.by_id["oven"].enabled


def test_overlapping_arrivals_nest() -> None:
    event = '  - {rate: "1/10m", action: outage, target: rack, duration: 25m}\n'
    sim, sink = simulate(scenario_text(DEVICES + "events:\n" + event), 12 * 3600)
    spans = [(e.t, e.t + 1500) for e in sim.journal if e.phase == "start"]
    assert any(b[0] < a[1] for a, b in itertools.pairwise(spans))  # some overlap
    for reading in (r for r in sink.readings() if r.device_id == "rack"):
        out = any(start <= reading.t < end for start, end in spans)
        assert (reading.voltage == 0) == out, reading
