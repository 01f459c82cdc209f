"""The journal: every change a run applied, in the order it applied them (the ground truth of a run).

Each entry is one phase (`start`, or `end` of a timed action) of one action, with its sim time, its
targets as they were then (devices deleted meanwhile are left out), its source and parameters.
At one instant, the scenario's actions come first, then external ones in arrival order, then what
meters did by themselves at their readings of that instant (source `meter`: a breaker's trip), in
device id order. The run report's timeline is this list; a recorded live session will be too.

An action that lasts (it has a duration, or puts a fault on a device, a meter's own trip too) is an
*occurrence*: its start and every end entry of it carry the same occurrence number, and each entry holds each target's
next `seq` at that instant, so the readings it covered are `[start seq, end seq)` per device. It
ends on a device at its duration, or earlier when another action removed its fault there
(`clear_fault`): then an end entry is recorded at that instant, with the clearing action's source,
right after the clearing action's own entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.model.actions import Source

Phase = Literal["start", "end"]
JournalKey = tuple[Any, ...]


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
    """For an action that lasts: its occurrence's number, the same in its start and end entries (numbered
    as they are found, which a meter's trip may be late: the report numbers them in journal order)."""
    next_seq: tuple[int, ...] = ()
    """Each target's `seq` of its next reading at this instant (readings before it are out), in target order."""
    key: JournalKey = ()
    """Where it goes in the journal, the same in every part of a run split by devices (`merge_journals`):
    (t, 0, step, place in the step...) for the timeline's and external changes, (t, 1, device id) for a meter's."""


class Journal:
    """The entries of one run, in order."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._occurrences = 0

    def new_occurrence(self) -> int:
        """A number for an occurrence, unique in this journal."""
        number = self._occurrences
        self._occurrences += 1
        return number

    def record(self, entry: Entry) -> None:
        self._entries.append(entry)

    def insert(self, entry: Entry) -> None:
        """An entry of what a meter did by itself (source `meter`), found when its readings were sampled,
        which may be after later entries were recorded: it goes after every entry of its instant or
        before, and before the later ones; meters' entries of one instant go in device id order.
        So the journal is the same however a run was cut into steps."""
        i = len(self._entries)
        while i and _after(self._entries[i - 1], entry):
            i -= 1
        self._entries.insert(i, entry)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> Entry:
        return self._entries[index]


def _after(recorded: Entry, entry: Entry) -> bool:
    """Whether `recorded` goes after the meter's `entry`."""
    if recorded.t != entry.t:
        return recorded.t > entry.t
    return recorded.source == "meter" and recorded.targets > entry.targets


def merge_journals(parts: Sequence[Sequence[Entry]], rank: Mapping[str, int]) -> list[Entry]:
    """The journal of a whole run from those of its parts: each ran some of the devices and the whole timeline.

    An entry of one step is in each part with that part's targets: they become one entry with the targets of
    all, in device order (`rank`: a device's index). One with no target in any part is kept when every part
    has it (the whole run recorded it: an action on no device), else left out (the end of an occurrence that
    was cleared on every device: the parts where it was not cleared there recorded it empty). Occurrences
    are renumbered in the order of their starts, as the whole run's journal would number them in order.
    """
    groups: dict[JournalKey, list[tuple[int, Entry]]] = {}
    starts: list[dict[int, JournalKey]] = []
    for part, entries in enumerate(parts):
        starts.append({e.occurrence: e.key for e in entries if e.phase == "start" and e.occurrence is not None})
        for entry in entries:
            groups.setdefault(entry.key, []).append((part, entry))
    numbers = {key: n for n, key in enumerate(sorted({key for found in starts for key in found.values()}))}
    merged: list[Entry] = []
    for key in sorted(groups):
        members = groups[key]
        pairs = sorted(
            ((target, seq) for _, e in members for target, seq in zip(e.targets, e.next_seq, strict=True)),
            key=lambda pair: rank[pair[0]],
        )
        if not pairs and len(members) < len(parts):
            continue
        occurrences = [starts[part][e.occurrence] for part, e in members if e.occurrence is not None]
        merged.append(
            dataclasses.replace(
                members[0][1],
                targets=tuple(target for target, _ in pairs),
                next_seq=tuple(seq for _, seq in pairs),
                occurrence=numbers[occurrences[0]] if occurrences else None,
            )
        )
    return merged
