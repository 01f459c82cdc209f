"""The run driver: the one loop that advances a simulation, for file runs, live runs and the API.

It advances along a `Clock`, in virtual time (batches, as fast as the sinks take them) or paced
(towards the clock's sim time every TICK), switching between them as the clock changes, and between
two advances it drains the `Inbox`: the external work (MQTT commands, REST changes) that arrived
meanwhile is applied there, in arrival order, at the sim time the last advance reached. So no
external change ever lands inside an advance, and nothing but the driver calls into the simulation.

It wakes as soon as work arrives, not only at its next tick, and drains while the clock is paused
or the sinks are full, so a command applies within a millisecond or two when the loop is idle.
When it returns (the end of the span, or `stop`), it closes the inbox: what is still queued is
answered "the run has ended".

A paced run never does more than a bounded slice of work between two awaits: each advance covers at
most `step` readings, so the event loop (the API, signals) stays responsive and memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable

from engine.runtime.clock import Clock, Pacing
from engine.runtime.inbox import Inbox
from engine.simulation import Simulation

FILE_BATCH = 1_000_000
"""Readings per advance in a file run: enough for each device's numpy calls to pay (1,000 devices at 10 s
simulate a fifth faster than with 500,000), not so many that the batch merge's sort leaves the cache
(2,000,000 is no faster). Memory: a batch is about 70 MB of columns, and a few are in flight."""
TARGET_BATCH = 500_000
"""The unit of a live run's advances: each is at most a tenth of this many readings (`live_span`)."""
LONGEST = 6 * 3600.0
"""Sim seconds per advance at most in a file run (a site with few, slow devices)."""
TICK = 0.02
"""Wall seconds between two advances in accelerated and real time: the pacing granularity."""
Progress = Callable[[float, int], None]
"""Called after each virtual-time advance with (sim time, readings so far): a progress bar."""


def batch_span(sim: Simulation) -> float:
    """Sim seconds per advance so that a batch holds about FILE_BATCH readings (a file run's)."""
    return _span(sum(1.0 / device.interval for device in sim.devices), FILE_BATCH)


def rate_span(rate: float) -> float:
    """`batch_span` of a simulation whose devices read `rate` times per second in all."""
    return _span(rate, FILE_BATCH)


def _span(rate: float, readings: int) -> float:
    return min(LONGEST, max(1.0, readings / rate)) if rate else LONGEST


def live_span(sim: Simulation, readings: int) -> float:
    """Sim seconds per advance of a live run: at most `readings`, and a tenth of TARGET_BATCH readings
    (the broker is the bottleneck, not numpy)."""
    rate = math.fsum(1.0 / device.interval for device in sim.devices)
    longest = _span(sum(1.0 / device.interval for device in sim.devices), TARGET_BATCH) / 10
    return max(0.001, min(longest, readings / rate)) if rate else longest


