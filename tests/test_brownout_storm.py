"""The named scenario `brownout-storm`: repeated sags, and regulated loads whose breakers trip in them.

The day runs once (virtual time); the tests hold the readings against the run report, as a pipeline would.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from engine import load_named
from engine.runtime.driver import run_virtual
from engine.runtime.report import Report, ReportFault, build_report
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation

NOMINAL = 230.0
VOLTAGE_NOISE = 0.02
HOUR = 3600.0
Row = tuple[int, float, float, float, float]
"""seq, t, power, voltage, current of one reading."""


@pytest.fixture(scope="module")
def storm() -> tuple[dict[str, list[Row]], Report]:
    loaded = load_named("brownout-storm")
    sim = Simulation(loaded.plan, sink := MemorySink())
    run_virtual(sim, loaded.plan.duration)
    rows: dict[str, list[Row]] = defaultdict(list)
    for r in sink.readings():
        rows[r.device_id].append((r.seq, r.t, r.power, r.voltage, r.current))
    report = build_report(sim, run_id="test", source=loaded.source, until=loaded.plan.duration, wall_seconds=0.0)
    return rows, report


def _covered(report: Report, action: str, device_id: str) -> set[int]:
    """The seqs of `device_id` that the report's faults of `action` cover."""
    seqs: set[int] = set()
    for fault in report["faults"]:
        span = fault["seq"].get(device_id) if fault["action"] == action else None
        if span is not None:
            seqs |= set(range(span[0], span[1] + 1))
    return seqs


def _trips(report: Report) -> list[ReportFault]:
    return [fault for fault in report["faults"] if fault["action"] == "trip"]


def _sags(report: Report, deepest: float = 1.0) -> list[ReportFault]:
    """The report's brownouts with a factor of `deepest` or below."""
    return [f for f in report["faults"] if f["action"] == "brownout" and _param(f, "factor") <= deepest]


def _param(fault: ReportFault, name: str) -> float:
    value = fault["params"][name]
    assert isinstance(value, float)
    return value


def _span(fault: ReportFault, device_id: str) -> tuple[int, int]:
    """The first and last seq of `device_id` that `fault` covers."""
    span = fault["seq"][device_id]
    assert span is not None
    return span[0], span[1]


def _end(fault: ReportFault) -> float:
    assert fault["end"] is not None
    return fault["end"]["t"]


def test_every_sag_shows_in_every_meters_voltage_and_nowhere_else(storm: tuple[dict[str, list[Row]], Report]) -> None:
    rows, report = storm
    sags = _sags(report)
    assert len(sags) > 40  # the storm's seeded arrivals, the feeder fault, the evening undervoltage
    assert all(len(fault["targets"]) == len(rows) for fault in sags)
    for device_id, readings in rows.items():
        outage = _covered(report, "outage", device_id)
        low = {seq for seq, _, _, voltage, _ in readings if voltage < NOMINAL * (1 - VOLTAGE_NOISE)} - outage
        assert low == _covered(report, "brownout", device_id) - outage, device_id


def test_regulated_loads_with_a_limit_trip_in_the_deep_sags(storm: tuple[dict[str, list[Row]], Report]) -> None:
    """Every trip is the meter's own, in the middle of a sag of 22 % or more, and above the device's limit."""
    _, report = storm
    trips = _trips(report)
    tripped = {fault["targets"][0] for fault in trips}
    assert tripped == {"freezer-comp-1", "freezer-comp-2", "freezer-comp-3", "sorter", "dock-conveyor"}
    assert len(trips) == 8  # the freezers trip twice: the technician's reset at 15:20 comes between two sags
    deep = _sags(report, deepest=0.78)
    for trip in trips:
        (device_id,) = trip["targets"]
        assert trip["source"] == "meter" and _param(trip, "current_a") > _param(trip, "trip_current_a")
        t = trip["start"]["t"]
        assert any(sag["start"]["t"] <= t < _end(sag) and device_id in sag["targets"] for sag in deep)
        assert 14.5 * HOUR <= t < 17.5 * HOUR  # in the storm; the evening's 6 % undervoltage trips none


def test_a_tripped_breaker_reads_zero_with_the_voltage_there_until_reset(
    storm: tuple[dict[str, list[Row]], Report],
) -> None:
    rows, report = storm
    resets = [event for event in report["events"] if event["action"] == "clear_trip"]
    assert [round(event["t"] / HOUR, 2) for event in resets] == [15.33, 17.83, 18.08]  # 15:20, 17:50, 18:05
    for trip in _trips(report):
        (device_id,) = trip["targets"]
        assert any(event["t"] == _end(trip) and device_id in event["targets"] for event in resets)
        first, last = _span(trip, device_id)
        inside = [row for row in rows[device_id] if first <= row[0] <= last]
        assert inside and all(power == current == 0.0 for _, _, power, _, current in inside)
        outage = _covered(report, "outage", device_id)
        assert all(voltage > 100.0 for seq, _, _, voltage, _ in inside if seq not in outage)  # sagged, not gone
        after = [row for row in rows[device_id] if row[0] > last][:3]
        assert after and all(power > 0.0 for _, _, power, _, _ in after)  # it draws again after the reset


def test_loads_without_a_limit_ride_through(storm: tuple[dict[str, list[Row]], Report]) -> None:
    """In the feeder fault's sag the UPS and the LEDs keep their power at a higher current; the heaters' power falls."""
    rows, report = storm
    assert {"it-room", "warehouse-lighting", "defrost-heaters"}.isdisjoint(t["targets"][0] for t in _trips(report))
    (deep,) = (fault for fault in _sags(report, deepest=0.72))

    def around(device_id: str) -> tuple[list[Row], list[Row]]:
        """The last readings at nominal voltage before the sag, and those in it."""
        first, last = _span(deep, device_id)
        before = [row for row in rows[device_id] if row[0] < first and row[3] > NOMINAL * (1 - VOLTAGE_NOISE)][-2:]
        return before, [row for row in rows[device_id] if first <= row[0] <= last]

    for device_id in ("it-room", "warehouse-lighting"):
        before, inside = around(device_id)
        powers = [row[2] for row in before + inside]
        assert max(powers) < 1.05 * min(powers), device_id
        assert min(row[4] for row in inside) > 1.25 * max(row[4] for row in before), device_id
    before, inside = around("defrost-heaters")
    assert max(row[2] for row in inside) < 0.75 * min(row[2] for row in before)  # power x factor^2
