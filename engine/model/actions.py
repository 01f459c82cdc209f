"""The one vocabulary of change: what the simulation applies, at one entry point, into one journal.

An `Action` changes devices: every scenario event and every command compiles to one (the classes
are the scenario format's, `engine.scenario.actions`, which document and validate them). A
`RunChange` changes the set of devices or asks for a reading (the API's device routes). Both go
through `Simulation.apply`, which records each in the journal with its sim time and source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from engine.model.specs import DeviceSpec

if TYPE_CHECKING:
    from engine.model.device import Device
    from engine.model.faults import Fault

Source = Literal["scenario", "command", "meter"]
"""Who asked: the scenario's timeline, a command from outside (MQTT, REST), or the meter itself (its
breaker tripped on overcurrent)."""


class Action(Protocol):
    """A change to each of its targets, started now and, if it `lasts`, ended that long after."""

    @property
    def action(self) -> str:
        """Its name, as the scenario format and the command envelope spell it."""
        ...

    def lasts(self) -> float | None:
        """Sim seconds until its end, None when it has none (it lasts until cleared, or is instant)."""
        ...

    def start(self, device: Device, now: float) -> Fault | None:
        """Apply to one device at sim time `now`; returns the fault it added, for `end` to remove."""
        ...

    def end(self, device: Device, fault: Fault | None, now: float) -> None:
        """Undo `start` on one device (after `lasts()`)."""
        ...

    def params(self) -> dict[str, object]:
        """Its parameters as JSON values, for the journal and the run report."""
        ...


@dataclass(frozen=True, slots=True)
class CreateDevice:
    """A new device from now on: its first reading is the first slot after now."""

    spec: DeviceSpec
    action: ClassVar[str] = "create_device"


@dataclass(frozen=True, slots=True)
class UpdateDevice:
    """Another spec for an existing device (name, rating, profile, interval, noise...) from now on."""

    spec: DeviceSpec
    action: ClassVar[str] = "update_device"


@dataclass(frozen=True, slots=True)
class DeleteDevice:
    """The device stops now: readings due before now go out, then nothing more."""

    action: ClassVar[str] = "delete_device"


@dataclass(frozen=True, slots=True)
class ReadNow:
    """One extra reading now, outside the schedule (the API's `simulate`)."""

    action: ClassVar[str] = "simulate"


RunChange = CreateDevice | UpdateDevice | DeleteDevice | ReadNow
