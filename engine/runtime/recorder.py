"""The recording of a live run: its overlay scenario now, and a file kept current while it runs.

`serve --record FILE` rewrites FILE whenever the run applied a change or moved on (checked every
EVERY seconds), atomically (a temporary file in the same folder, then a rename), so a process killed
at any moment leaves a valid recording of the session up to its last write; the last write is at
the end of the run. The YAML is made and written on a thread, so a long session's recording does not
hold up publishing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from engine.model.specs import Plan
from engine.scenario.recording import Base, recording
from engine.simulation import Simulation

log = logging.getLogger("iot_mock.recorder")
EVERY = 0.5
"""Wall seconds between two checks of whether the recording file is out of date."""


def session_recording(base: Base, started: Plan, sim: Simulation, *, folder: Path) -> str:
    """The overlay (YAML) of `sim`'s session so far; `started`: the plan before the API's stored devices."""
    return recording(base, sim.plan, started=started, seed=sim.seed, until=sim.now, changes=sim.applied, folder=folder)


async def session_recording_off_loop(base: Base, started: Plan, sim: Simulation, *, folder: Path) -> str:
    """`session_recording`, written on a thread: the YAML of a long session takes a while, and the loop
    publishes meanwhile. Its inputs are taken on the loop first (every recorded change is immutable)."""
    changes, until = list(sim.applied), sim.now
    return await asyncio.to_thread(
        recording, base, sim.plan, started=started, seed=sim.seed, until=until, changes=changes, folder=folder
    )


def write_atomically(path: Path, text: str) -> None:
    """`text` into `path`, never half-written: a reader sees the old file or the new one."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


async def keep_recorded(path: Path, base: Base, started: Plan, sim: Simulation, run: asyncio.Future[Any]) -> None:
    """Keep `path` the recording of `sim` until `run` is done, then write it a last time."""
    written: tuple[int, float] | None = None
    while True:
        done = run.done()
        state = (len(sim.applied), sim.now)
        if state != written and sim.now > 0:
            try:
                text = await session_recording_off_loop(base, started, sim, folder=path.parent)
                await asyncio.to_thread(write_atomically, path, text)
            except OSError as exc:  # a full disk must not stop the session: the next change tries again
                log.warning("cannot write the recording %s: %s", path, exc)
            written = state
        if done:
            return
        await asyncio.wait({run}, timeout=EVERY)
