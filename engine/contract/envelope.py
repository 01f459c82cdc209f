"""The command envelope, `{"command": str, "params": {...}?, "id": str?}`, read the same way from MQTT and REST.

Anyone who can publish on the broker or reach the API can send one, so the reader caps what it
parses: the payload size (checked before parsing), NaN and Infinity (refused while parsing), the
nesting depth (counted without recursion, so a payload nested thousands deep is an ordinary
rejection and never a RecursionError or a logged traceback) and the id's length. It does not cap
the parameters' values: `engine.scenario.actions.command_action` validates those per action.

A rejection keeps the request's `id` and `command` whenever they could be read, so a client can
match the error response to its request (`Answer`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.contract.messages import compact, response_body
from engine.errors import CommandError

MAX_DEPTH = 8
"""Nesting levels a command may have (the envelope object is the first)."""
MAX_ID_CHARS = 128
FIELDS = ("id", "command", "params")


class BadCommand(CommandError):
    """An envelope that cannot be read: carries the request's id and command when they were readable."""

    def __init__(self, device_id: str, reason: str, *, request_id: str | None = None, command: str | None = None):
        super().__init__(device_id, reason)
        self.request_id = request_id
        self.command = command


@dataclass(frozen=True, slots=True)
class Envelope:
    """A readable command: its request id (optional), name and raw parameters (checked per command later)."""

    request_id: str | None
    command: str
    params: object


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of one command: the response's `id` and `command`, and the error if it was rejected."""

    request_id: str | None
    command: str | None
    error: CommandError | None

    def response(self, timestamp: str) -> dict[str, Any]:
        """The response body of the contract: `{"id","command","ok","error"?,"timestamp"}`."""
        return response_body(self.request_id, self.command, self.error, timestamp)

    def payload(self, timestamp: str) -> bytes:
        """The response as the bytes published on `{prefix}/devices/{id}/responses`."""
        return compact(self.response(timestamp))


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def depth(value: object) -> int:
    """Nesting depth of a parsed JSON value (0 for a scalar), walked with a stack, not recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        level += 1
        if level > deepest:
            deepest = level
            if deepest > MAX_DEPTH:  # no need to walk the rest
                return deepest
        stack.extend((child, level) for child in children)
    return deepest


def read_envelope(device_id: str, payload: bytes, max_bytes: int) -> Envelope:
    """The envelope of a command payload; raises BadCommand with the reason (and the id and command if readable)."""
    if len(payload) > max_bytes:
        raise BadCommand(device_id, f"payload is {len(payload)} bytes; the limit is {max_bytes}")
    try:
        body = json.loads(payload, parse_constant=_reject_constant)
    except RecursionError:  # only deep nesting exhausts the parser's recursion
        raise BadCommand(device_id, f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        message = str(exc)
        raise BadCommand(device_id, message if "JSON allows" in message else f"not JSON: {message}") from None
    if not isinstance(body, dict):
        raise BadCommand(device_id, 'must be a JSON object like {"command": "disable"}')
    request_id, command, params = body.get("id"), body.get("command"), body.get("params")
    readable_id = request_id if isinstance(request_id, str) and len(request_id) <= MAX_ID_CHARS else None
    readable_command = command if isinstance(command, str) else None

    def bad(reason: str) -> BadCommand:
        return BadCommand(device_id, reason, request_id=readable_id, command=readable_command)

    if depth(body) > MAX_DEPTH:
        raise bad(f"nested deeper than {MAX_DEPTH} levels")
    if request_id is not None and readable_id is None:
        raise bad(f"id must be a string of at most {MAX_ID_CHARS} characters")
    if readable_command is None:
        raise bad("command must be a string")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise bad(f"unknown field {unknown[0]!r}; a command has id, command and params")
    return Envelope(readable_id, readable_command, params)
