"""The command envelope, `{"command": str, "params": {...}?, "id": str?}`, read the same way from MQTT and REST.

Anyone who can publish on the broker or reach the API can send one, so the reader caps what it
parses: the payload size (checked before parsing), NaN and Infinity (refused while parsing), the
nesting depth (counted without recursion, so a payload nested thousands deep is an ordinary
rejection and never a RecursionError or a logged traceback) and the id's length. It does not cap
the parameters' values: `engine.model.commands` validates those per command.

A rejection keeps the request's `id` and `command` whenever they could be read, so a client can
match the error response to its request. `CommandTally` is the one path of a command from bytes to
its answer, with its counts (received, applied, rejected), for both transports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.errors import CommandError, IotMockError

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
        body: dict[str, Any] = {"id": self.request_id, "command": self.command, "ok": self.error is None}
        if self.error is not None:
            body["error"] = self.error.reason
        body["timestamp"] = timestamp
        return body


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


@dataclass(frozen=True, slots=True)
class CommandCounts:
    """Commands of one transport by outcome; `received = applied + rejected` once every one is answered."""

    received: int = 0
    applied: int = 0
    rejected: int = 0


class CommandTally:
    """The two steps of a command, counted: `read` at receipt (the envelope needs no simulation), then
    `settle` with what applying it did (in the driver, later). One per transport (MQTT, REST)."""

    def __init__(self) -> None:
        self.received = 0
        self.applied = 0
        self.rejected = 0

    def counts(self) -> CommandCounts:
        return CommandCounts(self.received, self.applied, self.rejected)

    def read(self, device_id: str, payload: bytes, *, max_bytes: int) -> Envelope | Answer:
        """The envelope to apply, or the answer to an unreadable one (counted as rejected)."""
        self.received += 1
        try:
            return read_envelope(device_id, payload, max_bytes)
        except BadCommand as exc:
            self.rejected += 1
            return Answer(exc.request_id, exc.command, exc)

    def settle(self, device_id: str, envelope: Envelope, error: Exception | None) -> Answer:
        """The answer once applied: `error` None (applied), a CommandError, or the inbox's refusal
        (`Refused`: busy, or the run has ended), each counted. Any other exception is a bug: counted
        as rejected and raised for the caller to report."""
        answer = Answer(envelope.request_id, envelope.command, None)
        if error is None:
            self.applied += 1
            return answer
        self.rejected += 1
        if isinstance(error, CommandError):
            return Answer(answer.request_id, answer.command, error)
        if isinstance(error, IotMockError):  # the inbox's Refused: not about the device, but answered for it
            return Answer(answer.request_id, answer.command, CommandError(device_id, str(error)))
        raise error
