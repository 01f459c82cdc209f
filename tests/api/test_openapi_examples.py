"""Every example of the OpenAPI document fits its schema, and the API accepts each request example."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from api.app import create_app
from api.openapi import document
from api.openapi_examples import REQUESTS, RESPONSES
from api.openapi_schemas import SCHEMAS
from engine import load_named
from engine.runtime.settings import Settings
from engine.scenario.actions import ACTION_NAMES

DOC = document(create_app(load_named("default").plan, Settings()).routes)


def _check(schema: dict[str, Any], value: object) -> list[str]:
    validator = Draft202012Validator({**schema, "components": DOC["components"]})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)]


def test_every_example_in_the_document_fits_its_schema() -> None:
    seen = 0
    for path, operations in DOC["paths"].items():
        for method, operation in operations.items():
            media = [*operation.get("requestBody", {}).get("content", {}).values()]
            media += [m for response in operation["responses"].values() for m in response.get("content", {}).values()]
            for content in media:
                examples = [e["value"] for e in content.get("examples", {}).values()]
                examples += [content["example"]] if "example" in content else []
                for example in examples:
                    assert not _check(content["schema"], example), (
                        method,
                        path,
                        example,
                        _check(content["schema"], example),
                    )
                    seen += 1
    assert seen > 60  # each operation's answers, its errors, and one command and one event per action


def test_every_response_and_request_schema_has_an_example() -> None:
    assert set(RESPONSES) | set(REQUESTS) <= set(SCHEMAS)
    for path, operations in DOC["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    if media == "application/json":
                        assert "example" in content, (method, path, status)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                assert "example" in content or "examples" in content, (method, path)
    assert set(REQUESTS["Command"]) == set(REQUESTS["EventRequest"]) == set(ACTION_NAMES)


def test_each_request_example_is_accepted_by_the_api(client: TestClient) -> None:
    for name, example in REQUESTS["EventRequest"].items():
        done = client.post("/api/v1/simulation/events", json=example["value"])
        assert done.status_code == 200, (name, done.text)
    for name, example in REQUESTS["Command"].items():
        done = client.post("/api/v1/devices/mock-hvac-001/command", json=example["value"])
        assert done.status_code == 200 and done.json()["ok"] is True, (name, done.text)
    created = client.post("/api/v1/devices", json=REQUESTS["DeviceCreate"]["plain"]["value"])
    assert created.status_code == 201, created.text
    updated = client.put("/api/v1/devices/mock-hvac-002", json=REQUESTS["DeviceUpdate"]["plain"]["value"])
    assert updated.status_code == 200, updated.text
    assert client.post("/api/v1/simulation/speed", json=REQUESTS["SpeedRequest"]["plain"]["value"]).status_code == 200
    for name, example in REQUESTS["StartRequest"].items():
        done = client.post("/api/v1/simulation/start", json=example["value"])
        assert done.status_code == 200 and done.json()["running"] is True, (name, done.text)
