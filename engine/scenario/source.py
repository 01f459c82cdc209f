"""Reading one scenario file: a size limit before reading, UTF-8, the sandboxed template."""

from __future__ import annotations

import re
from pathlib import Path

from engine.errors import Issue, ScenarioError
from engine.scenario.isolation import render_isolated
from engine.scenario.template import is_template

MAX_FILE_BYTES = 1024 * 1024
MAX_RECORDING_BYTES = 32 * 1024 * 1024
"""A recording (a file with a top-level `session:`) holds one line per change of a live session: some
hundred thousand of them. The API's uploads stay within its own 1 MiB body limit."""
_SESSION = re.compile(rb"^session:", re.MULTILINE)


def limit_of(data: bytes) -> int:
    """The size limit of a scenario text: MAX_RECORDING_BYTES for a recording, else MAX_FILE_BYTES."""
    return MAX_RECORDING_BYTES if _SESSION.search(data) else MAX_FILE_BYTES


def read_source(path: str | Path) -> bytes:
    """The bytes of a scenario file, refusing files over the limit (`limit_of`) before parsing them."""
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_RECORDING_BYTES:
            raise ScenarioError(source, [Issue(None, "", f"file is {size} bytes; the limit is {MAX_RECORDING_BYTES}")])
        with Path(path).open("rb") as file:
            data = file.read(MAX_RECORDING_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(source, [Issue(None, "", f"cannot read: {exc.strerror or exc}")]) from exc
    if len(data) > limit_of(data):
        raise ScenarioError(source, [Issue(None, "", f"file is {len(data)} bytes; the limit is {limit_of(data)}")])
    return data


def check_size(data: bytes, source: str) -> None:
    """Refuse scenario text over its limit (`limit_of`)."""
    if len(data) > limit_of(data):
        limit = limit_of(data)
        raise ScenarioError(source, [Issue(None, "", f"scenario is {len(data)} bytes; the limit is {limit}")])


def render_source(raw: bytes, source: str) -> str:
    """The text of a scenario after its template (if any) is rendered, in a worker process with hard
    time and memory limits (the same for the CLI and the API); raises ScenarioError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, [Issue(None, "", f"not UTF-8 text (byte {exc.start})")]) from exc
    return render_isolated(text, source) if is_template(text) else text
