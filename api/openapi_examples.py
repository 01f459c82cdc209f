"""Examples of the OpenAPI document: one per response shape and request body, and one per action.

Each value is what the API really sends or accepts (tests/api/test_openapi_examples.py validates
every example against its schema and sends each request example to a live app). The command and
event examples are made from the vocabulary's own examples (`engine.scenario.actions`), so a new
action shows in /docs with its example at once.
"""

from __future__ import annotations

from typing import Any, get_args

import yaml

from engine.scenario.actions import ACTIONS, FAULT_NAMES

_WHEN = ("at", "rate", "from", "until")


def _events() -> dict[str, dict[str, Any]]:
    """Each action's example event (YAML flow style), parsed: `{action: {action, target?, params...}}`."""
    out = {}
    for cls in ACTIONS:
        name = get_args(cls.model_fields["action"].annotation)[0]
        event = yaml.safe_load(cls.example)
        out[name] = {key: value for key, value in event.items() if key not in _WHEN}
    return out


EVENTS = _events()


def _anywhere(target: object) -> object:
    return target if isinstance(target, dict) and "kind" in target else "all"


DEVICE: dict[str, Any] = {
    "id": "mock-hvac-001", "kind": "hvac", "name": "HVAC System", "location": "Building A", "rated_kw": 25.0,
    "profile": "hvac", "interval": 10.0, "power_factor": 0.85, "phases": 3, "status": "online", "enabled": True,
    "override_kw": None, "faults": {name: name == "brownout" for name in FAULT_NAMES},
}  # fmt: skip
READING: dict[str, Any] = {
    "device_id": "mock-hvac-001", "timestamp": "2025-08-09T16:30:00Z", "power": 25.3, "voltage": 239.8,
    "current": 38.9, "energy": 156.7, "status": "online", "enabled": True, "seq": 1042,
}  # fmt: skip
STATUS: dict[str, Any] = {
    "running": True, "paused": False, "scenario": {"name": "default", "revision": 1}, "clock": "accelerated",
    "speed": 10.0, "sim_time": 3600.0, "timestamp": "2025-01-06T01:00:00Z",
    "devices": {"total": 5, "online": 5, "enabled": 5},
    "mqtt": {"connected": True, "broker": "mqtt://127.0.0.1:1883", "topic_prefix": "energy"},
    "generated": 1800, "delivered": 1800, "buffered": 0, "dropped": 0, "undelivered": 0,
    "behind_seconds": 0.0, "falling_behind": False, "commands": {"received": 3, "applied": 2, "rejected": 1},
    "connections": 1, "lag_ms": {"p50": 1.2, "p99": 4.8, "max": 9.6},
}  # fmt: skip
HISTORY_EVENT = {"t": 3600.0, "action": "outage", "phase": "start", "source": "command", "targets": ["mock-hvac-001"],
                 "count": 1, "params": {}, "duration": 1800.0, "occurrence": 3}  # fmt: skip
RESPONSES: dict[str, Any] = {
    "Device": DEVICE,
    "Reading": READING,
    "Status": STATUS,
    "CommandResponse": {"id": "c-42", "command": "set_power", "ok": True, "timestamp": "2025-08-09T16:30:00Z"},
    "ScenarioSummary": {"name": "office-week", "revision": 3, "description": "Office building, one week",
                        "devices": 6},
    "Scenario": {
        "name": "office-week", "revision": 3, "description": "Office building, one week", "timezone": "Europe/Berlin",
        "duration": 604800.0, "seed": 42,
        "devices": [{"id": "mock-hvac-001", "kind": "hvac", "name": "Building A HVAC", "rated_kw": 25.0}],
        "events": [{"at": 136800.0, "action": "outage", "targets": ["mock-hvac-001"], "duration": 1800.0}],
    },
    "Validation": {"valid": True, "name": "plant", "revision": 1, "description": "", "devices": 1},
    "EventResult": {"action": "outage", "targets": ["mock-hvac-001"], "at": 3600.0, "duration": 1800.0},
    "Health": {"status": "ok", "mqtt": {"connected": True, "broker": "mqtt://127.0.0.1:1883"}, "sim_time": 3600.0},
    "History": {
        "step": 10.0, "points": 360, "clock": {"start_epoch": 1754258400.0, "timezone": "Europe/Berlin"},
        "t": [3580.0, 3590.0, 3600.0], "totals": {"hvac": [18.2, 18.4, 0.0], "lighting": [6.1, 6.1, 6.2]},
        "devices": {"mock-hvac-001": [18.2, 18.4, 0.0]},
        "events": [HISTORY_EVENT],
    },
    "DeviceHistory": {
        "step": 10.0, "clock": {"start_epoch": 1754258400.0, "timezone": "Europe/Berlin"},
        "t": [3580.0, 3590.0, 3600.0], "power": [18.2, 18.4, 0.0], "events": [HISTORY_EVENT],
    },
}  # fmt: skip
"""A response example by component schema name."""

ERRORS: dict[str, dict[str, Any]] = {
    "400": {"detail": "body is not JSON: Expecting value: line 1 column 1 (char 0)"},
    "401": {"detail": "missing or wrong bearer token"},
    "404": {"detail": "unknown device 'nope'"},
    "409": {"detail": "no simulation is running; start one with POST /api/v1/simulation/start"},
    "413": {"detail": "body larger than 1048576 bytes"},
    "422": {"detail": "invalid body: rated_kw: Input should be greater than 0",
            "issues": [{"loc": "rated_kw", "msg": "Input should be greater than 0"}]},
    "503": {"detail": "too many scenarios are being loaded at once; retry in a few seconds"},
}  # fmt: skip
"""An error body by status."""

SCENARIO_YAML = """\
version: 1
name: plant
devices:
  - {id: line-1, kind: industrial, shifts: 2}
"""
REQUESTS: dict[str, dict[str, Any]] = {
    "DeviceCreate": {"plain": {"value": {"id": "mock-hvac-002", "kind": "hvac", "name": "Building B HVAC",
                                         "rated_kw": 30, "interval": "10s"}}},
    "DeviceUpdate": {"plain": {"value": {"name": "Building B HVAC", "rated_kw": 32.5, "interval": "30s"}}},
    "SpeedRequest": {"plain": {"value": {"speed": 10}}},
    "StartRequest": {
        "named": {"summary": "A named scenario", "value": {"scenario": "office-week", "seed": 7, "speed": 60}},
        "yaml": {"summary": "A scenario in YAML", "value": {"yaml": SCENARIO_YAML, "speed": 10}},
    },
    "Command": {
        name: {"summary": name, "value": {"command": name, "id": f"c-{i}"}
               | ({"params": params} if (params := {k: v for k, v in event.items() if k not in ("action", "target")})
                  else {})}
        for i, (name, event) in enumerate(EVENTS.items(), start=1)
    },
    # On every device, or on a kind (the vocabulary's ids are not those of the default scenario).
    "EventRequest": {name: {"summary": name, "value": {**event, "target": _anywhere(event.get("target"))}}
                     for name, event in EVENTS.items()},
}  # fmt: skip
"""Named request examples by component schema name (Swagger UI offers them in a list)."""
