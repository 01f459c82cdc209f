"""Scenario routes through the real app: list, show, validate, start by name or YAML, inject events."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.api.conftest import wait_until
from tests.helpers import scenario_text

YAML_HEADERS = {"content-type": "application/yaml"}


def test_list_and_show_named_scenarios(client: TestClient) -> None:
    listed = {s["name"]: s for s in client.get("/api/v1/scenarios").json()}
    assert set(listed) == {"datacenter-day", "default", "office-week"}
    assert listed["default"]["devices"] == 5
    shown = client.get("/api/v1/scenarios/office-week").json()
    assert shown["name"] == "office-week" and shown["timezone"] == "Europe/Berlin"
    assert len(shown["devices"]) == 6 and shown["events"]
    missing = client.get("/api/v1/scenarios/nope")
    assert (missing.status_code, missing.json()["detail"]) == (
        404,
        "no named scenario 'nope'; see GET /api/v1/scenarios",
    )
    for name in ("..%2F..%2Fetc%2Fpasswd", "%2E%2E", "default.yaml"):
        assert client.get(f"/api/v1/scenarios/{name}").status_code == 404


def test_validate_an_uploaded_scenario(client: TestClient) -> None:
    good = scenario_text("devices: [{id: a, kind: hvac}]\n")
    ok = client.post("/api/v1/scenarios/validate", content=good, headers=YAML_HEADERS)
    assert ok.status_code == 200 and ok.json() | {"valid": True, "devices": 1} == ok.json()
    bad = scenario_text("devices:\n  - {id: a, kind: toaster}\n  - {id: a, kind: hvac, rated_kw: -3}\n")
    refused = client.post("/api/v1/scenarios/validate", content=bad, headers=YAML_HEADERS)
    assert refused.status_code == 422
    issues = refused.json()["issues"]
    assert {issue["loc"] for issue in issues} >= {"devices[0].kind", "devices[1].rated_kw"}
    assert all(issue["line"] for issue in issues)
    alias = client.post("/api/v1/scenarios/validate", content=b"a: &x [1]\nb: *x\n", headers=YAML_HEADERS)
    assert alias.status_code == 422


def test_start_a_scenario_by_name_or_yaml_and_stop(client: TestClient) -> None:
    status = client.post("/api/v1/simulation/start", json={"scenario": "office-week", "speed": 50, "seed": 7}).json()
    assert status["running"] and status["scenario"]["name"] == "office-week" and status["speed"] == 50
    assert len(client.get("/api/v1/devices").json()) == 6
    text = scenario_text("devices: [{id: solo, kind: server, interval: 1s}]\n", name="uploaded")
    status = client.post("/api/v1/simulation/start", json={"yaml": text, "start": "2024-01-01T00:00:00"}).json()
    assert status["scenario"]["name"] == "uploaded" and status["timestamp"].startswith("2024-01-01T00:00")
    assert [d["id"] for d in client.get("/api/v1/devices").json()] == ["solo"]
    wait_until(lambda: client.get("/api/v1/devices/solo/readings").status_code == 200)
    assert client.post("/api/v1/simulation/stop").json()["running"] is False
    assert client.get("/api/v1/devices").status_code == 409
    assert client.get("/health").json()["status"] == "stopped"
    metrics = client.get("/metrics").text  # the last run's figures, and that nothing runs
    assert "iot_mock_running 0.0" in metrics and "iot_mock_readings_generated_total " in metrics
    again = client.post("/api/v1/simulation/start", json={"scenario": "default"})
    assert again.status_code == 200 and len(client.get("/api/v1/devices").json()) == 5


def test_bad_start_requests(client: TestClient) -> None:
    both = client.post("/api/v1/simulation/start", json={"scenario": "default", "yaml": "x"})
    assert both.status_code == 422 and "exactly one" in both.json()["detail"]
    assert client.post("/api/v1/simulation/start", json={"scenario": "nope"}).status_code == 404
    traversal = client.post("/api/v1/simulation/start", json={"scenario": "../etc/passwd"})
    assert traversal.status_code == 422
    broken = client.post("/api/v1/simulation/start", json={"yaml": "version: 1\nname: x\n"})
    assert broken.status_code == 422 and broken.json()["issues"]
    assert client.post("/api/v1/simulation/start", json={"scenario": "default", "speed": 0}).status_code == 422
    # The running simulation is untouched by refused starts.
    assert client.get("/api/v1/simulation/status").json()["scenario"]["name"] == "default"


def test_inject_an_event_now(client: TestClient) -> None:
    result = client.post(
        "/api/v1/simulation/events", json={"action": "outage", "target": {"kind": "hvac"}, "duration": "5m"}
    )
    assert result.status_code == 200 and result.json()["targets"] == ["mock-hvac-001"]
    assert client.get("/api/v1/devices/mock-hvac-001").json()["faults"]["outage"] is True
    brownout = client.post("/api/v1/simulation/events", json={"action": "brownout", "target": "all", "factor": 0.9})
    assert len(brownout.json()["targets"]) == 5
    assert all(d["faults"]["brownout"] for d in client.get("/api/v1/devices").json())
    unknown = client.post("/api/v1/simulation/events", json={"action": "outage", "target": ["nope"]})
    assert unknown.status_code == 404
    bad = client.post("/api/v1/simulation/events", json={"action": "meteor", "target": "all"})
    assert bad.status_code == 422 and bad.json()["issues"][0]["loc"] == "action"
