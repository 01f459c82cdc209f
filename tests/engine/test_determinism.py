"""Same scenario + seed => the same bytes: across processes, batch sizes and added devices."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine import parse_scenario
from engine.contract.readings import Encoder
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
      - {rate: "6/h", action: brownout, target: light, duration: 2m, factor: 0.95}
    """
)


def encoded(text: str, steps: list[float]) -> bytes:
    sink = MemorySink()
    sim = Simulation(parse_scenario(text).plan, sink)
    for until in steps:
        sim.advance(until)
    encoder = Encoder(sim.plan.start_epoch)
    return b"".join(encoder.jsonl(batch) for batch in sink.batches)


def test_batch_boundaries_do_not_change_a_single_byte() -> None:
    horizon = 3600.0
    one_go = encoded(EVENTFUL, [horizon])
    odd_steps = [x * 0.37 for x in range(1, int(horizon / 0.37))] + [horizon]
    assert encoded(EVENTFUL, odd_steps) == one_go
    # Steps landing exactly on event instants and reading slots.
    assert encoded(EVENTFUL, [600.0, 600.5, 1200.0, 1980.0, 2400.0, horizon]) == one_go
    assert len(one_go) > 1_000_000


def test_same_bytes_in_separate_processes(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(EVENTFUL)
    outputs = []
    for hash_seed in ("1", "2"):
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
    assert outputs[0] == outputs[1]
    assert outputs[0] == encoded(EVENTFUL, [3600.0])


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
