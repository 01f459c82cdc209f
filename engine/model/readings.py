"""Readings and status changes as they leave the core, and the port (Sink) they leave through.

Readings travel in columns (numpy arrays), sorted by (time, device order) (below: when each is
sent), so a sink can encode thousands of them per call; `Reading` is the one-at-a-time view for
tests and small consumers.

A reading has two instants: its own time `t` (its timestamp) and the instant it is sent. Almost
every reading is sent at `t`; one held back (`out_of_order`) or stored by its meter while the link
was down (`buffer:`) is sent later. A batch holds the readings sent in its span, sorted by (sent,
device order, seq); when none is late, `sent` is the `t` array itself and the order is (t, device).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from engine.model.faults import Fault

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
    sent: FloatArray | None = None
    """When each is sent; None: each at its own `t` (the common case)."""


Row = tuple[float, int, float, float, float, float, int, bool, bool]
"""One reading as plain values (t, device, power, voltage, current, energy, seq, enabled, millis):
real time produces one or two readings per device per tick, too few to be worth numpy arrays."""


@dataclass(frozen=True, slots=True)
class ReadingBatch:
    """Readings of many devices in columns, sorted by send instant, then device order, then seq."""

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
    sent: FloatArray
    """When each reading is sent (paced publishing goes by it): `t` itself when none is late."""

    def __len__(self) -> int:
        return len(self.t)

    @property
    def late(self) -> bool:
        """Whether some reading is sent after its own time (then `sent` is not `t`)."""
        return self.sent is not self.t

    @classmethod
    def merge(cls, device_ids: tuple[str, ...], chunks: list[Chunk], rows: list[Row] | None = None) -> ReadingBatch:
        """One batch in (sent, device order, seq) from chunks and rows in any order.

        Without late readings that is (time, device order), the one sort of the common path."""
        counts = [len(c.t) for c in chunks]
        extra: list[np.ndarray] = (
            [np.array(values, dtype=dtype) for values, dtype in zip(zip(*rows, strict=True), _ROW_TYPES, strict=True)]
            if rows
            else []
        )

        def joined(parts: list[np.ndarray], column: int) -> np.ndarray:
            """The chunks' parts of one column, then the rows'."""
            parts = parts + extra[column : column + 1]
            return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0)

        def repeated(values: list[object], dtype: type, column: int) -> np.ndarray:
            """A column each chunk holds one value of (its device, its flags): one repeat, not an array a chunk."""
            return joined([np.repeat(np.array(values, dtype=dtype), counts)], column)

        t = joined([c.t for c in chunks], 0)
        if not len(t):
            empty, none = np.empty(0), np.empty(0, dtype=np.int64)
            flags = none.astype(bool)
            return cls(device_ids, none, empty, empty, empty, empty, empty, none, flags, flags, empty)
        device = repeated([c.device for c in chunks], np.int64, 1)
        power, voltage, current, energy = (
            joined([getattr(c, name) for c in chunks], column)
            for column, name in enumerate(("power", "voltage", "current", "energy"), start=2)
        )
        seq = joined([c.seq for c in chunks], 6)
        enabled = repeated([c.enabled for c in chunks], np.bool_, 7)
        millis = repeated([c.millis for c in chunks], np.bool_, 8)
        if not any(c.sent is not None for c in chunks):
            order = np.lexsort((device, t))
            t = t[order]
            sent = t
        else:
            sent_at = joined([c.t if c.sent is None else c.sent for c in chunks], 0)
            order = np.lexsort((seq, device, sent_at))
            t, sent = t[order], sent_at[order]
        return cls(
            device_ids, device[order], t, power[order], voltage[order], current[order], energy[order], seq[order],
            enabled[order], millis[order], sent,
        )  # fmt: skip

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


_ROW_TYPES = (np.float64, np.int64, np.float64, np.float64, np.float64, np.float64, np.int64, np.bool_, np.bool_)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A device's communication status or load switch changed (published retained over MQTT)."""

    t: float
    device_id: str
    status: Status
    enabled: bool
    reason: str | None = None
    removed: bool = False
    """The device was deleted: its retained status is cleared."""


@dataclass(frozen=True, slots=True)
class Happening:
    """Something a device did by itself at a reading (its breaker tripped): the simulation journals it.

    Devices find these while sampling, which a run may do late and in any cut; `t` is the
    reading's time, so the journal can put it in time order whatever the cuts.
    """

    t: float
    device: int
    action: str
    params: Mapping[str, object] = field(default_factory=dict)
    fault: Fault | None = None
    """The fault it put in force (an action that removes it ends it)."""
    seq: int = 0
    """The `seq` of that reading (of the next one sent, if it had none)."""


@dataclass(slots=True)
class Produced:
    """What the simulation produced since the last drain: readings (chunks, rows), status changes and
    what devices did by themselves."""

    chunks: list[Chunk] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)
    happenings: list[Happening] = field(default_factory=list)


class Sink(Protocol):
    """Where readings and status changes go: files, MQTT, memory. Called in time order."""

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None: ...
