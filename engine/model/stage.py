"""What every stage of a device shares: the faults in force on it, added and removed by identity."""

from __future__ import annotations

from engine.model.faults import Fault
from engine.model.randomness import Streams


class Stage:
    """A stage of a device (load, electrics, register, link) and the faults that modify it."""

    def __init__(self, streams: Streams) -> None:
        self.streams = streams
        """The device's random streams: a fault that draws takes its own purpose's."""
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)
        self._changed()

    def remove(self, fault: Fault) -> None:
        """End one fault; nothing if it already ended (cleared by a command, say)."""
        if any(fault is active for active in self.faults):
            self.faults = [active for active in self.faults if active is not fault]
            self._changed()

    def clear(self, name: str | None = None) -> None:
        """End every fault of one kind, or all of them."""
        self.faults = [fault for fault in self.faults if name is not None and fault.name != name]
        self._changed()

    def arrays_only(self) -> bool:
        """Whether a fault in force has only the numpy form (the device then samples with numpy)."""
        return bool(self.faults) and any(fault.arrays_only for fault in self.faults)

    def _changed(self) -> None:
        """Called after the faults changed, for a stage that keeps state about them."""
