"""Each named scenario, run for a fixed span with its seed, matches its committed output.

Regenerate after an intended change with `pytest tests/test_golden.py --update-golden`
and review the diff of tests/golden/ like code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load_named, scenario_names
from engine.model.encoding import Encoder
from engine.runtime.driver import run_virtual
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation

GOLDEN = Path(__file__).parent / "golden"
# Each span covers the scenario's interesting part while keeping the files small.
SPANS = {
    "default": (7 * 3600, 8 * 3600),
    "office-week": (36 * 3600, 39 * 3600),
    "datacenter-day": (9 * 3600, 15 * 3600),
}
EVERY_NTH = {"default": 1, "office-week": 3, "datacenter-day": 60}


def golden_output(name: str) -> bytes:
    """Readings of [start, end) of the scenario's span, every nth line to keep files reviewable."""
    loaded = load_named(name)
    sink = MemorySink()
    sim = Simulation(loaded.plan, sink)
    start, end = SPANS[name]
    run_virtual(sim, start)
    sink.batches.clear()
    run_virtual(sim, end)
    encoder = Encoder(loaded.plan.start_epoch)
    lines = b"".join(encoder.jsonl(batch) for batch in sink.batches).splitlines(keepends=True)
    events = "".join(f"# {e.t:g} {e.action} {e.phase} {','.join(e.targets)}\n" for e in sim.applied)
    return events.encode() + b"".join(lines[:: EVERY_NTH[name]])


def test_every_named_scenario_has_a_golden_file() -> None:
    assert sorted(SPANS) == scenario_names()


@pytest.mark.parametrize("name", sorted(SPANS))
def test_golden_output(name: str, update_golden: bool) -> None:
    path = GOLDEN / f"{name}.jsonl"
    actual = golden_output(name)
    if update_golden:
        path.write_bytes(actual)
    assert path.exists(), "no golden file; run: pytest tests/test_golden.py --update-golden"
    assert actual == path.read_bytes(), f"{name} changed; if intended, regenerate with --update-golden"
