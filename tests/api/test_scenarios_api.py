"""Scenario routes through the real app: list, show, validate, start by name or YAML, inject events."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from starlette.exceptions import HTTPException
from starlette.testclient import TestClient

from api.scenarios import Loader
from tests.api.conftest import make_client, wait_until
from tests.helpers import HOSTILE_TEMPLATES, NAMED_SCENARIOS, hostile_scenario, scenario_text
from tests.runtime.conftest import Mosquitto

YAML_HEADERS = {"content-type": "application/yaml"}


def test_list_and_show_named_scenarios(client: TestClient) -> None:
    listed = {s["name"]: s for s in client.get("/api/v1/scenarios").json()}
    assert list(listed) == NAMED_SCENARIOS
    assert listed["default"]["devices"] == 5 and listed["fleet-1000"]["devices"] == 1000
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
    both = client.post("/api/v1/simulation/events", json={"action": "set_power", "target": "all"})
    assert both.status_code == 422  # a model's own check, worded as over MQTT (no "Value error, ")
    assert both.json()["issues"] == [{"loc": "", "msg": "give exactly one of 'kw' or 'fraction'"}]


def test_hostile_scenarios_get_a_located_422_at_once(client: TestClient) -> None:
    for body, message in HOSTILE_TEMPLATES:
        started = time.monotonic()
        refused = client.post("/api/v1/scenarios/validate", content=hostile_scenario(body), headers=YAML_HEADERS)
        assert time.monotonic() - started < 3, body
        assert (refused.status_code, refused.json()["issues"]) == (422, [{"loc": "", "line": 4, "msg": message}])
    tagged = scenario_text("devices: [{id: a, kind: hvac}]\ndescription: !foo {a: 1}\n")
    refused = client.post("/api/v1/scenarios/validate", content=tagged, headers=YAML_HEADERS)
    msg = "YAML tag '!foo' is not allowed in scenario files; write a plain value"
    assert (refused.status_code, refused.json()["issues"]) == (422, [{"loc": "description", "line": 7, "msg": msg}])
    refused = client.post("/api/v1/simulation/start", json={"yaml": hostile_scenario(HOSTILE_TEMPLATES[0][0])})
    assert refused.status_code == 422 and refused.json()["issues"][0]["msg"] == HOSTILE_TEMPLATES[0][1]
    assert client.get("/api/v1/simulation/status").json()["scenario"]["name"] == "default"


def test_other_requests_answer_while_a_hostile_template_is_validated(client: TestClient) -> None:
    # One C-level operation that would run ~20 s: its worker is killed, and the event loop never waits for it.
    slow = hostile_scenario("{{ ([[0] * 1000] * 3000) | sum(start=[]) | length }}")
    answers: list[tuple[float, int, dict[str, object]]] = []
    done = threading.Event()

    def validate() -> None:
        started = time.monotonic()
        response = client.post("/api/v1/scenarios/validate", content=slow, headers=YAML_HEADERS)
        answers.append((time.monotonic() - started, response.status_code, response.json()["issues"][0]))
        done.set()

    threading.Thread(target=validate, name="slow-validate").start()
    health_times = []
    while not done.wait(0.05):
        started = time.monotonic()
        assert client.get("/health").status_code == 200
        health_times.append(time.monotonic() - started)
    assert len(health_times) >= 10 and max(health_times) < 0.5
    elapsed, status, issue = answers[0]
    assert (status, issue) == (422, {"loc": "", "line": 4, "msg": "template took longer than 2s to render"})
    assert 2 <= elapsed < 3.5


def test_one_size_limit_for_scenario_uploads(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """Validate (YAML body) and start (JSON with `yaml`) take scenarios up to the body limit, and no other."""
    base = scenario_text("devices: [{id: a, kind: hvac}]\n", name="big")
    fits = base + "#" + "x" * (62_000 - len(base)) + "\n"
    too_big = base + "#" + "x" * 70_000 + "\n"
    with make_client(mosquitto, tmp_path / "devices.sqlite3", max_body_bytes=65536) as client:
        assert client.post("/api/v1/scenarios/validate", content=fits, headers=YAML_HEADERS).status_code == 200
        started = client.post("/api/v1/simulation/start", json={"yaml": fits})
        assert started.status_code == 200 and started.json()["scenario"]["name"] == "big"
        for response in (
            client.post("/api/v1/scenarios/validate", content=too_big, headers=YAML_HEADERS),
            client.post("/api/v1/simulation/start", json={"yaml": too_big}),
        ):
            assert (response.status_code, response.json()["detail"]) == (413, "body larger than 65536 bytes")


def test_scenario_loads_keep_off_the_default_executor_and_refuse_a_flood() -> None:
    """aiomqtt connects through the loop's default executor: slow uploads must never fill it."""
    release = threading.Event()

    async def scenario() -> tuple[list[str], float]:
        loader = Loader(workers=2, waiting=1)
        async with asyncio.TaskGroup() as tasks:
            loads = [tasks.create_task(loader.run(release.wait, 10)) for _ in range(3)]
            await asyncio.sleep(0)  # each task runs up to its load: two running, one queued
            with pytest.raises(HTTPException) as refused:
                await loader.run(release.wait, 10)
            started = time.monotonic()
            await asyncio.get_running_loop().run_in_executor(None, lambda: None)  # not queued behind them
            free_after = time.monotonic() - started
            release.set()
        loader.close()
        assert refused.value.status_code == 503 and refused.value.headers == {"Retry-After": "2"}
        return [str(load.result()) for load in loads], free_after

    results, free_after = asyncio.run(scenario())
    assert results == ["True", "True", "True"] and free_after < 0.5


