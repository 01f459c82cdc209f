"""A data file beside a scenario (a weather CSV, a replay's history): read safely, hashed.

The file is named relative to the scenario's folder and must stay inside it: no absolute path,
no `..`, no symbolic link that leads out, only a regular file (a FIFO or a device would block or
never end). At most `limit` bytes are read whatever the size said a moment before, so a file that
grows while it is read cannot exhaust memory. A scenario without a folder (an upload to the API)
cannot name one. Problems are ValueErrors whose message names the file, for a located issue.
"""

from __future__ import annotations

import hashlib
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True, slots=True)
class DataFile:
    """A file read beside a scenario: where it is, its text and the sha256 of its bytes (for the report)."""

    path: Path
    text: str
    sha256: str


def read_beside(name: str, folder: Path | None, *, limit: int, what: str) -> DataFile:
    """The UTF-8 text of `name` in `folder`, at most `limit` bytes; raises ValueError.

    `what` names the file's use in the message when there is no folder ("a weather CSV")."""
    if folder is None:
        raise ValueError(f"{what} needs a scenario file to be read relative to; this scenario has none")
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"must be a path inside the scenario's folder, got {name!r}")
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):  # a symbolic link out of the folder
        raise ValueError(f"must be a file inside the scenario's folder, got {name!r} (it leads outside)")
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ValueError(f"{name}: not a regular file")
        with path.open("rb") as stream:
            data = stream.read(limit + 1)  # bounded, whatever the size said a moment ago
        if len(data) > limit:
            raise ValueError(f"{name}: file is over {limit} bytes, the limit")
        text = data.decode("utf-8")
    except OSError as exc:
        raise ValueError(f"{name}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    return DataFile(path, text, hashlib.sha256(data).hexdigest())
