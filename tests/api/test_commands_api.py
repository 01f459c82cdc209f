"""Commands through REST and MQTT: one envelope reader, the same checks and the same messages."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.api.conftest import make_client
from tests.runtime.conftest import Mosquitto
from tests.runtime.mqtt_helpers import collect, publish

BAD = [
    b'{"id": "u1", "command": "disable", "bogus": 1}',
    b'{"id": "n1", "command": "set_power", "params": {"deep": ' + b"[" * 500 + b"]" * 500 + b"}}",
    b'{"id": "k1", "command": "explode"}',
    b'{"id": "p1", "command": "set_power", "params": {"kw": "lots"}}',
    b'{"id": "c1", "command": 5}',
    b'{"command": "set_power", "params": {"kw": NaN}}',
    b"not json",
    b"[1, 2]",
    b'{"command": "disable", "pad": "' + b"x" * 1500 + b'"}',
]


def test_rest_rejects_commands_with_the_mqtt_checks_and_messages(mosquitto: Mosquitto, tmp_path: Path) -> None:
    rest = []
    with make_client(mosquitto, tmp_path / "devices.sqlite3", command_max_bytes=1200) as client:
        prefix = client.get("/api/v1/simulation/status").json()["mqtt"]["topic_prefix"]
        for payload in BAD:
            answer = client.post("/api/v1/devices/mock-hvac-001/command", content=payload)
            assert answer.status_code == 422, payload
            rest.append(answer.json())
        mqtt = asyncio.run(over_mqtt(mosquitto, prefix))

    assert [(r["id"], r["command"], r["detail"]) for r in rest] == [(m["id"], m["command"], m["error"]) for m in mqtt]
    assert [(r["id"], r["command"]) for r in rest[:5]] == [
        ("u1", "disable"), ("n1", "set_power"), ("k1", "explode"), ("p1", "set_power"), ("c1", None)
    ]  # fmt: skip
    assert rest[-1]["detail"].startswith("payload is 1533 bytes; the limit is 1200")


async def over_mqtt(mosquitto: Mosquitto, prefix: str) -> list[dict[str, Any]]:
    """The responses to BAD sent over MQTT to the same device."""
    async with collect(mosquitto.port, f"{prefix}/devices/mock-hvac-001/responses") as got:
        for payload in BAD:
            await publish(mosquitto.port, f"{prefix}/devices/mock-hvac-001/commands", payload)
        await got.wait_for(lambda: len(got.messages) == len(BAD))
    return [m.json() for m in got.messages]


def test_a_paused_run_applies_rest_changes_at_once_at_the_paused_instant(client: TestClient) -> None:
    paused = client.post("/api/v1/simulation/pause").json()
    started = time.perf_counter()
    answer = client.post("/api/v1/devices/mock-hvac-001/command", json={"id": "p1", "command": "disable"})
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200 and answer.json()["ok"] is True, answer.text
    assert elapsed < 1.0  # applied by the paused driver when it arrives, not at a resume
    assert client.get("/api/v1/devices/mock-hvac-001").json()["enabled"] is False
    event = client.post("/api/v1/simulation/events", json={"action": "outage", "target": "mock-hvac-001"})
    assert event.status_code == 200 and event.json()["at"] == paused["sim_time"]
    status = client.get("/api/v1/simulation/status").json()
    assert status["paused"] is True and status["sim_time"] == paused["sim_time"]
    assert client.get("/api/v1/devices/mock-hvac-001").json()["faults"]["outage"] is True
