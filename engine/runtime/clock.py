"""The clock bridge: maps simulated time to wall time (the driver, `engine.runtime.driver`, follows it).

`wall = wall_start + (t - t0) / speed` (SimPy's real-time formula). Every advance aims at an
absolute deadline, so pacing never drifts however long the run; changing the speed or resuming
re-anchors (wall_start, t0) at the current instant. Speed None means virtual time: as fast as
the CPU (and the outbox's back-pressure) allows.

When the machine or the broker cannot keep up with the speed, simulated time falls behind its
clock: `Pacing` says by how much, and the run logs a warning while it is behind, and again when it
has caught up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

log = logging.getLogger("iot_mock.clock")
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
    """How far a paced run is behind its clock, kept up to date by the driver."""

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
