"""Same scenario + seed => the same bytes: across processes, batch sizes, shards and added devices."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import parse_scenario
from engine.contract.readings import Encoder
from engine.model.specs import shard
from engine.runtime.clock import Clock
from engine.runtime.driver import Driver
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from tests.helpers import by_device, scenario_text, simulate

EVENTFUL = scenario_text(
    """\
    site: {weather: {mean_c: 24}}
    devices:
      - {id: ac, kind: hvac, interval: 7s}
      - {id: light, kind: lighting, interval: 1m}
      - {id: rack, kind: server, interval: 1s}
      - {id: line, kind: industrial, interval: 13s, shifts: 3}
      - {id: oven, kind: appliance, interval: 500ms}
    events:
      - {at: "+00:10", action: outage, target: ac, duration: 5m}
      - {at: "+00:20", action: comm_loss, target: [rack, oven], duration: 7m}
      - {at: "+00:30", action: brownout, factor: 0.9, duration: 10m}
      - {at: "+00:33", action: stuck, target: line, duration: 4m}
      - {at: "+00:40", action: disable, target: light, duration: 3m}
      - {at: "+00:41", action: disable, target: line, duration: 77s}
      - {at: "+00:45", action: set_interval, target: rack, interval: 2500ms}
      - {at: "+00:47", action: disable, target: ac}
      - {at: "+00:47:03", action: enable, target: ac}
      - {rate: "6/h", action: brownout, target: light, duration: 2m, factor: 0.95}
    """
)

DELIVERY = scenario_text(
    """\
    devices:
      - {id: ac, kind: hvac, interval: 7s, buffer: 20}
      - {id: rack, kind: server, interval: 1s, buffer: 1000}
      - {id: oven, kind: appliance, interval: 500ms}
      - {id: line, kind: industrial, interval: 13s, buffer: 3}
    events:
      - {at: "+00:05", action: duplicate, probability: 0.2, duration: 20m}
      - {at: "+00:08", action: out_of_order, probability: 0.2, max_delay: 30s, duration: 15m}
      - {at: "+00:10", action: comm_loss, target: [ac, rack, line], duration: 4m}
      - {at: "+00:12", action: out_of_order, target: oven, probability: 0.5, max_delay: 2s, duration: 5m}
      - {at: "+00:20", action: set_offline, target: rack}
      - {at: "+00:23", action: set_online, target: rack}
    """
)
"""Delivery faults: duplicates, readings held back past batch cuts, buffers forwarded at a comm loss's end."""

# The register's and the breaker's faults: drift then a reset, rollovers, scripted trips, and meters
# that trip by themselves (a brownout on a pinned hvac near its limit, overloaded lights: l2 listed
# before l1, l1 sampled first by an event of its own, so their trips of one instant test the order).
FAULTY = scenario_text(
    """\
    devices:
      - {id: ac, kind: hvac, interval: 7s, trip_current_a: 39}
      - {id: rack, kind: server, interval: 1s, register_kwh: 10, energy_start_kwh: 9.5}
      - {id: line, kind: industrial, interval: 13s}
      - {id: oven, kind: appliance, interval: 500ms, register_kwh: 99999.999, energy_start_kwh: 99999.9}
      - {id: l2, kind: lighting, interval: 1m, trip_current_a: 20}
      - {id: l1, kind: lighting, interval: 1m, trip_current_a: 20}
    events:
      - {at: "+00:01", action: set_power, target: ac, kw: 20}
      - {at: "+00:05", action: drift, target: [rack, oven], per_day: 0.3, duration: 20m}
      - {at: "+00:10", action: trip, target: line}
      - {at: "+00:12", action: brownout, target: ac, factor: 0.8, duration: 10m}
      - {at: "+00:15", action: set_power, target: [l1, l2], fraction: 2}
      - {at: "+00:15:30", action: enable, target: l1}
      - {at: "+00:20", action: clear_trip, target: [l1, l2]}
      - {at: "+00:25", action: clear_trip, target: line}
      - {at: "+00:30", action: clear_override, target: [ac, l1, l2]}
      - {at: "+00:31", action: clear_trip, target: all}
      - {at: "+00:40", action: reset, target: rack}
      - {at: "+00:45", action: trip, target: [line, oven], duration: 5m}
    """
)
Journal = list[tuple[float, str, str, tuple[str, ...], str, dict[str, object]]]


