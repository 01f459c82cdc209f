"""The scenario file format, version 1: pydantic models that validate and document every field.

`iot-mock schema` exports these models as JSON Schema, so each field carries a description.
Cross-field rules (unknown profiles, unknown targets, duplicate ids) live in `compile.py`
so that each problem can be reported with its own location.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from zoneinfo import ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

from engine.contract.topics import ID_PATTERN
from engine.model.zones import site_zone
from engine.scenario.device_format import Device
from engine.scenario.events import RECORDED_ACTIONS, ScheduledEvent
from engine.scenario.fields import Duration, Strict

SUPPORTED_VERSIONS = (1,)
Fraction = Annotated[float, Field(ge=0, le=1.5)]
DEFAULT_START = datetime(2025, 1, 6)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class Weather(Strict):
    """A seeded synthetic climate (a pure function of sim time and seed) that HVAC units answer to."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"mean_c": 11, "daily_swing_c": 8, "seasonal_swing_c": 9}, {"csv": "weather.csv"}]
        }
    )

    mean_c: float = Field(11.0, ge=-50, le=50, description="Yearly mean outdoor temperature (C).")
    daily_swing_c: float = Field(
        8.0, ge=0, le=30, description="Amplitude of the daily cycle (C): warmest at 15:00, coldest at 03:00 local."
    )
    seasonal_swing_c: float = Field(
        9.0, ge=0, le=40, description="Amplitude of the yearly cycle (C): coldest in mid-January."
    )
    csv: str | None = Field(
        None,
        max_length=255,
        description=(
            "Instead of the synthetic climate: a CSV file in the scenario's folder with columns `time` (local "
            "date-time, e.g. 2025-08-04T13:00) and `temperature_c`, rows in increasing time (hourly, say); "
            "linear between rows, the first and last values held before and after them."
        ),
    )

    @model_validator(mode="after")
    def _one_source(self) -> Weather:
        synthetic = self.model_fields_set & {"mean_c", "daily_swing_c", "seasonal_swing_c"}
        if self.csv is not None and synthetic:
            raise ValueError(f"give either csv or the synthetic climate ({', '.join(sorted(synthetic))}), not both")
        return self


class Site(Strict):
    """The electrical supply every device of the site shares, and its weather."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"voltage": 120, "phases": 1, "frequency": 60, "weather": {"mean_c": 14}}]}
    )

    voltage: float = Field(230.0, gt=0, le=1000, description="Nominal phase-to-neutral RMS voltage (V).")
    phases: Literal[1, 3] = Field(3, description="Number of phases of the supply.")
    frequency: Literal[50, 60] = Field(50, description="Grid frequency (Hz).")
    weather: Weather | None = Field(
        None,
        description=(
            "Outdoor temperature: HVAC load then follows the gap to each unit's setpoint (cooling above, "
            "heating below); without it, HVAC follows its profile alone."
        ),
    )


Curve = Annotated[
    list[Fraction] | dict[str, Fraction],
    Field(
        description=(
            "A daily curve of fractions of rated power: 24 hourly values (00:00 to 23:00), "
            "or points such as {'07:30': 0.2, '08:00': 0.9}; linear between points."
        )
    ),
]


class Profile(Strict):
    """A daily load curve per kind of day, following local time in the scenario's timezone."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "weekday": [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.6, 0.9, 0.9, 0.9, 0.9,
                                0.7, 0.9, 0.9, 0.9, 0.9, 0.6, 0.2, 0.2, 0.2, 0.05, 0.05, 0.05],
                    "saturday": {"00:00": 0.05, "09:00": 0.3, "13:00": 0.3, "13:30": 0.05},
                    "sunday": {"00:00": 0.05},
                }
            ]
        }
    )  # fmt: skip

    weekday: Curve = Field(description="Monday to Friday.")
    saturday: Curve | None = Field(None, description="Saturday; defaults to sunday, then weekday.")
    sunday: Curve | None = Field(None, description="Sunday and holidays; defaults to saturday, then weekday.")

    @field_validator("weekday", "saturday", "sunday")
    @classmethod
    def _check_curve(cls, curve: list[float] | dict[str, float] | None) -> list[float] | dict[str, float] | None:
        if isinstance(curve, list) and len(curve) != 24:
            raise ValueError(f"needs 24 hourly values, got {len(curve)}")
        if isinstance(curve, dict):
            if not curve:
                raise ValueError("needs at least one 'HH:MM' point")
            bad = [key for key in curve if not _HHMM.match(key)]
            if bad:
                raise ValueError(f"points must be 'HH:MM' from 00:00 to 23:59, got {bad[0]!r}")
        return curve


