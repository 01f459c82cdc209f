"""Same scenario + seed => the same bytes: across processes, batch sizes, shards and added devices."""

from __future__ import annotations

import asyncio
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
    devices:
      - {id: ac, kind: hvac, interval: 7s}
      - {id: light, kind: lighting, interval: 1m}
      - {id: rack, kind: server, interval: 1s}
      - {id: line, kind: industrial, interval: 13s}
      - {id: oven, kind: appliance, interval: 500ms}
    events:
      - {at: "+00:10", action: outage, target: ac, duration: 5m}
      - {at: "+00:20", action: comm_loss, target: [rack, oven], duration: 7m}
      - {at: "+00:30", action: brownout, factor: 0.9, duration: 10m}
      - {at: "+00:33", action: stuck, target: line, duration: 4m}
      - {at: "+00:40", action: disable, target: light, duration: 3m}
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


def encoded(text: str, steps: list[float], *, shard_of: tuple[int, int] | None = None) -> bytes:
    sink = MemorySink()
    plan = parse_scenario(text).plan
    sim = Simulation(shard(plan, *shard_of) if shard_of else plan, sink)
    for until in steps:
        sim.advance(until)
    encoder = Encoder(sim.plan.start_epoch)
    return b"".join(encoder.jsonl(batch) for batch in sink.batches)


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
