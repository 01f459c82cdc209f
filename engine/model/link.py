"""The link stage: whether readings leave the meter, when, their sequence numbers, and what went out.

A device is `online` unless taken offline (`set_offline`) or its link is lost (`faults.CommLoss`).
Offline it goes on measuring. Without a buffer (`buffer: 0`, the default) it sends nothing and
`seq` counts only what was sent. With `buffer: N` the meter stores the last N readings measured
while the link is down, whatever took it down (seq given as each is measured; when full, the oldest
are dropped and counted), and `forward(now)` sends them when it is back, before any live reading.
Faults on this stage change delivery, never values: `Duplicate` sends a reading twice, `OutOfOrder`
holds one back; both act on readings sent live, not on those forwarded from the buffer.

A reading has its own time `t` (its timestamp) and the instant it is sent, almost always `t`. One
sent later waits here until the device is sampled past its send instant, so it leaves in the batch
that covers that instant whatever the batch cuts; `next_release` is when the first one is due (the
device's `next_due` takes it into account). The counts of what went out are the report's ground truth.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from engine.model.faults import CommLoss, Duplicate, OutOfOrder, draw_delays, draw_twice
from engine.model.randomness import Streams
from engine.model.readings import BoolArray, Chunk, FloatArray, Produced, Status
from engine.model.register import Shown
from engine.model.stage import Stage


@dataclass(frozen=True, slots=True)
class _Late:
    """Readings that leave after their own time, at `chunk.sent`; `twice`: the ones that go out twice."""

    chunk: Chunk
    twice: BoolArray | None
    why: Literal["delayed", "held"]


class Link(Stage):
    """The connection of one device to the platform, the meter's buffer, and the count of what it sent."""

    def __init__(self, index: int, streams: Streams, buffer: int = 0) -> None:
        super().__init__(streams)
        self.index = index
        self.online = True
        self.buffer = buffer
        """Readings the meter stores while the link is down (0: none)."""
        self.seq = 0
        """Sequence number of the next reading sent (with a buffer: of the next one measured)."""
        self.generated = 0
        """Readings measured."""
        self.readings = 0
        """Readings sent, each once (its duplicate not counted)."""
        self.duplicated = 0
        self.delayed = 0
        self.held = 0
        """Readings stored while the link was down, then forwarded."""
        self.dropped_at_meter = 0
        self.power_sum = 0.0
        self.power_min = math.inf
        self.power_max = -math.inf
        self.next_release = math.inf
        """When the first reading held back is due to be sent (inf: none is)."""
        self._late: list[_Late] = []
        self._stored: deque[Chunk] = deque()
        self._stored_count = 0

    @property
    def published(self) -> int:
        """Messages sent so far: every reading sent, and each duplicate again."""
        return self.readings + self.duplicated

    @property
    def status(self) -> Status:
        up = self.online and not (self.faults and any(isinstance(fault, CommLoss) for fault in self.faults))
        return "online" if up else "offline"

    def send(self, t: FloatArray, shown: tuple[FloatArray, ...], enabled: bool, millis: bool, out: Produced) -> None:
        """Readings measured at `t` with the values `shown` (power, voltage, current, energy), out if the link is up."""
        n = len(t)
        self.generated += n
        if self.faults or not self.online:
            self._deliver(t, shown, enabled, millis, out)
            return
        power, voltage, current, energy = shown
        seq = np.arange(self.seq, self.seq + n, dtype=np.int64)
        self.seq += n
        self._emit(Chunk(self.index, t, power, voltage, current, energy, seq, enabled, millis), None, out)

    def send_few(self, times: list[float], shown: list[Shown], enabled: bool, millis: bool, out: Produced) -> None:
        """`send` for a few readings, as rows (as arrays, bit for bit the same, when a fault or the buffer acts)."""
        if self.faults or not self.online:
            if self.buffer or self.status == "online":
                columns = tuple(np.array(column, dtype=np.float64) for column in zip(*shown, strict=True))
                self.send(np.array(times, dtype=np.float64), columns, enabled, millis, out)
            else:
                self.generated += len(times)
            return
        index, seq, rows = self.index, self.seq, out.rows
        self.seq += len(times)
        self.generated += len(times)
        self.readings += len(times)
        total, low, high = 0.0, self.power_min, self.power_max
        for t, (power, voltage, current, energy) in zip(times, shown, strict=True):
            rows.append((t, index, power, voltage, current, energy, seq, enabled, millis))
            seq += 1
            total += power
            low = min(low, power)
            high = max(high, power)
        self.power_sum += total  # as `send` adds a chunk's sum: the report's mean does not depend on batching
        self.power_min, self.power_max = low, high

    def release(self, until: float, out: Produced) -> None:
        """Send the readings held back whose send instant is before `until`.

        The link's status is the same since the last sampling (a change samples first), so a reading
        due while it is down is not sent: the meter stores it (oldest first) if it has a buffer,
        else it is lost there (`dropped_at_meter`, a gap in `seq`).
        """
        waiting: list[_Late] = []
        due_now: list[_Late] = []
        for late in self._late:
            sent = late.chunk.sent
            assert sent is not None  # every late chunk has its send instants
            due = sent < until
            if due.all():
                due_now.append(late)
            elif due.any():
                due_now.append(_part(late, due))
                waiting.append(_part(late, ~due))
            else:
                waiting.append(late)
        self._late = waiting
        if self.status == "offline":
            self._keep_or_lose([late.chunk for late in due_now])
        else:
            for late in due_now:
                self._emit_late(late, out)
        self._schedule()

    def _keep_or_lose(self, chunks: list[Chunk]) -> None:
        """Readings held back that fell due while the link is down: stored before the newer ones, or lost."""
        if not chunks:
            return
        count = sum(len(chunk.t) for chunk in chunks)
        if not self.buffer:
            self.dropped_at_meter += count
            return
        for chunk in sorted(chunks, key=lambda chunk: int(chunk.seq[0]), reverse=True):
            self._stored.appendleft(replace(chunk, sent=None))  # measured before what the loss stored
        self._stored_count += count
        self._trim()

    def forward(self, now: float) -> None:
        """If the link is up (again), the readings the meter stored meanwhile are sent at `now`, oldest first."""
        if not self._stored or self.status == "offline":
            return
        for chunk in self._stored:
            self._late.append(_Late(replace(chunk, sent=np.full(len(chunk.t), now)), None, "held"))
        self._stored.clear()
        self._stored_count = 0
        self._schedule()

    def resize(self, buffer: int) -> None:
        """Another buffer size from now on: readings stored beyond it are dropped, oldest first."""
        self.buffer = buffer
        self._trim()

    def _deliver(
        self, t: FloatArray, shown: tuple[FloatArray, ...], enabled: bool, millis: bool, out: Produced
    ) -> None:
        """`send` when a fault acts or the link is down: store, duplicate, hold back."""
        up = self.status == "online"
        if not up and not self.buffer:
            return
        n = len(t)
        power, voltage, current, energy = shown
        seq = np.arange(self.seq, self.seq + n, dtype=np.int64)
        chunk = Chunk(self.index, t, power, voltage, current, energy, seq, enabled, millis)
        self.seq += n
        if not up:
            self._stored.append(chunk)
            self._stored_count += n
            self._trim()
            return
        duplicate = [fault for fault in self.faults if isinstance(fault, Duplicate)]
        out_of_order = [fault for fault in self.faults if isinstance(fault, OutOfOrder)]
        doubled = draw_twice(duplicate, n, self.streams) if duplicate else None
        delay = draw_delays(out_of_order, n, self.streams) if out_of_order else None
        if delay is None or not delay.any():
            self._emit(chunk, doubled, out)
            return
        late = delay > 0.0
        if not late.all():
            on_time = ~late
            self._emit(_take(chunk, on_time), doubled[on_time] if doubled is not None else None, out)
        held_back = replace(_take(chunk, late), sent=t[late] + delay[late])
        self._late.append(_Late(held_back, doubled[late] if doubled is not None else None, "delayed"))
        self._schedule()

    def _emit(self, chunk: Chunk, twice: BoolArray | None, out: Produced) -> None:
        """Readings leaving now: counted once each (power totals too), a duplicated one twice in `out`."""
        power = chunk.power
        n = len(power)
        self.readings += n
        self.power_sum += float(power.sum())
        self.power_min = min(self.power_min, float(power.min()))
        self.power_max = max(self.power_max, float(power.max()))
        if twice is not None and twice.any():
            self.duplicated += int(twice.sum())
            chunk = _take(chunk, np.repeat(np.arange(n), np.where(twice, 2, 1)))
        out.chunks.append(chunk)

    def _emit_late(self, late: _Late, out: Produced) -> None:
        if late.why == "delayed":
            self.delayed += len(late.chunk.t)
        else:
            self.held += len(late.chunk.t)
        self._emit(late.chunk, late.twice, out)

    def _trim(self) -> None:
        """Drop the oldest stored readings beyond the buffer's size (at the meter: counted)."""
        excess = self._stored_count - self.buffer
        while excess > 0:
            oldest = self._stored[0]
            m = len(oldest.t)
            cut = min(m, excess)
            if cut == m:
                self._stored.popleft()
            else:
                self._stored[0] = _take(oldest, slice(cut, None))
            self.dropped_at_meter += cut
            self._stored_count -= cut
            excess -= cut

    def _schedule(self) -> None:
        sent = [late.chunk.sent for late in self._late]
        self.next_release = min((float(s.min()) for s in sent if s is not None), default=math.inf)


def _part(late: _Late, which: BoolArray) -> _Late:
    """The readings of `late` picked by `which`."""
    return _Late(_take(late.chunk, which), late.twice[which] if late.twice is not None else None, late.why)


def _take(chunk: Chunk, which: npt.NDArray[np.bool_] | npt.NDArray[np.int64] | slice) -> Chunk:
    """The readings of `chunk` picked by a mask, indices (repeats allowed) or a slice."""
    return Chunk(
        chunk.device,
        chunk.t[which],
        chunk.power[which],
        chunk.voltage[which],
        chunk.current[which],
        chunk.energy[which],
        chunk.seq[which],
        chunk.enabled,
        chunk.millis,
        chunk.sent[which] if chunk.sent is not None else None,
    )
