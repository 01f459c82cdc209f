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

ERROR = {"$ref": "#/components/schemas/Error"}
BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/devices/{device_id}/command": {"$ref": "#/components/schemas/Command"},
    "/api/v1/simulation/speed": {
        "type": "object",
        "required": ["speed"],
        "properties": {"speed": {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000}},
        "additionalProperties": False,
    },
}
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "string"}, "issues": {"type": "array", "items": {"type": "object"}}},
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
    "Reading": {
        "type": "object",
        "properties": {
            "device_id": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
            "power": {"type": "number"},
            "voltage": {"type": "number"},
            "current": {"type": "number"},
            "energy": {"type": "number"},
            "status": {"type": "string", "enum": ["online", "offline"]},
            "enabled": {"type": "boolean"},
            "seq": {"type": "integer"},
        },
    },
}


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    """OpenAPI 3.1 for `routes` (only the JSON API and ops routes, not the page itself)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route) or route.path in ("/", "/docs", "/openapi.json"):
            continue
        doc = inspect.getdoc(route.endpoint) or ""
        summary, _, description = doc.partition("\n")
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation: dict[str, Any] = {
                "summary": summary,
                "operationId": f"{method.lower()}_{route.name}",
                "responses": {
                    "200": {"description": "OK", "content": {_media(route.path): {}}},
                    "400": {"description": "Bad request", "content": {"application/json": {"schema": ERROR}}},
                    "401": {
                        "description": "Missing or wrong token",
                        "content": {"application/json": {"schema": ERROR}},
                    },
                    "404": {"description": "Not found", "content": {"application/json": {"schema": ERROR}}},
                    "413": {"description": "Body too large", "content": {"application/json": {"schema": ERROR}}},
                    "422": {"description": "Invalid value", "content": {"application/json": {"schema": ERROR}}},
                },
            }
            if description.strip():
                operation["description"] = description.strip()
            if "{device_id}" in route.path:
                operation["parameters"] = [
                    {"name": "device_id", "in": "path", "required": True,
                     "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}
                ]  # fmt: skip
            if route.path in BODIES:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": BODIES[route.path]}},
                }
            if route.path.endswith("/readings") or route.path.endswith("/simulate"):
                operation["responses"]["200"]["content"] = {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Reading"}}
                }
            if route.path != "/health":
                operation["security"] = [{"bearer": []}, {}]
            paths.setdefault(route.path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "iot-mock", "version": "1", "description": "Control plane of the iot-mock simulator."},
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


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
