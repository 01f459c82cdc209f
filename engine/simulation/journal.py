"""The journal: every change a run applied, in the order it applied them (the ground truth of a run).

Each entry is one phase (`start`, or `end` of a timed action) of one action, with its sim time, its
targets as they were then (devices deleted meanwhile are left out), its source and parameters.
At one instant, the scenario's actions come first, then external ones in arrival order. The run
report's timeline is this list; a recorded live session will be too.

An action that lasts (it has a duration, or puts a fault on a device) is an *occurrence*: its start
and every end entry of it carry the journal index of the start, and each entry holds each target's
next `seq` at that instant, so the readings it covered are `[start seq, end seq)` per device. It
ends on a device at its duration, or earlier when another action removed its fault there
(`clear_fault`): then an end entry is recorded at that instant, with the clearing action's source,
right after the clearing action's own entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from engine.model.actions import Source

Phase = Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One phase of one action as it happened."""

    t: float
    action: str
    phase: Phase
    targets: tuple[str, ...]
    source: Source
    params: Mapping[str, object] = field(default_factory=dict)
    duration: float | None = None
    occurrence: int | None = None
    """For an action that lasts: the journal index of its start entry (the same in its end entries)."""
    next_seq: tuple[int, ...] = ()
    """Each target's `seq` of its next reading at this instant (readings before it are out), in target order."""


class Journal:
    """The entries of one run, in order."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []

    def record(self, entry: Entry) -> None:
        self._entries.append(entry)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> Entry:
        return self._entries[index]
