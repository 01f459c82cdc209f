"""Hourly outdoor temperatures from a CSV file beside the scenario (`site.weather.csv`).

Columns, with a header line: `time` (a local date-time in the scenario's timezone, `2025-08-04T13:00`
or `2025-08-04 13:00`) and `temperature_c`, rows in increasing time, usually hourly; the temperature
is linear between rows and holds the first and last values before and after them. The file is
read relative to the scenario's folder (`beside.read_beside`: inside it, a regular file, at most
MAX_CSV_BYTES); every problem names the file and line.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from engine.scenario.beside import DataFile, read_beside

MAX_CSV_BYTES = 4 * 1024 * 1024
"""A year of hourly rows is about 200 KB."""
_EPOCH = datetime(1970, 1, 1)
COLUMNS = ("time", "temperature_c")


def read_hourly(name: str, folder: Path | None) -> tuple[tuple[tuple[float, float], ...], DataFile]:
    """(local seconds since the local 1970 epoch, C) per row of the CSV `name`, and the file; raises ValueError."""
    file = read_beside(name, folder, limit=MAX_CSV_BYTES, what="a weather CSV")
    return _rows(name, file.text), file


def _rows(name: str, text: str) -> tuple[tuple[float, float], ...]:
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(reader, [])]
    if tuple(header) != COLUMNS:
        raise ValueError(f"{name}:1: the header must be 'time,temperature_c', got {','.join(header)!r}")
    points: list[tuple[float, float]] = []
    for row in reader:
        line = reader.line_num
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2:
            raise ValueError(f"{name}:{line}: needs 2 columns (time, temperature_c), got {len(row)}")
        try:
            moment = datetime.fromisoformat(row[0].strip())
        except ValueError:
            raise ValueError(
                f"{name}:{line}: time must be a local date-time like 2025-08-04T13:00, got {row[0]!r}"
            ) from None
        if moment.tzinfo is not None:
            raise ValueError(f"{name}:{line}: give a local time without offset; the scenario's timezone applies")
        try:
            temperature = float(row[1])
        except ValueError:
            raise ValueError(f"{name}:{line}: temperature_c must be a number, got {row[1]!r}") from None
        if not -90.0 <= temperature <= 70.0:
            raise ValueError(f"{name}:{line}: temperature_c must be between -90 and 70, got {temperature}")
        local = (moment - _EPOCH).total_seconds()
        if points and local <= points[-1][0]:
            raise ValueError(f"{name}:{line}: times must increase, got {row[0]!r} after an equal or later one")
        points.append((local, temperature))
    if not points:
        raise ValueError(f"{name}: no rows after the header")
    return tuple(points)
