"""The devices of a scenario file (`devices:`, a recorded device change): one model for every kind.

Kind-specific fields (a replay's `csv`, an industrial line's `shifts`) are checked by the model's
validator, so that a misplaced field names the kind it belongs to.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from engine.contract.topics import ID_PATTERN
from engine.model.profiles import shift_profile_name
from engine.model.specs import Kind
from engine.scenario.fields import Duration, Interval, Strict

Tag = Annotated[str, Field(pattern=ID_PATTERN, description="A device tag.")]


class Inrush(Strict):
    """A motor's starting current: `factor` times its draw for `duration`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"factor": 6, "duration": "3s"}]})

    factor: float = Field(5.0, gt=1, le=20, description="Multiplier of the draw while it lasts.")
    duration: Duration = Field(2.0, gt=0, le=600, description="How long the extra draw lasts.")


Header = Annotated[str, Field(min_length=1, max_length=100)]


class ReplayColumns(Strict):
    """Which header of a replay's CSV holds each value, for files whose headers are not ours."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"timestamp": "time", "power": "kw", "voltage": "volts", "current": "amps"}]}
    )

    timestamp: Header = Field("timestamp", description="The rows' date-time: ISO 8601, with an offset or Z, or local.")
    power: Header = Field("power", description="Active power (kW).")
    voltage: Header | None = Field(
        None, description="Voltage (V); default: a `voltage` column when the file has one, else the site's."
    )
    current: Header | None = Field(
        None, description="Current (A); default: a `current` column when the file has one, else from the power."
    )


class Device(Strict):
    """One simulated energy meter; everything but `id` and `kind` has a realistic default."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [  # one per kind at least, every field in one of them; the actions' examples target these ids
                {"id": "ac", "kind": "hvac", "name": "Building A HVAC", "location": "Roof", "rated_kw": 25,
                 "interval": "10s", "setpoint_c": 21, "deadband_c": 3, "tags": ["noisy"]},
                {"id": "meter-1", "kind": "hvac", "inrush": {"factor": 6, "duration": "3s"}, "buffer": 600},
                {"id": "meter-2", "kind": "lighting", "profile": "office-lighting", "noise": 0.05,
                 "voltage_noise": 0.01},
                {"id": "lights", "kind": "lighting", "behaviour": False},
                {"id": "rack-01", "kind": "server", "power_factor": 0.99, "phases": 1, "interval": "1s"},
                {"id": "rack-07", "kind": "server", "register_kwh": 99999.999, "energy_start_kwh": 99990},
                {"id": "line-1", "kind": "industrial", "shifts": 2, "days": 6, "trip_current_a": 250},
                {"id": "kitchen", "kind": "appliance", "inrush": False},
                {"id": "main-meter", "kind": "replay", "csv": "history.csv", "loop": "day", "interpolation": "hold",
                 "scale": 0.5, "columns": {"timestamp": "time", "power": "kw", "voltage": "volts", "current": "amps"}},
            ]
        }
    )  # fmt: skip

    id: str = Field(pattern=ID_PATTERN, description="Unique id, also the MQTT topic segment.")
    kind: Kind = Field(description="What the meter measures; sets the default behaviour.")
    name: str = Field("", max_length=200, description="Human name; defaults to the id.")
    location: str = Field("", max_length=200, description="Where the device is, free text.")
    rated_kw: float | None = Field(
        None, gt=0, le=100_000, description="Rated active power (kW); the kind's default if omitted."
    )
    profile: str | None = Field(
        None, description="Name of a profile in `profiles`, or a built-in one; the kind's default if omitted."
    )
    interval: Interval = Field(10.0, description="Time between two readings.")
    noise: float | None = Field(
        None,
        ge=0,
        le=1,
        description=(
            "Power noise, a fraction: 0.1 means +-10 % around the curve, wandering slowly with the kind's time "
            "constant; the kind's default if omitted (0.02 for lighting, 0.1 for the others)."
        ),
    )
    voltage_noise: float = Field(0.02, ge=0, le=0.2, description="Voltage noise, a fraction of nominal.")
    power_factor: float | None = Field(None, gt=0, le=1, description="Power factor; the kind's default if omitted.")
    phases: Literal[1, 3] | None = Field(None, description="Phases metered; the site's if omitted.")
    behaviour: bool = Field(
        True,
        description=(
            "Simulate the kind's discrete behaviour: compressor cycling (hvac), zone switching "
            "(lighting), batch jobs (server), micro-stoppages (industrial), thermostat cycling (appliance)."
        ),
    )
    tags: list[Tag] = Field(
        default_factory=list, max_length=32, description="Labels an event can target with {tag: NAME}."
    )
    buffer: int = Field(
        0,
        ge=0,
        le=1_000_000,
        description=(
            "Readings the meter stores while it cannot communicate, and forwards (oldest first) when the "
            "link returns; when full, the oldest are dropped at the meter. 0: nothing is stored."
        ),
    )
    register_kwh: float | None = Field(
        None, gt=0, le=1e12, description="Size of the energy register (e.g. 99999.999): the energy wraps modulo it."
    )
    energy_start_kwh: float = Field(0.0, ge=0, le=1e12, description="The energy register's value at the start.")
    trip_current_a: float | None = Field(
        None, gt=0, le=1e6, description="The breaker trips (power and current 0) when the line current exceeds it."
    )
    inrush: Inrush | Literal[False] | None = Field(
        None,
        description=(
            "Extra draw at start, after an outage and after enable; on by default for hvac and industrial "
            "({factor: 5, duration: 2s}), false turns it off."
        ),
    )
    shifts: Literal[1, 2, 3] | None = Field(
        None,
        description=(
            "industrial: shifts a day (1: 06-14, 2: 06-22, 3: around the clock), a generated profile "
            "'industrial-<shifts>x<days>'; with `days` alone, 2; the kind's profile if both are omitted."
        ),
    )
    days: Literal[5, 6, 7] | None = Field(
        None,
        description="industrial: working days a week from Monday (5, 6 or 7), the others at standby; with `shifts`, 5.",
    )

    setpoint_c: float | None = Field(
        None, ge=5, le=35, description="hvac: indoor temperature it holds with the site's weather (C); 22 if omitted."
    )
    deadband_c: float | None = Field(
        None,
        ge=0,
        le=20,
        description="hvac: no heating nor cooling within setpoint_c +- deadband_c / 2 (C); 4 if omitted.",
    )

    csv: str | None = Field(
        None,
        max_length=255,
        description=(
            "replay (required): a CSV file of recorded readings in the scenario's folder, with a header and "
            "columns `timestamp` and `power` (kW), optionally `voltage` (V) and `current` (A); timestamps with "
            "an offset or Z, or local in the scenario's timezone; rows in increasing time."
        ),
    )
    columns: ReplayColumns | None = Field(None, description="replay: the CSV's headers, when they are not ours.")
    loop: Literal["day", "week"] | None = Field(
        None,
        description=(
            "replay: the history loops by whole weeks (weekday and time of day kept: a Monday plays on "
            "Mondays) or whole days (time of day kept); week if omitted. The file must cover one at least."
        ),
    )
    interpolation: Literal["linear", "hold"] | None = Field(
        None, description="replay: between two rows, linear or the earlier row held; linear if omitted."
    )
    scale: float | None = Field(
        None,
        gt=0,
        le=1e6,
        description=(
            "replay: factor on the recorded power and current; if omitted with a `rated_kw`, the one that "
            "makes the history's peak that rating, else 1. The rating is the scaled peak if omitted."
        ),
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Device:
        replay_fields = [
            name for name in ("csv", "columns", "loop", "interpolation", "scale") if getattr(self, name) is not None
        ]
        if self.kind != "replay" and replay_fields:
            raise ValueError(f"{', '.join(replay_fields)}: for replay devices only")
        if self.kind == "replay" and self.csv is None:
            raise ValueError("a replay device needs `csv`: the file of readings it plays")
        if self.kind == "replay" and self.profile is not None:
            raise ValueError("a replay device plays its csv: it takes no profile")
        if self.kind != "industrial" and (self.shifts is not None or self.days is not None):
            raise ValueError("shifts and days are for industrial devices")
        if self.kind != "hvac" and (self.setpoint_c is not None or self.deadband_c is not None):
            raise ValueError("setpoint_c and deadband_c are for hvac devices")
        if self.shifts is not None or self.days is not None:
            shifted = shift_profile_name(self.shifts or 2, self.days or 5)
            if self.profile is not None and self.profile != shifted:
                raise ValueError(f"give either profile or shifts/days (these shifts and days are profile {shifted!r})")
        if self.register_kwh is not None and self.energy_start_kwh >= self.register_kwh:
            raise ValueError("energy_start_kwh must be below register_kwh")
        return self
