"""Devices created, changed and removed while a simulation runs (the API's device routes)."""

from __future__ import annotations

import dataclasses

import pytest

from engine import parse_scenario
from engine.errors import DeviceError, DuplicateDevice, UnknownDevice
from engine.model.actions import CreateDevice, DeleteDevice, UpdateDevice
from engine.runtime.report import build_report
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from tests.helpers import command, scenario_text

TEXT = scenario_text("devices: [{id: a, kind: hvac, interval: 10s}]\n")


def _sim() -> tuple[Simulation, MemorySink]:
    sink = MemorySink()
    return Simulation(parse_scenario(TEXT, "t.yaml").plan, sink), sink


def test_a_created_device_reads_from_now_on_and_announces_itself() -> None:
    sim, sink = _sim()
    sim.advance(95)
    spec = dataclasses.replace(sim.plan.devices[0], id="b", interval=5.0)
    sim.apply(CreateDevice(spec), (spec.id,))
    sim.advance(130)
    times = [r.t for r in sink.readings() if r.device_id == "b"]
    assert times == [95.0, 100.0, 105.0, 110.0, 115.0, 120.0, 125.0]
    seqs = [r.seq for r in sink.readings() if r.device_id == "b"]
    assert seqs == list(range(7))
    assert any(s.device_id == "b" and s.reason == "created" and s.status == "online" for s in sink.statuses)
    with pytest.raises(DuplicateDevice):
        sim.apply(CreateDevice(spec), (spec.id,))


def test_a_removed_device_stops_and_clears_its_status() -> None:
    sim, sink = _sim()
    sim.advance(100)
    sim.apply(DeleteDevice(), ("a",))
    sim.advance(1000)
    assert max(r.t for r in sink.readings()) == 90.0
    assert sink.statuses[-1].removed and sink.statuses[-1].device_id == "a"
    assert "a" not in sim.by_id and not sim.devices
    assert not sim._behaviours  # the compressor process ended with the device
    with pytest.raises(UnknownDevice):
        sim.apply(DeleteDevice(), ("a",))
    with pytest.raises(UnknownDevice):
        command(sim, "a", "disable")
    report = build_report(sim, run_id="r", source="t.yaml", until=sim.now, wall_seconds=0.0)
    assert [(d["device_id"], d["readings"]) for d in report["devices"]] == [("a", 10)]  # still accounted for
    assert [e["action"] for e in report["events"]][-1] == "delete_device"


def test_an_update_applies_from_now_and_the_kind_cannot_change() -> None:
    sim, sink = _sim()
    sim.advance(60)
    spec = dataclasses.replace(sim.plan.devices[0], interval=30.0, rated_kw=1000.0, behaviour=True)
    sim.apply(UpdateDevice(spec), ("a",))
    sim.advance(150)
    readings = [r for r in sink.readings() if r.device_id == "a"]
    assert [r.t for r in readings] == [0, 10, 20, 30, 40, 50, 60, 90, 120]
    assert max(r.power for r in readings[:6]) < 10 < min(r.power for r in readings[6:])
    with pytest.raises(DeviceError, match="kind"):
        sim.apply(UpdateDevice(dataclasses.replace(spec, kind="server")), ("a",))
