"""Field types shared by the scenario format, the commands and the API: durations, ids, targets, times.

Each carries its own validation and JSON Schema, so a duration or a target reads the same in a
scenario file, a command's parameters and a request body.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from engine.contract.topics import ID_PATTERN
from engine.model.specs import Kind
from engine.scenario.durations import DURATION_PATTERN, parse_duration


class Strict(BaseModel):
    """A part of a scenario file: unknown fields are mistakes, and a validated part never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"kind": "hvac"}]})

    kind: Kind = Field(description="The kind of device targeted.")


class TagTarget(BaseModel):
    """Every device that has one tag (in its `tags`), those created at run time included."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"tag": "noisy"}]})

    tag: str = Field(pattern=ID_PATTERN, description="The tag of the devices targeted.")


Target = Annotated[
    str | list[str] | KindTarget | TagTarget,
    Field(description="A device id, a list of ids, {kind: K}, {tag: NAME}, or 'all'."),
]

_PERIODS = {"s": 1.0, "min": 60.0, "h": 3600.0, "hour": 3600.0, "d": 86400.0, "day": 86400.0, "week": 604800.0}
RATE_PATTERN = r"^\d+(\.\d+)?/(s|min|h|hour|d|day|week|(\d+(\.\d+)?(ms|d|h|m|s))+)$"
MAX_RATE = 1.0
"""Arrivals per second at most: a rate's occurrences are journaled one by one."""


def parse_rate(value: object) -> float:
    """Arrivals per second in `value`: a count per period, as in '3/day', '10/min' or '1/2h'; raises ValueError."""
    usage = "must be a rate like '3/day', '1/h', '2/week', '10/min' or '1/30m'"
    if not isinstance(value, str) or not re.match(RATE_PATTERN, value.strip().lower()):
        raise ValueError(f"{usage}, got {value!r}")
    count, period = value.strip().lower().split("/")
    seconds = _PERIODS[period] if period in _PERIODS else parse_duration(period)
    if float(count) <= 0 or seconds <= 0:
        raise ValueError(f"must be a positive rate, got {value!r}")
    rate = float(count) / seconds
    if rate > MAX_RATE:
        raise ValueError(f"must be at most 1/s (one arrival a second), got {value!r}")
    return rate


Rate = Annotated[
    float,
    BeforeValidator(parse_rate),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": RATE_PATTERN,
            "description": (
                "Seeded Poisson arrivals: a mean count per period, '3/day', '1/h', '2/week', '10/min' or "
                "'1/30m' (at most 1/s); drawn from the run's seed, the same in every clock mode and shard."
            ),
        }
    ),
]
"""A mean rate of random arrivals, in arrivals per second."""


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
