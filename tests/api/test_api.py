"""The REST control plane through the real Starlette app (lifespan included) and a real broker."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from engine.runtime.settings import Settings
from engine.scenario.actions import ACTION_NAMES
from tests.api.conftest import make_client, wait_until
from tests.helpers import READING_FIELDS
from tests.runtime.conftest import Mosquitto
from tests.runtime.mqtt_helpers import publish

TOKEN = "t" * 24


def test_devices_status_and_health(client: TestClient) -> None:
    devices = client.get("/api/v1/devices").json()
    assert [d["id"] for d in devices] == [
        "mock-hvac-001", "mock-lighting-001", "mock-server-001", "mock-industrial-001", "mock-kitchen-001"
    ]  # fmt: skip
    assert devices[0] | {"faults": None} == devices[0] | {
        "kind": "hvac", "rated_kw": 25.0, "status": "online", "enabled": True, "faults": None,
    }  # fmt: skip
    assert client.get("/api/v1/devices/mock-server-001").json()["name"] == "Server Rack"
    missing = client.get("/api/v1/devices/nope")
    assert (missing.status_code, missing.json()) == (404, {"detail": "unknown device 'nope'"})
    wait_until(lambda: client.get("/health").json()["mqtt"]["connected"])
    status = client.get("/api/v1/simulation/status").json()
    assert status["clock"] == "accelerated" and status["speed"] == 100 and status["devices"]["total"] == 5
    assert status["generated"] == status["delivered"] + status["buffered"] + status["dropped"]


def test_readings_and_commands_act_on_the_running_simulation(client: TestClient) -> None:
    wait_until(lambda: client.get("/api/v1/devices/mock-hvac-001/readings").status_code == 200)
    reading = client.get("/api/v1/devices/mock-hvac-001/readings").json()
    assert list(reading) == READING_FIELDS
    answer = client.post("/api/v1/devices/mock-hvac-001/command", json={"command": "disable", "id": "a1"})
    assert answer.status_code == 200 and answer.json()["ok"] is True and answer.json()["id"] == "a1"
    assert client.get("/api/v1/devices/mock-hvac-001").json()["enabled"] is False
    wait_until(lambda: client.get("/api/v1/devices/mock-hvac-001/readings").json()["enabled"] is False)
    power = client.post("/api/v1/devices/mock-server-001/command", json={"command": "set_power", "params": {"kw": 5}})
    assert power.status_code == 200
    assert client.get("/api/v1/devices/mock-server-001").json()["override_kw"] == 5


def test_simulate_publishes_an_extra_reading_now(client: TestClient) -> None:
    client.post("/api/v1/simulation/pause")
    before = client.get("/api/v1/devices/mock-lighting-001/readings")
    seq = before.json()["seq"] if before.status_code == 200 else -1
    extra = client.post("/api/v1/devices/mock-lighting-001/simulate")
    assert extra.status_code == 200
    assert extra.json()["seq"] == seq + 1
    assert extra.json()["timestamp"] == client.get("/api/v1/simulation/status").json()["timestamp"]
    assert client.post("/api/v1/devices/nope/simulate").status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "status", "detail"),
    [
        ("/api/v1/devices/mock-hvac-001/command", b'{"command": "explode"}', 422, "unknown command 'explode'"),
        ("/api/v1/devices/mock-hvac-001/command", b'{"command": "set_power"}', 422, "set_power: give"),
        ("/api/v1/devices/nope/command", b'{"command": "disable"}', 404, "unknown device 'nope'"),
        ("/api/v1/devices/mock-hvac-001/command", b"{not json", 422, "not JSON: "),
        ("/api/v1/devices/mock-hvac-001/command", b"[1]", 422, "must be a JSON object"),
        ("/api/v1/devices/mock-hvac-001/command", b'{"command": 1}', 422, "command must be a string"),
        ("/api/v1/devices/mock-hvac-001/command", b'{"command": "x", "bogus": 1}', 422, "unknown field 'bogus'"),
        (
            "/api/v1/devices/mock-hvac-001/command",
            b'{"command": "disable", "pad": "' + b"x" * 3000 + b'"}',
            413,
            "body",
        ),
        ("/api/v1/simulation/speed", b'{"speed": 0}', 422, "speed must be a number from 0.01 to 100000 (times "),
        ("/api/v1/simulation/speed", b'{"speed": 5e-324}', 422, "speed must be a number from 0.01 to 100000"),
        ("/api/v1/simulation/speed", b'{"speed": 1000000}', 422, "speed must be a number from 0.01 to 100000"),
        ("/api/v1/simulation/speed", b'{"speed": NaN}', 400, "body is not JSON"),
        ("/api/v1/simulation/speed", b'{"speed": 2, "sped": 3}', 422, "unknown field 'sped'"),
        ("/api/v1/simulation/speed", b"[" * 1020 + b"]" * 1020, 400, "body is not JSON"),
        (
            "/api/v1/devices/mock-hvac-001/command",
            b'{"command": "set_interval", "params": {"interval": 1' + b"0" * 400 + b"}}",
            422,
            "set_interval: interval: must be a duration of at most",
        ),
    ],
)
def test_bad_requests_get_a_precise_4xx(client: TestClient, path: str, body: bytes, status: int, detail: str) -> None:
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)


def test_options_and_405_list_every_method_of_a_path(client: TestClient) -> None:
    options = client.options("/api/v1/devices")
    assert (options.status_code, options.headers["allow"]) == (204, "GET, HEAD, OPTIONS, POST")
    item = client.options("/api/v1/devices/mock-hvac-001")
    assert item.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    patch = client.patch("/api/v1/devices/mock-hvac-001", json={})
    assert patch.status_code == 405 and patch.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    assert patch.json() == {
        "detail": "PATCH is not allowed on /api/v1/devices/{device_id}; allowed: DELETE, GET, HEAD, OPTIONS, PUT"
    }
    assert client.post("/api/v1/devices", json={"id": "x1", "kind": "hvac"}).status_code == 201
    assert client.delete("/api/v1/devices/x1").status_code == 204


def test_pause_resume_speed_and_stop(client: TestClient) -> None:
    paused = client.post("/api/v1/simulation/pause").json()
    assert paused["paused"] is True
    frozen = paused["sim_time"]
    time.sleep(0.2)  # paused: sim time must not move however long we wait
    assert client.get("/api/v1/simulation/status").json()["sim_time"] == frozen
    assert client.post("/api/v1/simulation/resume").json()["paused"] is False
    assert client.post("/api/v1/simulation/speed", json={"speed": 500}).json()["speed"] == 500
    assert client.post("/api/v1/simulation/stop").json()["running"] is False


def scrape(client: TestClient) -> dict[str, tuple[str, dict[tuple[tuple[str, str], ...], float]]]:
    """/metrics parsed: family name -> (type, {sorted labels: value})."""
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        family.name: (family.type, {tuple(sorted(s.labels.items())): s.value for s in family.samples})
        for family in text_string_to_metric_families(response.text)
    }


def test_metrics_follow_prometheus_conventions_and_count_commands(client: TestClient, mosquitto: Mosquitto) -> None:
    wait_until(lambda: client.get("/health").json()["mqtt"]["connected"])
    client.post("/api/v1/devices/mock-hvac-001/command", json={"command": "disable"})
    client.post("/api/v1/devices/mock-hvac-001/command", json={"command": "explode"})
    prefix = client.get("/api/v1/simulation/status").json()["mqtt"]["topic_prefix"]
    asyncio.run(publish(mosquitto.port, f"{prefix}/devices/mock-hvac-001/commands", b'{"command": "enable"}'))
    wait_until(lambda: scrape(client)["iot_mock_commands_applied"][1][(("source", "mqtt"),)] == 1)
    wait_until(lambda: scrape(client)["iot_mock_publish_lag_seconds"][1] != {})
    client.post("/api/v1/simulation/pause")
    metrics = scrape(client)
    types = {name: kind for name, (kind, _) in metrics.items()}
    assert types == {
        "iot_mock_running": "gauge", "iot_mock_readings_generated": "counter",
        "iot_mock_readings_delivered": "counter", "iot_mock_readings_dropped": "counter",
        "iot_mock_readings_buffered": "gauge", "iot_mock_commands_received": "counter",
        "iot_mock_commands_applied": "counter", "iot_mock_commands_rejected": "counter",
        "iot_mock_mqtt_connections": "counter", "iot_mock_publish_lag_seconds": "summary",
        "iot_mock_publish_lag_max_seconds": "gauge", "iot_mock_devices": "gauge", "iot_mock_sim_time_seconds": "gauge",
        "iot_mock_mqtt_connected": "gauge", "iot_mock_behind_seconds": "gauge", "iot_mock_fell_behind": "counter",
        "iot_mock_changes": "counter", "iot_mock_changes_waiting": "gauge",
    }  # fmt: skip
    # The driver took the two valid commands (REST disable, MQTT enable); "explode" was refused at receipt.
    changes = metrics["iot_mock_changes"][1]
    assert (changes[(("outcome", "applied"),)], changes[(("outcome", "refused"),)]) == (2, 0)
    text = client.get("/metrics").text
    assert "iot_mock_readings_generated_total " in text and "iot_mock_mqtt_connections_total 1.0" in text
    value = {name: samples.get((), 0.0) for name, (_, samples) in metrics.items()}
    assert value["iot_mock_readings_generated"] > 0
    assert value["iot_mock_readings_generated"] == (
        value["iot_mock_readings_delivered"] + value["iot_mock_readings_buffered"] + value["iot_mock_readings_dropped"]
    )
    commands = {
        (outcome, source): metrics[f"iot_mock_commands_{outcome}"][1][(("source", source),)]
        for outcome in ("received", "applied", "rejected")
        for source in ("mqtt", "rest")
    }
    assert commands == {
        ("received", "mqtt"): 1, ("applied", "mqtt"): 1, ("rejected", "mqtt"): 0,
        ("received", "rest"): 2, ("applied", "rest"): 1, ("rejected", "rest"): 1,
    }  # fmt: skip
    assert set(metrics["iot_mock_publish_lag_seconds"][1]) == {(("quantile", "0.5"),), (("quantile", "0.99"),)}
    assert value["iot_mock_devices"] == 5 and value["iot_mock_running"] == 1 and value["iot_mock_mqtt_connected"] == 1
    assert value["iot_mock_behind_seconds"] < 0.5 and value["iot_mock_fell_behind"] == 0  # x100 keeps up


def test_bearer_token_guards_the_api_but_not_health(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with make_client(mosquitto, tmp_path / "devices.sqlite3", api_token=TOKEN) as client:
        assert client.get("/api/v1/devices").status_code == 401
        assert client.get("/api/v1/devices", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/api/v1/devices", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert client.get("/health").status_code == 200
        assert client.get("/metrics").status_code == 401
        latin = client.get("/api/v1/devices", headers={b"Authorization": "Bearer \xe9\xe9".encode("latin-1")})
        assert latin.status_code == 401


ALLOWED = "http://app.example"


def test_cors_preflights_from_allowed_origins_pass_the_token_guard(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with make_client(mosquitto, tmp_path / "devices.sqlite3", api_token=TOKEN, cors_origins=[ALLOWED]) as client:
        asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
        preflight = client.options("/api/v1/devices/mock-hvac-001/command", headers={"Origin": ALLOWED, **asks})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ALLOWED
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        other = client.options("/api/v1/devices", headers={"Origin": "http://evil.example", **asks})
        assert other.status_code >= 400 and not [h for h in other.headers if h.startswith("access-control-")]
        # Real requests: the origin can read the answer, the guard's 401 included; other origins get no CORS.
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        allowed = client.get("/api/v1/devices", headers={"Origin": ALLOWED, **bearer})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ALLOWED
        refused = client.get("/api/v1/devices", headers={"Origin": ALLOWED})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ALLOWED
        foreign = client.get("/api/v1/devices", headers={"Origin": "http://evil.example", **bearer})
        assert foreign.status_code == 200 and "access-control-allow-origin" not in foreign.headers


def test_cors_wildcard_is_refused() -> None:
    with pytest.raises(ValueError, match="'\\*' is refused"):
        Settings(cors_origins=["*"])


def test_demo_page_and_its_event_stream(client: TestClient) -> None:
    wait_until(lambda: client.get("/api/v1/devices/mock-hvac-001/readings").status_code == 200)
    client.post("/api/v1/simulation/pause")
    published = client.get("/api/v1/devices/mock-hvac-001/readings").json()
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js">' in page.text
    assert 'new EventSource("/api/v1/stream"' in client.get("/static/app.js").text
    with client.stream("GET", "/api/v1/stream") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        lines = events.iter_lines()
        assert next(lines) == "event: snapshot"
        snapshot = json.loads(next(lines).removeprefix("data: "))
    assert [d["id"] for d in snapshot["devices"]][:2] == ["mock-hvac-001", "mock-lighting-001"]
    assert snapshot["simulation"]["scenario"]["name"] == "default"
    assert snapshot["devices"][0]["reading"] == published  # the same formatter as MQTT and REST


def test_openapi_describes_every_route_and_docs_work_offline(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    operations = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert ("/api/v1/devices/{device_id}/command", "post") in operations
    assert ("/api/v1/simulation/status", "get") in operations and ("/health", "get") in operations
    assert len(operations) == 24  # 21 API and ops routes, the event stream and the two history routes
    for path, method in operations:  # every operation says what it answers, and only errors it can give
        operation = document["paths"][path][method]
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert len(success) == 1, (path, method)
        errors = {code for code in operation["responses"] if code >= "400"}
        assert ("413" in errors) == ("requestBody" in operation), (path, method)
        assert ("422" in errors) == ("requestBody" in operation or "query" in str(operation)), (path, method)
        assert ("401" in errors) == ("security" in operation) == (path != "/health"), (path, method)
    assert document["paths"]["/health"]["get"]["responses"].keys() == {"200"}
    assert document["paths"]["/api/v1/devices/{device_id}"]["get"]["responses"].keys() == {"200", "401", "404", "409"}
    ids = sorted(op["operationId"] for ops in document["paths"].values() for op in ops.values())
    assert ids == sorted([
        "health", "metrics", "list_devices", "create_device", "get_device", "update_device", "delete_device",
        "get_readings", "send_command", "simulate", "simulation_status", "pause", "resume", "set_speed", "stop",
        "start", "inject_event", "list_scenarios", "validate_scenario", "show_scenario", "stream", "get_recording",
        "site_history", "device_history",
    ])  # fmt: skip
    titles = [schema.get("title") for schema in document["components"]["schemas"].values()]
    assert (
        len(titles) == len(set(titles)) and document["components"]["schemas"]["DeviceCreate"]["title"] == "DeviceCreate"
    )
    command = document["paths"]["/api/v1/devices/{device_id}/command"]["post"]
    assert command["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Command"}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert not [path for path in document["paths"] if path.startswith("/docs")]  # the page (test_docs_page.py)


@pytest.mark.parametrize("value", ["\u00b2", "0", "-1", "1.5", "9" * 5000, "\u0661"])
def test_a_bad_snapshot_count_is_a_422_not_a_500(client: TestClient, value: str) -> None:
    response = client.get("/api/v1/stream", params={"snapshots": value})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("snapshots must be a whole number from 1 to ")


def test_the_command_and_event_schemas_are_the_vocabulary(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert list(schemas["Command"]["discriminator"]["mapping"]) == list(ACTION_NAMES)
    members = [schemas[ref["$ref"].split("/")[-1]] for ref in schemas["EventRequest"]["oneOf"]]
    assert [member["properties"]["action"]["const"] for member in members] == list(ACTION_NAMES)
    set_interval = schemas["SetIntervalParams"]
    assert set_interval["required"] == ["interval"] and "action" not in set_interval["properties"]


def messages(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The server-sent events of a stream: (event, data)."""
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind, json.loads(line.removeprefix("data: "))