Event = ScheduledEvent  # the name a scenario file gives it
"""One entry of `events:` (see `engine.scenario.actions`)."""

DeviceId = Annotated[str, Field(pattern=ID_PATTERN)]
RecordedAt = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, description="Seconds since the start, exactly as the live run applied it."),
]


class DeviceChange(Strict):
    """A device created (the API's POST) or given another spec (PUT) during the session, with its full spec."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"at": 61.25, "action": "create_device", "device": {"id": "rack-9", "kind": "server"}}]
        }
    )

    at: RecordedAt
    action: Literal["create_device", "update_device"] = Field(description="What happened.")
    device: Device = Field(description="The device, every field as the live run had it.")


class DeviceTargeted(Strict):
    """A device deleted during the session, or read once outside its schedule (the API's `simulate`)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"at": 90.0, "action": "delete_device", "target": ["ac"]}]}
    )

    at: RecordedAt
    action: Literal["delete_device", "simulate"] = Field(description="What happened.")
    target: list[DeviceId] = Field(min_length=1, max_length=1, description="The device's id.")


if TYPE_CHECKING:
    SessionChange = Any
else:
    SessionChange = Annotated[
        Union[(*RECORDED_ACTIONS, DeviceChange, DeviceTargeted)],
        Field(discriminator="action"),
    ]
"""One change a live session applied: an action (a command, an injected event) or a device change."""


