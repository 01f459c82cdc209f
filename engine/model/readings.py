"""Readings and status changes as they leave the core, and the port (Sink) they leave through.

Readings travel in columns (numpy arrays), sorted by (time, device order), so a sink can encode
thousands of them per call; `Reading` is the one-at-a-time view for tests and small consumers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Status = Literal["online", "offline"]


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading of one device, in the units of the MQTT contract."""

    device_id: str
    t: float
    power: float
    voltage: float
    current: float
    energy: float
    enabled: bool
    seq: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive readings of one device between two discrete events."""

    device: int
    t: FloatArray
    power: FloatArray
    voltage: FloatArray
    current: FloatArray
    energy: FloatArray
    seq: IntArray
    enabled: bool
    millis: bool


@dataclass(frozen=True, slots=True)
class ReadingBatch:
    """Readings of many devices in columns, sorted by time then device order."""

    device_ids: tuple[str, ...]
    device: IntArray
    t: FloatArray
    power: FloatArray
    voltage: FloatArray
    current: FloatArray
    energy: FloatArray
    seq: IntArray
    enabled: BoolArray
    millis: BoolArray

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def merge(cls, device_ids: tuple[str, ...], chunks: list[Chunk]) -> ReadingBatch:
        """One batch in (time, device order) from chunks in any order."""
        if not chunks:
            empty = np.empty(0)
            none = np.empty(0, dtype=np.int64)
            return cls(
                device_ids,
                none,
                empty,
                empty,
                empty,
                empty,
                empty,
                none,
                none.astype(bool),
                none.astype(bool),
            )
        sizes = [len(c.t) for c in chunks]
        device = np.repeat(np.array([c.device for c in chunks], dtype=np.int64), sizes)
        t = np.concatenate([c.t for c in chunks])
        order = np.lexsort((device, t))
        return cls(
            device_ids,
            device[order],
            t[order],
            np.concatenate([c.power for c in chunks])[order],
            np.concatenate([c.voltage for c in chunks])[order],
            np.concatenate([c.current for c in chunks])[order],
            np.concatenate([c.energy for c in chunks])[order],
            np.concatenate([c.seq for c in chunks])[order],
            np.repeat(np.array([c.enabled for c in chunks]), sizes)[order],
            np.repeat(np.array([c.millis for c in chunks]), sizes)[order],
        )

    def readings(self) -> list[Reading]:
        """Row view; convenient, not fast."""
        return [
            Reading(self.device_ids[d], t, p, v, i, e, bool(en), s)
            for d, t, p, v, i, e, en, s in zip(
                self.device.tolist(),
                self.t.tolist(),
                self.power.tolist(),
                self.voltage.tolist(),
                self.current.tolist(),
                self.energy.tolist(),
                self.enabled.tolist(),
                self.seq.tolist(),
                strict=True,
            )
        ]


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A device's communication status or load switch changed (published retained over MQTT)."""

    t: float
    device_id: str
    status: Status
    enabled: bool
    reason: str | None = None


@dataclass(slots=True)
class Outbox:
    """What the simulation produced since the last drain: reading chunks and status changes."""

    chunks: list[Chunk] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)


class Sink(Protocol):
    """Where readings and status changes go: files, MQTT, memory. Called in time order."""

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None: ...
