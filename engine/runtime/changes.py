"""Every external change to a running simulation, as work for the inbox.

These are the only calls into the simulation from outside the core: the MQTT bridge and the REST
routes build one of these and put it in the run's inbox, and the driver applies it between two
advances, through the simulation's one entry point, `Simulation.apply`. Each raises a
CommandError to refuse; the transport answers with it.
"""

from __future__ import annotations

from engine.errors import CommandError, UnknownDevice
from engine.model.actions import Action, CreateDevice, DeleteDevice, ReadNow, UpdateDevice
from engine.model.specs import DeviceSpec
from engine.runtime.inbox import Work
from engine.scenario.compile import target_ids
from engine.scenario.fields import TagTarget, Target
from engine.simulation import Simulation


def act(action: Action, targets: tuple[str, ...]) -> Work[None]:
    """An action (a command, an injected event) on its targets: on none if one of them is unknown."""
    return lambda sim: sim.apply(action, targets)


def act_on(action: Action, target: Target) -> Work[tuple[str, ...]]:
    """An action on the devices a target names when it applies (`all`, a kind, a tag, ids); returns them.

    Resolved then, so devices created at run time are found by their kind and tags.
    """

    def apply(sim: Simulation) -> tuple[str, ...]:
        targets = target_ids(target, [device.spec for device in sim.devices])
        if isinstance(target, TagTarget) and not targets:  # a tag is a name: an unknown one is a mistake
            raise CommandError("target", f"no device has tag {target.tag!r}")
        if isinstance(target, str | list) and target != "all":  # named ids must all exist
            named = [target] if isinstance(target, str) else target
            missing = [device_id for device_id in named if device_id not in sim.by_id]
            if missing:
                raise UnknownDevice(missing[0])
        sim.apply(action, targets)
        return targets

    return apply


def read_now(device_id: str) -> Work[None]:
    """An extra reading of one device now."""
    return lambda sim: sim.apply(ReadNow(), (device_id,))


def add_device(spec: DeviceSpec) -> Work[None]:
    return lambda sim: sim.apply(CreateDevice(spec), (spec.id,))


def update_device(spec: DeviceSpec) -> Work[None]:
    return lambda sim: sim.apply(UpdateDevice(spec), (spec.id,))


def remove_device(device_id: str) -> Work[None]:
    return lambda sim: sim.apply(DeleteDevice(), (device_id,))
