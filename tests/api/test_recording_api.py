"""A live session over MQTT and REST, recorded, replayed in virtual time: the broker's readings, byte for byte.

`iot-mock serve --record FILE` runs in a subprocess against a real Mosquitto; a subscriber keeps every
reading the broker got. The session is driven with MQTT and REST commands, an injected event, a device
created, updated and deleted, refused commands, speed changes and a pause; the recording taken mid-way
(`GET /api/v1/simulation/recording`) and the file kept at the end each replay with `iot-mock run`.
Also: the API's stored devices a session starts with, an uploaded scenario (embedded), and a service
killed with SIGKILL, whose file kept current still replays what the broker got.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml
from starlette.testclient import TestClient

from tests.api.conftest import make_client, wait_until
from tests.runtime.conftest import Mosquitto, free_port, wait_listening
from tests.runtime.mqtt_helpers import Collector, collect, publish

ROOT = Path(__file__).parents[2]


def _readings(got: Collector, prefix: str) -> dict[str, list[bytes]]:
    """Every reading payload the broker delivered, per device, in order."""
    out: dict[str, list[bytes]] = {}
    for message in got.messages:
        parts = message.topic.split("/")
        if message.topic.startswith(f"{prefix}/devices/") and parts[-1] == "data":
            out.setdefault(parts[-2], []).append(message.payload)
    return out


def _replay(recording: Path, tmp_path: Path) -> dict[str, list[bytes]]:
    """The readings of `iot-mock run RECORDING` in virtual time, per device, as JSON lines' bytes."""
    out = tmp_path / f"{recording.stem}.jsonl"
    subprocess.run(
        [sys.executable, "-m", "iot_mock", "run", str(recording), "--out", str(out)],
        check=True, cwd=ROOT, timeout=60, capture_output=True,
    )  # fmt: skip
    readings: dict[str, list[bytes]] = {}
    for line in out.read_bytes().splitlines():
        readings.setdefault(json.loads(line)["device_id"], []).append(line)
    return readings


def test_a_live_session_replays_byte_for_byte(mosquitto: Mosquitto, tmp_path: Path) -> None:
    port, prefix = free_port(), f"rec-{free_port()}"
    record = tmp_path / "session.yaml"
    env = {**os.environ, "IOT_MOCK_TOPIC_PREFIX": prefix, "IOT_MOCK_MQTT_URL": mosquitto.url,
           "IOT_MOCK_STATE_DB": str(tmp_path / "devices.sqlite3")}  # fmt: skip
    command = [sys.executable, "-m", "iot_mock", "serve", "--speed", "20", "--port", str(port),
               "--no-embedded-broker", "--record", str(record)]  # fmt: skip
    midway = asyncio.run(_session(mosquitto, prefix, port, command, env, record, tmp_path))

    final = _replay(record, tmp_path)
    live = _readings(midway.got, prefix)
    assert final == live  # every reading the broker got, and nothing more
    assert set(live) == {"mock-hvac-001", "mock-lighting-001", "mock-server-001", "mock-industrial-001",
                         "mock-kitchen-001", "rec-new-1"}  # fmt: skip
    assert sum(len(payloads) for payloads in live.values()) > 30

    early = _replay(midway.recording, tmp_path)
    for device_id, payloads in early.items():
        assert payloads == live[device_id][: len(payloads)]
        later = live[device_id][len(payloads) :]
        assert not later or json.loads(later[0])["timestamp"] >= midway.timestamp


class _Midway:
    def __init__(self, got: Collector, recording: Path, timestamp: str) -> None:
        self.got, self.recording, self.timestamp = got, recording, timestamp


async def _session(
    mosquitto: Mosquitto, prefix: str, port: int, command: list[str], env: dict[str, str], record: Path, tmp_path: Path
) -> _Midway:
    async with collect(mosquitto.port, f"{prefix}/#") as got:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        try:
            await asyncio.to_thread(wait_listening, port, 20)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=10) as api:
                midway = await _drive(api, got, mosquitto, prefix, tmp_path)
                await _ok(api.post("/simulation/pause"))
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 20)
        assert process.returncode == 0
        marker = f"{prefix}/marker"  # after everything the service delivered before it left
        await publish(mosquitto.port, marker, b"end")
        await got.wait_for(lambda: any(m.topic == marker for m in got.messages))
    assert yaml.safe_load(record.read_text())["extends"] == "default"
    return _Midway(got, *midway)


async def _ok(request: object) -> httpx.Response:
    response: httpx.Response = await request  # type: ignore[misc]
    assert response.status_code < 300, response.text
    return response


