"""The report's faults: each occurrence's span and, per device, the `seq` range of the readings in it."""

from __future__ import annotations

from engine import parse_scenario
from engine.model.actions import DeleteDevice
from engine.runtime.report import build_report
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from tests.helpers import by_device, command, scenario_text

TEXT = scenario_text(
    """\
    devices:
      - {id: ac, kind: hvac, interval: 7s}
      - {id: rack, kind: server, interval: 1m}
      - {id: oven, kind: appliance, interval: 13s}
    events:
      - {at: "+00:10", action: outage, target: [ac, oven], duration: 20m}
      - {at: "+00:20", action: comm_loss, target: [rack, oven], duration: 15m}
      - {at: "+00:25", action: outage, target: oven, duration: 2m}
      - {rate: "3/h", action: spikes, target: rack, duration: 5m, probability: 0.5}
      - {at: "+01:30", action: brownout, target: all}
      - {at: "+00:50", action: set_power, target: ac, kw: 3}
    """
)


def test_the_report_gives_exactly_the_seq_range_each_fault_covered() -> None:
    sink = MemorySink()
    sim = Simulation(parse_scenario(TEXT).plan, sink)
    sim.advance(3000.0)
    command(sim, "oven", "inject_fault", {"fault": "stuck"})  # until cleared
    sim.advance(3400.0)
    command(sim, "oven", "clear_fault", {"fault": "stuck"})
    sim.advance(7200.0)
    report = build_report(sim, run_id="r", source="t.yaml", until=sim.now, wall_seconds=0.0)
    readings = by_device(sink.readings())
    faults = report["faults"]
    spans = [f for f in faults if f["action"] != "spikes"]
    assert [f["action"] for f in spans] == ["outage", "comm_loss", "outage", "stuck", "brownout"]
    assert "set_power" not in {f["action"] for f in faults}  # instant: not a span
    assert sum(f["action"] == "spikes" for f in faults) >= 1
    for fault in faults:
        start = fault["start"]["t"]
        end = fault["end"]["t"] if fault["end"] is not None else float("inf")
        for device_id in fault["targets"]:
            seqs = [r.seq for r in readings[device_id] if start <= r.t < end]
            assert fault["seq"][device_id] == ([seqs[0], seqs[-1]] if seqs else None), (fault, device_id)
        start_event = report["events"][fault["id"]]
        assert (start_event["action"], start_event["phase"], start_event["t"]) == (fault["action"], "start", start)
    outage, comm_loss, short, stuck, brownout = spans
    assert (outage["end"], outage["targets"]) == ({"t": 1800.0, "timestamp": "2025-08-04T00:30:00Z"}, ["ac", "oven"])
    assert outage["seq"]["ac"] is not None and comm_loss["seq"] == {"rack": None, "oven": None}  # silent
    assert short["seq"] == {"oven": None}  # it fell in the comm loss: no reading measured and sent
    assert (stuck["source"], stuck["start"]["t"]) == ("command", 3000.0)
    assert stuck["end"] == {"t": 3400.0, "timestamp": "2025-08-04T00:56:40Z"}  # cleared
    assert stuck["params"] == {} and stuck["duration"] is None
    assert brownout["end"] is None and brownout["params"] == {"factor": 0.85}  # in force at the report
    assert brownout["seq"]["rack"] == [75, 104]  # from 1:30 on, the minutes lost in the comm loss not counted


def test_a_partial_clear_ends_the_fault_there_and_the_rest_at_its_duration() -> None:
    sink = MemorySink()
    text = scenario_text('devices: [{id: a, kind: server}, {id: b, kind: server}]\nevents:\n'
                         '  - {at: "+00:01", action: outage, duration: 10m}\n')  # fmt: skip
    sim = Simulation(parse_scenario(text).plan, sink)
    sim.advance(300.0)
    command(sim, "a", "clear_fault", {"fault": "outage"})
    sim.advance(1200.0)
    assert [(e.t, e.action, e.phase, e.targets, e.source, e.occurrence) for e in sim.journal] == [
        (60.0, "outage", "start", ("a", "b"), "scenario", 0),
        (300.0, "clear_fault", "start", ("a",), "command", None),
        (300.0, "outage", "end", ("a",), "command", 0),
        (660.0, "outage", "end", ("b",), "scenario", 0),
    ]
    (fault,) = build_report(sim, run_id="r", source="t", until=1200.0, wall_seconds=0.0)["faults"]
    assert fault["end"] == {"t": 660.0, "timestamp": "2025-08-04T00:11:00Z"}
    assert fault["seq"] == {"a": [6, 29], "b": [6, 65]}  # 10 s readings: 60 s to 300 s, and to 660 s


def test_a_device_deleted_during_a_fault_keeps_the_range_of_what_it_sent() -> None:
    sink = MemorySink()
    text = scenario_text('devices: [{id: a, kind: server}, {id: b, kind: server}]\nevents:\n'
                         '  - {at: "+00:01", action: brownout, duration: 10m}\n')  # fmt: skip
    sim = Simulation(parse_scenario(text).plan, sink)
    sim.advance(200.0)
    sim.apply(DeleteDevice(), ("b",))
    sim.advance(1200.0)
    (fault,) = build_report(sim, run_id="r", source="t", until=1200.0, wall_seconds=0.0)["faults"]
    assert fault["end"] == {"t": 660.0, "timestamp": "2025-08-04T00:11:00Z"}
    assert fault["seq"] == {"a": [6, 65], "b": [6, 19]}  # b: 60 s up to its deletion at 200 s


def test_a_fault_without_duration_ends_on_a_device_when_it_is_deleted() -> None:
    """A stuck meter deleted at 200 s: its fault ends there (it stayed `end: null` for ever)."""
    text = scenario_text('devices: [{id: a, kind: server}, {id: b, kind: server}]\nevents:\n'
                         '  - {at: "+00:01", action: stuck, target: b}\n')  # fmt: skip
    sim = Simulation(parse_scenario(text).plan, MemorySink())
    sim.advance(200.0)
    sim.apply(DeleteDevice(), ("b",))
    sim.advance(1200.0)
    (fault,) = build_report(sim, run_id="r", source="t", until=1200.0, wall_seconds=0.0)["faults"]
    assert fault["end"] == {"t": 200.0, "timestamp": "2025-08-04T00:03:20Z"} and fault["seq"] == {"b": [6, 19]}
    assert [(e.t, e.action, e.phase, e.source) for e in sim.journal][-2:] == [
        (200.0, "delete_device", "start", "command"),
        (200.0, "stuck", "end", "command"),
    ]


def test_the_report_gives_an_arrivals_end_to_the_millisecond() -> None:
    text = scenario_text('devices: [{id: a, kind: server}]\nevents:\n'
                         '  - {rate: "20/h", action: outage, duration: 7.3s}\n')  # fmt: skip
    sim = Simulation(parse_scenario(text).plan, MemorySink())
    sim.advance(3600.0)
    report = build_report(sim, run_id="r", source="t", until=3600.0, wall_seconds=0.0)
    ends = [fault["end"]["t"] for fault in report["faults"] if fault["end"] is not None]
    assert len(ends) > 5 and all(t == round(t, 3) and len(repr(t).split(".")[1]) <= 3 for t in ends)
