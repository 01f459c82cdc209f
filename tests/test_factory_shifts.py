"""The named scenario `factory-shifts`: three shifts, weekend standby, motors that start with an inrush.

The week runs once (virtual time, about a second); each test reads what it defines from its readings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from engine import load_named
from engine.model.readings import FloatArray
from engine.model.specs import DeviceSpec
from engine.runtime.driver import run_virtual
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation

DAY = 86400.0
HOUR = 3600.0
WEEKDAYS = range(1, 6)
"""Days of the run (from Sunday 00:00 local, a week without a DST change) that are Monday to Friday."""


@dataclass(frozen=True)
class Series:
    """One device's readings in time order."""

    spec: DeviceSpec
    t: FloatArray
    power: FloatArray
    current: FloatArray
    energy: FloatArray

    def at(self, t: float) -> int:
        """Index of the reading at `t`."""
        index = int(np.searchsorted(self.t, t))
        assert self.t[index] == t, f"{self.spec.id} has no reading at {t}"
        return index


@pytest.fixture(scope="module")
def week() -> dict[str, Series]:
    loaded = load_named("factory-shifts")
    sim = Simulation(loaded.plan, sink := MemorySink())
    run_virtual(sim, loaded.plan.duration)
    series = {}
    for index, spec in enumerate(loaded.plan.devices):
        parts = [(b.t[b.device == index], b.power[b.device == index], b.current[b.device == index],
                  b.energy[b.device == index]) for b in sink.batches]  # fmt: skip
        t, power, current, energy = (np.concatenate(column) for column in zip(*parts, strict=True))
        order = np.argsort(t, kind="stable")
        series[spec.id] = Series(spec, t[order], power[order], current[order], energy[order])
    return series


def _site_energy(week: dict[str, Series], day: int) -> float:
    """kWh the whole site used on day `day` of the run (its register at the day's end minus at its start)."""
    total = 0.0
    for s in week.values():
        first, last = np.searchsorted(s.t, [day * DAY, (day + 1) * DAY], side="right") - 1
        total += float(s.energy[last] - (s.energy[first] if day else 0.0))
    return total


def test_the_weekend_uses_a_fraction_of_a_weekday(week: dict[str, Series]) -> None:
    weekdays = [_site_energy(week, day) for day in WEEKDAYS]
    sunday, saturday = _site_energy(week, 0), _site_energy(week, 6)
    assert min(weekdays) > 0.97 * max(weekdays) > 14_000  # about 16 MWh every working day
    assert max(sunday, saturday) < 0.16 * min(weekdays)


def test_three_two_and_one_shifts(week: dict[str, Series]) -> None:
    """At 03:00 only the moulding machines work; at 11:00 all three groups; at 19:00 the first two."""

    def load(tag: str, t: float) -> float:
        """Mean fraction of rated power drawn by the devices with `tag` at `t`."""
        devices = [s for s in week.values() if tag in s.spec.tags]
        return float(np.mean([s.power[s.at(t)] / s.spec.rated_kw for s in devices]))

    for day in WEEKDAYS:
        night, morning, evening = day * DAY + 3 * HOUR, day * DAY + 11 * HOUR, day * DAY + 18 * HOUR + 3600
        assert load("three-shift", night) > 0.6 and load("two-shift", night) < 0.01 and load("day-shift", night) < 0.01
        assert min(load("three-shift", morning), load("two-shift", morning), load("day-shift", morning)) > 0.6
        assert load("three-shift", evening) > 0.6 and load("two-shift", evening) > 0.6
        assert load("day-shift", evening) < 0.01
    saturday_noon = 6 * DAY + 12 * HOUR
    assert load("three-shift", saturday_noon) < 0.15  # weekend standby


def test_presses_exceed_their_rating_only_in_the_inrush_of_each_shift_start(week: dict[str, Series]) -> None:
    """A flywheel press's start (6x for 3 s) shows in the 5 s reading after 06:00 on each weekday: about 4x."""
    for press in ("press-01", "press-02", "press-03"):
        s = week[press]
        starts = [day * DAY + 6 * HOUR for day in WEEKDAYS]
        assert list(s.t[s.power > s.spec.rated_kw]) == [start + 5.0 for start in starts]
        for start in starts:
            at = s.at(start + 5.0)
            assert s.current[at] > 3.5 * max(s.current[at - 1], s.current[at + 1])


def test_conveyors_and_the_lag_compressor_start_with_an_inrush(week: dict[str, Series]) -> None:
    """Each motor start (after an enable) shows in the next reading, well above the readings around it."""
    starts = {
        "assembly-1": [day * DAY + 6 * HOUR for day in WEEKDAYS],
        "assembly-2": [day * DAY + 6 * HOUR for day in WEEKDAYS],
        "compressor-lag": [23 * HOUR],
    }
    for device_id, times in starts.items():
        s = week[device_id]
        for start in times:
            at = s.at(start + s.spec.interval)
            assert s.current[at] > 1.6 * max(s.current[at - 1], s.current[at + 1]), (device_id, start)
        assert s.power[s.at(times[0]) - 1] < 0.01 * s.spec.rated_kw  # off (standby) until then
