"""Field types shared by the scenario format, the commands and the API: durations, ids, targets, times.

Each carries its own validation and JSON Schema, so a duration or a target reads the same in a
scenario file, a command's parameters and a request body.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from engine.model.specs import Kind
from engine.scenario.durations import DURATION_PATTERN, parse_duration

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": DURATION_PATTERN}, {"type": "number", "minimum": 0}],
            "description": "A duration: seconds, or units d/h/m/s/ms such as '500ms', '30s', '1h30m', '7d'.",
        }
    ),
]


def _reading_interval(interval: float) -> float:
    if not 0.1 <= interval <= 86400:
        raise ValueError(f"must be between 100ms and 1d, got {interval:g}s")
    return interval


Interval = Annotated[Duration, AfterValidator(_reading_interval)]
"""Time between two readings of a device: 100 ms to 1 day."""


class KindTarget(BaseModel):
    """Every device of one kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind = Field(description="The kind of device targeted.")


Target = Annotated[
    str | list[str] | KindTarget,
    Field(description="A device id, a list of ids, {kind: K}, or 'all'."),
]


def _no_number(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"must be a local date-time like '2025-08-05T14:00' or relative like '+90m', got {value!r}")
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


At = Annotated[
    str | datetime,
    BeforeValidator(_no_number),
    Field(
        description=(
            "When: a local date-time in the scenario's timezone ('2025-08-05T14:00'), "
            "or relative to the start ('+2d09:00', '+90m')."
        )
    ),
]
