"""One simulated device: its reading schedule and the four stages a reading passes.

    load (demand)  ->  electrics (voltage, current)  ->  register (energy, shown values)  ->  link (sent?)

Discrete things (events, commands, behaviour changes) happen in SimPy; between two of them a
device's state is constant, so `sample(until)` computes every reading due before `until` in one
go: with numpy for many, with Python floats for a few (real time samples one or two per tick).
Each reading draws a fixed number of values from the device's own streams, so results do not
depend on where a run is cut into batches: virtual, accelerated and real-time runs give the same
bytes. A fault is a modifier on the stage it affects (`engine.model.faults`).
"""

from __future__ import annotations

import math

import numpy as np

from engine.model.calendar import SiteCalendar
from engine.model.electrics import Electrics
from engine.model.faults import Fault, Outage
from engine.model.link import Link
from engine.model.load import Load
from engine.model.randomness import Streams, stream
from engine.model.readings import FloatArray, Produced, Status
from engine.model.register import Register
from engine.model.specs import DeviceSpec, SiteSpec
from engine.model.stage import Stage
from engine.model.weather import Climate

_FEW = 4
"""Up to this many readings per call, `sample` computes with Python floats (cheaper than numpy)."""


class Device:
    """State and sampling of one device; changed only by the simulation, at a sim instant."""

    def __init__(
        self,
        spec: DeviceSpec,
        index: int,
        site: SiteSpec,
        calendar: SiteCalendar,
        seed: int,
        *,
        stagger: bool = False,
        climate: Climate | None = None,
    ) -> None:
        self.spec = spec
        self.index = index
        streams = Streams(seed, spec.id)
        self.load = Load(spec, calendar, streams, climate)
        self.electrics = Electrics(spec, site, streams)
        self.register = Register(streams)
        self.link = Link(index, streams)
        # Reading slots are anchor + k * interval, so changing the interval re-anchors.
        self.interval = spec.interval
        # Staggered meters read at a seeded offset into each interval, to the millisecond.
        self._anchor = round(float(stream(seed, spec.id, "phase").random()) * spec.interval, 3) if stagger else 0.0
        self._next_k = 0
        self._numpy_only = False
        """A fault in force has only the numpy form: sample with numpy even one reading at a time."""
        self.revision = 0
        """Counts changes of this device's state (events, commands), so views of it can be cached."""

    @property
    def next_due(self) -> float:
        """Sim time of the next reading."""
        return self._anchor + self._next_k * self.interval

    @property
    def status(self) -> Status:
        return self.link.status

    @property
    def enabled(self) -> bool:
        return self.load.enabled

    def stages(self) -> tuple[Stage, ...]:
        return (self.load, self.electrics, self.register, self.link)

    def faults(self) -> list[Fault]:
        """The faults in force, stage by stage."""
        return [fault for stage in self.stages() for fault in stage.faults]

    def add_fault(self, fault: Fault) -> None:
        self._stage(fault).add(fault)
        self._numpy_only = any(stage.arrays_only() for stage in self.stages())

    def remove_fault(self, fault: Fault) -> None:
        self._stage(fault).remove(fault)
        self._numpy_only = any(stage.arrays_only() for stage in self.stages())

    def clear_faults(self, name: str | None = None) -> None:
        """End faults now: every one of kind `name`, or all of them."""
        for stage in self.stages():
            stage.clear(name)
        self._numpy_only = any(stage.arrays_only() for stage in self.stages())

    def _stage(self, fault: Fault) -> Stage:
        stage: Stage = getattr(self, fault.stage)
        return stage

    def modulate(self, now: float, factor: float) -> None:
        """The behaviour factor from `now` on (called by the device's behaviour process)."""
        self.load.modulate(now, factor)

    @property
    def powered(self) -> bool:
        """The supply is there (no outage in force)."""
        return not any(isinstance(fault, Outage) for fault in self.electrics.faults)

    def restart(self, now: float) -> None:
        """The load starts again at `now` (power back, enable, a breaker closed): a motor's inrush.

        Called after the change that lets it run; does nothing while it still cannot (no supply,
        switched off).
        """
        if self.powered and self.load.enabled:
            self.load.start_motor(now)

    def start_at(self, t: float) -> None:
        """A device created at sim time `t`: no readings before it, energy counted from it."""
        self._next_k = max(0, math.ceil((t - self._anchor) / self.interval))
        self.register.start_at(t)
        self.load.started_at(t)

    def respec(self, spec: DeviceSpec) -> None:
        """Another spec of the same device (same id and kind) from now on."""
        interval_changed = spec.interval != self.spec.interval
        self.spec = spec
        self.load.respec(spec)
        if interval_changed:
            self.set_interval(spec.interval)

    def set_interval(self, interval: float) -> None:
        """The next reading stays where it was due; the ones after it come every `interval`."""
        self._anchor = self._anchor + self._next_k * self.interval
        self._next_k = 0
        self.interval = interval

    def _slot_count(self, until: float) -> int:
        anchor, interval = self._anchor, self.interval
        end = max(self._next_k, math.ceil((until - anchor) / interval))
        while end > self._next_k and anchor + (end - 1) * interval >= until:
            end -= 1
        while anchor + end * interval < until:
            end += 1
        return end - self._next_k

    def sample(self, until: float, out: Produced) -> None:
        """Readings due before `until` under the current state, into `out` if sent."""
        n = self._slot_count(until)
        if n <= 0:
            return
        if n <= _FEW and not self._numpy_only:
            times = [k * self.interval + self._anchor for k in range(self._next_k, self._next_k + n)]
            self._next_k += n
            self._read(times, out)
            return
        k = np.arange(self._next_k, self._next_k + n, dtype=np.float64)
        t: FloatArray = k * self.interval + self._anchor
        self._next_k += n
        self._read_arrays(t, self.interval % 1.0 != 0.0 or self._anchor % 1.0 != 0.0, out)

    def read_now(self, now: float, out: Produced) -> None:
        """One extra reading at `now`, outside the schedule (the API's `simulate`)."""
        if self._numpy_only:
            millis = self.interval % 1.0 != 0.0 or self._anchor % 1.0 != 0.0 or now % 1.0 != 0.0
            self._read_arrays(np.array([now]), millis, out)
        else:
            self._read([now], out)

    def _read_arrays(self, t: FloatArray, millis: bool, out: Produced) -> None:
        """Readings at `t` (ascending, after the last one) with numpy, as a chunk."""
        power, voltage, current = self.electrics.over(self.spec, self.load.over(t, self.interval))
        shown = self.register.over(t, power, voltage, current)
        self.link.send(t, shown, self.load.enabled, millis, out)

    def _read(self, times: list[float], out: Produced) -> None:
        """Readings at `times` (ascending, after the last one) with Python floats, as rows."""
        spec = self.spec
        powers, voltages, currents = self.electrics.at(spec, self.load.at(times, self.interval))
        shown = self.register.at(times, powers, voltages, currents)
        millis = self.interval % 1.0 != 0.0 or self._anchor % 1.0 != 0.0 or times[0] % 1.0 != 0.0
        self.link.send_few(times, shown, self.load.enabled, millis, out)
