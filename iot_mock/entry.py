"""The `iot-mock` command's entry point: starts the template forkserver, then imports the rest.

Every scenario renders in a child forked from a forkserver (`engine.scenario.isolation`), and that
server first imports the engine: about half a second. Started before this process imports the
engine itself, the two imports run side by side on two cores instead of one after the other, so a
command that loads a scenario starts about 0.3 s sooner. Nothing heavy is imported here.
"""

from __future__ import annotations

import multiprocessing
import sys
import types
from collections.abc import Sequence
from multiprocessing import forkserver

RENDERER = "engine.scenario.isolation"
"""The module the forkserver preloads (the one that renders templates and forks `--jobs` workers)."""
_NO_SCENARIO = {"-h", "--help", "--version", "schema"}
"""First arguments of commands that load no scenario: no server for them."""


def start_forkserver() -> None:
    """Start the forkserver with its preload, `__main__` hidden (its child would run our `__main__`)."""
    multiprocessing.get_context("forkserver").set_forkserver_preload([RENDERER])
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        forkserver.ensure_running()
    except OSError:
        pass  # e.g. no writable temporary directory: the first render says so, located and in words
    finally:
        sys.modules["__main__"] = main


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments and arguments[0] not in _NO_SCENARIO:
        start_forkserver()
    from iot_mock.cli import main as command  # after the server is on its way

    return command(argv)
