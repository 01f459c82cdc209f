"""A live run at its limits: extreme speeds, a broker gone at the end of a run, every QoS, lost connections."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from engine.model.specs import shard
from engine.runtime.mqtt import MqttBridge
from engine.runtime.service import LiveRun, run_live
from tests.runtime.conftest import Mosquitto, free_port
from tests.runtime.mqtt_helpers import collect, publish, retained, running
from tests.runtime.test_mqtt import plan_of, settings_for

FIFTY = "devices: [" + ", ".join(f"{{id: d{i}, kind: server, interval: 1s}}" for i in range(50)) + "]\n"
TWO = "devices: [{id: a, kind: hvac, interval: 1s}, {id: b, kind: server, interval: 1s}]\n"


def test_at_the_top_speed_the_loop_stays_responsive_the_bound_holds_and_falling_behind_shows(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """x100,000 on 50 meters asks for 5 million readings per second: far more than anything delivers."""
    settings, _ = settings_for(mosquitto.url, outbox_size=2000, drain_seconds=0.5)
    caplog.set_level(logging.INFO, "iot_mock")

    async def scenario() -> tuple[LiveRun, float, float, int]:
        async with running(plan_of(FIFTY), settings, speed=100_000) as live:
            stall = 0.0
            most = 0
            until = time.monotonic() + 20
            while not (live.pacing.falling_behind and live.bridge.outbox.delivered > 20_000):
                assert time.monotonic() < until, "the run never showed it fell behind"
                before = time.monotonic()
                await asyncio.sleep(0.01)
                stall = max(stall, time.monotonic() - before - 0.01)  # how long the loop was held
                most = max(most, live.bridge.outbox.buffered)
            asked = time.monotonic()
        return live, stall, time.monotonic() - asked, most

    live, stall, stopping, most = asyncio.run(scenario())
    assert stall < 1.0  # the API and signals are served between bounded slices of work (measured: ~15 ms)
    assert most <= 2000  # the outbox bound, in flight included, at every instant
    assert stopping < 0.5 + 3.0  # within the drain deadline (and the final statuses; measured: ~0.1 s)
    counters = live.counters()
    assert counters.falling_behind is True and counters.behind_seconds > 1.0
    assert counters.dropped == 0  # while connected, the clock waits for the broker instead
    assert "falling behind: simulated time is" in caplog.text


@pytest.mark.timeout(90)  # 8.6-17.9 s measured: about 5x, over the 30 s default
def test_the_end_of_a_run_waits_for_a_broker_that_went_away_and_delivers_everything(
    own_mosquitto: Mosquitto,
) -> None:
    settings, prefix = settings_for(own_mosquitto.url, drain_seconds=0.2)

    async def scenario() -> tuple[LiveRun, list[dict[str, Any]]]:
        async with collect(
            own_mosquitto.port, f"{prefix}/devices/+/data", identifier=f"c-{secrets.token_hex(3)}", persistent=True
        ) as got:
            started: asyncio.Future[LiveRun] = asyncio.get_running_loop().create_future()
            async with asyncio.TaskGroup() as tasks:
                runner = tasks.create_task(run_live(plan_of(TWO), settings, speed=100, until=60, started=started))
                live = await started
                await live.bridge.wait_connected()
                own_mosquitto.stop()
                await got.wait_for(lambda: live.sim.now >= 60)  # the span is over, readings wait
                await asyncio.sleep(0.5)  # longer than the drain deadline: the run must still wait
                assert not runner.done() and live.bridge.outbox.buffered > 0
                own_mosquitto.start()
                await runner
            await got.wait_for(lambda: len({m.payload for m in got.messages}) == 120, timeout=20)
            return live, [json.loads(m.payload) for m in got.messages]

    live, readings = asyncio.run(scenario())
    assert live.counters().delivered == live.counters().generated == 120 and live.undelivered == 0
    for device in ("a", "b"):
        assert sorted({r["seq"] for r in readings if r["device_id"] == device}) == list(range(60))


def test_a_run_stopped_with_readings_undelivered_exits_non_zero_and_says_how_many(tmp_path: Path) -> None:
    env = {**os.environ, "IOT_MOCK_MQTT_EMBEDDED": "false", "IOT_MOCK_DRAIN_SECONDS": "0.2"}
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "iot_mock", "run", "default", "--duration", "1h",
               "--mqtt", f"mqtt://127.0.0.1:{free_port()}", "--report", str(report)]  # fmt: skip
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]) as run:
        assert run.stderr is not None
        for line in run.stderr:  # the broker is not there: the readings wait for it
            if "end of the run: waiting for the broker (not connected) to take 1800 more readings" in line:
                break
        else:
            raise AssertionError("the run ended without waiting for the broker")
        run.send_signal(signal.SIGINT)
        stderr = run.stderr.read()
        assert run.wait(timeout=20) == 4
    (error,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    counters = json.loads(report.read_text())["mqtt"]
    assert counters["undelivered"] == counters["generated"] - counters["delivered"] > 0
    assert error == (
        f"error: {counters['undelivered']} of {counters['generated']} readings did not reach the broker "
        f"({counters['dropped']} dropped, {counters['buffered']} still buffered when the run was stopped)"
    )
    assert "Traceback" not in stderr


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_a_whole_run_at_every_qos_delivers_every_reading(mosquitto: Mosquitto, qos: int) -> None:
    settings, prefix = settings_for(mosquitto.url, mqtt_qos=qos, outbox_size=1000)

    async def scenario() -> tuple[LiveRun, set[bytes]]:
        async with collect(mosquitto.port, f"{prefix}/devices/+/data") as got:
            live = await run_live(plan_of(TWO), settings, speed=None, until=3600)
            await got.wait_for(lambda: len({m.payload for m in got.messages}) == 7200, timeout=30)
            return live, {m.payload for m in got.messages}

    live, payloads = asyncio.run(scenario())
    assert live.counters().generated == live.counters().delivered == len(payloads) == 7200


def test_a_lost_connection_leaves_no_unretrieved_future(
    own_mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = settings_for(own_mosquitto.url)
    problems: list[str] = []

    async def listener_busy_elsewhere(self: MqttBridge, client: aiomqtt.Client) -> None:
        await asyncio.Event().wait()  # not iterating messages, so nothing reads the disconnection for it

    monkeypatch.setattr(MqttBridge, "_listen", listener_busy_elsewhere)
    # Captured log records would keep the lost client (and its future) alive past the loop's end.
    monkeypatch.setattr(logging.getLogger("iot_mock.mqtt"), "disabled", True)

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: problems.append(context["message"]))
        started: asyncio.Future[LiveRun] = asyncio.get_running_loop().create_future()
        async with asyncio.TaskGroup() as tasks:
            runner = tasks.create_task(run_live(plan_of(TWO), settings, speed=100, until=30, started=started))
            live = await started
            await live.bridge.wait_connected()
            connections = live.bridge.connections
            own_mosquitto.stop()
            own_mosquitto.start()
            async with asyncio.timeout(20):
                while live.bridge.connections == connections or not live.bridge.connected:
                    await asyncio.sleep(0.01)
            await runner
        gc.collect()  # the clients of lost connections are gone: anything they left unread is reported now
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert problems == []


def test_shards_answer_only_the_commands_of_their_own_devices(mosquitto: Mosquitto) -> None:
    """Every shard receives every command; only the one that runs the device answers it."""
    whole = plan_of("devices: [" + ", ".join(f"{{id: d{i}, kind: server, interval: 1s}}" for i in range(4)) + "]\n")
    first, _ = settings_for(mosquitto.url)
    prefix = first.topic_prefix
    second, _ = settings_for(mosquitto.url, topic_prefix=prefix)  # its own client id, the same topics

    async def scenario() -> tuple[list[LiveRun], list[dict[str, Any]]]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        started: list[asyncio.Future[LiveRun]] = [loop.create_future(), loop.create_future()]
        async with collect(mosquitto.port, f"{prefix}/devices/+/responses") as got, asyncio.TaskGroup() as tasks:
            for k, settings in ((1, first), (2, second)):
                part = shard(whole, k, 2)
                tasks.create_task(run_live(part, settings, speed=20, stop=stop, started=started[k - 1]))
            shards = [await future for future in started]
            for live in shards:
                await live.bridge.wait_connected()
            for device in ("d0", "d1"):  # d0 is shard 1's, d1 shard 2's
                command = json.dumps({"command": "disable", "id": device}).encode()
                await publish(mosquitto.port, f"{prefix}/devices/{device}/commands", command)
            await got.wait_for(lambda: all(live.bridge.foreign_commands == 1 for live in shards))
            await got.wait_for(lambda: len(got.messages) >= 2)
            stop.set()
        return shards, [m.json() for m in got.messages]

    shards, responses = asyncio.run(scenario())
    assert sorted((r["id"], r["ok"]) for r in responses) == [("d0", True), ("d1", True)]
    assert [live.bridge.commands.received for live in shards] == [1, 1]
    assert not shards[0].sim.by_id["d0"].enabled and not shards[1].sim.by_id["d1"].enabled


def test_a_stop_at_the_drain_deadline_drops_the_waiting_readings_but_clears_every_device(
    mosquitto: Mosquitto,
) -> None:
    """A backlog cut by the deadline must not leave the devices retained `online` on the broker."""
    settings, prefix = settings_for(mosquitto.url, drain_seconds=0)

    async def scenario() -> tuple[LiveRun, dict[str, bytes]]:
        async with running(plan_of(FIFTY), settings, speed=None) as live, asyncio.timeout(20):
            while live.bridge.outbox.buffered < 20_000:  # a backlog the deadline will cut
                await asyncio.sleep(0.01)
        return live, await retained(mosquitto.port, f"{prefix}/#")

    live, kept = asyncio.run(scenario())
    counters = live.counters()
    assert counters.dropped > 0 and counters.buffered == 0
    assert counters.generated == counters.delivered + counters.dropped
    assert kept == {f"{prefix}/simulator/status": b"offline"}  # no ghost device


def test_a_virtual_run_sped_up_to_a_pace_is_held_back_and_shows_it_falls_behind(mosquitto: Mosquitto) -> None:
    settings, _ = settings_for(mosquitto.url, outbox_size=2000)

    async def scenario() -> LiveRun:
        async with running(plan_of(FIFTY), settings, speed=None) as live, asyncio.timeout(20):
            live.clock.set_speed(100_000, at=live.sim.now)  # as POST /api/v1/simulation/speed does
            while not live.pacing.falling_behind:
                assert live.bridge.outbox.buffered <= 2000
                await asyncio.sleep(0.01)
        return live

    live = asyncio.run(scenario())
    assert live.counters().falling_behind is True and live.counters().dropped == 0
