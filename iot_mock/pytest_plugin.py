"""The pytest plugin (entry point `pytest11`): scenario runs, a live service and a broker as fixtures.

    def test_my_pipeline_flags_the_outage(iot_mock_run):
        run = iot_mock_run("meter-faults", duration="2h")
        ...run.readings, run.columns, run.statuses, run.report...

Installed with the package, it costs a session that does not use it nothing: this module defines
the fixture only, and the engine is imported when a test first asks for a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from engine.runtime.report import Report


@dataclass(frozen=True)
class Run:
    """What a run produced: the readings as the JSON lines hold them (and as typed columns, the same
    values), the status changes as published, and the run report."""

    readings: list[dict[str, Any]]
    columns: dict[str, Any]
    """`device_id` (a list of str) and numpy arrays: `epoch_ms`, `power`, `voltage`, `current`, `energy`,
    `enabled`, `seq`, one element per reading in the order of `readings`."""
    statuses: list[dict[str, Any]]
    report: Report


def run_scenario(
    scenario: str, *, duration: str | float | None = None, seed: int | None = None, start: str | datetime | None = None
) -> Run:
    """Run a scenario (a name from `scenarios/`, a path, or YAML text) in virtual time."""
    import json

    import numpy as np

    from engine import load_named, parse_scenario
    from engine.contract.messages import status_payload
    from engine.contract.readings import Encoder
    from engine.runtime.driver import run_virtual
    from engine.runtime.report import build_report
    from engine.runtime.sinks import MemorySink
    from engine.scenario.compile import moved_to
    from engine.scenario.durations import parse_duration
    from engine.simulation import Simulation

    loaded = parse_scenario(scenario) if "\n" in scenario else load_named(scenario)
    plan = loaded.plan
    if start is not None:
        plan = moved_to(plan, datetime.fromisoformat(start) if isinstance(start, str) else start)
    until = plan.duration if duration is None else parse_duration(duration)
    sim = Simulation(plan, sink := MemorySink(), seed=seed)
    run_virtual(sim, until)
    encoder = Encoder(plan.start_epoch)
    readings = [json.loads(line) for batch in sink.batches for line in encoder.jsonl(batch).splitlines()]
    parts = [encoder.columns(batch) for batch in sink.batches]
    names = ("epoch_ms", "power", "voltage", "current", "energy", "enabled", "seq")
    columns: dict[str, Any] = {
        name: np.concatenate([part[name] for part in parts]) if parts else np.empty(0) for name in names
    }
    columns["device_id"] = [batch.device_ids[d] for batch in sink.batches for d in batch.device.tolist()]
    statuses = [json.loads(status_payload(change, encoder.timestamp(change.t))) for change in sink.statuses]
    report = build_report(sim, run_id="pytest", source=loaded.source, until=until, wall_seconds=0.0)
    return Run(readings, columns, statuses, report)


@pytest.fixture
def iot_mock_run() -> Callable[..., Run]:
    """`iot_mock_run(scenario, *, duration=None, seed=None, start=None)`: a virtual-time run (`Run`)."""
    return run_scenario


class Service:
    """A live `iot-mock` service publishing to a broker, run on a thread of its own for one test.

    Change it as a user would (commands and injected events go through the run's inbox, answered or
    refused as over MQTT), wait for a sim time, and stop it; the fixture stops it in any case.
    """

    def __init__(self, scenario: str, *, mqtt_url: str, speed: float | None, seed: int | None) -> None:
        import asyncio
        import threading

        from engine import load_named, parse_scenario
        from engine.runtime.service import LiveRun, run_live
        from engine.runtime.settings import Settings

        plan = (parse_scenario(scenario) if "\n" in scenario else load_named(scenario)).plan
        settings = Settings(mqtt_url=mqtt_url, mqtt_embedded=False)
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        started: asyncio.Future[LiveRun] = self._loop.create_future()
        self._result = asyncio.run_coroutine_threadsafe(
            run_live(plan, settings, speed=speed, seed=seed, stop=self._stop, started=started), self._loop
        )
        self._thread = threading.Thread(target=self._loop.run_forever, name="iot-mock-service", daemon=True)
        self._thread.start()
        self.live: LiveRun = asyncio.run_coroutine_threadsafe(_wait(started), self._loop).result(timeout=30)

    @property
    def now(self) -> float:
        """Sim seconds since the scenario's start."""
        return self.live.sim.now

    def command(self, device_id: str, command: str, params: dict[str, Any] | None = None) -> None:
        """A command to one device, applied at the current sim time; raises CommandError if refused."""
        from engine.runtime import changes
        from engine.scenario.actions import command_action

        action = command_action(device_id, command, params)
        self._call(changes.act(action, (device_id,)))

    def inject(self, event: dict[str, Any]) -> tuple[str, ...]:
        """An action on a `target` now (`{"action": "outage", "target": {"kind": "hvac"}, "duration": 60}`)."""
        from pydantic import TypeAdapter

        from engine.runtime import changes
        from engine.scenario.events import TargetedAction

        action = TypeAdapter(TargetedAction).validate_python(event)
        targets: tuple[str, ...] = self._call(changes.act_on(action.resolved(), action.target))
        return targets

    def wait_for(self, sim_time: float, *, timeout: float = 30.0) -> None:
        """Until the run's sim time reaches `sim_time`; TimeoutError after `timeout` wall seconds."""
        import asyncio

        asyncio.run_coroutine_threadsafe(_until(self.live, sim_time), self._loop).result(timeout=timeout)

    def stop(self) -> None:
        """Stop the run (its devices go offline, their retained statuses cleared) and the thread."""
        if not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        try:
            self._result.result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()

    def _call(self, work: Any) -> Any:
        import asyncio

        outcome = asyncio.run_coroutine_threadsafe(self.live.inbox.call(work), self._loop).result(timeout=30)
        return outcome.result()


async def _wait(started: Any) -> Any:
    return await started


async def _until(live: Any, sim_time: float) -> None:
    import asyncio

    while live.sim.now < sim_time:
        await asyncio.sleep(0.01)


@pytest.fixture
def iot_mock_service() -> Iterator[Callable[..., Service]]:
    """`iot_mock_service(scenario, *, mqtt_url, speed=1.0, seed=None)`: a live service, stopped after the test."""
    services: list[Service] = []

    def start(scenario: str, *, mqtt_url: str, speed: float | None = 1.0, seed: int | None = None) -> Service:
        service = Service(scenario, mqtt_url=mqtt_url, speed=speed, seed=seed)
        services.append(service)
        return service

    yield start
    for service in services:
        service.stop()


@pytest.fixture
def iot_mock_mosquitto(tmp_path: Path) -> Iterator[str]:
    """Opt-in: a private Mosquitto on a free loopback port for the test (skipped when not installed); its URL."""
    import os
    import shutil
    import socket
    import subprocess

    executable = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if executable is None:
        pytest.skip("mosquitto is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n" + ("user root\n" if os.geteuid() == 0 else "")
    )
    process = subprocess.Popen([executable, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_listening(port: int, timeout: float = 10.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"mosquitto does not listen on port {port} after {timeout} s") from None
            time.sleep(0.02)
