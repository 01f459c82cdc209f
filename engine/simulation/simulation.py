"""The simulation: a plan's devices and timeline in a SimPy environment, advanced by a clock.

Each scheduled action is a SimPy process. Each device's behaviour (compressor cycles, batch
jobs...) is written the same way but touches only its own device, so the device runs it up to each
reading it samples (`engine.model.behaviours.Stepper`) instead of SimPy waking it at every change.
Readings between two changes are sampled in bulk by the devices.
`advance(until)` runs the environment to `until` and hands the sink every reading due before it,
sorted by time then device order; a virtual run calls it with big steps, a real-time clock with
small ones, and both produce the same readings. The core never reads the wall clock.

Every change goes through one door: the timeline's actions at their instants (once `at` one, or at
seeded Poisson arrivals of a `rate`, `arrivals.py`), and external ones (commands, the API's device
changes) through `apply`, at the current instant, after the timeline's actions due at that
instant. Each is recorded in the journal; an action that lasts is tracked as an occurrence until it
ended on each device, at its duration or when another action removed its fault (`clear_fault`).

Every external change applied is also kept in `applied`, with its exact instant and resolved targets:
a live session's recording (`engine.runtime.recorder`). A plan's `session` (a recording) is replayed
through the same door: `advance` runs the environment to each recorded instant and applies the change
there, so it lands where the live one did, after the environment's events of that instant and before
the readings due at it (a live change applies when an advance has emitted the readings before that
instant, not those at it).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from engine.errors import CommandError, DeviceError, DuplicateDevice, SimulationError, UnknownDevice
from engine.model.actions import Action, CreateDevice, DeleteDevice, ReadNow, RunChange, Source, UpdateDevice
from engine.model.behaviours import Process, Stepper, Time
from engine.model.calendar import SiteCalendar
from engine.model.device import Device
from engine.model.faults import Fault
from engine.model.kinds import KINDS
from engine.model.randomness import Uniforms, stream
from engine.model.readings import Produced, ReadingBatch, Sink, StatusChange
from engine.model.specs import DeviceSpec, Plan, Recorded, Scheduled
from engine.model.weather import Climate
from engine.simulation.arrivals import arrivals
from engine.simulation.journal import Entry, Journal, Phase


@dataclass(eq=False, slots=True)
class _Occurrence:
    """One start of an action that lasts, until it has ended on each device it started on."""

    id: int
    """Its number in the journal (`Journal.new_occurrence`)."""
    action: Action
    started: list[tuple[Device, Fault | None]]
    cleared: set[int] = field(default_factory=set)
    """Indexes of the devices another action removed its fault from before its end."""
    t: float = 0.0
    by_meter: bool = False
    step: int = 0
    """The simulation's step that started it (`Simulation._step`): numbers steps in the same order as `id`."""

    def order(self) -> tuple[float, bool, tuple[str, ...], int]:
        """Where its start is in the journal: by time, the meters' own after the rest, in device id order
        (numbers follow discovery, which for a meter's trip depends on the batch cuts). The step, not the
        number, orders the rest: the same order, and the same in every part of a run split by devices."""
        if self.by_meter:
            return (self.t, True, tuple(device.spec.id for device, _ in self.started), 0)
        return (self.t, False, (), self.step)


@dataclass(frozen=True, slots=True)
class _ByMeter:
    """What a meter did by itself (its breaker tripped), as the action of its occurrence: nothing to apply."""

    action: str
    found: Mapping[str, object]

    def lasts(self) -> float | None:
        return None

    def start(self, device: Device, now: float) -> Fault | None:
        return None

    def end(self, device: Device, fault: Fault | None, now: float) -> None:
        return None

    def params(self) -> dict[str, object]:
        return dict(self.found)