async def _drive(
    api: httpx.AsyncClient, got: Collector, mosquitto: Mosquitto, prefix: str, tmp_path: Path
) -> tuple[Path, str]:
    def readings(device_id: str) -> Callable[[], int]:
        return lambda: len(_readings(got, prefix).get(device_id, []))

    async def mqtt(device_id: str, payload: dict[str, object]) -> dict[str, object]:
        topic = f"{prefix}/devices/{device_id}"
        answers = len(got.on(f"{device_id}/responses"))
        await publish(mosquitto.port, f"{topic}/commands", json.dumps(payload).encode())
        await got.wait_for(lambda: len(got.on(f"{device_id}/responses")) > answers)
        answer: dict[str, object] = got.on(f"{device_id}/responses")[-1].json()
        return answer

    await got.wait_for(lambda: readings("mock-hvac-001")() >= 3, timeout=20)
    assert (await mqtt("mock-hvac-001", {"id": "a", "command": "set_power", "params": {"kw": 5}}))["ok"] is True
    fault = {"command": "inject_fault", "params": {"fault": "spikes", "probability": 0.5, "duration": "5m"}}
    await _ok(api.post("/devices/mock-server-001/command", json=fault))
    await _ok(api.post("/simulation/speed", json={"speed": 50}))
    event = {"action": "brownout", "target": {"kind": "hvac"}, "factor": 0.9, "duration": "2m"}
    await _ok(api.post("/simulation/events", json=event))
    await _ok(api.post("/devices", json={"id": "rec-new-1", "kind": "server", "interval": "5s", "rated_kw": 7}))
    await _ok(api.post("/simulation/pause"))
    await _ok(api.put("/devices/rec-new-1", json={"rated_kw": 9}))
    assert (await mqtt("mock-kitchen-001", {"id": "b", "command": "disable"}))["ok"] is True
    await _ok(api.post("/simulation/resume"))
    await _ok(api.post("/devices/mock-lighting-001/simulate"))
    refused = await api.post("/devices/mock-hvac-001/command", json={"command": "set_power", "params": {"kw": -1}})
    assert refused.status_code == 422
    assert (await mqtt("mock-hvac-001", {"id": "c", "command": "explode"}))["ok"] is False
    await _ok(api.post("/simulation/speed", json={"speed": 10}))
    await got.wait_for(lambda: readings("rec-new-1")() >= 3, timeout=20)
    await _ok(api.delete("/devices/mock-industrial-001"))
    record = tmp_path / "session.yaml"  # kept current while the session runs
    await got.wait_for(lambda: record.exists() and "delete_device" in record.read_text(), timeout=5)
    await got.wait_for(lambda: readings("rec-new-1")() >= 5, timeout=20)

    taken = await _ok(api.get("/simulation/recording"))
    assert taken.headers["content-type"].startswith("application/yaml")
    assert taken.headers["content-disposition"] == 'attachment; filename="default-recording.yaml"'
    midway = tmp_path / "midway.yaml"
    midway.write_bytes(taken.content)
    session = yaml.safe_load(taken.content)
    assert [change["action"] for change in session["session"]["changes"]] == [
        "set_power", "spikes", "brownout", "create_device", "update_device", "disable", "simulate", "delete_device",
    ]  # fmt: skip
    status = (await _ok(api.get("/simulation/status"))).json()
    assert status["sim_time"] >= session["duration"]
    await got.wait_for(lambda: readings("rec-new-1")() >= 7, timeout=20)
    return midway, _timestamp_of(session)


