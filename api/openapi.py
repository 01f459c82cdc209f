"""The OpenAPI document of the API, built from the routes themselves (api.docs renders it at /docs).

Paths, methods and summaries come from the routes and their docstrings, so a new route appears
without extra work; request bodies and the shared response shapes are declared once here.
"""

from __future__ import annotations

import inspect
from typing import Any, get_args

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from api.demo import MAX_DEVICES, MAX_SNAPSHOTS
from api.devices import DeviceUpdate
from api.docs import DOCS_ROUTES
from api.openapi_examples import ERRORS, REQUESTS, SCENARIO_YAML
from api.openapi_examples import RESPONSES as RESPONSE_EXAMPLES
from api.routing import Endpoint, Operation, PathRoute
from api.scenarios import StartRequest
from api.security import guarded
from engine.contract.envelope import MAX_ID_CHARS
from engine.contract.topics import ID_PATTERN
from engine.model.specs import Kind
from engine.runtime.clock import MAX_SPEED, MIN_SPEED
from engine.scenario.actions import ACTION_NAMES, ACTIONS, TargetedAction
from engine.scenario.device_format import Device

ERROR = {"$ref": "#/components/schemas/Error"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _command_schemas() -> dict[str, Any]:
    """The command envelope, one member per action: `{"command": NAME, "params": <its parameters>, "id"?}`."""
    out: dict[str, Any] = {}
    mapping: dict[str, str] = {}
    for cls in ACTIONS:
        name = get_args(cls.model_fields["action"].annotation)[0]
        params = cls.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(params.pop("$defs", {}))
        params["properties"].pop("action")
        params["required"] = [field for field in params.get("required", []) if field != "action"]
        if not params["required"]:
            del params["required"]
        params["title"] = f"{cls.__name__}Params"
        member = f"{cls.__name__}Command"
        out[params["title"]] = params
        out[member] = {
            "type": "object",
            "description": params.get("description", ""),
            "required": ["command", "params"] if "required" in params else ["command"],
            "properties": {
                "command": {"type": "string", "const": name},
                "params": _ref(params["title"]),
                "id": {"type": "string", "maxLength": MAX_ID_CHARS},
            },
            "additionalProperties": False,
        }
        mapping[name] = f"#/components/schemas/{member}"
    out["Command"] = {"oneOf": [{"$ref": ref} for ref in mapping.values()],
                      "discriminator": {"propertyName": "command", "mapping": mapping}}  # fmt: skip
    return out


def _model_schemas() -> dict[str, Any]:
    """JSON Schemas of the request models, their nested models moved to the components."""
    out: dict[str, Any] = {}
    for model in (Device, DeviceUpdate, StartRequest):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    events = TypeAdapter(TargetedAction).json_schema(ref_template="#/components/schemas/{model}")
    out.update(events.pop("$defs", {}))
    out["EventRequest"] = events
    out.update(_command_schemas())
    out["DeviceCreate"] = out.pop("Device")
    _default_first(out)
    return out


_JSON_TYPES = {bool: {"boolean"}, int: {"integer", "number"}, float: {"number"}, str: {"string"}, type(None): {"null"}}


def _default_first(schema: object) -> None:
    """In every `anyOf` with a default, the branch of the default's type first: generators coerce the
    default to the first branch (10.0 became the string '10.0', which the duration pattern refuses)."""
    if isinstance(schema, list):
        for item in schema:
            _default_first(item)
    if not isinstance(schema, dict):
        return
    if "anyOf" in schema and "default" in schema:
        wanted = _JSON_TYPES.get(type(schema["default"]), set())
        schema["anyOf"].sort(key=lambda branch: branch.get("type") not in wanted)  # stable: the rest keep their order
    for value in schema.values():
        _default_first(value)


def _titled(schemas: dict[str, Any]) -> dict[str, Any]:
    """Every component titled with its own name: generators name classes by title, and two titles alike
    (the scenario format's `Device` as DeviceCreate, the API's Device) made one drop the other."""
    return {name: {**schema, "title": name} for name, schema in schemas.items()}


SPEED = {
    "type": "object",
    "required": ["speed"],
    "properties": {"speed": {"type": "number", "minimum": MIN_SPEED, "maximum": MAX_SPEED}},
    "additionalProperties": False,
}
_JSON = "application/json"
BODIES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("post", "/api/v1/devices"): {_JSON: _ref("DeviceCreate")},
    ("put", "/api/v1/devices/{device_id}"): {_JSON: _ref("DeviceUpdate")},
    ("post", "/api/v1/devices/{device_id}/command"): {_JSON: _ref("Command")},
    ("post", "/api/v1/simulation/speed"): {_JSON: _ref("SpeedRequest")},
    ("post", "/api/v1/simulation/start"): {_JSON: _ref("StartRequest")},
    ("post", "/api/v1/simulation/events"): {_JSON: _ref("EventRequest")},
    # YAML text; also as octet-stream, the raw-bytes type that client generators know.
    ("post", "/api/v1/scenarios/validate"): {
        "application/yaml": {"type": "string"},
        "application/octet-stream": {"type": "string", "format": "binary"},
    },
}
"""Request bodies by (method, path)."""
RESPONSES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("get", "/api/v1/devices"): ("200", _array("Device")),
    ("post", "/api/v1/devices"): ("201", _ref("Device")),
    ("get", "/api/v1/devices/{device_id}"): ("200", _ref("Device")),
    ("put", "/api/v1/devices/{device_id}"): ("200", _ref("Device")),
    ("delete", "/api/v1/devices/{device_id}"): ("204", {}),
    ("get", "/api/v1/devices/{device_id}/readings"): ("200", _ref("Reading")),
    ("post", "/api/v1/devices/{device_id}/simulate"): ("200", _ref("Reading")),
    ("post", "/api/v1/devices/{device_id}/command"): ("200", _ref("CommandResponse")),
    ("get", "/api/v1/scenarios"): ("200", _array("ScenarioSummary")),
    ("get", "/api/v1/scenarios/{name}"): ("200", _ref("Scenario")),
    ("post", "/api/v1/scenarios/validate"): ("200", _ref("Validation")),
    ("post", "/api/v1/simulation/events"): ("200", _ref("EventResult")),
    ("get", "/health"): ("200", _ref("Health")),
    ("get", "/api/v1/simulation/recording"): ("200", _ref("Recording")),
    ("get", "/api/v1/history"): ("200", _ref("History")),
    ("get", "/api/v1/history/devices/{device_id}"): ("200", _ref("DeviceHistory")),
}
"""Success responses by (method, path); the other /simulation routes answer with the Status."""
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_COUNT = {"type": "integer", "minimum": 0}


