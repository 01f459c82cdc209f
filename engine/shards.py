"""Which shard this process runs: `K/N` as given, or `auto`: the index its orchestrator gives the pod.

Kubernetes gives each pod of a workload an index but not the count: an Indexed Job sets
`JOB_COMPLETION_INDEX`; a StatefulSet names its pods `NAME-0` ... `NAME-(N-1)` (the pod's `HOSTNAME`),
and from 1.28 labels them `apps.kubernetes.io/pod-index`, which the downward API can pass as
`IOT_MOCK_POD_INDEX`. The count comes from `IOT_MOCK_SHARDS`, written in the manifest next to the
Job's `completions` or the set's `replicas`. Indexes are 0-based: index 0 runs shard 1/N.

The environment is handed in, never read here, so every case is a plain dict in a test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal

from engine.errors import IotMockError

Shard = tuple[int, int]
"""Shard K of N, 1 <= K <= N."""
ShardFlag = Shard | Literal["auto"]
"""What `--shard` and `IOT_MOCK_SHARD` say: a shard, or `auto` (ask the orchestrator)."""

AUTO: Final = "auto"
SHARD_VARIABLE: Final = "IOT_MOCK_SHARD"
COUNT_VARIABLE: Final = "IOT_MOCK_SHARDS"
INDEX_VARIABLES: Final = ("JOB_COMPLETION_INDEX", "IOT_MOCK_POD_INDEX")
"""Where an index is looked for, in this order, before the StatefulSet ordinal in `HOSTNAME`."""

_NUMBER = re.compile(r"[0-9]+")
_ORDINAL = re.compile(r".+-([0-9]+)")
"""A StatefulSet pod's name: the set's name, a dash and the ordinal."""


def parse_shard(text: str) -> ShardFlag:
    """`K/N` with 1 <= K <= N, or `auto`; a ValueError says what is expected."""
    if text == AUTO:
        return AUTO
    index, _, count = text.partition("/")
    if not (_NUMBER.fullmatch(index) and _NUMBER.fullmatch(count) and 1 <= int(index) <= int(count)):
        raise ValueError(f"must be K/N with 1 <= K <= N, like 2/4, or auto, got {text!r}")
    return int(index), int(count)


def chosen_shard(flag: ShardFlag | None, environ: Mapping[str, str]) -> Shard | None:
    """The shard to run: the `--shard` flag wins, else `IOT_MOCK_SHARD`; None runs every device.

    Raises IotMockError with one line naming the variable, its value and the fix.
    """
    given = "--shard auto"
    if flag is None:
        text = environ.get(SHARD_VARIABLE, "").strip()
        if not text:
            return None
        try:
            flag = parse_shard(text)
        except ValueError as exc:
            raise IotMockError(f"{SHARD_VARIABLE}: {exc}") from None
        given = f"{SHARD_VARIABLE}={AUTO}"
    return flag if flag != AUTO else orchestrated_shard(environ, given=given)


def orchestrated_shard(environ: Mapping[str, str], *, given: str = "--shard auto") -> Shard:
    """The shard of this pod: its index (0-based) from the orchestrator, the count from `IOT_MOCK_SHARDS`."""
    index, source = _index(environ, given)
    count = _count(environ, given)
    if index >= count:
        raise IotMockError(
            f"{given}: index {index} from {source} is out of range for {count} shards ({COUNT_VARIABLE}): "
            f"an index runs from 0 to {count - 1}"
        )
    return index + 1, count


def _index(environ: Mapping[str, str], given: str) -> tuple[int, str]:
    for name in INDEX_VARIABLES:
        value = environ.get(name, "").strip()
        if value:  # the downward API gives "" for a label the pod lacks (Kubernetes before 1.27)
            return _number(name, value, given), name
    hostname = environ.get("HOSTNAME", "")
    if ordinal := _ORDINAL.fullmatch(hostname):
        return int(ordinal.group(1)), f"HOSTNAME={hostname}"
    seen = f"HOSTNAME is {hostname!r}" if hostname else "HOSTNAME is not set"
    raise IotMockError(
        f"{given}: no shard index (set JOB_COMPLETION_INDEX in an Indexed Job, or run in a StatefulSet pod "
        f"named NAME-N; {seen})"
    )


def _count(environ: Mapping[str, str], given: str) -> int:
    value = environ.get(COUNT_VARIABLE, "").strip()
    if not value:
        raise IotMockError(
            f"{given}: no shard count (set {COUNT_VARIABLE} to the Job's completions or the StatefulSet's replicas)"
        )
    count = _number(COUNT_VARIABLE, value, given)
    if count < 1:
        raise IotMockError(f"{given}: {COUNT_VARIABLE} must be at least 1, got {value!r}")
    return count


def _number(name: str, value: str, given: str) -> int:
    if not _NUMBER.fullmatch(value):
        raise IotMockError(f"{given}: {name} must be a whole number like 0 or 3, got {value!r}")
    return int(value)
