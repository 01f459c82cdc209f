"""The inbox: external work (MQTT commands, REST changes) waiting for the driver, in arrival order.

Nothing outside the driver changes a running simulation. A transport puts a piece of work, a
callable on the simulation, with a way to reply; the driver applies the queue between two advances,
so every external change lands at a simulated instant between batches, never inside one, and in the
order it arrived whatever its transport. The reply is a callback (MQTT: the bridge never awaits a
command, so a flood is applied a queue at a time, not one per tick) or a future (REST: the route
awaits it, within a timeout).

Bounded: beyond CAPACITY pending items a new one is refused at once (`Busy`, counted in `rejected`),
so a flood neither blocks the loop nor grows memory. Once the run ends, what is still queued, and
whatever arrives after, is answered `RunEnded`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from engine.errors import IotMockError, SimulationError
from engine.simulation import Simulation

T = TypeVar("T")
Work = Callable[[Simulation], T]
"""A change to apply to the simulation, returning what the caller wants back (raises to refuse)."""

CAPACITY = 1000
"""Pending items at most: a second of the fastest command flood one MQTT connection delivers here
(about 1,000 commands/s), and a drain of them stays within a few tens of milliseconds."""
REPLY_TIMEOUT = 5.0
"""Seconds a REST caller waits for its work to be applied: only a stalled driver takes that long."""


class Refused(IotMockError):
    """The inbox did not apply the work: `reason` says why (the transports answer with it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Busy(Refused):
    """CAPACITY items are already waiting: try again shortly."""


class RunEnded(Refused):
    """The run has ended (or stopped): no change applies any more."""


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What became of one piece of work: its value or its error, and the sim time it was decided at."""

    now: float
    value: T | None = None
    error: Exception | None = None

    def result(self) -> T:
        """The value, or the error raised."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


Reply = Callable[[Outcome[Any]], None]


@dataclass(slots=True)
class _Item:
    work: Work[Any]
    reply: Reply
    future: asyncio.Future[Outcome[Any]] | None = None
    """A REST caller's: skipped when it gave up waiting (cancelled), so nothing applies unseen."""


class Inbox:
    """A bounded FIFO of work for the driver, which `drain`s it between two advances."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.now = 0.0
        """The sim time the driver last reported: refusals are stamped with it."""
        self.applied = 0
        self.rejected = 0
        """Items refused: busy, or after the end."""
        self.closed = False
        self._items: deque[_Item] = deque()
        self._arrived = asyncio.Event()

    @property
    def pending(self) -> int:
        return len(self._items)

    def put(self, work: Work[Any], reply: Reply) -> None:
        """Queue `work`; `reply` gets its outcome from the driver, or at once if it is refused."""
        self._put(_Item(work, reply))

    def ask(self, work: Work[T]) -> asyncio.Future[Outcome[T]]:
        """Queue `work`; the future gets its outcome (already done if it was refused)."""
        future: asyncio.Future[Outcome[T]] = asyncio.get_running_loop().create_future()

        def reply(outcome: Outcome[T]) -> None:
            if not future.done():
                future.set_result(outcome)

        self._put(_Item(work, reply, future))
        return future

    async def call(self, work: Work[T], *, timeout: float = REPLY_TIMEOUT) -> Outcome[T]:
        """Queue `work` and wait for its outcome; a Busy one if it is not applied within `timeout`."""
        future = self.ask(work)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:  # the future is cancelled with the wait: the driver skips it
            self.rejected += 1
            return Outcome(self.now, error=Busy(f"busy: the simulation did not take the change within {timeout:g} s"))

    def _put(self, item: _Item) -> None:
        if self.closed:
            self._refuse(item, RunEnded("the run has ended"))
        elif len(self._items) >= self.capacity:
            self._refuse(item, Busy(f"busy: {self.capacity} changes are already waiting; try again shortly"))
        else:
            self._items.append(item)
            self._arrived.set()

    def _refuse(self, item: _Item, error: Refused) -> None:
        self.rejected += 1
        item.reply(Outcome(self.now, error=error))

    def drain(self, sim: Simulation) -> int:
        """Apply every queued item in arrival order (the driver's, between two advances); returns their count.

        Work that arrives while draining (a reply that queues more) waits for the next drain, so one
        drain is bounded by CAPACITY.
        """
        self.now = sim.now
        self._arrived.clear()
        items, count = self._items, len(self._items)
        for _ in range(count):
            item = items.popleft()
            if item.future is not None and item.future.done():
                continue
            try:
                outcome: Outcome[Any] = Outcome(sim.now, value=item.work(sim))
            except SimulationError:  # a device failed (its behaviour, met on the way): the run fails
                raise
            except Exception as exc:  # the caller's to report: a CommandError, or a bug it logs
                outcome = Outcome(sim.now, error=exc)
            self.applied += 1
            item.reply(outcome)
        if items:
            self._arrived.set()
        return count

    def close(self, now: float) -> None:
        """The run is over: every queued item, and every later one, is answered RunEnded."""
        self.now = now
        self.closed = True
        while self._items:
            item = self._items.popleft()
            if item.future is None or not item.future.done():
                self._refuse(item, RunEnded("the run has ended"))

    async def wait(self) -> None:
        """Until there is work to drain."""
        await self._arrived.wait()

    @property
    def has_work(self) -> bool:
        return bool(self._items)
