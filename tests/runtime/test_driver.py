"""The run driver and its inbox: external work applied between two advances, in arrival order, bounded."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from engine import parse_scenario
from engine.model.readings import ReadingBatch, StatusChange
from engine.runtime import changes
from engine.runtime.clock import Clock
from engine.runtime.driver import TICK, Driver
from engine.runtime.inbox import Busy, Inbox, Outcome, RunEnded, Work
from engine.runtime.sinks import MemorySink
from engine.scenario.actions import command_action
from engine.simulation import Simulation
from tests.helpers import scenario_text

DEVICES = "devices: [{id: a, kind: hvac, interval: 1s}, {id: b, kind: server, interval: 1s}]\n"


class Traced(Simulation):
    """A real simulation that notes where each advance begins and ends in a shared trace."""

    def __init__(self, trace: list[tuple[str, Any]], sink: MemorySink) -> None:
        super().__init__(parse_scenario(scenario_text(DEVICES)).plan, sink)
        self.trace = trace

    def advance(self, until: float) -> int:
        self.trace.append(("advance", until))
        count = super().advance(until)
        self.trace.append(("advanced", until))
        return count


class Meddling(MemorySink):
    """A sink that, from inside the first advances, puts work in the inbox (as a bridge callback could)."""

    def __init__(self, trace: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.trace = trace
        self.inbox: Inbox | None = None
        self.sent = 0

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        super().write(batch, statuses)
        if self.inbox is not None and len(batch) and self.sent < 3:
            self.sent += 1
            self.trace.append(("put", f"inside-{self.sent}"))
            self.inbox.put(_note(self.trace, f"inside-{self.sent}"), lambda outcome: None)


def _note(trace: list[tuple[str, Any]], name: str) -> Work[float]:
    def apply(sim: Simulation) -> float:
        trace.append(("apply", name))
        return sim.now

    return apply


def test_external_work_applies_between_advances_in_arrival_order() -> None:
    trace: list[tuple[str, Any]] = []
    sink = Meddling(trace)
    sim = Traced(trace, sink)
    inbox = Inbox()
    sink.inbox = inbox
    replies: list[Outcome[Any]] = []

    async def scenario() -> list[Outcome[Any]]:
        driver = Driver(sim, Clock(100), inbox=inbox)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(driver.run(30.0), name="driver")
            asked = []
            for n in range(20):  # MQTT-style callbacks and REST-style futures, interleaved
                if n % 2:
                    asked.append(inbox.ask(_note(trace, f"outside-{n}")))
                else:
                    inbox.put(_note(trace, f"outside-{n}"), replies.append)
                await asyncio.sleep(0.003)
            return [await future for future in asked]

    asked = asyncio.run(scenario())
    applied = [name for kind, name in trace if kind == "apply"]
    outside = [name for name in applied if name.startswith("outside")]
    assert outside == [f"outside-{n}" for n in range(20)]
    assert [name for name in applied if name.startswith("inside")] == ["inside-1", "inside-2", "inside-3"]
    depth, depth_at = 0, {}
    for kind, name in trace:  # no work inside an advance: each apply sits between an end and the next start
        depth += {"advance": 1, "advanced": -1}.get(kind, 0)
        depth_at[kind, name] = depth
        assert depth == 0 or kind != "apply"
    for n in (1, 2, 3):  # work put from inside an advance waited for its end
        assert depth_at["put", f"inside-{n}"] == 1
        assert trace.index(("put", f"inside-{n}")) < trace.index(("apply", f"inside-{n}"))
    assert all(outcome.error is None and outcome.value == outcome.now for outcome in [*replies, *asked])
    assert sim.now == 30.0 and inbox.applied == 23 and inbox.rejected == 0


def test_a_paused_run_applies_a_command_well_within_a_tick() -> None:
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, MemorySink())
    clock = Clock(1)
    clock.pause(0.0)
    inbox = Inbox()

    async def scenario() -> list[float]:
        stop = asyncio.Event()
        waits = []
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(Driver(sim, clock, inbox=inbox).run(float("inf"), stop=stop), name="driver")
            await asyncio.sleep(0.05)  # the driver is waiting for a resume
            for command in ["disable", "enable"] * 10:
                started = time.perf_counter()
                (await inbox.call(_command("a", command))).result()
                waits.append(time.perf_counter() - started)
            stop.set()
        return waits

    waits = asyncio.run(scenario())
    assert statistics.median(waits) < TICK / 4, waits  # woken by the work, not by a tick
    assert sim.now == 0.0 and sim.by_id["a"].enabled
    assert [(e.action, e.t) for e in sim.journal][-2:] == [("disable", 0.0), ("enable", 0.0)]


def test_a_flood_beyond_the_bound_is_refused_at_once_and_counted_and_the_run_goes_on() -> None:
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, MemorySink())
    inbox = Inbox(capacity=5)
    replies: list[Outcome[Any]] = []

    async def scenario() -> None:
        for _ in range(8):  # no await between: the driver cannot drain meanwhile
            inbox.put(_command("a", "disable"), replies.append)
        refused = [outcome.error for outcome in replies]
        assert len(refused) == 3 and all(isinstance(error, Busy) for error in refused)
        assert str(refused[0]) == "busy: 5 changes are already waiting; try again shortly"
        await Driver(sim, Clock(1000), inbox=inbox).run(20.0)

    asyncio.run(scenario())
    assert [outcome.error is None for outcome in replies] == [False] * 3 + [True] * 5
    assert inbox.rejected == 3 and inbox.applied == 5 and inbox.pending == 0
    assert sim.now == 20.0 and not sim.by_id["a"].enabled


def test_work_still_queued_at_the_end_and_later_work_are_answered_the_run_has_ended() -> None:
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, MemorySink())
    inbox = Inbox()
    replies: list[Outcome[Any]] = []

    async def scenario() -> Outcome[None]:
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(Driver(sim, Clock(10), inbox=inbox).run(float("inf"), stop=stop), name="driver")
            await asyncio.sleep(0.1)
            stop.set()
            inbox.put(_command("a", "disable"), replies.append)  # queued as the run stops
            asked = inbox.ask(_command("b", "disable"))
        inbox.put(_command("a", "disable"), replies.append)  # after the end
        return await asked

    asked = asyncio.run(scenario())
    for outcome in [*replies, asked]:
        assert isinstance(outcome.error, RunEnded) and str(outcome.error) == "the run has ended"
        assert outcome.now == sim.now
    assert len(replies) == 2 and inbox.rejected == 3 and inbox.applied == 0
    assert sim.by_id["a"].enabled and sim.by_id["b"].enabled


def test_a_caller_that_gives_up_waiting_is_answered_busy_and_its_work_is_skipped() -> None:
    sim = Simulation(parse_scenario(scenario_text(DEVICES)).plan, MemorySink())
    inbox = Inbox()

    async def scenario() -> Outcome[None]:
        outcome = await inbox.call(_command("a", "disable"), timeout=0.05)  # no driver yet
        await Driver(sim, Clock(None), inbox=inbox).run(10.0)
        return outcome

    outcome = asyncio.run(scenario())
    assert isinstance(outcome.error, Busy) and "did not take the change within 0.05 s" in str(outcome.error)
    assert sim.by_id["a"].enabled and inbox.applied == 0 and inbox.rejected == 1


def _command(device_id: str, name: str) -> Work[None]:
    """Work for the inbox: the command `name` (no parameters) to one device."""
    return changes.act(command_action(device_id, name, None), (device_id,))
