"""The real app (lifespan included) with a real broker, a real `iot-mock serve`, and a wait helper."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from engine import load_named
from engine.runtime.settings import Settings
from tests.runtime.conftest import Mosquitto, free_port, wait_listening


def make_client(mosquitto: Mosquitto, state_db: Path, *, scenario: str = "default", **overrides: object) -> TestClient:
    values: dict[str, object] = {
        "mqtt_url": mosquitto.url, "topic_prefix": f"api-{secrets.token_hex(3)}", "mqtt_embedded": False,
        "max_body_bytes": 2048, "state_db": state_db,
    }  # fmt: skip
    values.update(overrides)
    app = create_app(load_named(scenario).plan, Settings(**values), speed=100)  # type: ignore[arg-type]
    return TestClient(app)


@pytest.fixture
def client(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(mosquitto, tmp_path / "devices.sqlite3") as client:
        yield client


def wait_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@contextlib.contextmanager
def serving(mosquitto: Mosquitto, tmp_path: Path, **env: str) -> Iterator[str]:
    """`iot-mock serve` at x20 in a subprocess, with extra IOT_MOCK_* `env`; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "IOT_MOCK_TOPIC_PREFIX": f"browser-{port}",
        "IOT_MOCK_MQTT_URL": mosquitto.url,
        "IOT_MOCK_STATE_DB": str(tmp_path / "devices.sqlite3"),
        **env,
    }
    command = [
        sys.executable,
        "-m",
        "iot_mock",
        "serve",
        "--speed",
        "20",
        "--port",
        str(port),
        "--no-embedded-broker",
    ]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL, cwd=Path(__file__).parents[2])
    try:
        wait_listening(port, timeout=20)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


@pytest.fixture
def service(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[str]:
    """`iot-mock serve` at x20 in a subprocess; yields its base URL."""
    with serving(mosquitto, tmp_path) as url:
        yield url
