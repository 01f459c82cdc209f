"""A command's one path from bytes to its answer, with its counts, for both transports (MQTT and REST).

The envelope itself is read by `engine.contract.envelope`, the one owner of the contract's bytes,
and the action it names by `engine.scenario.actions`, both at receipt (neither needs the
simulation); the driver applies the action later, and `settle` turns what happened into the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.contract.envelope import Answer, BadCommand, Envelope, read_envelope
from engine.errors import CommandError, IotMockError
from engine.model.actions import Action
from engine.scenario.actions import command_action


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

    def read(self, device_id: str, payload: bytes, *, max_bytes: int) -> tuple[Envelope, Action] | Answer:
        """The envelope and the action it names, or the answer to a bad one (counted as rejected)."""
        self.received += 1
        try:
            envelope = read_envelope(device_id, payload, max_bytes)
        except BadCommand as exc:
            self.rejected += 1
            return Answer(exc.request_id, exc.command, exc)
        try:
            return envelope, command_action(device_id, envelope.command, envelope.params)
        except CommandError as exc:
            self.rejected += 1
            return Answer(envelope.request_id, envelope.command, exc)

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
