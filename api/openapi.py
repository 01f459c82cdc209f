"""The OpenAPI document of the API, built from the routes themselves (api.docs renders it at /docs).

Paths, methods and summaries come from the routes and their docstrings, so a new route appears
without extra work; each operation's body, responses and errors are declared here, the component schemas
they name in `api.openapi_schemas`.
"""

from __future__ import annotations

import inspect
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from api.demo import MAX_DEVICES, MAX_SNAPSHOTS
from api.docs import DOCS_ROUTES
from api.openapi_examples import ERRORS, REQUESTS, SCENARIO_YAML
from api.openapi_examples import RESPONSES as RESPONSE_EXAMPLES
from api.openapi_schemas import ERROR, SCHEMAS, array, ref
from api.routing import Endpoint, Operation, PathRoute
from api.security import guarded
from engine.contract.topics import ID_PATTERN

_JSON = "application/json"
BODIES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("post", "/api/v1/devices"): {_JSON: ref("DeviceCreate")},
    ("put", "/api/v1/devices/{device_id}"): {_JSON: ref("DeviceUpdate")},
    ("post", "/api/v1/devices/{device_id}/command"): {_JSON: ref("Command")},
    ("post", "/api/v1/simulation/speed"): {_JSON: ref("SpeedRequest")},
    ("post", "/api/v1/simulation/start"): {_JSON: ref("StartRequest")},
    ("post", "/api/v1/simulation/events"): {_JSON: ref("EventRequest")},
    # YAML text; also as octet-stream, the raw-bytes type that client generators know.
    ("post", "/api/v1/scenarios/validate"): {
        "application/yaml": {"type": "string"},
        "application/octet-stream": {"type": "string", "format": "binary"},
    },
}
"""Request bodies by (method, path)."""
RESPONSES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("get", "/api/v1/devices"): ("200", array("Device")),
    ("post", "/api/v1/devices"): ("201", ref("Device")),
    ("get", "/api/v1/devices/{device_id}"): ("200", ref("Device")),
    ("put", "/api/v1/devices/{device_id}"): ("200", ref("Device")),
    ("delete", "/api/v1/devices/{device_id}"): ("204", {}),
    ("get", "/api/v1/devices/{device_id}/readings"): ("200", ref("Reading")),
    ("post", "/api/v1/devices/{device_id}/simulate"): ("200", ref("Reading")),
    ("post", "/api/v1/devices/{device_id}/command"): ("200", ref("CommandResponse")),
    ("get", "/api/v1/scenarios"): ("200", array("ScenarioSummary")),
    ("get", "/api/v1/scenarios/{name}"): ("200", ref("Scenario")),
    ("post", "/api/v1/scenarios/validate"): ("200", ref("Validation")),
    ("post", "/api/v1/simulation/events"): ("200", ref("EventResult")),
    ("get", "/health"): ("200", ref("Health")),
    ("get", "/api/v1/simulation/recording"): ("200", ref("Recording")),
    ("get", "/api/v1/history"): ("200", ref("History")),
    ("get", "/api/v1/history/devices/{device_id}"): ("200", ref("DeviceHistory")),
}
"""Success responses by (method, path); the other /simulation routes answer with the Status."""


NOT_FOUND_OR_CONFLICT: dict[tuple[str, str], tuple[str, ...]] = {
    ("get", "/api/v1/devices"): ("409",),
    ("post", "/api/v1/devices"): ("409",),
    ("get", "/api/v1/devices/{device_id}"): ("404", "409"),
    ("put", "/api/v1/devices/{device_id}"): ("404", "409"),
    ("delete", "/api/v1/devices/{device_id}"): ("404", "409"),
    ("get", "/api/v1/devices/{device_id}/readings"): ("404", "409"),
    ("post", "/api/v1/devices/{device_id}/command"): ("404", "409"),
    ("post", "/api/v1/devices/{device_id}/simulate"): ("404", "409"),
    ("post", "/api/v1/simulation/pause"): ("409",),
    ("post", "/api/v1/simulation/resume"): ("409",),
    ("post", "/api/v1/simulation/speed"): ("409",),
    ("post", "/api/v1/simulation/stop"): ("409",),
    ("get", "/api/v1/simulation/recording"): ("409",),
    ("post", "/api/v1/simulation/events"): ("404", "409"),
    ("post", "/api/v1/simulation/start"): ("404",),
    ("get", "/api/v1/scenarios/{name}"): ("404",),
    ("get", "/api/v1/history"): ("409",),
    ("get", "/api/v1/history/devices/{device_id}"): ("404", "409"),
}
"""404 (unknown device or scenario) and 409 (no simulation running; id taken) by operation."""
QUERIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("get", "/api/v1/stream"): [
        {"name": "snapshots", "in": "query", "required": False,
         "description": "End the stream after this many messages (a snapshot, then deltas).",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SNAPSHOTS}},
    ],
    ("get", "/api/v1/history"): [
        {"name": "devices", "in": "query", "required": False,
         "description": f"Comma-separated device ids whose power per step to include (at most {MAX_DEVICES}).",
         "schema": {"type": "string"}},
    ],
}  # fmt: skip
"""Query parameters by operation (a bad value is a 422)."""
RAW_BODY = {("post", "/api/v1/devices/{device_id}/command"), ("post", "/api/v1/scenarios/validate")}
"""Bodies read as they are (a command envelope, YAML), not as a JSON object: a bad one is a 422, not a 400."""
ERROR_TEXTS = {"400": "Body is not a JSON object", "401": "Missing or wrong bearer token", "404": "Not found",
               "409": "Conflict", "413": "Body too large", "422": "Invalid value",
               "503": "Busy (scenario loads, or changes waiting); retry after Retry-After seconds"}  # fmt: skip
