"""The component schemas of the OpenAPI document (`api.openapi`): the request models', from pydantic, and
the response shapes, declared once here."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import TypeAdapter

from api.devices import DeviceUpdate
from api.scenarios import StartRequest
from engine.contract.envelope import MAX_ID_CHARS
from engine.contract.topics import ID_PATTERN
from engine.model.specs import Kind
from engine.runtime.clock import MAX_SPEED, MIN_SPEED
from engine.scenario.actions import ACTION_NAMES, ACTIONS
from engine.scenario.device_format import Device
from engine.scenario.events import TargetedAction

ERROR = {"$ref": "#/components/schemas/Error"}


def ref(name: str) -> dict[str, str]:
    """A reference to the component `name`."""
    return {"$ref": f"#/components/schemas/{name}"}


def array(name: str) -> dict[str, Any]:
    """An array of the component `name`."""
    return {"type": "array", "items": ref(name)}


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
                "params": ref(params["title"]),
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
            "issues": {"type": "array", "items": ref("Issue"), "description": "Every problem found, not the first."},
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
            "events": {"type": "array", "items": ref("HistoryEvent")},
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
            "events": {"type": "array", "items": ref("HistoryEvent")},
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
