"""The vocabulary of actions: one class per action, shared by scenario events, commands and the API.

Each class validates and documents its parameters (the JSON Schema of the scenario format, the
command envelope and the OpenAPI document are generated from them) and says what it does to a
device (`start`, and `end` after its `duration` for the timed ones). A command is an action named by
`command` with its `params`; a scenario event, the API's injected event and a recorded change are an
action with when and where (`engine.scenario.events`). Adding an action is adding one class to `AnyAction`;
a new fault also adds its modifier to `engine.model.faults`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from engine.errors import CommandError
from engine.model import faults
from engine.model.actions import Action
from engine.model.device import Device
from engine.scenario.fields import Duration, Interval

BROWNOUT_FACTOR = 0.85
"""The voltage multiplier of a brownout that does not give its own."""
_NOT_PARAMS = {"action", "duration", "at", "rate", "from_", "until", "target"}


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    example: ClassVar[str]
    """One scenario event with it, in YAML flow style (the README's table shows it; a test parses it)."""
    more_examples: ClassVar[tuple[str, ...]] = ()
    """Other events with it, for the parameters and timings `example` leaves out (docs/scenarios.md)."""

    @classmethod
    def examples(cls) -> list[dict[str, Any]]:
        """Every example event of the action, parsed (the JSON Schema of `events:` carries them)."""
        return [yaml.safe_load(text) for text in (cls.example, *cls.more_examples)]

    def lasts(self) -> float | None:
        return None

    @abstractmethod
    def start(self, device: Device, now: float) -> faults.Fault | None:
        """Apply to one device at sim time `now`; returns the fault it added, for `end` to remove."""

    def end(self, device: Device, fault: faults.Fault | None, now: float) -> None:
        return None

    def resolved(self) -> Action:
        """The action to apply: itself (`inject_fault` names another)."""
        return self  # type: ignore[return-value]  # every concrete subclass declares `action`

    def params(self) -> dict[str, object]:
        params: dict[str, object] = self.model_dump(mode="json", exclude=_NOT_PARAMS, exclude_none=True)
        return params


class _Timed(_Action):
    duration: Duration | None = Field(
        None, description="How long it lasts; until cleared or the end of the run if omitted."
    )

    def lasts(self) -> float | None:
        return self.duration


class _Fault(_Timed):
    """An action that puts a fault on one stage of the device while it lasts."""

    @abstractmethod
    def fault(self, now: float) -> faults.Fault:
        """The modifier it puts on the device's stage (`engine.model.faults`)."""

    def start(self, device: Device, now: float) -> faults.Fault | None:
        fault = self.fault(now)
        device.add_fault(fault)
        return fault

    def end(self, device: Device, fault: faults.Fault | None, now: float) -> None:
        if fault is not None:
            device.remove_fault(fault)


class Outage(_Fault):
    """Supply lost: power, voltage and current 0, energy flat; the meter keeps reporting."""

    action: Literal["outage"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+14:00", action: outage, target: {kind: hvac}, duration: 30m}'

    def fault(self, now: float) -> faults.Fault:
        return faults.Outage()

    def end(self, device: Device, fault: faults.Fault | None, now: float) -> None:
        super().end(device, fault, now)
        device.restart(now)  # motors start again when the last outage ends (restart checks the supply)


class CommLoss(_Fault):
    """Communication lost: no readings, status offline; the meter keeps integrating energy (and with
    a device `buffer`, stores its readings and forwards them when the link returns)."""

    action: Literal["comm_loss"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+2h", action: comm_loss, target: [meter-1, meter-2], duration: 20m}'

    def fault(self, now: float) -> faults.Fault:
        return faults.CommLoss()

    def end(self, device: Device, fault: faults.Fault | None, now: float) -> None:
        super().end(device, fault, now)
        device.link.forward(now)


class Brownout(_Fault):
    """Voltage sag: voltage times `factor`; resistive loads draw less power, others more current."""

    action: Literal["brownout"] = Field(description="What happens.")
    example: ClassVar[str] = '{rate: "3/day", action: brownout, factor: 0.8, duration: 2m}'
    more_examples: ClassVar[tuple[str, ...]] = (
        '{rate: "1/h", from: "+1d08:00", until: "+1d18:00", action: brownout, target: {kind: server}, duration: 1m}',
    )
    factor: float = Field(BROWNOUT_FACTOR, gt=0, lt=1, description="Voltage multiplier while it lasts.")

    def fault(self, now: float) -> faults.Fault:
        return faults.Sag(self.factor)


class Stuck(_Fault):
    """A stuck sensor: reported values frozen at the last reading; the meter keeps integrating."""

    action: Literal["stuck"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+1d09:00", action: stuck, target: rack-07, duration: 1h}'

    def fault(self, now: float) -> faults.Fault:
        return faults.Stuck()


class Spikes(_Fault):
    """Transient spikes: each reading's power and current times `factor` with `probability`; voltage and
    the energy register keep the true values."""

    action: Literal["spikes"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+3h", action: spikes, target: {tag: noisy}, probability: 0.02, duration: 1h}'
    more_examples: ClassVar[tuple[str, ...]] = (
        '{rate: "2/day", action: spikes, target: rack-07, factor: 5, duration: 10m}',
    )
    probability: float = Field(0.01, gt=0, le=1, description="Chance that a reading spikes.")
    factor: float = Field(3.0, gt=0, le=1000, description="Multiplier of a spiking reading's power and current.")

    def fault(self, now: float) -> faults.Fault:
        return faults.Spikes(self.probability, self.factor)


class Drift(_Fault):
    """A drifting meter: reported power, current and energy increments grow by `per_day` per day since its
    start (negative: it under-reads); the energy it miscounted stays until a reset, the true energy is kept."""

    action: Literal["drift"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+1d", action: drift, target: ac, per_day: 0.02, duration: 7d}'
    per_day: float = Field(
        0.02, ge=-0.5, le=0.5, description="Growth of the reading error per day of drift (0.02: +2 % a day)."
    )

    def fault(self, now: float) -> faults.Fault:
        return faults.Drift(self.per_day, now)


class Trip(_Fault):
    """An overcurrent trip: power and current 0 with voltage present, status online, until `clear_trip`
    (or its duration). A device with `trip_current_a` also trips by itself."""

    action: Literal["trip"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+4h", action: trip, target: line-1, duration: 15m}'

    def fault(self, now: float) -> faults.Fault:
        return faults.Trip()

    def end(self, device: Device, fault: faults.Fault | None, now: float) -> None:
        super().end(device, fault, now)
        device.restart(now)  # the breaker closed again


class Duplicate(_Fault):
    """Duplicated messages: each reading sent is published twice with `probability`, identical (same `seq`)."""

    action: Literal["duplicate"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+1h", action: duplicate, probability: 0.05, duration: 1h}'
    probability: float = Field(0.05, gt=0, le=1, description="Chance that a reading is published twice.")

    def fault(self, now: float) -> faults.Fault:
        return faults.Duplicate(self.probability)


class OutOfOrder(_Fault):
    """Messages out of order: a reading is held back with `probability` and published after the ones
    measured meanwhile (its own timestamp and `seq`), at most `max_delay` late."""

    action: Literal["out_of_order"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+2h", action: out_of_order, probability: 0.05, max_delay: 30s, duration: 1h}'
    probability: float = Field(0.05, gt=0, le=1, description="Chance that a reading is held back.")
    max_delay: Duration = Field(
        30.0,
        gt=0,
        le=86400,
        description="The longest a reading is held back, a duration (each delay is uniform up to it).",
    )

    def fault(self, now: float) -> faults.Fault:
        return faults.OutOfOrder(self.probability, self.max_delay)


_FAULTS: dict[str, type[_Fault]] = {
    get_args(cls.model_fields["action"].annotation)[0]: cls for cls in _Fault.__subclasses__()
}
"""Every fault action by name (each fault class above, in order)."""
FAULT_NAMES: tuple[str, ...] = tuple(_FAULTS)
if TYPE_CHECKING:
    FaultName = str
else:
    FaultName = Literal[FAULT_NAMES]


class Disable(_Timed):
    """The load is switched off: near-zero standby power, readings go on; back on after `duration`."""

    action: Literal["disable"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+18:00", action: disable, target: {kind: lighting}, duration: 12h}'

    def start(self, device: Device, now: float) -> faults.Fault | None:
        device.load.enabled = False
        return None

    def end(self, device: Device, fault: faults.Fault | None, now: float) -> None:
        _switch_on(device, now)


class Enable(_Action):
    """The load is switched back on."""

    action: Literal["enable"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+07:00", action: enable, target: kitchen}'

    def start(self, device: Device, now: float) -> faults.Fault | None:
        _switch_on(device, now)
        return None


def _switch_on(device: Device, now: float) -> None:
    """Enable: a load that was off starts (its motor's inrush, `Device.restart`)."""
    if not device.load.enabled:
        device.load.enabled = True
        device.restart(now)


class SetOnline(_Action):
    """The device's link comes back: readings are sent again (what its buffer stored first)."""

    action: Literal["set_online"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+3h", action: set_online, target: meter-1}'

    def start(self, device: Device, now: float) -> faults.Fault | None:
        device.link.online = True
        device.link.forward(now)
        return None


class SetOffline(_Action):
    """The device's link is taken down: status offline, no readings (stored if it has a `buffer`), energy goes on."""

    action: Literal["set_offline"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+2h", action: set_offline, target: meter-1}'

    def start(self, device: Device, now: float) -> faults.Fault | None:
        device.link.online = False
        return None


class SetPower(_Action):
    """Override the load: `kw`, or `fraction` of the rated power; exactly one of them."""

    action: Literal["set_power"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+10:00", action: set_power, target: line-1, fraction: 0.5}'
    more_examples: ClassVar[tuple[str, ...]] = ('{at: "+11:00", action: set_power, target: kitchen, kw: 2.5}',)
    kw: float | None = Field(None, ge=0, le=1_000_000, description="Power in kW.")
    fraction: float | None = Field(None, ge=0, le=2, description="Fraction of the rated power.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SetPower:
        if (self.kw is None) == (self.fraction is None):
            raise ValueError("give exactly one of 'kw' or 'fraction'")
        return self

    def start(self, device: Device, now: float) -> faults.Fault | None:
        device.load.override_kw = self.kw if self.kw is not None else device.spec.rated_kw * (self.fraction or 0)
        return None


class ClearOverride(_Action):
    """The load follows its curve and behaviour again."""

    action: Literal["clear_override"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+12:00", action: clear_override, target: line-1}'

    def start(self, device: Device, now: float) -> faults.Fault | None:
        device.load.override_kw = None
        return None


class SetInterval(_Action):
    """Readings every `interval` from the next one on."""

    action: Literal["set_interval"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+1h", action: set_interval, target: rack-01, interval: 1s}'
    interval: Interval = Field(description="Time between readings, 100ms to 1d.")

    def start(self, device: Device, now: float) -> faults.Fault | None:
        device.set_interval(self.interval)
        return None


class ResetEnergy(_Action):
    """The reported energy counter restarts at 0 (the true integral goes on, for the report)."""

    action: Literal["reset_energy"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+1d", action: reset_energy, target: ac}'

    def start(self, device: Device, now: float) -> faults.Fault | None:
        device.register.reset()
        return None


class Reset(ResetEnergy):
    """The energy register restarts at 0 (a meter replaced or reset in the field): the same as `reset_energy`."""

    action: Literal["reset"] = Field(description="What happens.")  # type: ignore[assignment]
    example: ClassVar[str] = '{at: "+2d", action: reset, target: ac}'


class ClearTrip(_Action):
    """The breaker closes again: every trip ends (scripted or automatic); the load draws again, and trips
    again at its next reading if its current is still above `trip_current_a`."""

    action: Literal["clear_trip"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+4h05m", action: clear_trip, target: line-1}'

    def start(self, device: Device, now: float) -> faults.Fault | None:
        tripped = any(isinstance(fault, faults.Trip) for fault in device.electrics.faults)
        device.clear_faults("trip")
        if tripped:
            device.restart(now)  # the breaker closed: motors start (restart checks the supply)
        return None


class InjectFault(_Action):
    """Start a fault now, with that fault's own parameters (`duration`, a brownout's `factor`...): the
    same as the fault's own action."""

    model_config = ConfigDict(extra="allow", frozen=True)  # the parameters of the fault it names

    action: Literal["inject_fault"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+5h", action: inject_fault, target: ac, fault: brownout, factor: 0.9}'
    fault: FaultName = Field(description=f"Which fault: {', '.join(FAULT_NAMES)}; its parameters beside it.")

    @model_validator(mode="after")
    def _fault_parameters(self) -> InjectFault:
        self.resolved()
        return self

    def resolved(self) -> Action:
        fields: dict[str, Any] = {**(self.model_extra or {}), "action": self.fault}
        try:
            return _FAULTS[self.fault].model_validate(fields)  # type: ignore[return-value]
        except ValidationError as exc:  # located at the parameter, as the fault's own action would be
            problems = (
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors(include_url=False)
            )
            raise ValueError("; ".join(problems)) from None

    def start(self, device: Device, now: float) -> faults.Fault | None:
        raise AssertionError("inject_fault is applied as the fault it names (resolved())")


class ClearFault(_Action):
    """End a fault now: one kind, or every fault when `fault` is omitted."""

    action: Literal["clear_fault"] = Field(description="What happens.")
    example: ClassVar[str] = '{at: "+5h05m", action: clear_fault, target: ac, fault: brownout}'
    fault: FaultName | None = Field(None, description=f"Which fault ({', '.join(FAULT_NAMES)}); all if omitted.")

    def start(self, device: Device, now: float) -> faults.Fault | None:
        powered = device.powered
        device.clear_faults(self.fault)
        device.link.forward(now)  # a comm loss cleared: what the buffer stored goes out now
        if not powered:
            device.restart(now)  # the outage it cleared, if any: restart checks the supply
        return None


AnyAction = Annotated[
    Outage | CommLoss | Brownout | Stuck | Spikes | Drift | Trip | Duplicate | OutOfOrder
    | Disable | Enable | SetOnline | SetOffline | SetPower | ClearOverride
    | SetInterval | ResetEnergy | Reset | ClearTrip | InjectFault | ClearFault,
    Field(discriminator="action"),
]  # fmt: skip
"""Every action, discriminated on `action`: the one definition of the closed set."""
ACTIONS: tuple[type[_Action], ...] = get_args(get_args(AnyAction)[0])
ACTION_NAMES: tuple[str, ...] = tuple(get_args(cls.model_fields["action"].annotation)[0] for cls in ACTIONS)
_ADAPTER: TypeAdapter[_Action] = TypeAdapter(AnyAction)


def command_action(device_id: str, command: str, params: object) -> Action:
    """The action a command names, with its parameters validated; raises CommandError naming the problem."""
    if command not in ACTION_NAMES:
        raise CommandError(device_id, f"unknown command {command!r}; one of: {', '.join(ACTION_NAMES)}")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise CommandError(device_id, f"params must be an object, got {type(params).__name__}")
    if "action" in params:
        raise CommandError(device_id, f"{command}: action: Extra inputs are not permitted")
    try:
        return _ADAPTER.validate_python({**params, "action": command}).resolved()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"][1:])  # the first is the union's tag
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise CommandError(device_id, f"{command}: " + "; ".join(problems)) from None
