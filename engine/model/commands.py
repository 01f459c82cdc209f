"""Commands a running device accepts (from MQTT or the API), validated at the boundary.

Every command is applied at the simulation's current instant and recorded in the run's applied
events, so a demo session can be replayed. Parameters are pydantic models with `extra="forbid"`:
a typo is an error that names the field.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.errors import CommandError
from engine.scenario.format import Duration, Interval

CommandName = Literal[
    "enable", "disable", "set_online", "set_offline", "set_power", "clear_override",
    "set_interval", "reset_energy", "inject_fault", "clear_fault",
]  # fmt: skip
COMMANDS: tuple[str, ...] = get_args(CommandName)
FaultName = Literal["outage", "comm_loss", "brownout", "stuck"]


class Params(BaseModel):
    """No parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SetPower(Params):
    """Override the load: `kw`, or `fraction` of the rated power; exactly one of them."""

    kw: float | None = Field(None, ge=0, le=1_000_000, description="Power in kW.")
    fraction: float | None = Field(None, ge=0, le=2, description="Fraction of the rated power.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SetPower:
        if (self.kw is None) == (self.fraction is None):
            raise ValueError("give exactly one of 'kw' or 'fraction'")
        return self


class SetInterval(Params):
    """Readings every `interval` from the next one on."""

    interval: Interval = Field(description="Time between readings, 100ms to 1d.")


class InjectFault(Params):
    """Start a fault now, for `duration` (until cleared if omitted)."""

    fault: FaultName
    duration: Duration | None = Field(None, description="How long it lasts.")
    factor: float = Field(0.85, gt=0, lt=1, description="Voltage multiplier of a brownout.")


class ClearFault(Params):
    """End a fault now: one kind, or every fault when `fault` is omitted."""

    fault: FaultName | None = None


PARAMS: dict[str, type[Params]] = {
    "set_power": SetPower,
    "set_interval": SetInterval,
    "inject_fault": InjectFault,
    "clear_fault": ClearFault,
}


def parse_params(device_id: str, command: str, params: object) -> Params:
    """Validated parameters of `command`; raises CommandError naming the problem."""
    if command not in COMMANDS:
        raise CommandError(device_id, f"unknown command {command!r}; one of: {', '.join(COMMANDS)}")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise CommandError(device_id, f"params must be an object, got {type(params).__name__}")
    model = PARAMS.get(command, Params)
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise CommandError(device_id, f"{command}: " + "; ".join(problems)) from None