def test_the_stream_sends_a_snapshot_then_only_what_changed(client: TestClient) -> None:
    wait_until(lambda: client.get("/api/v1/devices/mock-hvac-001/readings").status_code == 200)
    with client.stream("GET", "/api/v1/stream", params={"snapshots": 40}) as events:
        stream = messages(events.iter_lines())
        kind, snapshot = next(stream)
        assert kind == "snapshot" and len(snapshot["devices"]) == 5
        assert snapshot["clock"]["timezone"] == "Europe/Berlin" and snapshot["history"]["step"] == 10
        kind, delta = next(stream)
        assert kind == "delta" and delta.get("devices", []) == []  # nothing changed: no device is described
        assert set(delta["readings"]["id"]) <= {d["id"] for d in snapshot["devices"]}
        client.post("/api/v1/devices/mock-server-001/command", json={"command": "outage", "params": {"duration": "1h"}})
        for kind, delta in stream:
            assert kind == "delta"
            if delta.get("devices"):
                break
        assert [d["id"] for d in delta["devices"]] == ["mock-server-001"]  # only the device that changed
        assert delta["devices"][0]["faults"]["outage"] and delta["faulted"] == 1
        assert [(e["action"], e["targets"], e["source"]) for e in delta["events"]] == [
            ("outage", ["mock-server-001"], "command")
        ]


