"""A command's one path from bytes to the simulation, with its counts, for both transports (MQTT and REST).

The envelope itself is read by `engine.contract.envelope`, the one owner of the contract's bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.contract.envelope import Answer, BadCommand, read_envelope
from engine.errors import CommandError

CommandHandler = Callable[[str, str, object], None]
"""Applies (device id, command, params) to the simulation; raises CommandError."""


def apply(handler: CommandHandler, device_id: str, payload: bytes, *, max_bytes: int, counts: dict[str, int]) -> Answer:
    """Read one command and apply it through `handler`, counting it; a CommandError becomes the answer's error.

    Any other exception is a bug: it is counted as rejected and raised for the caller to report.
    """
    counts["received"] += 1
    request_id: str | None = None
    command: str | None = None
    try:
        envelope = read_envelope(device_id, payload, max_bytes)
        request_id, command = envelope.request_id, envelope.command
        handler(device_id, envelope.command, envelope.params)
    except BadCommand as exc:
        counts["rejected"] += 1
        return Answer(exc.request_id, exc.command, exc)
    except CommandError as exc:
        counts["rejected"] += 1
        return Answer(request_id, command, exc)
    except Exception:
        counts["rejected"] += 1
        raise
    counts["applied"] += 1
    return Answer(request_id, command, None)


def new_counts() -> dict[str, int]:
    """Zero counts of every outcome."""
    return {"received": 0, "applied": 0, "rejected": 0}