def _timestamp_of(session: dict[str, object]) -> str:
    """The UTC timestamp (to the second) of the recording's end: its local start plus its duration."""
    start = datetime.fromisoformat(session["session"]["start"])  # type: ignore[index]
    end = start + timedelta(seconds=float(session["duration"]))  # type: ignore[arg-type]
    return str(end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"))


def _paused_recording(client: TestClient, tmp_path: Path, name: str) -> tuple[Path, dict[str, bytes]]:
    """Pause once sim time has moved, take the recording and each device's latest payload (which the
    pause makes the last reading before the recording's instant)."""
    wait_until(lambda: client.get("/api/v1/simulation/status").json()["sim_time"] > 60, timeout=20)
    client.post("/api/v1/simulation/pause")
    taken = client.get("/api/v1/simulation/recording")
    assert taken.status_code == 200, taken.text
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(taken.content)
    latest = {}
    for device in client.get("/api/v1/devices").json():
        reading = client.get(f"/api/v1/devices/{device['id']}/readings")
        if reading.status_code == 200:
            latest[device["id"]] = reading.content
    return path, latest


def test_the_stored_devices_a_session_starts_with_are_recorded(mosquitto: Mosquitto, tmp_path: Path) -> None:
    db = tmp_path / "devices.sqlite3"
    with make_client(mosquitto, db) as client:
        assert client.post("/api/v1/devices", json={"id": "stored-1", "kind": "server", "interval": "5s"}).is_success
        assert client.put("/api/v1/devices/mock-hvac-001", json={"rated_kw": 30}).is_success
        assert client.delete("/api/v1/devices/mock-kitchen-001").is_success
    with make_client(mosquitto, db) as client:  # a restart: the store's devices are laid over the scenario
        path, latest = _paused_recording(client, tmp_path, "restarted")

    session = yaml.safe_load(path.read_text())["session"]
    assert [device["id"] for device in session["devices"]] == ["mock-hvac-001", "stored-1"]
    assert session["devices"][0]["rated_kw"] == 30
    assert session["removed"] == ["mock-kitchen-001"]
    assert session["changes"] == []
    replay = _replay(path, tmp_path)
    assert set(replay) == set(latest) == {
        "mock-hvac-001", "mock-lighting-001", "mock-server-001", "mock-industrial-001", "stored-1"
    }  # fmt: skip
    assert {device_id: payloads[-1] for device_id, payloads in replay.items()} == latest


def test_an_uploaded_scenario_is_embedded_in_its_recording(client: TestClient, tmp_path: Path) -> None:
    text = (
        "version: 1\nname: uploaded\nstart: 2025-08-04T00:00:00\nseed: 3\n"
        "devices: [{id: up-1, kind: hvac, interval: 2s}, {id: up-2, kind: lighting, interval: 3s}]\n"
        "events: [{rate: 1/min, action: spikes, probability: 0.5, duration: 10s}]\n"
    )
    started = client.post("/api/v1/simulation/start", json={"yaml": text, "speed": 100, "seed": 9})
    assert started.status_code == 200, started.text
    assert client.post("/api/v1/devices/up-1/command", json={"command": "set_power", "params": {"kw": 2}}).is_success
    path, latest = _paused_recording(client, tmp_path, "uploaded")

    data = yaml.safe_load(path.read_text())
    assert "extends" not in data and data["seed"] == 9
    assert [device["id"] for device in data["devices"]] == ["up-1", "up-2"]
    replay = _replay(path, tmp_path)
    assert {device_id: payloads[-1] for device_id, payloads in replay.items()} == latest


def _past_the_change(record: Path, seconds: float) -> bool:
    """Whether the recording file holds a change and ends more than `seconds` after it."""
    data = yaml.safe_load(record.read_text()) if record.exists() else None
    changes = data["session"]["changes"] if data else []
    return bool(changes) and data is not None and data["duration"] > changes[0]["at"] + seconds


def test_a_killed_service_leaves_a_valid_recording(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """SIGKILL, no clean end: the file kept current still replays the readings the broker got, up to its instant."""
    port, prefix = free_port(), f"kill-{free_port()}"
    record = tmp_path / "killed.yaml"
    env = {**os.environ, "IOT_MOCK_TOPIC_PREFIX": prefix, "IOT_MOCK_MQTT_URL": mosquitto.url,
           "IOT_MOCK_STATE_DB": str(tmp_path / "devices.sqlite3")}  # fmt: skip
    command = [sys.executable, "-m", "iot_mock", "serve", "--speed", "30", "--port", str(port),
               "--no-embedded-broker", "--record", str(record)]  # fmt: skip

    async def session() -> Collector:
        async with collect(mosquitto.port, f"{prefix}/#") as got:
            process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
            try:
                await asyncio.to_thread(wait_listening, port, 20)
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=10) as api:
                    await got.wait_for(lambda: len(_readings(got, prefix).get("mock-server-001", [])) >= 2, 20)
                    disable = {"command": "disable"}
                    await _ok(api.post("/devices/mock-server-001/command", json=disable))
                    await got.wait_for(lambda: _past_the_change(record, 20.0), timeout=10)  # a reading later
            finally:
                process.kill()
                await asyncio.to_thread(process.wait, 20)
            marker = f"{prefix}/marker"
            await publish(mosquitto.port, marker, b"end")
            await got.wait_for(lambda: any(m.topic == marker for m in got.messages))
        return got

    live = _readings(asyncio.run(session()), prefix)
    replay = _replay(record, tmp_path)
    assert set(replay) == set(live) and all(replay.values())
    for device_id, payloads in replay.items():
        assert payloads == live[device_id][: len(payloads)]
    assert any(not json.loads(line)["enabled"] for line in replay["mock-server-001"])
