"""One simulated device: its reading schedule and the four stages a reading passes.

    load (demand)  ->  electrics (voltage, current)  ->  register (energy, shown values)  ->  link (sent?)

Discrete things (events, commands, behaviour changes) happen in SimPy; between two of them a
device's state is constant, so `sample(until)` computes every reading due before `until` in one
go: with numpy for many, with Python floats for a few (real time samples one or two per tick).
Each reading draws a fixed number of values from the device's own streams, so results do not
depend on where a run is cut into batches: virtual, accelerated and real-time runs give the same
bytes. A fault is a modifier on the stage it affects (`engine.model.faults`).

A device with a `trip_current_a` opens its own breaker at the first reading whose current exceeds
it (in either path, on the same reading): the `Trip` stays in force until cleared, and the trip
goes into `out.happenings` at that reading's time, for the simulation's journal. After a clear the
load draws again, and trips again at its next reading if its current is still above the limit.
"""

from __future__ import annotations

import math

import numpy as np

from engine.model.calendar import SiteCalendar
from engine.model.electrics import Electrics
from engine.model.faults import Fault, Outage, Trip
from engine.model.history import Playback
from engine.model.link import Link
from engine.model.load import Load
from engine.model.randomness import Streams, stream
from engine.model.readings import FloatArray, Happening, Produced, Status
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
        self.site = site
        self.calendar = calendar
        self.load = Load(spec, calendar, streams, climate, self._playback(spec))
        self.electrics = Electrics(spec, site, streams)
        self.register = Register(spec, streams)
        self.link = Link(index, streams, spec.buffer)
        # Reading slots are anchor + k * interval, so changing the interval re-anchors.
        self.interval = spec.interval
        # Staggered meters read at a seeded offset into each interval, to the millisecond.
        self._anchor = round(float(stream(seed, spec.id, "phase").random()) * spec.interval, 3) if stagger else 0.0
        self._next_k = 0
        self._numpy_only = self.load.playback is not None
        """A fault in force, or a replay, has only the numpy form: sample with numpy even one reading at a time."""
        self.revision = 0
        """Counts changes of this device's state (events, commands), so views of it can be cached."""

    @property
    def next_due(self) -> float:
        """Sim time of the next reading, or of a reading held back that is due to be sent before it."""
        due = self._anchor + self._next_k * self.interval
        return due if due <= self.link.next_release else self.link.next_release

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
        self._numpy_only = self._arrays_only()

    def remove_fault(self, fault: Fault) -> None:
        self._stage(fault).remove(fault)
        self._numpy_only = self._arrays_only()

    def clear_faults(self, name: str | None = None) -> None:
        """End faults now: every one of kind `name`, or all of them."""
        for stage in self.stages():
            stage.clear(name)
        self._numpy_only = self._arrays_only()

    def _arrays_only(self) -> bool:
        return self.load.playback is not None or any(stage.arrays_only() for stage in self.stages())

    def _playback(self, spec: DeviceSpec) -> Playback | None:
        """A replay device's view of its history, for its phases, supply and power factor."""
        if spec.replay is None:
            return None
        return Playback(
            spec.replay,
            phases=spec.phases,
            nominal_voltage=self.site.voltage,
            power_factor=spec.power_factor,
            calendar=self.calendar,
        )

    def _stage(self, fault: Fault) -> Stage:
        stage: Stage = getattr(self, fault.stage)
        return stage

    def modulate(self, now: float, factor: float) -> None:
        """The behaviour factor from `now` on (called by the device's behaviour process)."""
        self.load.modulate(now, factor)

    @property
    def powered(self) -> bool:
        """The supply is there: no outage, and the breaker closed (no trip in force)."""
        return not any(isinstance(fault, Outage | Trip) for fault in self.electrics.faults)

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
        replayed = spec.replay != self.spec.replay or spec.phases != self.spec.phases
        replayed = replayed or spec.power_factor != self.spec.power_factor
        self.spec = spec
        self.load.respec(spec)
        if replayed:
            self.load.playback = self._playback(spec)
            self._numpy_only = self._arrays_only()
        self.register.respec(spec)
        self.link.resize(spec.buffer)
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
        """Readings due before `until` under the current state, into `out` if sent; and the readings
        held back (by a fault or the meter's buffer) whose send instant is before `until`."""
        n = self._slot_count(until)
        if n > 0:
            self._sample(n, out)
        if self.link.next_release < until:
            self.link.release(until, out)

    def _sample(self, n: int, out: Produced) -> None:
        """The next `n` readings of the schedule."""
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
        playback = self.load.playback
        recorded = playback.supply(t) if playback is not None and playback.recorded else None
        power, voltage, current = self.electrics.over(self.spec, self.load.over(t, self.interval), recorded)
        if self.spec.trip_current_a is not None:
            surge = self.load.surge
            power, current, trip = self.electrics.breaker(
                self.spec.trip_current_a, power, current, surge if isinstance(surge, np.ndarray) else None
            )
        else:
            trip = None
        shown = self.register.over(t, power, voltage, current)
        sent_before = self.link.seq
        self.link.send(t, shown, self.load.enabled, millis, out)
        if trip is not None:
            self._tripped(float(t[trip[0]]), trip[1], self._seq_at(trip[0], len(t), sent_before), out)

    def _read(self, times: list[float], out: Produced) -> None:
        """Readings at `times` (ascending, after the last one) with Python floats, as rows."""
        spec = self.spec
        powers, voltages, currents = self.electrics.at(spec, self.load.at(times, self.interval))
        if spec.trip_current_a is not None:
            surge = self.load.surge
            trip = self.electrics.breaker_at(
                spec.trip_current_a, powers, currents, surge if isinstance(surge, list) else None
            )
        else:
            trip = None
        shown = self.register.at(times, powers, voltages, currents)
        millis = self.interval % 1.0 != 0.0 or self._anchor % 1.0 != 0.0 or times[0] % 1.0 != 0.0
        if trip is None:
            self.link.send_few(times, shown, self.load.enabled, millis, out)
            return
        sent_before = self.link.seq
        self.link.send_few(times, shown, self.load.enabled, millis, out)
        self._tripped(times[trip[0]], trip[1], self._seq_at(trip[0], len(times), sent_before), out)

    def _tripped(self, t: float, current: float, seq: int, out: Produced) -> None:
        """The breaker opened by itself at the reading at `t` (`seq`), its current `current` over the limit."""
        fault = Trip()
        self.add_fault(fault)
        self.revision += 1
        params = {"current_a": round(current, 3), "trip_current_a": self.spec.trip_current_a}
        out.happenings.append(Happening(t, self.index, "trip", params, fault, seq))

    def _seq_at(self, index: int, count: int, sent_before: int) -> int:
        """The `seq` of reading `index` of the `count` just sent from `sent_before`, or of the next one
        when they got none (the link down, without a buffer)."""
        return sent_before + index if self.link.seq - sent_before == count else self.link.seq
