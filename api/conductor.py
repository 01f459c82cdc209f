"""The one live run the API steers: started with the app, stopped, replaced by another scenario.

The run is a task of the app's lifespan task group; starting another stops the current one
first (drain, `offline`), so one broker connection and one simulation exist at a time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from api.history import History
from api.latest import LatestReadings
from api.store import DeviceStore
from engine.model.device import Device
from engine.model.specs import Plan
from engine.runtime.recorder import keep_recorded, session_recording_off_loop
from engine.runtime.service import LiveRun, RunHook, run_live
from engine.runtime.settings import Settings
from engine.runtime.tally import CommandTally
from engine.scenario.recording import Base


@dataclass
class Conductor:
    """Owns the current live run and what the API keeps about it (latest readings, caches)."""

    settings: Settings
    tasks: asyncio.TaskGroup
    store: DeviceStore
    live: LiveRun | None = None
    latest: LatestReadings = field(default_factory=LatestReadings)
    history: History = field(default_factory=History)
    """The recent history of the current run's readings (the demo page opens with it)."""
    cache: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    device_json: dict[str, tuple[Device, int, bytes]] = field(default_factory=dict)
    """Each device's JSON in the device list, with the device and revision it describes."""
    set_up: RunHook | None = None
    """Entered for the time of each run (see `run_live`): the program's process-wide tweaks."""
    rest_commands: CommandTally = field(default_factory=CommandTally)
    """Commands of the current run sent through the API, by outcome (MQTT's are the bridge's)."""
    record: Path | None = None
    """Where each run's recording is kept current (`serve --record FILE`); None: only on request."""
    base: Base = field(default_factory=Base)
    """The scenario the current (or last) run ran, for its recording."""
    started: Plan | None = None
    """The plan the current (or last) run was started with, before the stored devices were laid over it."""
    _task: asyncio.Task[LiveRun] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def current(self) -> LiveRun | None:
        """The run in progress; None before the first and after a stop."""
        live = self.live
        return None if live is None or live.stop.is_set() else live

    async def start(self, plan: Plan, *, speed: float | None, seed: int | None, base: Base) -> LiveRun:
        """Stop the current run (if any) and start `plan` (from `base`), with the API's stored device changes."""
        async with self._lock:
            await self._stop()
            started, plan = plan, self.store.apply(plan)
            latest, history = LatestReadings(plan.start_epoch), History()
            running: asyncio.Future[LiveRun] = asyncio.get_running_loop().create_future()
            task = self.tasks.create_task(
                run_live(
                    plan,
                    self.settings,
                    speed=speed,
                    seed=seed,
                    sinks=(latest, history),
                    stop=asyncio.Event(),
                    started=running,
                    set_up=self.set_up,
                ),
                name=f"live-run-{plan.name}",
            )
            await asyncio.wait({task, running}, return_when=asyncio.FIRST_COMPLETED)
            if not running.done():
                await task  # it failed before starting: raise why
            self._task, self.latest, self.history, self.live = task, latest, history, running.result()
            self.base, self.started = base, started
            if self.record is not None:
                recorder = keep_recorded(self.record, base, started, self.live.sim, task)
                self.tasks.create_task(recorder, name="recording")
            self.cache.clear()
            self.rest_commands = CommandTally()
            self.device_json.clear()
            return self.live

    async def recording(self, folder: Path) -> str | None:
        """The current (or last) run's session so far as an overlay scenario (YAML); None before any run.
        Raises `NothingToRecord` while it is still at sim time 0."""
        if self.live is None or self.started is None:
            return None
        return await session_recording_off_loop(self.base, self.started, self.live.sim, folder=folder)

    async def stop(self) -> None:
        """Stop the current run: drain the outbox, publish `offline`, disconnect."""
        async with self._lock:
            await self._stop()

    async def _stop(self) -> None:
        task, live = self._task, self.live
        if task is None or live is None:
            return
        live.stop.set()
        await asyncio.wait({task})
        self._task = None
