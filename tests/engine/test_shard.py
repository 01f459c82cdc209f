"""--shard K/N: shards of a plan together give exactly the readings and events of the whole plan."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine import parse_scenario
from engine.model.readings import Reading
from engine.model.specs import Plan, shard
from engine.runtime.driver import run_virtual
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from tests.helpers import scenario_text

TEXT = scenario_text(
    """
    devices:
    {% for i in range(7) %}
      - {id: "d{{ i }}", kind: {{ ["hvac", "server", "industrial"][i % 3] }}, interval: 30s}
    {% endfor %}
    events:
      - {at: "+1h", action: outage, target: [d1, d2], duration: 10m}
      - {at: "+2h", action: brownout, target: {kind: hvac}, duration: 20m, factor: 0.9}
      - {rate: "4/h", action: outage, target: [d3, d4, d5], duration: 5m}
    """
)


def _run(plan: Plan) -> tuple[list[Reading], list[tuple[float, str, tuple[str, ...]]]]:
    sink = MemorySink()
    sim = Simulation(plan, sink)
    run_virtual(sim, 4 * 3600)
    return sink.readings(), [(e.t, e.action, e.targets) for e in sim.journal]


def test_shards_together_give_the_whole_run() -> None:
    plan = parse_scenario(TEXT, "shard.yaml").plan
    whole, whole_events = _run(plan)
    parts = [_run(shard(plan, k, 3)) for k in (1, 2, 3)]
    sizes = [len(shard(plan, k, 3).devices) for k in (1, 2, 3)]
    assert sizes == [3, 2, 2]  # dealt round-robin: balanced
    readings = [r for part, _ in parts for r in part]
    assert sorted(readings, key=repr) == sorted(whole, key=repr)
    # Every event reaches every one of its targets, in exactly one shard.
    targets = sorted((t, a, d) for _, events in parts for t, a, ds in events for d in ds)
    assert targets == sorted((t, a, d) for t, a, ds in whole_events for d in ds)
    assert sum(a == "outage" for _, a, _ in whole_events) > 20  # the rate's arrivals are in it, at the same instants


def test_a_shard_must_be_within_its_count() -> None:
    plan = parse_scenario(TEXT, "shard.yaml").plan
    with pytest.raises(ValueError, match="between 1 and 3"):
        shard(plan, 4, 3)


@pytest.mark.parametrize("value", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_the_cli_refuses_a_bad_shard(value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "iot_mock", "run", "default", "--shard", value], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "must be K/N with 1 <= K <= N" in result.stderr