def test_the_history_gives_the_site_by_kind_and_a_device_with_its_events(client: TestClient) -> None:
    client.post("/api/v1/devices/mock-hvac-001/command", json={"command": "brownout", "params": {"factor": 0.8}})
    wait_until(lambda: len(client.get("/api/v1/history").json()["t"]) >= 3)  # x100: a step each 0.1 s
    site = client.get("/api/v1/history", params={"devices": "mock-hvac-001,nobody"}).json()
    assert site["step"] == 10 and site["points"] == 360
    assert set(site["totals"]) == {"hvac", "lighting", "server", "industrial", "appliance"}
    assert all(len(values) == len(site["t"]) for values in site["totals"].values())
    assert list(site["devices"]) == ["mock-hvac-001"] and len(site["devices"]["mock-hvac-001"]) == len(site["t"])
    device = client.get("/api/v1/history/devices/mock-hvac-001").json()
    assert len(device["power"]) == len(device["t"]) > 0
    assert [(e["action"], e["phase"]) for e in device["events"]] == [("brownout", "start")]
    assert isinstance(device["events"][0]["occurrence"], int)  # its end will carry the same: the page shades between
    assert client.get("/api/v1/history/devices/nobody").status_code == 404
    too_many = client.get("/api/v1/history", params={"devices": ",".join(["x"] * 201)})
    assert too_many.status_code == 422 and "at most 200" in too_many.json()["detail"]
