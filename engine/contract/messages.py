"""The JSON bodies of the contract that are not readings: device status and command response.

Compact JSON (no spaces), fields in the contract's order: a status is
`{"device_id","timestamp","status","enabled","reason"?}`, a response
`{"id","command","ok","error"?,"timestamp"}`. Timestamps are given already formatted (simulated
time, see `readings.Encoder.timestamp`).
"""

from __future__ import annotations

import json
from typing import Any

from engine.errors import CommandError
from engine.model.readings import StatusChange


def status_body(change: StatusChange, timestamp: str) -> dict[str, Any]:
    """A device's status as the contract's JSON object."""
    body: dict[str, Any] = {
        "device_id": change.device_id,
        "timestamp": timestamp,
        "status": change.status,
        "enabled": change.enabled,
    }
    if change.reason:
        body["reason"] = change.reason
    return body


def status_payload(change: StatusChange, timestamp: str) -> bytes:
    """The retained status message's payload."""
    return compact(status_body(change, timestamp))


def response_body(
    request_id: str | None, command: str | None, error: CommandError | None, timestamp: str
) -> dict[str, Any]:
    """A command's response as the contract's JSON object (REST returns it, MQTT publishes it)."""
    body: dict[str, Any] = {"id": request_id, "command": command, "ok": error is None}
    if error is not None:
        body["error"] = error.reason
    body["timestamp"] = timestamp
    return body


def compact(body: dict[str, Any]) -> bytes:
    """JSON without spaces, as every message of the contract is written."""
    return json.dumps(body, separators=(",", ":")).encode()