PATH_PARAMETERS = (
    ("device_id", "A device's id.", "mock-hvac-001"),
    ("name", "A named scenario (GET /api/v1/scenarios lists them).", "office-week"),
)
"""Path parameters: name, description and an example (a device of the default scenario, a named scenario)."""
UNDOCUMENTED = {"/", "/static/{name:path}", "/docs", "/openapi.json"}
CHANGES = {
    ("post", "/api/v1/devices"), ("put", "/api/v1/devices/{device_id}"), ("delete", "/api/v1/devices/{device_id}"),
    ("post", "/api/v1/devices/{device_id}/command"), ("post", "/api/v1/devices/{device_id}/simulate"),
    ("post", "/api/v1/simulation/events"),
}  # fmt: skip
"""Operations that change the run through its inbox: 503 when it is full."""


INFO = """Control plane of the iot-mock simulator: devices, commands, the run and its clock, named scenarios.

- **Auth**: when the service has a token (`IOT_MOCK_API_TOKEN`, required off loopback), every `/api` route
  and `/metrics` need `Authorization: Bearer <token>` (the *Authorize* button); `/health` never does.
- **Errors**: every 4xx is `{"detail": str, "issues"?: [...]}` (the `Error` schema); never a 500 for bad input.
- **Changes** (commands, devices, events) are applied at a simulated instant, between two steps of the run,
  exactly as MQTT commands are; a full inbox answers 503 with `Retry-After`.
- The MQTT topics and payloads are in `docs/contract.md`; the scenario format in `docs/scenarios.md`.
"""


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    """OpenAPI 3.1 for `routes` (only the JSON API and ops routes, not the page itself)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, PathRoute) or route.path in UNDOCUMENTED or route.path.startswith("/docs/"):
            continue
        for method, endpoint in route.operations.items():
            paths.setdefault(route.path, {})[method.lower()] = _operation(route.path, method.lower(), endpoint)
    return {
        "openapi": "3.1.0",
        "info": {"title": "iot-mock", "version": "1", "description": INFO},
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _operation(path: str, method: str, endpoint: Endpoint) -> dict[str, Any]:
    """One operation: its id is the handler's name, its summary the handler's docstring."""
    doc = inspect.getdoc(endpoint) or ""
    summary = doc.partition("\n")[0]
    status, schema = RESPONSES.get((method, path), ("200", _ok_schema(path)))
    ok: dict[str, Any] = {"description": "OK"}
    if status != "204":
        ok["content"] = {_media(path): {"schema": schema, **_example(schema)} if schema else {}}
    operation: dict[str, Any] = {
        "summary": summary.replace("`", ""),  # shown as plain text; the description is rendered as markdown
        "description": doc,
        "operationId": endpoint.__name__,
        "responses": {status: ok, **_errors(path, method)},
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN},
         "description": description, "example": example}
        for name, description, example in PATH_PARAMETERS
        if "{" + name + "}" in path
    ]  # fmt: skip
    parameters += QUERIES.get((method, path), [])
    if parameters:
        operation["parameters"] = parameters
    if (method, path) in BODIES:
        content = {
            media: {"schema": schema, **_request_examples(schema)} for media, schema in BODIES[(method, path)].items()
        }
        operation["requestBody"] = {"required": True, "content": content}
    if guarded(path):
        operation["security"] = [{"bearer": []}, {}]
    return operation


def _ok_schema(path: str) -> dict[str, Any]:
    if path.startswith("/api/v1/simulation/"):
        return ref("Status")
    return {"type": "string"}  # /metrics and the event stream: text


def _errors(path: str, method: str) -> dict[str, Any]:
    """The error responses this operation can really give, each an Error."""
    codes = set(NOT_FOUND_OR_CONFLICT.get((method, path), ()))
    if guarded(path):
        codes.add("401")
    if (method, path) in QUERIES:
        codes.add("422")
    if (method, path) in BODIES:
        codes |= {"413", "422"} | (set() if (method, path) in RAW_BODY else {"400"})
    if path.startswith("/api/v1/scenarios") or path == "/api/v1/simulation/start":
        codes.add("503")  # scenario loads beyond the loader's queue
    if (method, path) in CHANGES:
        codes.add("503")  # the run's inbox is full (see engine/runtime/inbox.py)
    return {
        code: {"description": ERROR_TEXTS[code],
               "content": {"application/json": {"schema": ERROR, "example": ERRORS[code]}}}
        for code in sorted(codes)
    }  # fmt: skip


def _example(schema: dict[str, Any]) -> dict[str, Any]:
    """The media type's `example` for a response schema (a component, or an array of one), if there is one."""
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    example = RESPONSE_EXAMPLES.get(ref.rsplit("/", 1)[1]) if ref else None
    if example is None:
        return {}
    return {"example": [example] if "items" in schema else example}


def _request_examples(schema: dict[str, Any]) -> dict[str, Any]:
    """The media type's named `examples` for a request body (a component, or the YAML of a scenario)."""
    ref = schema.get("$ref")
    if ref is None:
        return {"example": SCENARIO_YAML}
    examples = REQUESTS.get(ref.rsplit("/", 1)[1])  # a body without any fails tests/api/test_openapi_examples.py
    return {"examples": examples} if examples else {}


def _media(path: str) -> str:
    if path == "/metrics":
        return "text/plain"
    if path == "/api/v1/simulation/recording":
        return "application/yaml"
    return "text/event-stream" if path.endswith("/stream") else "application/json"


async def openapi(request: Request) -> Response:
    """The OpenAPI document."""
    return JSONResponse(document(request.app.routes))


OPENAPI_ROUTES = [Operation("GET", "/openapi.json", openapi), *DOCS_ROUTES]
