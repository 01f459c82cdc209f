"""Reading one scenario file: a size limit before reading, UTF-8, the sandboxed template."""

from __future__ import annotations

from pathlib import Path

from engine.errors import Issue, ScenarioError
from engine.scenario.isolation import render_isolated
from engine.scenario.template import is_template

MAX_FILE_BYTES = 1024 * 1024


def read_source(path: str | Path) -> bytes:
    """The bytes of a scenario file, refusing files over MAX_FILE_BYTES before reading them."""
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(source, [Issue(None, "", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")])
        return Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(source, [Issue(None, "", f"cannot read: {exc.strerror or exc}")]) from exc


def check_size(data: bytes, source: str) -> None:
    """Refuse scenario text (an upload) over MAX_FILE_BYTES."""
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(source, [Issue(None, "", f"scenario is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")])


def render_source(raw: bytes, source: str) -> str:
    """The text of a scenario after its template (if any) is rendered, in a worker process with hard
    time and memory limits (the same for the CLI and the API); raises ScenarioError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, [Issue(None, "", f"not UTF-8 text (byte {exc.start})")]) from exc
    return render_isolated(text, source) if is_template(text) else text
