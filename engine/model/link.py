"""The link stage: whether readings leave the meter, their sequence numbers, and what went out.

A device is `online` unless taken offline (`set_offline`) or its link is lost (`faults.CommLoss`);
offline it goes on measuring but sends nothing, and `seq` counts only what was sent. The totals of
what was sent (count, power min/max/mean) are the run report's ground truth.
"""

from __future__ import annotations

import math

import numpy as np

from engine.model.faults import CommLoss
from engine.model.randomness import Streams
from engine.model.readings import Chunk, FloatArray, Produced, Status
from engine.model.register import Shown
from engine.model.stage import Stage


class Link(Stage):
    """The connection of one device to the platform, and the count of what it sent."""

    def __init__(self, index: int, streams: Streams) -> None:
        super().__init__(streams)
        self.index = index
        self.online = True
        self.seq = 0
        """Sequence number of the next reading sent."""
        self.power_sum = 0.0
        self.power_min = math.inf
        self.power_max = -math.inf

    @property
    def published(self) -> int:
        """Readings sent so far."""
        return self.seq

    @property
    def status(self) -> Status:
        up = self.online and not (self.faults and any(isinstance(fault, CommLoss) for fault in self.faults))
        return "online" if up else "offline"

    def send(self, t: FloatArray, shown: tuple[FloatArray, ...], enabled: bool, millis: bool, out: Produced) -> None:
        """Readings at `t` with the values `shown` (power, voltage, current, energy), if the link is up."""
        if self.status == "offline":
            return
        power, voltage, current, energy = shown
        n = len(t)
        seq = np.arange(self.seq, self.seq + n, dtype=np.int64)
        self.seq += n
        self.power_sum += float(power.sum())
        self.power_min = min(self.power_min, float(power.min()))
        self.power_max = max(self.power_max, float(power.max()))
        out.chunks.append(Chunk(self.index, t, power, voltage, current, energy, seq, enabled, millis))

    def send_few(self, times: list[float], shown: list[Shown], enabled: bool, millis: bool, out: Produced) -> None:
        """`send` for a few readings, as rows."""
        if not self.online or (self.faults and self.status == "offline"):
            return
        index, seq, rows = self.index, self.seq, out.rows
        self.seq += len(times)
        total, low, high = 0.0, self.power_min, self.power_max
        for t, (power, voltage, current, energy) in zip(times, shown, strict=True):
            rows.append((t, index, power, voltage, current, energy, seq, enabled, millis))
            seq += 1
            total += power
            low = min(low, power)
            high = max(high, power)
        self.power_sum += total  # as `send` adds a chunk's sum: the report's mean does not depend on batching
        self.power_min, self.power_max = low, high