class Simulation:
    """Devices and timeline of one plan; `advance(until)` moves sim time and emits readings."""

    def __init__(self, plan: Plan, sink: Sink, *, seed: int | None = None) -> None:
        self.plan = plan
        self.seed = plan.seed if seed is None else seed
        self.sink = sink
        self.env = simpy.Environment()
        self.calendar = SiteCalendar(plan.start_epoch, plan.timezone, plan.holidays)
        self.climate = Climate.of(plan.site.weather, self.seed) if plan.site.weather is not None else None
        self.all_devices = [self._device(spec, i) for i, spec in enumerate(plan.devices)]
        """Every device by index, deleted ones included: batches refer to devices by index."""
        self.devices = list(self.all_devices)
        """The devices that exist now."""
        self.device_ids = tuple(spec.id for spec in plan.devices)
        self.by_id = {device.spec.id: device for device in self.devices}
        self._behaviours: dict[int, Stepper] = {}
        self.journal = Journal()
        self._in_force: dict[int, list[tuple[_Occurrence, Fault]]] = {}
        """By device index, the faults of occurrences on it: an action that removes one ends it there."""
        # When each device's next reading is due: a real-time tick samples only the devices due.
        self._next_due = np.array([device.next_due for device in self.devices])
        self.readings_emitted = 0
        self.revision = 0
        """Counts changes of device state (actions), so views of it can be cached."""
        self.ended = False
        """Set by `end()`: the devices are gone, and no action applies any more."""
        self.applied: list[Recorded] = []
        """Every external change applied, in order, at its instant: what a recording of the run replays."""
        self._replayed = 0
        """How many of the plan's recorded `session` changes are applied."""
        self._produced = Produced()
        self.on_start: Callable[[Action, tuple[str, ...]], None] | None = None
        """Told of every action as it starts, with all its targets (a part of a parallel run, which has only
        some of the devices, follows the intervals of all with it)."""
        self._step = 0
        """Counts the timeline's resumptions and the external changes: each journal entry's key names its
        step, the same in every part of a run split by devices (each part runs the whole timeline)."""
        for device in self.devices:
            self._start_behaviour(device)
            self._produced.statuses.append(StatusChange(0.0, device.spec.id, device.status, device.enabled, "start"))
        for scheduled in plan.events:
            self.env.process(self._timeline(scheduled))

    def _device(self, spec: DeviceSpec, index: int) -> Device:
        return Device(
            spec, index, self.plan.site, self.calendar, self.seed, stagger=self.plan.stagger, climate=self.climate
        )

    @property
    def now(self) -> float:
        """Sim time: seconds since the scenario start."""
        return float(self.env.now)

    def advance(self, until: float) -> int:
        """Run to `until` and write every reading due before it to the sink; returns their count."""
        if self._replayed < len(self.plan.session):
            self._replay(until)
        if until > self.env.now:
            self.env.run(until=until)
        devices, next_due, outbox = self.all_devices, self._next_due, self._produced
        for index in np.flatnonzero(next_due < until).tolist():
            device = devices[index]
            try:
                device.sample(until, outbox)
            except SimulationError:  # its behaviour failed, at an instant of its own
                raise
            except Exception as exc:  # a bug: say which device and when, for the report of it
                raise SimulationError(device.spec.id, self.now, f"sampling failed: {exc!r}") from exc
            next_due[index] = device.next_due
        return self.flush()

    def _replay(self, until: float) -> None:
        """Apply the plan's recorded changes due by `until` (at it included: live, a change at an advance's
        end applied before the next advance), each at its instant, as a live driver applied it."""
        session = self.plan.session
        while self._replayed < len(session) and session[self._replayed].at <= until:
            recorded = session[self._replayed]
            self._replayed += 1
            if recorded.at > self.env.now:
                self.env.run(until=recorded.at)
            try:
                self.apply(recorded.change, recorded.targets)
            except CommandError as exc:
                raise SimulationError(
                    exc.device_id, recorded.at, f"the recorded {recorded.change.action} no longer applies: {exc.reason}"
                ) from exc

    def flush(self) -> int:
        """Hand the sink what the outbox holds now, in (time, device) order; returns the reading count."""
        if self._produced.happenings:
            self._journal_happenings()
        outbox, self._produced = self._produced, Produced()
        batch = ReadingBatch.merge(self.device_ids, outbox.chunks, outbox.rows)
        if len(batch) or outbox.statuses:
            self.sink.write(batch, outbox.statuses)
        self.readings_emitted += len(batch)
        return len(batch)

    def _journal_happenings(self) -> None:
        """What devices did by themselves while sampling (automatic trips), into the journal at its time:
        each an occurrence in force until an action removes its fault (`clear_trip`, `clear_fault`)."""
        for happening in self._produced.happenings:
            device = self.all_devices[happening.device]
            occurrence = _Occurrence(
                self.journal.new_occurrence(),
                _ByMeter(happening.action, happening.params),
                [(device, happening.fault)],
                t=happening.t,
                by_meter=True,
            )
            if happening.fault is not None:
                self._in_force.setdefault(device.index, []).append((occurrence, happening.fault))
            entry = Entry(
                happening.t, happening.action, "start", (device.spec.id,), "meter", happening.params,
                occurrence=occurrence.id, next_seq=(happening.seq,), key=(happening.t, 1, device.spec.id),
            )  # fmt: skip
            self.journal.insert(entry)
        self._produced.happenings.clear()
        self.revision += 1

    def end(self) -> None:
        """The run is over: every device goes silent (status `offline`, reason `stopped`) and is gone.

        Live sinks publish that, then clear each device's retained status, so a later subscriber
        sees no device of a run that no longer exists.
        """
        for device in self.devices:
            self._produced.statuses.append(
                StatusChange(self.now, device.spec.id, "offline", device.enabled, "stopped", removed=True)
            )
        self.ended = True
        self.flush()

    # The one door for external change ------------------------------------------------------
    def apply(self, change: Action | RunChange, targets: tuple[str, ...], *, source: Source = "command") -> None:
        """Apply an action (or a change of devices) to `targets` now, and record it in the journal.

        The timeline's actions due at this instant are applied first. Raises CommandError (naming
        the device and the sim time) when it cannot be applied: the run has ended, a target is
        unknown, a device exists already or would change its kind; all checked before any change.
        """
        try:
            if self.ended:
                raise CommandError(targets[0] if targets else "", "the run has ended")
            self._settle()
            self._step += 1
            if isinstance(change, CreateDevice):
                self._create(change, source)
            else:
                for device_id in targets:
                    if device_id not in self.by_id:
                        raise UnknownDevice(device_id)
                if isinstance(change, UpdateDevice):
                    for device_id in targets:
                        kind = self.by_id[device_id].spec.kind
                        if change.spec.kind != kind:
                            raise DeviceError(device_id, f"the kind of a device cannot change (it is {kind!r})")
                if isinstance(change, UpdateDevice | DeleteDevice | ReadNow):
                    self._change_devices(change, targets, source)
                else:
                    self._start(change, targets, source)
        except CommandError as exc:
            exc.sim_time = self.now
            raise
        if source == "command":
            self.applied.append(Recorded(self.now, change, targets))
        self.flush()  # statuses go out now, even while the clock is paused

    def _settle(self) -> None:
        """Process what the environment has due at this very instant (the timeline before external actions)."""
        while self.env.peek() <= self.env.now:
            self.env.step()

    def _create(self, change: CreateDevice, source: Source) -> None:
        spec = change.spec
        if spec.id in self.by_id:
            raise DuplicateDevice(spec.id)
        device = self._device(spec, len(self.all_devices))
        device.start_at(self.now)
        self.all_devices.append(device)
        self.devices.append(device)
        self.by_id[spec.id] = device
        self.device_ids = (*self.device_ids, spec.id)
        self._next_due = np.append(self._next_due, device.next_due)
        self._start_behaviour(device)
        self.revision += 1
        self._produced.statuses.append(StatusChange(self.now, spec.id, device.status, device.enabled, "created"))
        self._record(change.action, "start", (device,), source)

    def _change_devices(
        self, change: UpdateDevice | DeleteDevice | ReadNow, targets: tuple[str, ...], source: Source
    ) -> None:
        devices = [self.by_id[device_id] for device_id in targets]
        for device in devices:
            if isinstance(change, UpdateDevice):
                self._change(device, _respec(change.spec), "updated")
            elif isinstance(change, DeleteDevice):
                self._delete(device)
            else:
                device.sample(self.now, self._produced)
                device.read_now(self.now, self._produced)
        self._record(change.action, "start", devices, source)
        if isinstance(change, DeleteDevice):
            for device in devices:
                self._end_on_deleted(device, source)

    def _end_on_deleted(self, device: Device, source: Source) -> None:
        """Journal the end, now, of every occurrence still in force on a device just deleted."""
        running = self._in_force.pop(device.index, [])
        for occurrence, _ in sorted(running, key=lambda pair: pair[0].order()):
            occurrence.cleared.add(device.index)
            self._record(
                occurrence.action.action,
                "end",
                [device],
                source,
                occurrence.action,
                occurrence,
                (2, occurrence.order()),
            )

    def _delete(self, device: Device) -> None:
        device.sample(self.now, self._produced)
        self._next_due[device.index] = np.inf
        behaviour = self._behaviours.pop(device.index, None)
        if behaviour is not None:
            behaviour.stop()
        del self.by_id[device.spec.id]
        self.devices.remove(device)
        self.revision += 1
        gone = StatusChange(self.now, device.spec.id, "offline", device.enabled, "deleted", removed=True)
        self._produced.statuses.append(gone)

    # Actions on devices --------------------------------------------------------------------
    def _timeline(self, scheduled: Scheduled) -> Generator[simpy.Event, Any, None]:
        """One scheduled event: its action at `at`, or at each seeded arrival of its `rate`.

        The arrivals come from a stream of the run's seed and the event's key, drawn as time goes:
        every shard and every clock mode meets the same instants.
        """
        if scheduled.rate is None:
            instants: Iterable[float] = (scheduled.at,)
        else:
            generator = stream(self.seed, scheduled.key, "arrivals")
            instants = arrivals(generator, scheduled.rate, scheduled.at, scheduled.until)
        for at in instants:
            yield self.env.timeout(max(0.0, at - self.env.now))
            self._step += 1
            self._start(scheduled.action, scheduled.targets, "scenario")

    def _start(self, action: Action, targets: tuple[str, ...], source: Source) -> None:
        if self.on_start is not None:
            self.on_start(action, targets)
        devices = [self.by_id[device_id] for device_id in targets if device_id in self.by_id]
        started: list[tuple[Device, Fault | None]] = []
        for device in devices:
            self._change(device, lambda d: started.append((d, action.start(d, self.now))), action.action)
        lasts = action.lasts()
        occurrence = None
        if lasts is not None or any(fault is not None for _, fault in started):
            occurrence = _Occurrence(self.journal.new_occurrence(), action, started, t=self.now, step=self._step)
        self._record(action.action, "start", devices, source, action, occurrence)
        self._end_cleared(devices, source)
        if occurrence is not None:
            for device, fault in started:
                if fault is not None:
                    self._in_force.setdefault(device.index, []).append((occurrence, fault))
            if lasts is not None:
                self.env.process(self._end_later(occurrence, lasts, source))

    def _end_cleared(self, devices: Sequence[Device], source: Source) -> None:
        """Journal the end, now, of each occurrence whose fault the action just applied removed from `devices`."""
        cleared: dict[_Occurrence, list[Device]] = {}
        for device in devices:
            running = self._in_force.get(device.index)
            if not running:
                continue
            in_force = {id(active) for active in device.faults()}  # faults compare by identity
            still = []
            for occurrence, fault in running:
                if id(fault) in in_force:
                    still.append((occurrence, fault))
                else:
                    occurrence.cleared.add(device.index)
                    cleared.setdefault(occurrence, []).append(device)
            self._in_force[device.index] = still
        for occurrence in sorted(cleared, key=_Occurrence.order):
            where = (1, occurrence.order())
            self._record(
                occurrence.action.action, "end", cleared[occurrence], source, occurrence.action, occurrence, where
            )

    def _end_later(self, occurrence: _Occurrence, lasts: float, source: Source) -> Generator[simpy.Event, Any, None]:
        """The end of a timed action on the devices it started on, that still exist and where it was not cleared."""
        yield self.env.timeout(lasts)
        self._step += 1
        action = occurrence.action
        ending = [
            (device, fault)
            for device, fault in occurrence.started
            if device.index not in occurrence.cleared and self.by_id.get(device.spec.id) is device
        ]
        if not ending and occurrence.cleared:
            return  # it was cleared everywhere: those ends are journaled
        for device, fault in ending:
            self._change(device, _ending(action, fault, self.now), f"{action.action}_end")
            running = self._in_force.get(device.index)
            if running:
                self._in_force[device.index] = [(o, f) for o, f in running if o is not occurrence]
        self._record(action.action, "end", [device for device, _ in ending], source, action, occurrence)

    def _change(self, device: Device, mutate: Callable[[Device], object], reason: str) -> None:
        """Apply `mutate` to a device now: readings before now keep the old state."""
        before = (device.status, device.enabled)
        device.sample(self.now, self._produced)
        if self._produced.happenings:  # journaled before the change, which may end them (clear_trip)
            self._journal_happenings()
        mutate(device)
        self.revision += 1
        device.revision += 1
        self._next_due[device.index] = device.next_due
        if (device.status, device.enabled) != before:
            self._produced.statuses.append(
                StatusChange(self.now, device.spec.id, device.status, device.enabled, reason)
            )

    def _record(
        self,
        name: str,
        phase: Phase,
        devices: Sequence[Device],
        source: Source,
        action: Action | None = None,
        occurrence: _Occurrence | None = None,
        where: tuple[object, ...] = (0,),
    ) -> None:
        """`where`: its place among the entries of its step (0: the step's own; 1, 2: ends it caused)."""
        params = action.params() if action is not None else {}
        duration = action.lasts() if action is not None else None
        targets = tuple(device.spec.id for device in devices)
        next_seq = tuple(device.link.seq for device in devices)  # read now: store-and-forward numbers as it measures
        occurrence_id = occurrence.id if occurrence is not None else None
        key = (self.now, 0, self._step, *where)
        self.journal.record(
            Entry(self.now, name, phase, targets, source, params, duration, occurrence_id, next_seq, key)
        )

    def _start_behaviour(self, device: Device) -> None:
        """The kind's behaviour from now on, run by the device as it samples (`engine.model.behaviours`)."""
        if device.spec.behaviour:
            stepper = Stepper(self.now, lambda time: self._behave(device, time))
            self._behaviours[device.index] = device.load.behaviour = stepper

    def _behave(self, device: Device, time: Time) -> Process:
        """The kind's behaviour, until the device is deleted; a failure names the device and its instant."""
        kind = device.spec.kind
        try:
            yield from KINDS[kind].behaviour(time, device, Uniforms(stream(self.seed, device.spec.id, "behaviour")))
        except Exception as exc:  # (a deleted device's is closed: GeneratorExit, not an Exception)
            raise SimulationError(device.spec.id, time.now, f"its {kind} behaviour failed: {exc!r}") from exc


def _respec(spec: DeviceSpec) -> Callable[[Device], None]:
    return lambda device: device.respec(spec)


def _ending(action: Action, fault: Fault | None, now: float) -> Callable[[Device], None]:
    return lambda device: action.end(device, fault, now)
