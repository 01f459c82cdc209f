"""The simulation: a scenario's devices and timeline in a SimPy environment, advanced by a clock.

Every discrete thing is a SimPy process: each device's behaviour (compressor cycles, batch
jobs...) and each timeline event. Readings between them are sampled in bulk by the meters.
`advance(until)` runs the environment to `until` and hands the sink every reading due before it,
sorted by time then device order; a virtual run calls it with big steps, a real-time clock with
small ones, and both produce the same readings. The core never reads the wall clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import simpy

from engine.errors import CommandError, DeviceError, DuplicateDevice, UnknownDevice
from engine.model.behaviours import BEHAVIOURS
from engine.model.calendar import SiteCalendar
from engine.model.commands import ClearFault, InjectFault, Params, SetInterval, SetPower, parse_params
from engine.model.meter import Meter
from engine.model.randomness import stream
from engine.model.readings import Outbox, ReadingBatch, Sink, StatusChange
from engine.model.specs import DeviceSpec, Plan, TimelineEvent
from engine.model.timeline import EFFECTS


@dataclass(frozen=True, slots=True)
class AppliedEvent:
    """An event as it actually happened, for the run report (the ground truth of a run)."""

    t: float
    action: str
    phase: Literal["start", "end"]
    targets: tuple[str, ...]
    source: Literal["scenario", "command"] = "scenario"
    detail: str = ""


class Simulation:
    """Devices and events of one plan; `advance(until)` moves sim time and emits readings."""

    def __init__(self, plan: Plan, sink: Sink, *, seed: int | None = None) -> None:
        self.plan = plan
        self.seed = plan.seed if seed is None else seed
        self.sink = sink
        self.env = simpy.Environment()
        self.calendar = SiteCalendar(plan.start_epoch, plan.timezone, plan.holidays)
        self.all_meters = [
            Meter(spec, i, plan.site, self.calendar, self.seed, stagger=plan.stagger)
            for i, spec in enumerate(plan.devices)
        ]
        """Every meter by index, removed ones included: batches refer to devices by index."""
        self.meters = list(self.all_meters)
        """The meters of the devices that exist now."""
        self.device_ids = tuple(spec.id for spec in plan.devices)
        self.by_id = {meter.spec.id: meter for meter in self.meters}
        self._behaviours: dict[int, simpy.Process] = {}
        self.applied: list[AppliedEvent] = []
        # When each meter's next reading is due: a real-time tick samples only the meters due.
        self._next_due = np.array([meter.next_due for meter in self.meters])
        self.readings_emitted = 0
        self.revision = 0
        """Counts changes of device state (events, commands), so views of it can be cached."""
        self.ended = False
        """Set by `end()`: the devices are gone, and no command applies any more."""
        self._outbox = Outbox()
        for meter in self.meters:
            self._start_behaviour(meter)
            self._outbox.statuses.append(StatusChange(0.0, meter.spec.id, meter.status, meter.enabled, "start"))
        for event in plan.events:
            self.env.process(self._timeline(event))

    @property
    def now(self) -> float:
        """Sim time: seconds since the scenario start."""
        return float(self.env.now)

    def advance(self, until: float) -> int:
        """Run to `until` and write every reading due before it to the sink; returns their count."""
        if until > self.env.now:
            self.env.run(until=until)
        meters, next_due, outbox = self.all_meters, self._next_due, self._outbox
        for index in np.flatnonzero(next_due < until).tolist():
            meter = meters[index]
            meter.sample(until, outbox)
            next_due[index] = meter.next_due
        return self.flush()

    def flush(self) -> int:
        """Hand the sink what the outbox holds now, in (time, device) order; returns the reading count."""
        outbox, self._outbox = self._outbox, Outbox()
        batch = ReadingBatch.merge(self.device_ids, outbox.chunks, outbox.rows)
        if len(batch) or outbox.statuses:
            self.sink.write(batch, outbox.statuses)
        self.readings_emitted += len(batch)
        return len(batch)

    def end(self) -> None:
        """The run is over: every device goes silent (status `offline`, reason `stopped`) and is gone.

        Live sinks publish that, then clear each device's retained status, so a later subscriber
        sees no device of a run that no longer exists.
        """
        for meter in self.meters:
            self._outbox.statuses.append(
                StatusChange(self.now, meter.spec.id, "offline", meter.enabled, "stopped", removed=True)
            )
        self.ended = True
        self.flush()

    def change(self, meter: Meter, mutate: Callable[[Meter], None], reason: str) -> None:
        """Apply `mutate` to a meter now: readings before now keep the old state."""
        before = (meter.status, meter.enabled)
        meter.sample(self.now, self._outbox)
        mutate(meter)
        self.revision += 1
        meter.revision += 1
        self._next_due[meter.index] = meter.next_due
        if (meter.status, meter.enabled) != before:
            self._outbox.statuses.append(StatusChange(self.now, meter.spec.id, meter.status, meter.enabled, reason))

    def add_device(self, spec: DeviceSpec) -> Meter:
        """A new device from now on: its first reading is the first slot after now."""
        if spec.id in self.by_id:
            raise DuplicateDevice(spec.id)
        meter = Meter(spec, len(self.all_meters), self.plan.site, self.calendar, self.seed, stagger=self.plan.stagger)
        meter.start_at(self.now)
        self.all_meters.append(meter)
        self.meters.append(meter)
        self.by_id[spec.id] = meter
        self.device_ids = (*self.device_ids, spec.id)
        self._next_due = np.append(self._next_due, meter.next_due)
        self._start_behaviour(meter)
        self.revision += 1
        self._outbox.statuses.append(StatusChange(self.now, spec.id, meter.status, meter.enabled, "created"))
        self.applied.append(AppliedEvent(self.now, "create_device", "start", (spec.id,), "command"))
        self.flush()
        return meter

    def update_device(self, spec: DeviceSpec) -> None:
        """Replace a device's spec (name, rating, profile, interval, noise...) from now on."""
        meter = self._existing(spec.id)
        if spec.kind != meter.spec.kind:
            raise DeviceError(spec.id, f"the kind of a device cannot change (it is {meter.spec.kind!r})")
        self.change(meter, lambda m: m.respec(spec), "updated")
        self.applied.append(AppliedEvent(self.now, "update_device", "start", (spec.id,), "command"))
        self.flush()

    def remove_device(self, device_id: str) -> None:
        """The device stops now: readings due before now go out, then nothing more."""
        meter = self._existing(device_id)
        meter.sample(self.now, self._outbox)
        self._next_due[meter.index] = np.inf
        process = self._behaviours.pop(meter.index, None)
        if process is not None and process.is_alive:
            process.interrupt()
        del self.by_id[device_id]
        self.meters.remove(meter)
        self.revision += 1
        gone = StatusChange(self.now, device_id, "offline", meter.enabled, "deleted", removed=True)
        self._outbox.statuses.append(gone)
        self.applied.append(AppliedEvent(self.now, "delete_device", "start", (device_id,), "command"))
        self.flush()

    def _existing(self, device_id: str) -> Meter:
        if self.ended:
            raise CommandError(device_id, "the run has ended")
        meter = self.by_id.get(device_id)
        if meter is None:
            raise UnknownDevice(device_id)
        return meter

    def _start_behaviour(self, meter: Meter) -> None:
        if meter.spec.behaviour:
            self._behaviours[meter.index] = self.env.process(self._behave(meter))

    def _behave(self, meter: Meter) -> Generator[simpy.Event, Any, None]:
        """The kind's behaviour process, until the device is removed."""
        behaviour = BEHAVIOURS[meter.spec.kind]
        with contextlib.suppress(simpy.Interrupt):
            yield from behaviour(self.env, meter, stream(self.seed, meter.spec.id, "behaviour"))

    def command(self, device_id: str, command: str, params: object = None) -> None:
        """Apply a command to a device now and record it; raises CommandError if it cannot be."""
        meter = self._existing(device_id)
        parsed = parse_params(device_id, command, params)
        detail = parsed.model_dump_json(exclude_none=True) if type(parsed).model_fields else ""
        if isinstance(parsed, InjectFault):
            event = TimelineEvent(self.now, parsed.fault, (device_id,), parsed.duration, parsed.factor)
            start, end = EFFECTS[event.action]
            self._apply(event, "start", start, "command", detail)
            if event.duration is not None and end is not None:
                self.env.process(self._end_later(event, end))
        else:
            self.change(meter, _COMMAND_EFFECTS[command](parsed), command)
            self.applied.append(AppliedEvent(self.now, command, "start", (device_id,), "command", detail))
        self.flush()  # statuses go out now, even while the clock is paused

    def read_now(self, device_id: str) -> None:
        """An extra reading of one device now, published with the next batch, and recorded."""
        meter = self._existing(device_id)
        meter.sample(self.now, self._outbox)
        meter.read_now(self.now, self._outbox)
        self.applied.append(AppliedEvent(self.now, "simulate", "start", (device_id,), "command"))
        self.flush()

    def _timeline(self, event: TimelineEvent) -> Generator[simpy.Event, Any, None]:
        """One scenario event: start at `at`, end after `duration` if it has one."""
        yield self.env.timeout(max(0.0, event.at - self.env.now))
        start, end = EFFECTS[event.action]
        self._apply(event, "start", start, "scenario")
        if event.duration is not None and end is not None:
            yield self.env.timeout(event.duration)
            self._apply(event, "end", end, "scenario")

    def _end_later(
        self, event: TimelineEvent, end: Callable[[Meter, TimelineEvent], None]
    ) -> Generator[simpy.Event, Any, None]:
        """The end of a fault injected by a command, `duration` after it started."""
        assert event.duration is not None
        yield self.env.timeout(event.duration)
        self._apply(event, "end", end, "command")

    def _apply(
        self,
        event: TimelineEvent,
        phase: Literal["start", "end"],
        effect: Callable[[Meter, TimelineEvent], None],
        source: Literal["scenario", "command"],
        detail: str | None = None,
    ) -> None:
        targets = tuple(device_id for device_id in event.targets if device_id in self.by_id)
        reason = event.action if phase == "start" else f"{event.action}_end"  # e.g. comm_loss, comm_loss_end
        for device_id in targets:
            self.change(self.by_id[device_id], lambda meter: effect(meter, event), reason)
        if detail is None:
            detail = f"factor={event.factor:g}" if event.action == "brownout" and event.factor is not None else ""
        self.applied.append(AppliedEvent(self.now, event.action, phase, targets, source, detail))


def _set(attribute: str, value: object) -> Callable[[Meter], None]:
    return lambda meter: setattr(meter, attribute, value)


def _set_power(params: Params) -> Callable[[Meter], None]:
    assert isinstance(params, SetPower)
    kw, fraction = params.kw, params.fraction
    return lambda meter: setattr(meter, "override_kw", kw if kw is not None else meter.spec.rated_kw * (fraction or 0))


def _set_interval(params: Params) -> Callable[[Meter], None]:
    assert isinstance(params, SetInterval)
    return lambda meter: meter.set_interval(params.interval)


def _clear_fault(params: Params) -> Callable[[Meter], None]:
    assert isinstance(params, ClearFault)
    return lambda meter: meter.clear_faults(params.fault)


_COMMAND_EFFECTS: dict[str, Callable[[Params], Callable[[Meter], None]]] = {
    "enable": lambda _: _set("enabled", True),
    "disable": lambda _: _set("enabled", False),
    "set_online": lambda _: _set("online", True),
    "set_offline": lambda _: _set("online", False),
    "set_power": _set_power,
    "clear_override": lambda _: _set("override_kw", None),
    "set_interval": _set_interval,
    "reset_energy": lambda _: Meter.reset_energy,
    "clear_fault": _clear_fault,
}
