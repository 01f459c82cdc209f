"""Every external change to a running simulation, as work for the inbox.

These are the only calls into the simulation's entry points from outside the core: the MQTT bridge
and the REST routes build one of these and put it in the run's inbox, and the driver applies it
between two advances. Each one raises (a CommandError) to refuse; the transport answers with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import UnknownDevice
from engine.model.specs import DeviceSpec
from engine.runtime.inbox import Work
from engine.simulation import Simulation


def command(device_id: str, name: str, params: object) -> Work[None]:
    """A command (`enable`, `set_power`...) to one device, as over MQTT or REST."""
    return lambda sim: sim.command(device_id, name, params)


def inject(targets: Sequence[str], params: dict[str, object]) -> Work[None]:
    """A fault on several devices at the same instant: none if one of them is unknown."""

    def apply(sim: Simulation) -> None:
        missing = [device_id for device_id in targets if device_id not in sim.by_id]
        if missing:
            raise UnknownDevice(missing[0])
        for device_id in targets:
            sim.command(device_id, "inject_fault", params)

    return apply


def read_now(device_id: str) -> Work[None]:
    """An extra reading of one device now."""
    return lambda sim: sim.read_now(device_id)


def add_device(spec: DeviceSpec) -> Work[None]:
    def apply(sim: Simulation) -> None:
        sim.add_device(spec)

    return apply


def update_device(spec: DeviceSpec) -> Work[None]:
    return lambda sim: sim.update_device(spec)


def remove_device(device_id: str) -> Work[None]:
    return lambda sim: sim.remove_device(device_id)