def _object(properties: dict[str, Any], *, description: str = "") -> dict[str, Any]:
    """An object whose listed properties are all present."""
    out: dict[str, Any] = {"type": "object", "required": list(properties), "properties": properties}
    return {**out, "description": description} if description else out


SCHEMAS: dict[str, Any] = _titled({
    "SpeedRequest": SPEED,
    "Recording": {
        "type": "object",
        "description": "A scenario file (YAML) that extends the one that ran: `iot-mock schema` describes its fields.",
        "required": ["version", "name", "duration", "seed", "session"],
        "properties": {
            "extends": {"type": "string"},
            "duration": {"type": "number"},
            "seed": {"type": "integer"},
            "session": {"type": "object", "required": ["start", "changes"]},
        },
    },
    "Error": {
        "type": "object",
        "description": "Every 4xx (and 503) answer: what went wrong, and for an invalid body or scenario each issue.",
        "required": ["detail"],
        "properties": {
            "detail": {"type": "string", "description": "What went wrong, naming the bad value and the fix."},
            "issues": {"type": "array", "items": _ref("Issue"), "description": "Every problem found, not the first."},
            "id": {"type": ["string", "null"], "description": "A refused command: the id it was sent with."},
            "command": {"type": ["string", "null"], "description": "A refused command: its name."},
        },
    },
    "Issue": {
        "type": "object",
        "required": ["loc", "msg"],
        "properties": {
            "loc": {"type": "string", "description": "Field path, e.g. `devices.2.interval` (empty: the whole body)."},
            "msg": {"type": "string", "description": "What is wrong there."},
            "line": {"type": ["integer", "null"], "description": "A scenario: the line in its YAML."},
            "source": {"type": "string", "description": "A scenario: the file it is in, when a base (`extends`)."},
        },
    },
    "CommandResponse": {
        "type": "object",
        "required": ["id", "command", "ok", "timestamp"],
        "properties": {
            "id": {"type": ["string", "null"]},
            "command": {"type": "string"},
            "ok": {"type": "boolean"},
            "timestamp": {"type": "string"},
        },
    },
    "Device": {
        "type": "object",
        "required": ["id", "kind", "name", "rated_kw", "profile", "interval", "status", "enabled", "faults"],
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": list(get_args(Kind))},
            "name": {"type": "string"},
            "location": {"type": "string"},
            "rated_kw": {"type": "number"},
            "profile": {"type": "string"},
            "interval": {"type": "number"},
            "power_factor": {"type": "number"},
            "phases": {"type": "integer"},
            "status": {"type": "string", "enum": ["online", "offline"]},
            "enabled": {"type": "boolean"},
            "override_kw": _NUMBER_OR_NULL,
            "faults": {"type": "object", "additionalProperties": {"type": "boolean"}},
        },
    },
    "Reading": {
        "type": "object",
        "required": ["device_id", "timestamp", "power", "voltage", "current", "energy", "status", "enabled", "seq"],
        "description": "A reading: the bytes of its MQTT payload (docs/contract.md); extras may follow these fields.",
        "properties": {
            "device_id": {"type": "string", "pattern": ID_PATTERN, "description": "The device's id."},
            "timestamp": {"type": "string", "description": "Simulated time, UTC, ISO 8601 with Z (ms if sub-second)."},
            "power": {"type": "number", "description": "Total active power (kW)."},
            "voltage": {"type": "number", "description": "Phase-to-neutral RMS voltage (V)."},
            "current": {"type": "number", "description": "Line current (A)."},
            "energy": {"type": "number", "description": "Cumulative energy register (kWh)."},
            "status": {"type": "string", "enum": ["online", "offline"], "description": "Communication state."},
            "enabled": {"type": "boolean", "description": "Whether the load is switched on."},
            "seq": {"type": "integer", "description": "Per device, +1 per reading, never reused."},
        },
    },
    "Status": {
        "type": "object",
        "required": ["running"],
        "properties": {
            "running": {"type": "boolean"},
            "paused": {"type": "boolean"},
            "scenario": _object({"name": {"type": "string"}, "revision": {"type": "integer"}}),
            "clock": {"type": "string", "enum": ["virtual", "accelerated", "realtime"]},
            "speed": _NUMBER_OR_NULL,
            "sim_time": {"type": "number"},
            "timestamp": {"type": "string"},
            "devices": _object({name: _COUNT for name in ("total", "online", "enabled")}),
            "mqtt": _object({"connected": {"type": "boolean"}, "broker": {"type": "string"},
                             "topic_prefix": {"type": "string"}}),
            "generated": {"type": "integer"},
            "delivered": {"type": "integer"},
            "buffered": {"type": "integer"},
            "dropped": {"type": "integer"},
            "commands": _object({name: _COUNT for name in ("received", "applied", "rejected")},
                                description="MQTT commands by outcome (the API's are in /metrics)."),
            "connections": {"type": "integer"},
            "lag_ms": _object({name: _NUMBER_OR_NULL for name in ("p50", "p99", "max")},
                              description="Publish lag of recent readings (ms); null before any."),
            "undelivered": {"type": "integer", "description": "Readings dropped or still buffered."},
            "behind_seconds": {"type": "number", "description": "Wall seconds simulated time is behind its clock."},
            "falling_behind": {"type": "boolean", "description": "More than a second behind: the speed is too high."},
        },
    },
    "ScenarioSummary": {
        "type": "object",
        "required": ["name", "revision", "description", "devices"],
        "properties": {
            "name": {"type": "string"},
            "revision": {"type": "integer"},
            "description": {"type": "string"},
            "devices": {"type": "integer"},
        },
    },
    "Scenario": {
        "type": "object",
        "required": ["name", "revision", "description", "devices", "events"],
        "properties": {
            "name": {"type": "string"},
            "revision": {"type": "integer"},
            "description": {"type": "string"},
            "timezone": {"type": "string"},
            "duration": {"type": "number"},
            "seed": {"type": "integer"},
            "devices": {"type": "array", "items": _object({
                "id": {"type": "string"}, "kind": {"type": "string", "enum": list(get_args(Kind))},
                "name": {"type": "string"}, "rated_kw": {"type": "number"}})},
            "events": {"type": "array", "items": {
                "type": "object", "required": ["at", "action", "targets", "duration"],
                "properties": {"at": {"type": "number", "description": "Seconds after the start."},
                               "action": {"type": "string", "enum": list(ACTION_NAMES)},
                               "targets": {"type": "array", "items": {"type": "string"}},
                               "duration": _NUMBER_OR_NULL,
                               "rate_per_s": {"type": "number", "description": "Random arrivals from `at` on."},
                               "until": _NUMBER_OR_NULL}}},
        },
    },
    "Validation": {
        "type": "object",
        "required": ["valid", "name", "revision", "description", "devices"],
        "properties": {
            "valid": {"type": "boolean"},
            "name": {"type": "string"},
            "revision": {"type": "integer"},
            "description": {"type": "string"},
            "devices": {"type": "integer"},
        },
    },
    "EventResult": {
        "type": "object",
        "required": ["action", "targets", "at"],
        "properties": {
            "action": {"type": "string"},
            "targets": {"type": "array", "items": {"type": "string"}},
            "at": {"type": "number"},
            "duration": _NUMBER_OR_NULL,
        },
    },
    "HistoryEvent": {
        "type": "object",
        "description": "A journal entry: one phase of one action, its first 20 targets and their count.",
        "required": ["t", "action", "phase", "source", "targets", "count"],
        "properties": {
            "t": {"type": "number", "description": "Sim seconds."},
            "action": {"type": "string"},
            "phase": {"type": "string", "enum": ["start", "end"]},
            "source": {"type": "string", "enum": ["scenario", "command", "meter"]},
            "targets": {"type": "array", "items": {"type": "string"}},
            "count": {"type": "integer"},
            "params": {"type": "object"},
            "duration": _NUMBER_OR_NULL,
            "occurrence": {"type": ["integer", "null"], "description": "The same in the start and end of one action."},
        },
    },
    "History": {
        "type": "object",
        "description": "The recent history: one point per step of sim time, the newest last.",
        "required": ["step", "points", "clock", "t", "totals", "devices", "events"],
        "properties": {
            "step": {"type": "number", "description": "Sim seconds between two points."},
            "points": {"type": "integer", "description": "Points kept per device."},
            "clock": {"type": "object", "description": "start_epoch (Unix seconds of sim time 0) and timezone."},
            "t": {"type": "array", "items": {"type": "number"}, "description": "Each point's sim time."},
            "totals": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "number"}},
                       "description": "The site's kW by kind at each point."},
            "devices": {"type": "object", "additionalProperties": {"type": "array", "items": _NUMBER_OR_NULL},
                        "description": "Each asked device's kW at each point (null before its first reading)."},
            "events": {"type": "array", "items": _ref("HistoryEvent")},
        },
    },
    "DeviceHistory": {
        "type": "object",
        "required": ["step", "clock", "t", "power", "events"],
        "properties": {
            "step": {"type": "number"},
            "clock": {"type": "object"},
            "t": {"type": "array", "items": {"type": "number"}},
            "power": {"type": "array", "items": _NUMBER_OR_NULL},
            "events": {"type": "array", "items": _ref("HistoryEvent")},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "mqtt"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "stopped"]},
            "mqtt": {"type": "object", "required": ["connected"],
                     "properties": {"connected": {"type": "boolean"}, "broker": {"type": "string"}}},
            "sim_time": _NUMBER_OR_NULL,
        },
    },
    **_model_schemas(),
})  # fmt: skip


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
        return _ref("Status")
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
