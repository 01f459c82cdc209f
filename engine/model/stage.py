"""What every stage of a device shares: the faults in force on it, added and removed by identity."""

from __future__ import annotations

from engine.model.faults import Fault


class Stage:
    """A stage of a device (load, electrics, register, link) and the faults that modify it."""

    def __init__(self) -> None:
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

    def _changed(self) -> None:
        """Called after the faults changed, for a stage that keeps state about them."""
