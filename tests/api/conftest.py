"""The real app (lifespan included) with a real broker, and a wait helper, for the API tests."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from engine import load_named
from engine.runtime.settings import Settings
from tests.runtime.conftest import Mosquitto


def make_client(mosquitto: Mosquitto, state_db: Path, **overrides: object) -> TestClient:
    values: dict[str, object] = {
        "mqtt_url": mosquitto.url, "topic_prefix": f"api-{secrets.token_hex(3)}", "mqtt_embedded": False,
        "max_body_bytes": 2048, "state_db": state_db,
    }  # fmt: skip
    values.update(overrides)
    app = create_app(load_named("default").plan, Settings(**values), speed=100)  # type: ignore[arg-type]
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
