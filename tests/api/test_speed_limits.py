"""A real `iot-mock serve` driven to its top speed: it keeps answering, stays bounded, says it is behind, stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from engine.runtime.clock import BEHIND
from tests.api.conftest import wait_until
from tests.runtime.conftest import Mosquitto, free_port, wait_listening

SITE = """version: 1
name: busy
devices:
{% for i in range(200) %}  - {id: "d{{ i }}", kind: server, interval: 1s}
{% endfor %}"""


def test_the_top_speed_keeps_the_api_answering_and_sigterm_stops_within_the_drain(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    scenario = tmp_path / "busy.yaml"
    scenario.write_text(SITE)
    port = free_port()
    env = {**os.environ, "IOT_MOCK_MQTT_URL": mosquitto.url, "IOT_MOCK_TOPIC_PREFIX": f"speed-{port}",
           "IOT_MOCK_STATE_DB": str(tmp_path / "devices.sqlite3"), "IOT_MOCK_OUTBOX_SIZE": "20000",
           "IOT_MOCK_DRAIN_SECONDS": "1"}  # fmt: skip
    command = [sys.executable, "-m", "iot_mock", "serve", str(scenario), "--port", str(port), "--no-embedded-broker"]
    log = tmp_path / "serve.log"
    with log.open("w") as errors:
        process = subprocess.Popen(command, env=env, stderr=errors, cwd=Path(__file__).parents[2])
    try:
        wait_listening(port, timeout=20)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5) as api:
            wait_until(lambda: api.get("/health").json()["mqtt"]["connected"])
            refused = api.post("/api/v1/simulation/speed", json={"speed": 5e-324})
            assert refused.status_code == 422
            assert refused.json()["detail"] == (
                "speed must be a number from 0.01 to 100000 (times real time), got 5e-324"
            )
            assert api.post("/api/v1/simulation/speed", json={"speed": 100_000}).status_code == 200
            slowest = 0.0
            status = api.get("/api/v1/simulation/status").json()
            deadline = time.monotonic() + 20
            while not (status["falling_behind"] and status["delivered"] > 50_000):
                assert time.monotonic() < deadline, f"never fell behind: {status}"
                started = time.monotonic()
                assert api.get("/health").status_code == 200
                slowest = max(slowest, time.monotonic() - started)
                status = api.get("/api/v1/simulation/status").json()
                assert status["buffered"] <= 20_000
            assert slowest < 1.5  # prompt answers while the simulation runs flat out
            # Behind past BEHIND, it counts as behind until it is back under half of it.
            assert status["dropped"] == 0 and status["behind_seconds"] >= BEHIND / 2
            assert "iot_mock_behind_seconds " in api.get("/metrics").text
        asked = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert time.monotonic() - asked < 1 + 5  # the drain deadline, the final statuses and the goodbye
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert "falling behind: simulated time is" in text and "Traceback" not in text
