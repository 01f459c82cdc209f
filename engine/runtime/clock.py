"""The clock bridge: maps simulated time to wall time, and drives a simulation along it.

`wall = wall_start + (t - t0) / speed` (SimPy's real-time formula). Every advance aims at an
absolute deadline, so pacing never drifts however long the run; changing the speed or resuming
re-anchors (wall_start, t0) at the current instant. Speed None means virtual time: as fast as
the CPU (and the outbox's back-pressure) allows.

A paced run never does more than a bounded slice of work between two awaits: each advance covers
at most `step` readings, so at any speed the event loop (the API, signals) stays
responsive and memory stays bounded. When the machine or the broker cannot keep up with the
speed, simulated time falls behind its clock instead: `Pacing` says by how much, and the run logs
a warning while it is behind, and again when it has caught up.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from engine.runtime.virtual import TARGET_BATCH, batch_span
from engine.simulation import Simulation

log = logging.getLogger("iot_mock.clock")
TICK = 0.02
"""Wall seconds between two advances in accelerated and real time: the pacing granularity."""
MIN_SPEED = 0.01
MAX_SPEED = 100_000.0
"""The accepted speeds: a hundredth of real time (slower only freezes a demo) to a day in under a second."""
BEHIND = 1.0
"""Wall seconds behind its clock after which a paced run counts as falling behind (and says so)."""


def check_speed(speed: object) -> float:
    """A speed as a float, or ValueError saying the accepted range (for the CLI and the API alike)."""
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not MIN_SPEED <= speed <= MAX_SPEED:
        raise ValueError(f"speed must be a number from {MIN_SPEED:g} to {MAX_SPEED:g} (times real time), got {speed!r}")
    return float(speed)


class Pacing:
    """How far a paced run is behind its clock, kept up to date by `drive`."""

    def __init__(self) -> None:
        self.behind_seconds = 0.0
        """Wall seconds of simulated time due but not yet simulated."""
        self.falling_behind = False
        self.episodes = 0
        """How many times the run fell behind."""

    def update(self, clock: Clock, now: float) -> None:
        if clock.speed is None or clock.paused:
            self.behind_seconds = 0.0
        else:
            self.behind_seconds = max(0.0, (clock.sim_time() - now) / clock.speed)
        if not self.falling_behind and self.behind_seconds > BEHIND:
            self.falling_behind = True
            self.episodes += 1
            log.warning(
                "falling behind: simulated time is %.1f s of wall time late at x%g; the machine or the broker "
                "cannot keep up with this speed (lower it, or shard the devices)",
                self.behind_seconds,
                clock.speed,
            )
        elif self.falling_behind and self.behind_seconds < BEHIND / 2:
            self.falling_behind = False
            log.info("caught up with the clock")


class Clock:
    """Sim time <-> wall time at `speed` (None: virtual), pausable, with a changeable speed."""

    def __init__(self, speed: float | None, *, t0: float = 0.0, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.speed = None if speed is None else check_speed(speed)
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
        """Change speed from sim time `at` (the simulation's now) on: a run behind its clock catches up."""
        self.speed = None if speed is None else check_speed(speed)
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
    has_room: Callable[[], bool] | None = None,
    stop: asyncio.Event | None = None,
    batch: int = TARGET_BATCH // 10,
    step: int = TARGET_BATCH // 10,
    pacing: Pacing | None = None,
) -> None:
    """Advance `sim` to `until` along `clock`, in virtual or paced time as the clock is at each turn.

    Virtual time advances about `batch` readings at a time and awaits `room()` before each. Paced
    time advances towards the clock's sim time every TICK, at most `step` readings at a time, and
    skips a tick while `has_room()` is False (a connected but slower broker: the run falls behind
    its clock rather than dropping readings). The speed may change between the two at any time.
    """
    batches, steps = _Steps(sim, batch), _Steps(sim, step)
    pacing = pacing or Pacing()
    deadline: float | None = None
    while sim.now < until and not (stop is not None and stop.is_set()):
        if clock.paused:
            pacing.update(clock, sim.now)
            if not await _wait_unless_stopped(clock.wait_resumed, stop):
                return
            deadline = None
            continue
        if clock.speed is None:
            pacing.update(clock, sim.now)
            if room is not None and not await _wait_unless_stopped(room, stop):
                return
            sim.advance(min(until, sim.now + batches.span()))
            await asyncio.sleep(0)
            deadline = None
            continue
        now = clock.now()
        # Absolute deadlines; after a stall of over a second, start afresh instead of racing.
        deadline = now + TICK if deadline is None or deadline < now - 1.0 else deadline + TICK
        await asyncio.sleep(max(0.0, deadline - now))
        target = min(until, clock.sim_time(), sim.now + steps.span())
        if target > sim.now and (has_room is None or has_room()):
            sim.advance(target)
        pacing.update(clock, sim.now)


class _Steps:
    """The longest advance (sim seconds) that stays within a number of readings.

    Recomputed when the simulation's revision changes (devices, events, commands), not on every tick.
    """

    def __init__(self, sim: Simulation, max_readings: int) -> None:
        self.sim = sim
        self.max_readings = max_readings
        self._revision = -1
        self._span = 0.0

    def span(self) -> float:
        if self.sim.revision != self._revision:
            self._revision = self.sim.revision
            rate = math.fsum(1.0 / meter.interval for meter in self.sim.devices)
            longest = batch_span(self.sim) / 10  # smaller batches than a file run: the broker is the bottleneck
            self._span = max(0.001, min(longest, self.max_readings / rate)) if rate else longest
        return self._span


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
