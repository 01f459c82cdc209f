"""The OpenAPI document of the API, built from the routes themselves, and an offline /docs page.

Paths, methods and summaries come from the routes and their docstrings, so a new route appears
without extra work; request bodies and the shared response shapes are declared once here.
"""

from __future__ import annotations

import inspect
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.devices import DeviceUpdate
from api.scenarios import EventRequest, StartRequest
from engine.runtime.clock import MAX_SPEED, MIN_SPEED
from engine.scenario.format import Device

ERROR = {"$ref": "#/components/schemas/Error"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _model_schemas() -> dict[str, Any]:
    """JSON Schemas of the request models, their nested models moved to the components."""
    out: dict[str, Any] = {}
    for model in (Device, DeviceUpdate, StartRequest, EventRequest):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    out["DeviceCreate"] = out.pop("Device")
    return out


SPEED = {
    "type": "object",
    "required": ["speed"],
    "properties": {"speed": {"type": "number", "minimum": MIN_SPEED, "maximum": MAX_SPEED}},
    "additionalProperties": False,
}
BODIES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("post", "/api/v1/devices"): ("application/json", _ref("DeviceCreate")),
    ("put", "/api/v1/devices/{device_id}"): ("application/json", _ref("DeviceUpdate")),
    ("post", "/api/v1/devices/{device_id}/command"): ("application/json", _ref("Command")),
    ("post", "/api/v1/simulation/speed"): ("application/json", SPEED),
    ("post", "/api/v1/simulation/start"): ("application/json", _ref("StartRequest")),
    ("post", "/api/v1/simulation/events"): ("application/json", _ref("EventRequest")),
    ("post", "/api/v1/scenarios/validate"): ("application/yaml", {"type": "string"}),
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
}
"""Success responses by (method, path); the other /simulation routes answer with the Status."""
_NUMBER_OR_NULL = {"type": ["number", "null"]}
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {"type": "string"},
            "issues": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Command": {
        "type": "object",
        "required": ["command"],
        "properties": {
            "command": {
                "type": "string",
                "enum": [
                    "enable",
                    "disable",
                    "set_online",
                    "set_offline",
                    "set_power",
                    "clear_override",
                    "set_interval",
                    "reset_energy",
                    "inject_fault",
                    "clear_fault",
                ],
            },
            "params": {"type": "object"},
            "id": {"type": "string", "maxLength": 128},
        },
        "additionalProperties": False,
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
            "kind": {"type": "string"},
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
        "properties": {
            "device_id": {"type": "string"},
            "timestamp": {"type": "string"},
            "power": {"type": "number"},
            "voltage": {"type": "number"},
            "current": {"type": "number"},
            "energy": {"type": "number"},
            "status": {"type": "string", "enum": ["online", "offline"]},
            "enabled": {"type": "boolean"},
            "seq": {"type": "integer"},
        },
    },
    "Status": {
        "type": "object",
        "required": ["running"],
        "properties": {
            "running": {"type": "boolean"},
            "paused": {"type": "boolean"},
            "scenario": {"type": "object"},
            "clock": {"type": "string", "enum": ["virtual", "accelerated", "realtime"]},
            "speed": _NUMBER_OR_NULL,
            "sim_time": {"type": "number"},
            "timestamp": {"type": "string"},
            "devices": {"type": "object"},
            "mqtt": {"type": "object"},
            "generated": {"type": "integer"},
            "delivered": {"type": "integer"},
            "buffered": {"type": "integer"},
            "dropped": {"type": "integer"},
            "commands": {"type": "object"},
            "connections": {"type": "integer"},
            "lag_ms": {"type": "object"},
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
            "devices": {"type": "array", "items": {"type": "object"}},
            "events": {"type": "array", "items": {"type": "object"}},
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
    "Health": {
        "type": "object",
        "required": ["status", "mqtt"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "stopped"]},
            "mqtt": {"type": "object"},
            "sim_time": _NUMBER_OR_NULL,
        },
    },
    **_model_schemas(),
}


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    """OpenAPI 3.1 for `routes` (only the JSON API and ops routes, not the page itself)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route) or route.path in ("/", "/docs", "/openapi.json"):
            continue
        doc = inspect.getdoc(route.endpoint) or ""
        summary, _, description = doc.partition("\n")
        for method in sorted(m.lower() for m in (route.methods or set()) - {"HEAD"}):
            status, schema = RESPONSES.get((method, route.path), ("200", _ok_schema(route.path)))
            ok: dict[str, Any] = {"description": "OK"}
            if status != "204":
                ok["content"] = {_media(route.path): {"schema": schema} if schema else {}}
            operation: dict[str, Any] = {
                "summary": summary,
                "operationId": f"{method}_{route.name}",
                "responses": {status: ok, **_errors(route.path, method)},
            }
            if description.strip():
                operation["description"] = description.strip()
            parameters = [
                {"name": name, "in": "path", "required": True,
                 "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}
                for name in ("device_id", "name") if "{" + name + "}" in route.path
            ]  # fmt: skip
            if parameters:
                operation["parameters"] = parameters
            if (method, route.path) in BODIES:
                media, body = BODIES[(method, route.path)]
                operation["requestBody"] = {"required": True, "content": {media: {"schema": body}}}
            if route.path != "/health":
                operation["security"] = [{"bearer": []}, {}]
            paths.setdefault(route.path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "iot-mock", "version": "1", "description": "Control plane of the iot-mock simulator."},
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _ok_schema(path: str) -> dict[str, Any]:
    if path.startswith("/api/v1/simulation/"):
        return _ref("Status")
    if path == "/metrics":
        return {"type": "string"}
    return {}


def _errors(path: str, method: str) -> dict[str, Any]:
    """The error responses a route can give, each an Error."""
    codes = {"400": "Bad request", "401": "Missing or wrong token", "404": "Not found", "409": "Conflict",
             "413": "Body too large", "422": "Invalid value"}  # fmt: skip
    error = {"content": {"application/json": {"schema": ERROR}}}
    return {code: {"description": text, **error} for code, text in codes.items()}


def _media(path: str) -> str:
    if path == "/metrics":
        return "text/plain"
    return "text/event-stream" if path.endswith("/stream") else "application/json"


async def openapi(request: Request) -> Response:
    """The OpenAPI document."""
    return JSONResponse(document(request.app.routes))


DOCS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>iot-mock API</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:2rem;max-width:60rem}code{background:#eef;padding:0 .3em}
h2{font-size:1rem;margin:1.2rem 0 .2rem}.m{font-weight:bold;display:inline-block;width:4rem}</style></head>
<body><h1>iot-mock API</h1><p>From <a href="/openapi.json">/openapi.json</a>; no external assets.</p>
<div id="ops"></div><script>
fetch("/openapi.json").then(r => r.json()).then(doc => {
  const out = document.getElementById("ops");
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    const h = document.createElement("h2");
    h.innerHTML = `<span class="m">${method.toUpperCase()}</span><code></code>`;
    h.querySelector("code").textContent = path;
    const p = document.createElement("p"); p.textContent = op.summary + (op.description ? " " + op.description : "");
    out.append(h, p);
  }
});
</script></body></html>"""


async def docs(request: Request) -> Response:
    """A docs page that renders /openapi.json without network access."""
    return HTMLResponse(DOCS_PAGE)


OPENAPI_ROUTES = [Route("/openapi.json", openapi, methods=["GET"]), Route("/docs", docs, methods=["GET"])]
