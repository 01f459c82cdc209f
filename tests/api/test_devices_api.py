"""Device create/update/delete through the real app: on the running simulation, on MQTT, in SQLite."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from tests.api.conftest import make_client, wait_until
from tests.runtime.conftest import Mosquitto
from tests.runtime.mqtt_helpers import retained_on

NEW = {"id": "pump-001", "kind": "industrial", "name": "Pump", "rated_kw": 7.5, "interval": "1s"}


def test_a_created_device_publishes_and_a_deleted_one_stops(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with make_client(mosquitto, tmp_path / "devices.sqlite3") as client:
        created = client.post("/api/v1/devices", json=NEW)
        assert created.status_code == 201
        assert created.json() | {"faults": None} == created.json() | {
            "id": "pump-001", "name": "Pump", "rated_kw": 7.5, "interval": 1.0, "status": "online", "faults": None,
        }  # fmt: skip
        assert "pump-001" in [d["id"] for d in client.get("/api/v1/devices").json()]
        wait_until(lambda: client.get("/api/v1/devices/pump-001/readings").status_code == 200)
        first = client.get("/api/v1/devices/pump-001/readings").json()
        assert first["device_id"] == "pump-001" and first["seq"] >= 0

        updated = client.put("/api/v1/devices/pump-001", json={"rated_kw": 90, "name": "Big pump"})
        assert updated.status_code == 200 and updated.json()["rated_kw"] == 90 and updated.json()["name"] == "Big pump"

        status = client.get("/api/v1/simulation/status").json()
        prefix = status["mqtt"]["topic_prefix"]
        topic = f"{prefix}/devices/pump-001/status"
        assert [json.loads(p)["status"] for p in retained_on(mosquitto.port, topic)] == ["online"]
        assert client.delete("/api/v1/devices/pump-001").status_code == 204
        assert client.get("/api/v1/devices/pump-001").status_code == 404
        assert client.delete("/api/v1/devices/pump-001").status_code == 404
        wait_until(lambda: client.get("/api/v1/simulation/status").json()["buffered"] == 0)
        assert retained_on(mosquitto.port, topic) == []  # the retained status is cleared


def test_device_changes_survive_a_restart(mosquitto: Mosquitto, tmp_path: Path) -> None:
    db = tmp_path / "devices.sqlite3"
    with make_client(mosquitto, db) as client:
        assert client.post("/api/v1/devices", json=NEW).status_code == 201
        assert client.put("/api/v1/devices/pump-001", json={"rated_kw": 12}).status_code == 200
        assert client.delete("/api/v1/devices/mock-kitchen-001").status_code == 204
        assert client.put("/api/v1/devices/mock-hvac-001", json={"name": "Roof HVAC"}).status_code == 200
    with make_client(mosquitto, db) as client:
        devices = {d["id"]: d for d in client.get("/api/v1/devices").json()}
        assert devices["pump-001"]["rated_kw"] == 12 and devices["pump-001"]["interval"] == 1.0
        assert "mock-kitchen-001" not in devices
        assert devices["mock-hvac-001"]["name"] == "Roof HVAC"
        assert len(devices) == 5


def test_bad_device_requests_get_precise_4xx(client: TestClient) -> None:
    duplicate = client.post("/api/v1/devices", json={"id": "mock-hvac-001", "kind": "hvac"})
    assert (duplicate.status_code, duplicate.json()["detail"]) == (409, "mock-hvac-001: a device with this id exists")
    bad = client.post("/api/v1/devices", json={"id": "no/slash", "kind": "toaster", "rated_kw": -1})
    assert bad.status_code == 422
    assert sorted(issue["loc"] for issue in bad.json()["issues"]) == ["id", "kind", "rated_kw"]
    profile = client.post("/api/v1/devices", json={"id": "x", "kind": "hvac", "profile": "nope"})
    assert profile.status_code == 422 and profile.json()["detail"].startswith("unknown profile 'nope'")
    kind = client.put("/api/v1/devices/mock-hvac-001", json={"kind": "server"})
    assert kind.status_code == 422 and kind.json()["issues"][0]["loc"] == "kind"
    interval = client.put("/api/v1/devices/mock-hvac-001", json={"interval": "1ms"})
    assert interval.status_code == 422
    assert client.put("/api/v1/devices/nope", json={"name": "x"}).status_code == 404
    assert client.post("/api/v1/devices", content=b"{", headers={"content-type": "application/json"}).status_code == 400


def test_a_replay_device_is_declared_in_a_scenario_and_keeps_its_history_through_updates(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    db = tmp_path / "devices.sqlite3"
    with make_client(mosquitto, db, scenario="history-replay") as client:
        created = client.post("/api/v1/devices", json={"id": "r2", "kind": "replay", "csv": "data/site-history.csv"})
        assert created.status_code == 422
        assert created.json()["detail"] == (
            "a replay device plays a CSV file beside a scenario file: declare it in the scenario, not over the API"
        )
        updated = client.put("/api/v1/devices/east-wing", json={"rated_kw": 80, "name": "East wing (doubled)"})
        assert updated.status_code == 200 and updated.json()["rated_kw"] == 80
        wait_until(lambda: client.get("/api/v1/devices/east-wing/readings").status_code == 200)
        assert client.put("/api/v1/devices/lab", json={"interval": "1m"}).status_code == 200
    with make_client(mosquitto, db, scenario="history-replay") as client:  # the stored changes apply again
        devices = {d["id"]: d for d in client.get("/api/v1/devices").json()}
        assert (devices["east-wing"]["rated_kw"], devices["east-wing"]["name"]) == (80, "East wing (doubled)")
        assert devices["lab"]["interval"] == 60.0
        wait_until(lambda: client.get("/api/v1/devices/lab/readings").status_code == 200)
        reading = client.get("/api/v1/devices/lab/readings").json()
        assert 0 < reading["power"] <= 13.237
