"""The clock bridge: maps simulated time to wall time, and drives a simulation along it.

`wall = wall_start + (t - t0) / speed` (SimPy's real-time formula). Every advance aims at an
absolute deadline, so pacing never drifts however long the run; changing the speed or resuming
re-anchors (wall_start, t0) at the current instant. Speed None means virtual time: as fast as
the CPU (and the outbox's back-pressure) allows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from engine.runtime.virtual import batch_span
from engine.simulation import Simulation

TICK = 0.02
"""Wall seconds between two advances in accelerated and real time: the pacing granularity."""


class Clock:
    """Sim time <-> wall time at `speed` (None: virtual), pausable, with a changeable speed."""

    def __init__(self, speed: float | None, *, t0: float = 0.0, now: Callable[[], float] = time.monotonic) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        self._now = now
        self.speed = speed
        self.t0 = t0
        self.wall_start = now()
        self.paused = False
        self._resumed = asyncio.Event()
        self._resumed.set()

    def now(self) -> float:
        """The wall clock this clock reads (monotonic seconds)."""
        return self._now()

    @property
    def mode(self) -> str:
        if self.speed is None:
            return "virtual"
        return "realtime" if self.speed == 1 else "accelerated"

    def sim_time(self) -> float:
        """The sim time the wall clock has reached (t0 while paused, infinity in virtual time)."""
        if self.paused:
            return self.t0
        if self.speed is None:
            return float("inf")
        return self.t0 + (self._now() - self.wall_start) * self.speed

    def wall_time(self, t: float) -> float:
        """When sim time `t` is due on the wall clock (monotonic seconds)."""
        if self.speed is None or self.paused:
            return self._now()
        return self.wall_start + (t - self.t0) / self.speed

    def _anchor(self, t: float) -> None:
        self.t0 = t
        self.wall_start = self._now()

    def restart(self, at: float) -> None:
        """Sim time `at` is due now: for a run whose setup (devices, connection) took a while."""
        self._anchor(at)

    def set_speed(self, speed: float | None, at: float) -> None:
        """Change speed from sim time `at` (the simulation's now) on."""
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._anchor(at)

    def pause(self, at: float) -> None:
        self.paused = True
        self.t0 = at
        self._resumed.clear()

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self._anchor(self.t0)
            self._resumed.set()

    async def wait_resumed(self) -> None:
        await self._resumed.wait()


async def drive(
    sim: Simulation,
    clock: Clock,
    until: float,
    *,
    room: Callable[[], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
    max_readings: int | None = None,
) -> None:
    """Advance `sim` to `until` along `clock`; `room()` is awaited between virtual batches.

    `max_readings` caps a virtual batch, so one batch never overflows the outbox it waits on.
    """
    span = batch_span(sim) / 10  # smaller batches than a file run: the broker is the bottleneck
    if max_readings is not None:
        rate = sum(1.0 / meter.interval for meter in sim.meters)
        span = max(0.001, min(span, max_readings / rate)) if rate else span
    deadline: float | None = None
    while sim.now < until and not (stop is not None and stop.is_set()):
        if clock.paused:
            if not await _wait_unless_stopped(clock.wait_resumed, stop):
                return
            deadline = None
            continue
        if clock.speed is None:
            if room is not None and not await _wait_unless_stopped(room, stop):
                return
            sim.advance(min(until, sim.now + span))
            await asyncio.sleep(0)
            continue
        now = clock.now()
        # Absolute deadlines; after a stall of over a second, start afresh instead of racing.
        deadline = now + TICK if deadline is None or deadline < now - 1.0 else deadline + TICK
        await asyncio.sleep(max(0.0, deadline - now))
        target = min(until, clock.sim_time())
        if target > sim.now:
            sim.advance(target)


async def _wait_unless_stopped(wait: Callable[[], Awaitable[None]], stop: asyncio.Event | None) -> bool:
    """Await `wait()` (room in the outbox, a resume); False if `stop` was set meanwhile."""
    while not (stop is not None and stop.is_set()):
        try:
            async with asyncio.timeout(0.2):
                await wait()
            return True
        except TimeoutError:
            continue
    return False
