"""Render a template in a child process that is killed at a hard deadline and has a memory cap.

The sandbox in `template.py` checks its limits between template lines; one C-level operation
(`([[0] * 1000] * 3000) | sum(start=[])`, a huge `join`) runs to its end before any check can.
So every scenario template renders in a fresh child: forked from a forkserver that has the
template code imported already (a few milliseconds per render, no import per render), with
RLIMIT_AS set to its own size plus MAX_MEMORY (Linux), and killed by the parent when it is still
running `_GRACE` seconds after the render deadline. The child reports the template line it is
running through shared memory, so even a killed render gives a located error.

multiprocessing would also have each child (and the forkserver, when asked to preload it) run the
parent's `__main__` first: a caller's script without an `if __name__ == "__main__":` guard would
run again in there. The worker needs only this module, so `__main__` is hidden while a child starts.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import sys
import threading
import types
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from engine.errors import TemplateError
from engine.scenario.template import MAX_MEMORY, MAX_OUTPUT, MAX_SECONDS, LineSlot, overrun, render_template

_GRACE = 0.5  # process start, and the time for the sandbox's own deadline to answer first
_CONTEXT = multiprocessing.get_context("forkserver")  # POSIX: a fork of a server that runs nothing else
_CONTEXT.set_forkserver_preload([__name__])
_STARTING = threading.Lock()  # API renders start children from several threads


@contextlib.contextmanager
def main_hidden() -> Iterator[None]:
    """While a child starts: a `__main__` with no file or spec, so the child imports none (any module's
    child: `--jobs` workers use it too)."""
    with _STARTING:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


def render_isolated(text: str, source: str, *, max_output: int = MAX_OUTPUT, max_seconds: float = MAX_SECONDS) -> str:
    """The rendered text, from a child process; raises TemplateError (located when possible)."""
    reader, writer = _CONTEXT.Pipe(duplex=False)
    try:
        line: Any = _CONTEXT.RawValue("i", 0)  # shared memory: a file in the temporary directory
        child = _CONTEXT.Process(
            target=_render_child,
            args=(writer, line, text, max_output, max_seconds),
            name="iot-mock-template",
            daemon=True,
        )
        with main_hidden():
            child.start()  # the first start also starts the forkserver, whose socket is a temporary file
    except OSError as exc:
        reader.close()
        writer.close()
        why = f"cannot start the template worker: {exc.strerror or exc} (it needs a writable temporary directory)"
        raise TemplateError(source, why) from exc
    try:
        writer.close()
        if not reader.poll(max_seconds + _GRACE):
            raise overrun(source, max_seconds, line.value or None)
        try:
            outcome: tuple[str, str, int | None] = reader.recv()
        except EOFError:
            child.join(_GRACE)
            code = child.exitcode
            killed = f"killed by signal {-code}; memory limit {MAX_MEMORY // 2**20} MiB" if code and code < 0 else ""
            msg = f"template stopped its worker ({killed or f'exit code {code}'})"
            raise TemplateError(source, msg, line=line.value or None) from None
    finally:
        writer.close()
        reader.close()
        if child.is_alive():
            child.kill()
        if child.pid is not None:
            child.join()
    kind, value, at = outcome
    if kind == "error":
        raise TemplateError(source, value, line=at)
    return value


def _render_child(writer: Connection, line: LineSlot, text: str, max_output: int, max_seconds: float) -> None:
    """In the child: cap memory, render, send back ("ok", text, None) or ("error", msg, line)."""
    _limit_memory(MAX_MEMORY)
    outcome: tuple[str, str, int | None]
    try:
        rendered = render_template(text, "", max_output=max_output, max_seconds=max_seconds, line_slot=line)
        outcome = ("ok", rendered, None)
    except TemplateError as exc:
        outcome = ("error", exc.issues[0].msg, exc.line)
    writer.send(outcome)
    writer.close()


def _limit_memory(extra: int) -> None:
    """Limit this process's address space to its current size plus `extra` bytes (Linux only)."""
    try:
        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return
    resource.setrlimit(resource.RLIMIT_AS, (current + extra, current + extra))