class Driver:
    """Advances `sim` along `clock`, applying the `inbox` between two advances."""

    def __init__(
        self, sim: Simulation, clock: Clock, *, inbox: Inbox | None = None, pacing: Pacing | None = None
    ) -> None:
        self.sim = sim
        self.clock = clock
        self.inbox = inbox or Inbox()
        self.pacing = pacing or Pacing()

    async def run(
        self,
        until: float,
        *,
        stop: asyncio.Event | None = None,
        room: Callable[[], Awaitable[None]] | None = None,
        has_room: Callable[[], bool] | None = None,
        batch: int = TARGET_BATCH,
        step: int = TARGET_BATCH // 10,
        live: bool = True,
        progress: Progress | None = None,
        cut: Callable[[], float] | None = None,
    ) -> None:
        """Advance to `until` (or until `stop` is set), then close the inbox.

        Virtual time advances about `batch` readings at a time (anchored at multiples of one span,
        so the boundaries do not drift) and awaits `room()` before each. Paced time advances towards
        the clock's sim time every TICK, at most `step` readings at a time, and skips a tick while
        `has_room()` is False (a connected but slower broker: the run falls behind its clock rather
        than dropping readings). A file run (`live` False) takes the spans of `batch_span`, or those `cut()`
        gives (asked at every cut: a part of a parallel run cuts its batches where the whole run does).
        """
        sim, clock, inbox, pacing = self.sim, self.clock, self.inbox, self.pacing
        batches = _Steps(sim, (lambda s: live_span(s, batch)) if live else batch_span)
        batch_span_now = cut if cut is not None and not live else batches.span
        steps = _Steps(sim, lambda s: live_span(s, step))
        stopped = stop.is_set if stop is not None else lambda: False
        deadline: float | None = None
        anchor, k, span = sim.now, 0, -1.0
        try:
            while sim.now < until and not stopped():
                inbox.drain(sim)
                if clock.paused:
                    pacing.update(clock, sim.now)
                    await _first(clock.wait_resumed, inbox.wait, stop=stop)
                    deadline = None
                    continue
                if clock.speed is None:
                    pacing.update(clock, sim.now)
                    if room is not None and not await _first(room, inbox.wait, stop=stop, only=0):
                        continue  # work arrived (or a stop) before room: drain it first
                    if batch_span_now() != span or k == 0:
                        anchor, k, span = sim.now, 0, batch_span_now()
                    k += 1
                    sim.advance(min(until, anchor + k * span))
                    inbox.now = sim.now
                    if progress is not None:
                        progress(sim.now, sim.readings_emitted)
                    await asyncio.sleep(0)
                    deadline = None
                    continue
                k = 0
                now = clock.now()
                # Absolute deadlines; after a stall of over a second, start afresh instead of racing.
                if deadline is None or deadline < now - 1.0:
                    deadline = now + TICK
                elif deadline <= now:
                    deadline += TICK
                if now < deadline and not inbox.has_work:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(deadline - now):
                            await inbox.wait()
                            continue  # drain at once, then wait for the same deadline
                else:  # behind the clock: still let the bridge send between two advances
                    await asyncio.sleep(0)
                target = min(until, clock.sim_time(), sim.now + steps.span())
                if target > sim.now and (has_room is None or has_room()):
                    sim.advance(target)
                    inbox.now = sim.now
                pacing.update(clock, sim.now)
        finally:
            inbox.close(sim.now)

    async def meanwhile(self, waiting: Awaitable[object], *, timeout: float, stop: asyncio.Event | None = None) -> None:
        """Await `waiting` for at most `timeout` seconds (or until `stop`), applying the inbox meanwhile:
        a live run waiting for its broker before its clock starts still takes commands."""
        task = asyncio.ensure_future(waiting)
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        try:
            while not task.done() and loop.time() < end and not (stop is not None and stop.is_set()):
                self.inbox.drain(self.sim)
                await _first(lambda: asyncio.wait([task], timeout=end - loop.time()), self.inbox.wait, stop=stop)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def run_virtual(
    sim: Simulation, until: float, *, progress: Progress | None = None, span: Callable[[], float] | None = None
) -> None:
    """A file run: advance `sim` to `until` in virtual time, in FILE_BATCH batches (of `span()` sim seconds
    when given), with no inbox."""
    driver = Driver(sim, Clock(None))
    asyncio.run(driver.run(until, batch=FILE_BATCH, live=False, progress=progress, cut=span))


class _Steps:
    """The span of the next advance, recomputed only when the simulation's revision changes
    (devices, events, commands), not on every tick."""

    def __init__(self, sim: Simulation, compute: Callable[[Simulation], float]) -> None:
        self.sim = sim
        self.compute = compute
        self._revision = -1
        self._span = 0.0

    def span(self) -> float:
        if self.sim.revision != self._revision:
            self._revision = self.sim.revision
            self._span = self.compute(self.sim)
        return self._span


async def _first(*waits: Callable[[], Awaitable[object]], stop: asyncio.Event | None, only: int | None = None) -> bool:
    """Until one of `waits()` is done or `stop` is set; whether it was `waits[only]` (any when None)."""
    tasks = [asyncio.ensure_future(wait()) for wait in waits]
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        await asyncio.wait([*tasks, *([stopping] if stopping else [])], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in [*tasks, *([stopping] if stopping else [])]:
            task.cancel()
        await asyncio.gather(*tasks, *([stopping] if stopping else []), return_exceptions=True)
    if only is None:
        return any(task.done() and not task.cancelled() for task in tasks)
    return tasks[only].done() and not tasks[only].cancelled()