def test_inject_an_event_on_a_tag_finds_devices_created_at_run_time(client: TestClient) -> None:
    for device_id, tag in (("pump-1", "roof"), ("pump-2", "cellar")):
        created = client.post("/api/v1/devices", json={"id": device_id, "kind": "industrial", "tags": [tag]})
        assert created.status_code == 201
    event = {"action": "outage", "target": {"tag": "roof"}, "duration": "5m"}
    result = client.post("/api/v1/simulation/events", json=event)
    assert (result.status_code, result.json()["targets"]) == (200, ["pump-1"])
    faults = {d["id"]: d["faults"]["outage"] for d in client.get("/api/v1/devices").json()}
    assert faults["pump-1"] is True and faults["pump-2"] is False
    unknown = client.post("/api/v1/simulation/events", json={"action": "outage", "target": {"tag": "attic"}})
    assert (unknown.status_code, unknown.json()["detail"]) == (422, "target: no device has tag 'attic'")


def test_an_uploaded_scenario_extends_a_named_one_never_a_path(client: TestClient) -> None:
    overlay = b"extends: office-week\nname: up\nremove: [office-kitchen]\ndevices: [{id: extra, kind: server}]\n"
    ok = client.post("/api/v1/scenarios/validate", content=overlay, headers=YAML_HEADERS)
    assert ok.status_code == 200 and (ok.json()["name"], ok.json()["devices"]) == ("up", 6)
    started = client.post("/api/v1/simulation/start", json={"yaml": overlay.decode(), "speed": 50})
    assert started.status_code == 200 and started.json()["scenario"]["name"] == "up"
    refused = client.post("/api/v1/scenarios/validate", content=b"extends: ./x.yaml\n", headers=YAML_HEADERS)
    assert refused.status_code == 422
    assert refused.json()["issues"] == [
        {
            "loc": "extends",
            "line": 1,
            "msg": "an uploaded scenario can extend a named scenario only, not a path, got './x.yaml'",
        }
    ]
    bad = client.post(
        "/api/v1/scenarios/validate", content=b"extends: office-week\nremove: [nope]\n", headers=YAML_HEADERS
    )
    assert bad.status_code == 422
    assert bad.json()["issues"] == [{"loc": "remove[0]", "line": 2, "msg": "no device 'nope' in the base to remove"}]


def test_an_issue_of_a_base_names_the_base_s_file(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "broken.yaml"
    base.write_text("version: 1\nname: broken\ndevices:\n  - {id: a, kind: hvac, rated_kw: -1}\n")
    monkeypatch.setenv("IOT_MOCK_SCENARIOS_DIR", str(tmp_path))
    refused = client.post("/api/v1/scenarios/validate", content=b"extends: broken\nname: up\n", headers=YAML_HEADERS)
    assert refused.status_code == 422
    assert refused.json()["issues"] == [
        {"loc": "devices[0].rated_kw", "line": 4, "msg": "input should be greater than 0, got -1", "source": str(base)}
    ]
