"""The clock bridge's arithmetic: absolute mapping, speed changes and pause re-anchor it."""

from __future__ import annotations

import asyncio

import pytest

from engine import parse_scenario
from engine.runtime.clock import Clock
from engine.runtime.driver import Driver
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from tests.helpers import scenario_text


class ManualTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_sim_time_follows_the_wall_clock_at_the_speed() -> None:
    wall = ManualTime()
    clock = Clock(10, now=wall)
    wall.now += 2.5
    assert clock.sim_time() == 25.0
    assert clock.wall_time(40.0) == 104.0
    assert clock.mode == "accelerated" and Clock(1, now=wall).mode == "realtime" and Clock(None).mode == "virtual"


def test_speed_changes_and_pauses_re_anchor_without_jumps() -> None:
    wall = ManualTime()
    clock = Clock(10, now=wall)
    wall.now += 1.0
    clock.set_speed(2, at=clock.sim_time())  # at sim 10
    wall.now += 1.0
    assert clock.sim_time() == 12.0
    clock.pause(at=12.0)
    wall.now += 50.0
    assert clock.sim_time() == 12.0
    clock.resume()
    wall.now += 0.5
    assert clock.sim_time() == 13.0


@pytest.mark.parametrize("speed", [0, -1, 5e-324, 0.009, 100_001, float("inf"), float("nan"), True])
def test_speeds_outside_the_range_are_refused_saying_the_range(speed: float) -> None:
    with pytest.raises(ValueError, match=r"speed must be a number from 0\.01 to 100000 \(times real time\), got "):
        Clock(speed)
    clock = Clock(1)
    with pytest.raises(ValueError, match=r"from 0\.01 to 100000"):
        clock.set_speed(speed, at=0.0)
    assert Clock(0.01).speed == 0.01 and Clock(100_000).speed == 100_000.0


def test_the_driver_in_virtual_time_reaches_the_end_and_matches_a_plain_run() -> None:
    text = scenario_text("devices: [{id: a, kind: hvac, interval: 1s}]\n")
    driven, plain = MemorySink(), MemorySink()
    sim = Simulation(parse_scenario(text).plan, driven)
    asyncio.run(Driver(sim, Clock(None)).run(3600.0))
    reference = Simulation(parse_scenario(text).plan, plain)
    reference.advance(3600.0)
    assert sim.now == 3600.0
    assert driven.readings() == plain.readings()


def test_the_driver_in_real_time_stops_when_asked() -> None:
    text = scenario_text("devices: [{id: a, kind: hvac, interval: 1s}]\n")
    sink = MemorySink()
    sim = Simulation(parse_scenario(text).plan, sink)

    async def scenario() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.3, stop.set)
        await Driver(sim, Clock(100)).run(float("inf"), stop=stop)

    asyncio.run(scenario())
    assert 20 <= sim.now <= 40  # 0.3 s at x100
    assert [r.seq for r in sink.readings()] == list(range(len(sink.readings())))


def test_a_paused_run_still_stops() -> None:
    text = scenario_text("devices: [{id: a, kind: hvac, interval: 1s}]\n")
    sim = Simulation(parse_scenario(text).plan, MemorySink())
    clock = Clock(100)
    clock.pause(0.0)

    async def scenario() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.3, stop.set)
        async with asyncio.timeout(5):
            await Driver(sim, clock).run(float("inf"), stop=stop)

    asyncio.run(scenario())
    assert sim.now == 0.0
