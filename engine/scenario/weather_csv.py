"""Hourly outdoor temperatures from a CSV file beside the scenario (`site.weather.csv`).

Columns, with a header line: `time` (a local date-time in the scenario's timezone, `2025-08-04T13:00`
or `2025-08-04 13:00`) and `temperature_c`, rows in increasing time, usually hourly; the temperature
is linear between rows and holds the first and last values before and after them. The file is
read relative to the scenario's folder, must stay inside it (no absolute path, no `..`), and is
limited to MAX_CSV_BYTES; every problem names the file and line. A scenario that comes without a
folder (an upload to the API) cannot name one.
"""

from __future__ import annotations

import csv
import io
import stat
from datetime import datetime
from pathlib import Path, PurePosixPath

MAX_CSV_BYTES = 4 * 1024 * 1024
"""A year of hourly rows is about 200 KB."""
_EPOCH = datetime(1970, 1, 1)
COLUMNS = ("time", "temperature_c")


def read_hourly(name: str, folder: Path | None) -> tuple[tuple[float, float], ...]:
    """(local seconds since the local 1970 epoch, C) per row of the CSV `name`; raises ValueError."""
    if folder is None:
        raise ValueError("a weather CSV needs a scenario file to be read relative to; this scenario has none")
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"must be a path inside the scenario's folder, got {name!r}")
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):  # a symbolic link out of the folder
        raise ValueError(f"must be a file inside the scenario's folder, got {name!r} (it leads outside)")
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or a device would block or never end
            raise ValueError(f"{name}: not a regular file")
        with path.open("rb") as stream:
            data = stream.read(MAX_CSV_BYTES + 1)  # bounded, whatever the size said a moment ago
        if len(data) > MAX_CSV_BYTES:
            raise ValueError(f"{name}: file is over {MAX_CSV_BYTES} bytes, the limit")
        text = data.decode("utf-8")
    except OSError as exc:
        raise ValueError(f"{name}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    return _rows(name, text)


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
