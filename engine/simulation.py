"""The simulation: a scenario's devices and timeline in a SimPy environment, advanced by a clock.

Every discrete thing is a SimPy process: each device's behaviour (compressor cycles, batch
jobs...) and each timeline event. Readings between them are sampled in bulk by the meters.
`advance(until)` runs the environment to `until` and hands the sink every reading due before it,
sorted by time then device order; a virtual run calls it with big steps, a real-time clock with
small ones, and both produce the same readings. The core never reads the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal

import simpy

from engine.model.behaviours import BEHAVIOURS
from engine.model.calendar import SiteCalendar
from engine.model.meter import Meter
from engine.model.randomness import stream
from engine.model.readings import Outbox, ReadingBatch, Sink, StatusChange
from engine.model.specs import Plan, TimelineEvent
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
        self.meters = [Meter(spec, i, plan.site, self.calendar, self.seed) for i, spec in enumerate(plan.devices)]
        self.device_ids = tuple(spec.id for spec in plan.devices)
        self.by_id = {meter.spec.id: meter for meter in self.meters}
        self.applied: list[AppliedEvent] = []
        self.readings_emitted = 0
        self._outbox = Outbox()
        for meter in self.meters:
            if meter.spec.behaviour:
                behaviour = BEHAVIOURS[meter.spec.kind]
                self.env.process(behaviour(self.env, meter, stream(self.seed, meter.spec.id, "behaviour")))
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
        for meter in self.meters:
            chunk = meter.sample(until)
            if chunk is not None:
                self._outbox.chunks.append(chunk)
        outbox, self._outbox = self._outbox, Outbox()
        batch = ReadingBatch.merge(self.device_ids, outbox.chunks)
        if len(batch) or outbox.statuses:
            self.sink.write(batch, outbox.statuses)
        self.readings_emitted += len(batch)
        return len(batch)

    def change(self, meter: Meter, mutate: Callable[[Meter], None], reason: str) -> None:
        """Apply `mutate` to a meter now: readings before now keep the old state."""
        before = (meter.status, meter.enabled)
        chunk = meter.sample(self.now)
        if chunk is not None:
            self._outbox.chunks.append(chunk)
        mutate(meter)
        if (meter.status, meter.enabled) != before:
            self._outbox.statuses.append(StatusChange(self.now, meter.spec.id, meter.status, meter.enabled, reason))

    def _timeline(self, event: TimelineEvent) -> Generator[simpy.Event, Any, None]:
        """One scenario event: start at `at`, end after `duration` if it has one."""
        yield self.env.timeout(max(0.0, event.at - self.env.now))
        start, end = EFFECTS[event.action]
        self._apply(event, "start", start)
        if event.duration is not None and end is not None:
            yield self.env.timeout(event.duration)
            self._apply(event, "end", end)

    def _apply(
        self,
        event: TimelineEvent,
        phase: Literal["start", "end"],
        effect: Callable[[Meter, TimelineEvent], None],
    ) -> None:
        targets = tuple(device_id for device_id in event.targets if device_id in self.by_id)
        for device_id in targets:
            self.change(self.by_id[device_id], lambda meter: effect(meter, event), event.action)
        detail = f"factor={event.factor:g}" if event.factor is not None else ""
        self.applied.append(AppliedEvent(self.now, event.action, phase, targets, "scenario", detail))
