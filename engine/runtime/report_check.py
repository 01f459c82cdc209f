"""Whether two run reports tell the same run: every difference, named by where it is (a CI gate).

A run is deterministic, so values compare exactly. What differs between two runs of the same
scenario and seed is left out: the run id, the wall time, the path the scenario was read from, and
the paths of the files of its `extends:` chain and of its data files (their sha256 are compared), and
the live part's MQTT counters (they depend on the broker and the machine). Devices are matched by
id, so a missing or extra device reads as such, not as every device after it shifted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

IGNORED: frozenset[tuple[str, ...]] = frozenset({("run_id",), ("wall_seconds",), ("scenario", "source"), ("mqtt",)})
"""Paths that differ between two runs of the same scenario and seed."""
MISSING = object()
_FILE_LISTS = frozenset({("scenario", "chain"), ("scenario", "files")})
"""Lists of files read, each with a path (left out) and a sha256 (compared)."""


@dataclass(frozen=True, slots=True)
class Difference:
    where: str
    expected: object
    got: object

    def __str__(self) -> str:
        return f"{self.where}: expected {_shown(self.expected)}, got {_shown(self.got)}"


def differences(expected: Mapping[str, object], got: Mapping[str, object]) -> list[Difference]:
    """Every place where `got` differs from `expected`, in the order of the report."""
    return list(_compare(expected, got, ()))


def _compare(expected: object, got: object, path: tuple[str, ...]) -> Iterator[Difference]:
    if path in IGNORED or (path[:2] in _FILE_LISTS and path[-1] == "source"):  # paths of the files read
        return
    if isinstance(expected, Mapping) and isinstance(got, Mapping):
        for key in [*expected, *(key for key in got if key not in expected)]:
            yield from _compare(expected.get(key, MISSING), got.get(key, MISSING), (*path, str(key)))
    elif _listed(expected) and _listed(got):
        assert isinstance(expected, Sequence) and isinstance(got, Sequence)
        yield from _compare_items(expected, got, path)
    elif type(expected) is not type(got) or expected != got:
        yield Difference(_where(path), expected, got)


def _compare_items(expected: Sequence[object], got: Sequence[object], path: tuple[str, ...]) -> Iterator[Difference]:
    if _by_device(expected) and _by_device(got):
        mine = {_device(item): item for item in expected}
        theirs = {_device(item): item for item in got}
        for device_id in [*mine, *(device_id for device_id in theirs if device_id not in mine)]:
            yield from _compare(mine.get(device_id, MISSING), theirs.get(device_id, MISSING), (*path, f"[{device_id}]"))
        return
    for index in range(max(len(expected), len(got))):
        first = expected[index] if index < len(expected) else MISSING
        second = got[index] if index < len(got) else MISSING
        yield from _compare(first, second, (*path, f"[{index}]"))


def _listed(value: object) -> bool:
    """A list of records, compared item by item (a list of values, like a seq range, is one value)."""
    return isinstance(value, list | tuple) and any(isinstance(item, Mapping) for item in value)


def _by_device(items: Sequence[object]) -> bool:
    return bool(items) and all(isinstance(item, Mapping) and isinstance(item.get("device_id"), str) for item in items)


def _device(item: object) -> str:
    assert isinstance(item, Mapping)
    return str(item["device_id"])


def _where(path: tuple[str, ...]) -> str:
    text = ""
    for part in path:
        text += part if part.startswith("[") or not text else f".{part}"
    return text or "(the report)"


def _shown(value: object) -> str:
    return "(missing)" if value is MISSING else json.dumps(value)