class Session(Strict):
    """What a recorded live session added over its scenario (`GET /api/v1/simulation/recording`, `iot-mock
    serve --record`): its shard, the API's stored devices it started with, and every external change it
    applied, each replayed at its exact instant, after the timeline's actions of that instant and before
    the readings due at it, as the live run applied it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"start": "2025-08-04T08:30:00+00:00", "shard": "1/2", "removed": ["mock-kitchen-001"],
                 "devices": [{"id": "rack-9", "kind": "server", "rated_kw": 30}],
                 "changes": [{"at": 12.3456789, "action": "set_power", "target": ["mock-hvac-001"], "kw": 5.0},
                             {"at": 40.1, "action": "create_device", "device": {"id": "rack-10", "kind": "server"}},
                             {"at": 90.0, "action": "delete_device", "target": ["rack-10"]}]},
            ]
        }
    )  # fmt: skip

    start: datetime | None = Field(
        None,
        description="The session's start, with its UTC offset (naive: local in `timezone`): the scenario is moved "
        "there, its events with it (as `serve --start` moves it); the file's own `start` if omitted.",
    )
    shard: str | None = Field(
        None, pattern=r"^[0-9]+/[0-9]+$", description="K/N: the session ran shard K of N of the scenario's devices."
    )
    devices: list[Device] = Field(
        default_factory=list,
        description="Devices the API's store laid over the scenario when the session started (after the shard): "
        "an id of the scenario takes this spec, a new id is appended.",
    )
    removed: list[DeviceId] = Field(
        default_factory=list, description="Ids of the scenario's devices the API's store had deleted at the start."
    )
    changes: list[SessionChange] = Field(
        default_factory=list, max_length=1_000_000, description="Every change applied, in the order applied."
    )

    @field_validator("shard")
    @classmethod
    def _check_shard(cls, shard: str | None) -> str | None:
        if shard is not None:
            index, count = (int(part) for part in shard.split("/"))
            if not 1 <= index <= count:
                raise ValueError(f"must be K/N with 1 <= K <= N, got {shard!r}")
        return shard

    @field_validator("changes")
    @classmethod
    def _in_order(cls, changes: list[Any]) -> list[Any]:
        for i in range(1, len(changes)):
            if changes[i].at < changes[i - 1].at:
                raise ValueError(f"changes[{i}].at must not be before changes[{i - 1}].at ({changes[i - 1].at!r})")
        return changes


class Scenario(Strict):
    """A named, versioned description of a site, its devices and what happens to them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": 1, "name": "office-day", "revision": 2, "description": "An office day, outage at 14:00",
                    "start": "2025-08-04T00:00:00", "timezone": "Europe/Berlin", "duration": "1d", "seed": 42,
                    "stagger": True, "site": {"voltage": 230, "phases": 3, "frequency": 50},
                    "holidays": ["2025-08-15"],
                    "profiles": {"office-lighting": {"weekday": {"00:00": 0.05, "07:30": 0.2, "08:00": 0.9,
                                                                 "18:00": 0.9, "19:00": 0.1}}},
                    "devices": [{"id": "hvac-1", "kind": "hvac"}],
                    "events": [{"at": "+14:00", "action": "outage", "target": "hvac-1", "duration": "30m"}],
                },
                {
                    "version": 1, "name": "office-week-quiet", "extends": "office-week",
                    "remove": ["office-kitchen"], "events": [{"at": "+1d10:00", "action": "disable",
                                                              "target": {"kind": "lighting"}, "duration": "1h"}],
                },
                {
                    "version": 1, "name": "default-recording", "extends": "default", "duration": 120.5, "seed": 7,
                    "session": {"start": "2025-08-04T08:30:00+00:00",
                                "changes": [{"at": 61.25, "action": "outage", "target": ["mock-hvac-001"],
                                             "duration": 30.0}]},
                },
            ]
        }
    )  # fmt: skip

    version: Literal[1] = Field(description="File-format version; 1 is the only one so far.")
    extends: str | None = Field(
        None,
        max_length=255,
        description=(
            "A base to build on: a named scenario (office-week) or a path relative to this file (./base.yaml; "
            "not in an uploaded scenario). Devices with an id of the base take the fields given here over "
            "the base's, new ids are added after the base's, profiles merge by name, events are appended, "
            "any other field replaces the base's; `iot-mock render` shows the result."
        ),
    )
    remove: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default_factory=list, description="Ids of devices of the base (`extends`) to leave out."
    )
    name: str = Field(pattern=ID_PATTERN, description="The scenario's name.")
    revision: int = Field(1, ge=1, description="The scenario's own edition; bump it when it changes.")
    description: str = Field("", max_length=2000, description="What the scenario shows.")
    start: datetime = Field(
        DEFAULT_START, description="Local start date-time in `timezone` (default: Monday 2025-01-06)."
    )
    timezone: str = Field("UTC", description="IANA timezone of the site, e.g. Europe/Berlin; DST-aware.")
    duration: Duration = Field(86400.0, description="How long a run lasts in simulated time.")
    seed: int = Field(0, ge=0, lt=2**63, description="Seed of every random stream of the run.")
    stagger: bool = Field(
        False,
        description=(
            "Spread each device's readings over its interval by a seeded offset (to the millisecond), "
            "as unsynchronised real meters do; off, every device reads at the start and each interval after."
        ),
    )
    site: Site = Field(default_factory=Site, description="The site's supply.")
    holidays: list[date] = Field(default_factory=list, description="Local dates treated as sundays.")
    profiles: dict[str, Profile] = Field(default_factory=dict, description="Named daily load curves.")
    devices: list[Device] = Field(min_length=1, max_length=100_000, description="The meters.")
    events: list[Event] = Field(default_factory=list, description="What happens, and when.")
    session: Session | None = Field(
        None, description="A recorded live session replayed over the scenario (written by the recording, not by hand)."
    )

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, name: str) -> str:
        try:
            site_zone(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown timezone; use an IANA name such as 'Europe/Berlin'") from None
        return name

    @field_validator("start")
    @classmethod
    def _naive_local(cls, start: datetime) -> datetime:
        if start.tzinfo is not None:
            raise ValueError("give a local time without offset; the timezone field says where")
        return start

    @field_validator("duration")
    @classmethod
    def _check_duration(cls, duration: float) -> float:
        if duration <= 0:
            raise ValueError("must be a positive duration")
        return duration


class _InWrittenOrder(GenerateJsonSchema):
    """pydantic's generator, except that examples keep the order of their keys (it sorts the others)."""

    def sort(self, value: JsonSchemaValue, parent_key: str | None = None) -> JsonSchemaValue:
        ordered: JsonSchemaValue = self._sorted(value, parent_key)
        return ordered

    def _sorted(self, value: Any, parent_key: str | None) -> Any:
        if parent_key == "examples":
            return value
        if isinstance(value, dict):
            keys = value if parent_key in ("properties", "default") else sorted(value)
            return {key: self._sorted(value[key], key) for key in keys}
        if isinstance(value, list):
            return [self._sorted(item, parent_key) for item in value]
        return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format (`iot-mock schema`, docs/scenario.schema.json)."""
    schema: dict[str, Any] = Scenario.model_json_schema(schema_generator=_InWrittenOrder)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "iot-mock scenario, version 1"
    return schema
