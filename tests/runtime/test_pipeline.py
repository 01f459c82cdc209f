"""The writer thread keeps order, and a failing sink stops the run with its own error."""

from __future__ import annotations

import pytest

from engine import parse_scenario
from engine.model.readings import ReadingBatch, StatusChange
from engine.runtime.driver import run_virtual
from engine.runtime.pipeline import BackgroundSink
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from tests.helpers import scenario_text

TEXT = scenario_text("devices: [{id: a, kind: hvac, interval: 1s}, {id: b, kind: server, interval: 1s}]\n")


def test_background_sink_delivers_everything_in_order() -> None:
    direct, threaded = MemorySink(), MemorySink()
    run_virtual(Simulation(parse_scenario(TEXT).plan, direct), 7200)
    with BackgroundSink(threaded, depth=1) as writer:
        sim = Simulation(parse_scenario(TEXT).plan, writer)
        for step in range(1, 721):
            sim.advance(step * 10.0)
    assert threaded.readings() == direct.readings()
    assert threaded.statuses == direct.statuses


class FailingSink:
    def __init__(self) -> None:
        self.calls = 0

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        self.calls += 1
        raise OSError(28, "No space left on device")


def test_a_writer_error_reaches_the_simulating_thread() -> None:
    failing = FailingSink()

    def run() -> None:
        with BackgroundSink(failing) as writer:
            run_virtual(Simulation(parse_scenario(TEXT).plan, writer), 86400)

    with pytest.raises(OSError, match="No space left on device"):
        run()
    assert failing.calls == 1  # nothing more is written after the first failure