def encoded(text: str, steps: list[float], *, shard_of: tuple[int, int] | None = None) -> bytes:
    return run(text, steps, shard_of=shard_of)[0]


def run(text: str, steps: list[float], *, shard_of: tuple[int, int] | None = None) -> tuple[bytes, Journal]:
    """The readings' bytes and the journal of a run advanced to each of `steps` in turn."""
    sink = MemorySink()
    plan = parse_scenario(text).plan
    sim = Simulation(shard(plan, *shard_of) if shard_of else plan, sink)
    for until in steps:
        sim.advance(until)
    return _bytes(sim, sink), _journal(sim)


def _bytes(sim: Simulation, sink: MemorySink) -> bytes:
    encoder = Encoder(sim.plan.start_epoch)
    return b"".join(encoder.jsonl(batch) for batch in sink.batches)


def _journal(sim: Simulation) -> Journal:
    return [(e.t, e.action, e.phase, e.targets, e.source, dict(e.params)) for e in sim.journal]


@pytest.mark.parametrize(("text", "horizon", "size"), [(EVENTFUL, 3600.0, 1_000_000), (DELIVERY, 1800.0, 800_000)])
def test_batch_boundaries_do_not_change_a_single_byte(text: str, horizon: float, size: int) -> None:
    one_go = encoded(text, [horizon])
    odd_steps = [x * 0.37 for x in range(1, int(horizon / 0.37))] + [horizon]  # real-time-like ticks
    assert encoded(text, odd_steps) == one_go
    # Steps landing exactly on event instants and reading slots.
    instants = [600.0, 600.5, 720.0, 1200.0, 1380.0, 1980.0, 2400.0]
    assert encoded(text, [t for t in instants if t < horizon] + [horizon]) == one_go
    assert encoded(text, [x * 97.0 for x in range(1, int(horizon / 97.0))] + [horizon]) == one_go
    assert len(one_go) > size


def test_an_accelerated_clock_gives_the_bytes_of_a_virtual_run() -> None:
    """The driver along a x3000 clock: advances cut wherever the wall clock says, the bytes stay."""
    sink = MemorySink()
    sim = Simulation(parse_scenario(DELIVERY).plan, sink)
    asyncio.run(Driver(sim, Clock(3000)).run(1800.0))
    encoder = Encoder(sim.plan.start_epoch)
    assert len(sink.batches) > 10
    assert b"".join(encoder.jsonl(batch) for batch in sink.batches) == encoded(DELIVERY, [1800.0])


def test_shards_of_delivery_faults_give_each_device_the_same_bytes() -> None:
    whole = encoded(DELIVERY, [1800.0]).splitlines(keepends=True)
    for k in (1, 2, 3):
        part = encoded(DELIVERY, [x * 2.3 for x in range(1, 782)] + [1800.0], shard_of=(k, 3))
        ids = {spec.id for spec in shard(parse_scenario(DELIVERY).plan, k, 3).devices}
        mine = [line for line in whole if line.split(b'"')[3].decode() in ids]
        assert part == b"".join(mine) and mine


@pytest.mark.parametrize(("text", "hash_seeds"), [(EVENTFUL, ("1", "2")), (DELIVERY, ("3",))])
def test_same_bytes_in_separate_processes(tmp_path: Path, text: str, hash_seeds: tuple[str, ...]) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text)
    outputs = []
    for hash_seed in hash_seeds:
        out = tmp_path / f"out{hash_seed}.jsonl"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        command = [
            sys.executable,
            "-m",
            "iot_mock",
            "run",
            str(scenario),
            "--duration",
            "1h",
            "--out",
            str(out),
        ]
        subprocess.run(command, check=True, env=env, timeout=120)
        outputs.append(out.read_bytes())
    assert len(set(outputs)) == 1
    assert outputs[0] == encoded(text, [3600.0])


