"""A replay device's history: a CSV file of recorded readings beside the scenario (`devices[i].csv`).

A header line, then one row per reading: `timestamp` and `power` (kW), optionally `voltage` (V) and
`current` (A); `columns:` maps other headers to these, extra columns are ignored. A timestamp is ISO
8601 (`2025-03-03T08:15:00Z`, `2025-03-03 08:15+01:00`, or local `2025-03-03T08:15`): one with an
offset or Z is an instant, shown in the scenario's timezone; one without is local time in the
scenario's timezone. Rows must be in increasing time; in local time the repeated hour of a DST
fall-back plays once (the rows of its second pass, given with offsets, are skipped), and a naive
timestamp that repeats is refused (give offsets). The file is read relative to the scenario's
folder (`beside.read_beside`: inside it, a regular file, at most MAX_HISTORY_BYTES); every problem
names the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from engine.model.history import History
from engine.model.readings import FloatArray
from engine.scenario.beside import read_beside

MAX_HISTORY_BYTES = 16 * 1024 * 1024
"""About a year of 1-minute rows with power only, or four years of 15-minute rows with voltage and current."""
_EPOCH = datetime(1970, 1, 1)
_LIMITS = {"power": (0.0, 1e7), "voltage": (1e-3, 1e6), "current": (0.0, 1e7)}
"""Accepted values per column: power drawn (a meter that exports is not a replay's), a live voltage."""


def read_history(name: str, folder: Path | None, columns: dict[str, str | None], timezone: ZoneInfo) -> History:
    """The rows of the CSV `name` in `folder`, headers mapped by `columns` (ours -> the file's, None:
    ours if the file has it); raises ValueError naming the file, line and column."""
    file = read_beside(name, folder, limit=MAX_HISTORY_BYTES, what="a replay CSV")
    reader = csv.reader(io.StringIO(file.text))
    header = [cell.strip() for cell in next(reader, [])]
    if header:
        header[0] = header[0].removeprefix("\ufeff")
    if not "".join(header):
        raise ValueError(f"{name}: empty file; it needs a header line with timestamp and power, then rows")
    where = _column_indexes(name, header, columns)
    local: list[float] = []
    values: dict[str, list[float]] = {key: [] for key in where if key != "timestamp"}
    last_utc = -math.inf
    for row in reader:
        line = reader.line_num
        if not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise ValueError(f"{name}:{line}: needs {len(header)} columns like the header, got {len(row)}")
        cell = row[where["timestamp"]].strip()
        moment = _timestamp(name, line, header[where["timestamp"]], cell)
        if moment.tzinfo is None:
            at = (moment - _EPOCH).total_seconds()
            if local and at <= local[-1]:
                raise ValueError(
                    f"{name}:{line}: {header[where['timestamp']]}: times must increase, got {cell!r} after an equal "
                    "or later one (a local time repeated by a DST change needs an offset, e.g. +01:00)"
                )
        else:
            utc = moment.timestamp()
            if utc <= last_utc:
                raise ValueError(
                    f"{name}:{line}: {header[where['timestamp']]}: times must increase, got {cell!r} after an "
                    "equal or later one"
                )
            last_utc = utc
            at = (moment.astimezone(timezone).replace(tzinfo=None) - _EPOCH).total_seconds()
            if local and at <= local[-1]:
                continue  # the second pass of an hour a DST fall-back repeats in local time
        for key, column in values.items():
            column.append(_number(name, line, header[where[key]], row[where[key]], key))
        local.append(at)
    if not local:
        raise ValueError(f"{name}: no rows after the header")
    arrays = {key: _frozen(column) for key, column in values.items()}
    return History(
        str(file.path), file.sha256, _frozen(local), arrays["power"], arrays.get("voltage"), arrays.get("current")
    )


def _column_indexes(name: str, header: Sequence[str], columns: dict[str, str | None]) -> dict[str, int]:
    """Where each of our columns is in the file: timestamp and power must be there, voltage and current may."""
    found: dict[str, int] = {}
    for ours in ("timestamp", "power", "voltage", "current"):
        wanted = columns.get(ours)
        theirs = wanted if wanted is not None else ours
        if theirs in header:
            found[ours] = header.index(theirs)
        elif wanted is not None or ours in ("timestamp", "power"):
            mapped = "" if wanted is None else f" (columns.{ours})"
            raise ValueError(
                f"{name}:1: no column {theirs!r}{mapped}; the header has {', '.join(map(repr, header))} "
                "(map other headers with `columns:`)"
            )
    return found


def _timestamp(name: str, line: int, column: str, cell: str) -> datetime:
    try:
        return datetime.fromisoformat(cell)
    except ValueError:
        raise ValueError(
            f"{name}:{line}: {column}: must be an ISO 8601 date-time like 2025-03-03T08:15:00Z, "
            f"2025-03-03T08:15+01:00 or local 2025-03-03T08:15, got {cell!r}"
        ) from None


def _number(name: str, line: int, column: str, cell: str, key: str) -> float:
    low, high = _LIMITS[key]
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"{name}:{line}: {column}: must be a number, got {cell!r}") from None
    if not low <= value <= high:  # NaN fails too
        raise ValueError(f"{name}:{line}: {column}: must be between {low:g} and {high:g}, got {cell.strip()!r}")
    return value


def _frozen(values: list[float]) -> FloatArray:
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array
