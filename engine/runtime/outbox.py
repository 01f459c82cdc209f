"""The bounded outbox between the simulation and the broker, with exact accounting.

Readings wait here while the broker is slow or away. When more than `capacity` readings wait,
the oldest are dropped and counted, so at every moment

    generated = delivered + buffered + dropped

where `buffered` includes the readings sent but not yet acknowledged (they go back to the front
of the queue if the connection drops, so delivery stays in order), and `buffered <= capacity`
holds at every instant, in flight included. Status and command responses
travel in the same queue, to keep their order with the readings, but are never dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass(slots=True)
class Message:
    """One MQTT message; `due` is the wall time a reading was due (for lag), None otherwise."""

    topic: str
    payload: bytes
    qos: int
    retain: bool = False
    due: float | None = None
    reading: bool = False


@dataclass(slots=True)
class Lag:
    """Publish time minus due time of delivered readings: the last 100,000 and the maximum."""

    recent: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    maximum: float = 0.0
    _added: int = 0
    _cached: tuple[int, dict[float, float]] = (-1, {})

    def add(self, values: list[float]) -> None:
        if values:
            self.recent.extend(values)
            self.maximum = max(self.maximum, max(values))
            self._added += len(values)

    def percentile(self, q: float) -> float | None:
        """The q-th percentile of recent lags; computed once per batch of deliveries, not per call."""
        if not self.recent:
            return None
        if self._cached[0] != self._added:
            values = np.fromiter(self.recent, dtype=np.float64, count=len(self.recent))
            self._cached = (self._added, dict(zip((50.0, 99.0), np.percentile(values, [50, 99]).tolist(), strict=True)))
        cached = self._cached[1]
        if q in cached:
            return cached[q]
        return float(np.percentile(np.fromiter(self.recent, dtype=np.float64), q))


class Outbox:
    """FIFO of messages for the broker; drops the oldest readings beyond `capacity`."""

    def __init__(self, capacity: int, *, low_water: int | None = None) -> None:
        self.capacity = capacity
        self.low_water = min(capacity // 2, low_water) if low_water is not None else capacity // 2
        self._queue: deque[Message] = deque()
        self._inflight: list[Message] = []
        self._queued_readings = 0
        self._inflight_readings = 0
        self.generated = 0
        self.delivered = 0
        self.dropped = 0
        self.lag = Lag()
        self._ready: list[asyncio.Future[None]] = []
        self._room = asyncio.Event()
        self._room.set()
        self._acked = asyncio.Event()

    @property
    def buffered(self) -> int:
        """Readings waiting or in flight."""
        return self._queued_readings + self._inflight_readings

    @property
    def pending(self) -> int:
        """Messages of any kind not yet acknowledged."""
        return len(self._queue) + len(self._inflight)

    def put(self, messages: list[Message]) -> None:
        readings = sum(1 for m in messages if m.reading)
        self.generated += readings
        self._queued_readings += readings
        self._queue.extend(messages)
        self._enforce_capacity()
        if self._queue:
            self._notify()

    def take(self, limit: int) -> list[Message]:
        """Up to `limit` messages, oldest first, now in flight until `ack` or `requeue`."""
        batch = [self._queue.popleft() for _ in range(min(limit, len(self._queue)))]
        readings = sum(1 for m in batch if m.reading)
        self._queued_readings -= readings
        self._inflight_readings += readings
        self._inflight.extend(batch)
        self._update_room()
        return batch

    def ack(self, batch: list[Message], now: float) -> None:
        """The broker has these: count them delivered and record reading lags."""
        done = {id(m) for m in batch}
        self._inflight = [m for m in self._inflight if id(m) not in done]
        readings = sum(1 for m in batch if m.reading)
        self._inflight_readings -= readings
        self.delivered += readings
        self.lag.add([now - m.due for m in batch if m.due is not None])
        self._acked.set()
        self._update_room()

    def requeue(self) -> None:
        """The connection dropped: unacknowledged messages go back to the front, in order."""
        inflight, self._inflight = self._inflight, []
        self._queue.extendleft(reversed(inflight))
        self._queued_readings += self._inflight_readings
        self._inflight_readings = 0
        self._enforce_capacity()
        if self._queue:
            self._notify()

    def drop_waiting(self) -> int:
        """Drop every reading still waiting (not in flight), counted as dropped; other messages stay.

        For a stop at its drain deadline: the devices' last statuses behind the readings still go out.
        """
        kept = [message for message in self._queue if not message.reading]
        dropped = len(self._queue) - len(kept)
        self._queue = deque(kept)
        self._queued_readings = 0
        self.dropped += dropped
        self._update_room()
        return dropped

    def ready(self) -> asyncio.Future[None]:
        """A future that resolves once there is something to send (at once if there is)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._queue:
            future.set_result(None)
        else:
            self._ready.append(future)
        return future

    def fits(self, readings: int) -> bool:
        """Whether that many more readings fit without dropping any."""
        return self.buffered + readings <= self.capacity

    async def wait_room(self) -> None:
        """Until at most `low_water` readings are buffered (back-pressure for virtual-time runs)."""
        await self._room.wait()

    async def wait_empty(self) -> None:
        """Until everything put so far is acknowledged."""
        while self.pending:
            self._acked.clear()
            await self._acked.wait()

    def wake(self) -> None:
        """Wake a waiting sender (to notice shutdown)."""
        self._notify()

    def _notify(self) -> None:
        waiting, self._ready = self._ready, []
        for future in waiting:
            if not future.done():
                future.set_result(None)

    def _enforce_capacity(self) -> None:
        if self.buffered > self.capacity:
            kept: list[Message] = []
            while self.buffered > self.capacity and self._queue:
                message = self._queue.popleft()
                if message.reading:
                    self._queued_readings -= 1
                    self.dropped += 1
                else:
                    kept.append(message)
            self._queue.extendleft(reversed(kept))
        self._update_room()

    def _update_room(self) -> None:
        if self.buffered <= self.low_water:
            self._room.set()
        else:
            self._room.clear()