def test_adding_a_device_leaves_the_others_unchanged() -> None:
    base = scenario_text("devices: [{id: a, kind: hvac}, {id: b, kind: server}]\n")
    more = scenario_text(
        "devices: [{id: z, kind: industrial}, {id: a, kind: hvac}, {id: c, kind: hvac}, {id: b, kind: server}]\n"
    )
    _, alone = simulate(base, 7200)
    _, crowded = simulate(more, 7200)
    first, second = by_device(alone.readings()), by_device(crowded.readings())
    assert first["a"] == second["a"] and first["b"] == second["b"]
    assert [r.power for r in second["c"]] != [r.power for r in first["a"]]  # same kind, own streams


def test_the_seed_changes_the_readings() -> None:
    text = scenario_text("devices: [{id: a, kind: hvac}]\n")
    _, one = simulate(text, 600)
    _, other = simulate(text, 600, seed=99)
    assert [r.power for r in one.readings()] != [r.power for r in other.readings()]


def test_register_and_breaker_faults_give_the_same_bytes_and_journal_whatever_the_cuts() -> None:
    horizon = 3600.0
    one_go = run(FAULTY, [horizon])
    assert run(FAULTY, [x * 0.37 for x in range(1, int(horizon / 0.37))] + [horizon]) == one_go  # Python floats
    assert run(FAULTY, [60.0, 600.0, 720.0, 900.0, 930.0, 1200.0, 1860.0, 2400.0, horizon]) == one_go
    journal = one_go[1]
    meter = [(t, targets) for t, action, _, targets, source, _ in journal if source == "meter"]
    assert all(action == "trip" for _, action, _, _, source, _ in journal if source == "meter")
    ac = [t for t, targets in meter if targets == ("ac",)]
    assert len(ac) == 1 and 720 < ac[0] < 1320  # in the brownout, pinned near its limit
    assert [t for t, targets in meter if targets != ("ac",)] == [900.0, 900.0, 1200.0, 1200.0]
    assert [targets for t, targets in meter if t in (900.0, 1200.0)] == [("l1",), ("l2",)] * 2  # in id order
    assert [t for t, *_ in journal] == sorted(t for t, *_ in journal)
    readings = [line for line in one_go[0].split(b"\n") if b'"rack"' in line]
    rolled = [float(line.split(b'"energy":')[1].split(b",")[0]) for line in readings]
    assert max(rolled) < 10 and sum(1 for a, b in itertools.pairwise(rolled) if b < a) >= 2


@pytest.mark.parametrize("speed", [None, 50_000.0])
def test_register_and_breaker_faults_give_the_same_bytes_and_journal_in_every_clock_mode(speed: float | None) -> None:
    sink = MemorySink()
    sim = Simulation(parse_scenario(FAULTY).plan, sink)
    asyncio.run(Driver(sim, Clock(speed)).run(3600.0))
    assert (_bytes(sim, sink), _journal(sim)) == run(FAULTY, [3600.0])


def test_register_and_breaker_faults_in_shards_give_the_whole_run() -> None:
    plan = parse_scenario(FAULTY).plan
    whole = Simulation(plan, whole_sink := MemorySink())
    whole.advance(3600.0)
    readings, entries = [], []
    for k in (1, 2, 3):
        part = Simulation(shard(plan, k, 3), sink := MemorySink())
        part.advance(3600.0)
        readings += sink.readings()
        entries += [(t, a, ph, d, src, p) for t, a, ph, ds, src, p in _journal(part) for d in ds]
    assert sorted(readings, key=repr) == sorted(whole_sink.readings(), key=repr)
    per_target = [(t, a, ph, d, src, p) for t, a, ph, ds, src, p in _journal(whole) for d in ds]
    assert sorted(entries, key=repr) == sorted(per_target, key=repr)
    assert sum(1 for entry in entries if entry[4] == "meter") == 5
