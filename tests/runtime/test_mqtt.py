"""The live service against a real Mosquitto: topics, payloads, statuses, commands, outages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from engine import parse_scenario
from engine.model.specs import Plan
from engine.runtime.mqtt import MqttBridge
from engine.runtime.service import LiveRun, run_live
from engine.runtime.settings import Settings
from engine.runtime.tally import CommandCounts
from tests.helpers import READING_FIELDS, scenario_text
from tests.runtime.conftest import Mosquitto, free_port, wait_listening
from tests.runtime.mqtt_helpers import collect, publish, retained, running


def plan_of(devices: str, **fields: object) -> Plan:
    return parse_scenario(scenario_text(devices, **fields)).plan


def settings_for(broker_url: str, **overrides: object) -> tuple[Settings, str]:
    prefix = f"test-{secrets.token_hex(4)}"
    values: dict[str, object] = {"mqtt_url": broker_url, "topic_prefix": prefix, "mqtt_embedded": False}
    values.update(overrides)
    return Settings(**values), prefix  # type: ignore[arg-type]


TWO = "devices: [{id: ac, kind: hvac, interval: 10s}, {id: rack, kind: server, interval: 10s}]\n"


def test_virtual_run_publishes_every_reading_and_retained_statuses(mosquitto: Mosquitto) -> None:
    settings, prefix = settings_for(mosquitto.url)

    async def scenario() -> LiveRun:
        async with collect(mosquitto.port, f"{prefix}/#") as got:
            live = await run_live(plan_of(TWO), settings, speed=None, until=3600)
            # The simulator's `offline` is the last message: published after every reading and status.
            await got.wait_for(lambda: len(got.on("/data")) == 720 and len(got.on("simulator/status")) == 2)
            data = [m.json() for m in got.on("/data")]
            assert [list(d) for d in data[:2]] == [READING_FIELDS, READING_FIELDS]
            assert {m.topic for m in got.on("/data")} == {f"{prefix}/devices/ac/data", f"{prefix}/devices/rack/data"}
            assert [d["seq"] for d in data if d["device_id"] == "ac"] == list(range(360))
            assert data[0]["timestamp"] == "2025-08-04T00:00:00Z" and data[-1]["timestamp"] == "2025-08-04T00:59:50Z"
            assert [m.payload for m in got.on("simulator/status")] == [b"online", b"offline"]
            # Each device: `online` at the start; at the end `offline` (reason stopped), then cleared.
            ac = got.on("/devices/ac/status")
            assert [m.json()["status"] for m in ac[:2]] == ["online", "offline"] and ac[2].payload == b""
            assert ac[0].json() == {
                "device_id": "ac", "timestamp": "2025-08-04T00:00:00Z", "status": "online", "enabled": True,
                "reason": "start",
            }  # fmt: skip
            assert ac[1].json() == {
                "device_id": "ac", "timestamp": "2025-08-04T01:00:00Z", "status": "offline", "enabled": True,
                "reason": "stopped",
            }  # fmt: skip
        # A new subscriber sees no ghost devices of the ended run: only the simulator's `offline`.
        assert await retained(mosquitto.port, f"{prefix}/#") == {f"{prefix}/simulator/status": b"offline"}
        return live

    live = asyncio.run(scenario())
    assert live.counters().generated == live.counters().delivered == 720


def test_every_command_is_applied_and_answered(mosquitto: Mosquitto) -> None:
    settings, prefix = settings_for(mosquitto.url)
    commands = [
        ("disable", None), ("enable", None), ("set_offline", None), ("set_online", None),
        ("set_power", {"fraction": 0.5}), ("clear_override", None), ("set_interval", {"interval": "30s"}),
        ("reset_energy", None), ("inject_fault", {"fault": "brownout", "factor": 0.9, "duration": "1m"}),
        ("clear_fault", {"fault": "brownout"}),
    ]  # fmt: skip

    async def scenario() -> None:
        started: asyncio.Future[LiveRun] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        async with collect(mosquitto.port, f"{prefix}/devices/+/responses") as got, asyncio.TaskGroup() as tasks:
            runner = tasks.create_task(
                run_live(plan_of(TWO), settings, speed=100, stop=stop, started=started), name="service"
            )
            live = await started
            await live.bridge.wait_connected()
            for n, (command, params) in enumerate(commands):
                body = {"id": f"r{n}", "command": command, **({"params": params} if params else {})}
                await publish(mosquitto.port, f"{prefix}/devices/rack/commands", json.dumps(body).encode())
            await got.wait_for(lambda: len(got.messages) == len(commands))
            stop.set()
            await runner
        responses = [m.json() for m in got.messages]
        assert [(r["id"], r["command"], r["ok"]) for r in responses] == [
            (f"r{n}", command, True) for n, (command, _) in enumerate(commands)
        ]
        assert all(r["timestamp"].endswith("Z") for r in responses)
        applied = [(e.action, e.source) for e in live.sim.journal if e.phase == "start"]
        assert applied == [(command if command != "inject_fault" else "brownout", "command") for command, _ in commands]
        assert live.bridge.commands.counts() == CommandCounts(10, 10, 0)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("topic_device", "payload", "error"),
    [
        ("rack", b"not json", "not JSON: "),
        ("rack", b'{"command": "disable", "pad": "' + b"x" * 5000 + b'"}', "payload is 5033 bytes; the limit is 4096"),
        (
            "rack",
            b'{"command": "disable", "params": ' + b'{"a":' * 20 + b"1" + b"}" * 20 + b"}",
            "nested deeper than 8",
        ),
        ("rack", b'{"command": "set_power", "params": {"kw": NaN}}', "NaN is not a number JSON allows"),
        ("rack", b'{"command": "explode"}', "unknown command 'explode'"),
        ("nobody", b'{"command": "disable"}', "unknown device"),
        ("rack", b'{"command": 5}', "command must be a string"),
        (
            "rack",
            b'{"command": "set_power", "params": {"kw": "lots"}}',
            "set_power: kw: Input should be a valid number",
        ),
        ("rack", b"[1, 2]", "must be a JSON object"),
        ("rack", b'{"command": "disable", "id": 7}', "id must be a string"),
        (
            "rack",
            b'{"command": "set_interval", "params": {"interval": 1' + b"0" * 400 + b"}}",
            "set_interval: interval:",
        ),
        (
            "rack",
            b'{"command": "inject_fault", "params": {"fault": "stuck", "duration": 1e400}}',
            "inject_fault: duration:",
        ),
    ],
)
def test_bad_commands_get_an_error_response_and_the_run_goes_on(
    mosquitto: Mosquitto, topic_device: str, payload: bytes, error: str
) -> None:
    settings, prefix = settings_for(mosquitto.url)

    async def scenario() -> None:
        async with (
            collect(mosquitto.port, f"{prefix}/devices/#") as got,
            running(plan_of(TWO), settings, speed=200) as live,
        ):
            await publish(mosquitto.port, f"{prefix}/devices/{topic_device}/commands", payload)
            await got.wait_for(lambda: len(got.on("/responses")) == 1)
            seen = len(got.on("/data"))
            await got.wait_for(lambda: len(got.on("/data")) > seen + 4)  # still publishing
        (response,) = [m.json() for m in got.on("/responses")]
        assert response["ok"] is False and response["error"].startswith(error)
        assert live.bridge.commands.rejected == 1

    asyncio.run(scenario())


DEEP = b"[" * 500 + b"]" * 500


def test_rejected_commands_keep_their_id_and_command_and_deep_nesting_logs_no_traceback(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    settings, prefix = settings_for(mosquitto.url)
    payloads = [
        b'{"id": "u1", "command": "disable", "bogus": 1}',
        b'{"id": "n1", "command": "set_power", "params": {"deep": ' + DEEP + b"}}",
        b'{"id": "k1", "command": "explode"}',
        b'{"id": "c1", "command": 5}',
        b'{"id": 7, "command": "disable"}',
        b"[" * 2040 + b"]" * 2040,  # deep enough to exhaust the JSON parser's recursion
    ]
    expected = [
        ("u1", "disable", "unknown field 'bogus'; a command has id, command and params"),
        ("n1", "set_power", "nested deeper than 8 levels"),
        ("k1", "explode", "unknown command 'explode'; one of: "),
        ("c1", None, "command must be a string"),
        (None, "disable", "id must be a string of at most 128 characters"),
        (None, None, "nested deeper than 8 levels"),
    ]

    async def scenario() -> LiveRun:
        async with (
            collect(mosquitto.port, f"{prefix}/devices/+/responses") as got,
            running(plan_of(TWO), settings, speed=100) as live,
        ):
            for payload in payloads:
                await publish(mosquitto.port, f"{prefix}/devices/rack/commands", payload)
            await got.wait_for(lambda: len(got.messages) == len(payloads))
        responses = [m.json() for m in got.messages]
        got_back = [(r["id"], r["command"], r["error"]) for r in responses]
        assert [(i, c) for i, c, _ in got_back] == [(i, c) for i, c, _ in expected]
        assert all(error.startswith(prefix) for (_, _, error), (_, _, prefix) in zip(got_back, expected, strict=True))
        return live

    with caplog.at_level("INFO", logger="iot_mock"):
        live = asyncio.run(scenario())
    assert live.bridge.commands.counts() == CommandCounts(6, 0, 6)
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []


def test_clock_paces_readings_at_the_requested_speed(mosquitto: Mosquitto) -> None:
    settings, prefix = settings_for(mosquitto.url)
    devices = "devices: [{id: a, kind: lighting, interval: 1s}, {id: b, kind: server, interval: 1s}]\n"

    async def scenario() -> None:
        async with collect(mosquitto.port, f"{prefix}/devices/a/data") as got:
            started = time.monotonic()
            live = await run_live(plan_of(devices), settings, speed=20, until=60)
            elapsed = time.monotonic() - started
            await got.wait_for(lambda: len(got.messages) == 60)
        assert 2.9 < elapsed < 3.6  # 60 sim seconds at x20 = 3 s of wall time
        arrivals = [m.at - got.messages[0].at for m in got.messages]
        # Reading k is due k/20 s after the first: each arrives within 150 ms of its due time.
        assert max(abs(arrival - k / 20) for k, arrival in enumerate(arrivals)) < 0.15
        p99 = live.counters().lag_ms.p99
        assert p99 is not None and p99 < 150

    asyncio.run(scenario())


@pytest.mark.timeout(35)  # 6.3-6.4 s measured: about 5x, over the 30 s default
def test_broker_restart_mid_run_loses_nothing_and_keeps_order(own_mosquitto: Mosquitto) -> None:
    settings, prefix = settings_for(own_mosquitto.url)
    devices = "devices: [{id: a, kind: hvac, interval: 1s}, {id: b, kind: server, interval: 1s}]\n"

    async def scenario() -> LiveRun:
        collector_id = f"collector-{secrets.token_hex(3)}"
        async with collect(
            own_mosquitto.port, f"{prefix}/devices/+/data", identifier=collector_id, persistent=True
        ) as got:
            stop = asyncio.Event()
            started: asyncio.Future[LiveRun] = asyncio.get_running_loop().create_future()
            async with asyncio.TaskGroup() as tasks:
                runner = tasks.create_task(
                    run_live(plan_of(devices), settings, speed=50, until=300, stop=stop, started=started)
                )
                live = await started
                await live.bridge.wait_connected()
                await got.wait_for(lambda: len(got.messages) > 100)
                own_mosquitto.stop()
                await asyncio.sleep(1.0)
                assert live.bridge.outbox.buffered > 50  # readings wait while the broker is down
                own_mosquitto.start()
                await runner
            await got.wait_for(lambda: len({m.payload for m in got.messages}) == 600, timeout=20)
        for device in ("a", "b"):
            seqs = [json.loads(m.payload)["seq"] for m in got.messages if f"/{device}/" in m.topic]
            unique = list(dict.fromkeys(seqs))  # QoS 1 is at least once: a resent message may repeat
            assert unique == list(range(300)) and unique == sorted(unique)
        return live

    live = asyncio.run(scenario())
    counters = live.counters()
    assert counters.generated == counters.delivered == 600
    assert counters.dropped == counters.buffered == 0
    assert counters.connections >= 2


@pytest.mark.timeout(35)  # 6.6-6.7 s measured: about 5x, over the 30 s default
def test_outbox_overflow_drops_the_oldest_and_counts_exactly() -> None:
    settings, _ = settings_for(f"mqtt://127.0.0.1:{free_port()}", outbox_size=1000, drain_seconds=0.2)
    devices = "devices: [" + ", ".join(f"{{id: d{i}, kind: server, interval: 10s}}" for i in range(5)) + "]\n"

    async def scenario() -> LiveRun:
        stop = asyncio.Event()
        started: asyncio.Future[LiveRun] = asyncio.get_running_loop().create_future()
        async with asyncio.TaskGroup() as tasks:
            runner = tasks.create_task(
                run_live(plan_of(devices), settings, speed=10_000, until=10_000, stop=stop, started=started)
            )
            live = await started
            # The end of a run waits for the broker; this one never comes, so the run is stopped.
            while live.bridge.outbox.generated < 5000 or not live.sim.now >= 10_000:
                assert live.bridge.outbox.buffered <= 1000  # the bound holds at every instant
                await asyncio.sleep(0.01)
            stop.set()
        return await runner

    live = asyncio.run(scenario())
    counters = live.counters()
    assert counters.generated == 5000
    assert (counters.delivered, counters.buffered, counters.dropped) == (0, 1000, 4000)
    assert counters.generated == counters.delivered + counters.buffered + counters.dropped


@contextlib.contextmanager
def _served(url: str, prefix: str, state: Path, *extra: str) -> Iterator[subprocess.Popen[str]]:
    """`iot-mock serve` at x50 in a subprocess; killed at the end if a test left it running."""
    env = {**os.environ, "IOT_MOCK_TOPIC_PREFIX": prefix, "IOT_MOCK_MQTT_URL": url,
           "IOT_MOCK_STATE_DB": str(state / "devices.sqlite3")}  # fmt: skip
    command = [sys.executable, "-m", "iot_mock", "serve", "--speed", "50", "--port", str(free_port()), *extra]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=15)
        if process.stderr is not None:
            process.stderr.close()


def test_sigterm_drains_publishes_offline_and_reports(mosquitto: Mosquitto, tmp_path: Path) -> None:
    prefix = f"test-{secrets.token_hex(4)}"

    async def scenario() -> str:
        async with collect(mosquitto.port, f"{prefix}/#") as got:
            with _served(mosquitto.url, prefix, tmp_path, "--no-embedded-broker") as service:
                await got.wait_for(lambda: len(got.on("/data")) >= 10)
                service.send_signal(signal.SIGTERM)
                _, stderr = service.communicate(timeout=15)
                assert service.returncode == 0
            await got.wait_for(lambda: got.on("simulator/status")[-1].payload == b"offline")
            delivered = len(got.on("/data"))
        assert f"readings generated, {delivered} delivered, 0 buffered, 0 dropped" in stderr
        return stderr

    stderr = asyncio.run(scenario())
    assert f"connected to MQTT broker {mosquitto.url}" in stderr


def test_a_crash_leaves_the_will_message_offline(mosquitto: Mosquitto, tmp_path: Path) -> None:
    prefix = f"test-{secrets.token_hex(4)}"

    async def scenario() -> None:
        async with collect(mosquitto.port, f"{prefix}/simulator/status") as got:
            with _served(mosquitto.url, prefix, tmp_path, "--no-embedded-broker") as service:
                await got.wait_for(lambda: [m.payload for m in got.messages] == [b"online"])
                service.kill()
                service.communicate(timeout=10)
            await got.wait_for(lambda: [m.payload for m in got.messages] == [b"online", b"offline"])

    asyncio.run(scenario())


def test_embedded_broker_when_none_listens(tmp_path: Path) -> None:
    port = free_port()
    prefix = f"test-{secrets.token_hex(4)}"
    with _served(f"mqtt://127.0.0.1:{port}", prefix, tmp_path) as service:
        wait_listening(port, timeout=20)
        topic = f"{prefix}/devices/+/data"
        reader = subprocess.run(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-C", "3", "-W", "20"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        service.send_signal(signal.SIGTERM)
        _, stderr = service.communicate(timeout=15)
    assert reader.returncode == 0, reader.stderr
    assert all(json.loads(line)["status"] == "online" for line in reader.stdout.splitlines())
    assert len(reader.stdout.splitlines()) == 3
    assert f"no MQTT broker at 127.0.0.1:{port}: started an embedded one (amqtt) there" in stderr


def test_cli_run_to_mqtt_back_dated_with_a_report(mosquitto: Mosquitto, tmp_path: Path) -> None:
    prefix = f"test-{secrets.token_hex(4)}"
    report = tmp_path / "report.json"

    async def scenario() -> list[dict[str, object]]:
        async with collect(mosquitto.port, f"{prefix}/devices/+/data") as got:
            env = {**os.environ, "IOT_MOCK_TOPIC_PREFIX": prefix, "IOT_MOCK_MQTT_EMBEDDED": "false"}
            command = [sys.executable, "-m", "iot_mock", "run", "default", "--duration", "1h", "--mqtt",
                       mosquitto.url, "--start", "2024-02-29T12:00", "--report", str(report)]  # fmt: skip
            done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            await got.wait_for(lambda: len(got.messages) == 1800)
            return [m.json() for m in got.messages]

    readings = asyncio.run(scenario())
    assert readings[0]["timestamp"] == "2024-02-29T11:00:00Z"  # noon in Berlin, winter time
    data = json.loads(report.read_text())
    assert data["clock"] == "virtual"
    assert data["mqtt"]["generated"] == data["mqtt"]["delivered"] == data["readings"] == 1800
    assert data["start"] == "2024-02-29T11:00:00Z" and data["end"] == "2024-02-29T12:00:00Z"


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1, made with openssl."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=iot-mock test CA",
            "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"
    )
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "san.cnf", "-out", "server.crt")  # fmt: skip
    return folder / "ca.crt", folder / "server.crt", folder / "server.key"


def test_tls_connection_verified_against_a_ca(tmp_path: Path) -> None:
    ca, cert, key = _certificates(tmp_path)
    broker = Mosquitto(tmp_path)
    broker.extra = f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
    broker.start()
    try:
        settings, _ = settings_for(f"mqtts://127.0.0.1:{broker.port}", mqtt_tls_ca=ca)
        live = asyncio.run(run_live(plan_of(TWO), settings, speed=None, until=600))
        assert live.bridge.connections == 1
        assert live.counters().delivered == 120
        untrusted, _ = settings_for(f"mqtts://127.0.0.1:{broker.port}", drain_seconds=0.5)
        refused = asyncio.run(run_live(plan_of(TWO), untrusted, speed=None, until=10, stop=_stopped()))
        assert refused.bridge.connections == 0  # the system CAs do not trust the test CA
    finally:
        broker.stop()


def _stopped() -> asyncio.Event:
    stop = asyncio.Event()
    stop.set()
    return stop


def test_commands_received_but_not_yet_read_when_the_connection_drops_are_applied_and_answered(
    own_mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, prefix = settings_for(own_mosquitto.url)
    clients: list[aiomqtt.Client] = []

    async def listener_not_there_yet(self: MqttBridge, client: aiomqtt.Client) -> None:
        clients.append(client)  # the commands stay in the client's queue, acknowledged to the broker
        await asyncio.Event().wait()

    monkeypatch.setattr(MqttBridge, "_listen", listener_not_there_yet)

    async def scenario() -> LiveRun:
        started: asyncio.Future[LiveRun] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        topic = f"{prefix}/devices/+/responses"
        async with (
            collect(own_mosquitto.port, topic, identifier=f"r-{prefix}", persistent=True) as got,
            asyncio.TaskGroup() as tasks,
        ):
            runner = tasks.create_task(run_live(plan_of(TWO), settings, speed=50, stop=stop, started=started))
            live = await started
            await live.bridge.wait_connected()
            for i in range(3):
                command = json.dumps({"command": "disable", "id": f"c{i}"}).encode()
                await publish(own_mosquitto.port, f"{prefix}/devices/ac/commands", command)
            await got.wait_for(lambda: len(clients[0].messages) == 3)
            assert live.bridge.commands.received == 0
            own_mosquitto.stop()
            await got.wait_for(lambda: live.bridge.commands.applied == 3)
            own_mosquitto.start()
            await got.wait_for(lambda: len({m.payload for m in got.messages}) == 3, timeout=20)
            stop.set()
            await runner
        responses = list({m.json()["id"]: m.json() for m in got.messages}.values())
        assert [(r["id"], r["ok"]) for r in responses] == [("c0", True), ("c1", True), ("c2", True)]
        return live

    live = asyncio.run(scenario())
    assert live.sim.by_id["ac"].enabled is False
