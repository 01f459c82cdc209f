"""A live session recorded as an overlay and replayed: exact instants, same-instant order, every change."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from engine import load_named, load_scenario
from engine.errors import SimulationError
from engine.model.actions import Action, CreateDevice, DeleteDevice, ReadNow, RunChange, UpdateDevice
from engine.model.readings import Reading
from engine.model.specs import Plan, Recorded, shard
from engine.runtime.driver import run_virtual
from engine.runtime.recorder import session_recording
from engine.runtime.sinks import MemorySink
from engine.scenario.actions import command_action
from engine.scenario.catalog import scenario_names
from engine.scenario.compile import device_fields, device_spec, moved_to
from engine.scenario.device_format import Device
from engine.scenario.recording import Base, NothingToRecord, change_fields, recording
from engine.scenario.source import MAX_FILE_BYTES
from engine.simulation import Simulation
from tests.helpers import by_device

BASE = """\
version: 1
name: rec-base
start: 2025-08-04T08:00:00
timezone: Europe/Berlin
seed: 7
duration: 1d
devices:
  - {id: hvac-1, kind: hvac, interval: 1s}
  - {id: light-1, kind: lighting, interval: 2s, tags: [floor]}
  - {id: rack-1, kind: server, interval: 500ms, buffer: 100}
  - {id: line-1, kind: industrial, interval: 1s, shifts: 3}
events:
  - {at: "+00:00:05", action: set_power, target: rack-1, kw: 1}
  - {rate: "1/min", action: spikes, target: all, probability: 0.5, duration: 20s}
  - {at: "2025-08-04T08:01:00", action: set_power, target: hvac-1, kw: 3}
"""


QUIET = """\
devices:
  - {id: rack-1, kind: server, interval: 500ms, noise: 0, voltage_noise: 0, behaviour: false}
  - {id: rack-2, kind: server, interval: 500ms, noise: 0, voltage_noise: 0, behaviour: false}
events:
  - {at: "+00:00:05", action: set_power, target: rack-1, kw: 1}
  - {at: "+00:00:02", action: disable, target: rack-2, duration: 3s}
"""


@pytest.fixture
def base_file(tmp_path: Path) -> Path:
    path = tmp_path / "base.yaml"
    path.write_text(BASE)
    return path


def _spec(plan: Plan, **fields: object) -> CreateDevice:
    return CreateDevice(device_spec(Device.model_validate(fields), plan.profiles, plan.site))


def _live(plan: Plan, steps: list[tuple[float, Action | RunChange, tuple[str, ...]]], until: float) -> Simulation:
    """What a live driver does: advance to each instant (readings before it out), apply the change there."""
    sim = Simulation(plan, MemorySink())
    for t, change, targets in steps:
        sim.advance(t)
        sim.apply(change, targets)
    sim.advance(until)
    return sim


def _replay(tmp_path: Path, base: Base, started: Plan, sim: Simulation) -> Simulation:
    path = tmp_path / "session.yaml"
    path.write_text(session_recording(base, started, sim, folder=tmp_path))
    plan = load_scenario(path).plan
    replayed = Simulation(plan, MemorySink())
    run_virtual(replayed, plan.duration)
    return replayed


def _readings(sim: Simulation) -> dict[str, list[Reading]]:
    assert isinstance(sim.sink, MemorySink)
    return by_device(sim.sink.readings())


def test_a_recorded_session_replays_every_reading_and_the_journal(tmp_path: Path, base_file: Path) -> None:
    """Moved to start (as `serve --start` moves it) 30 s before Berlin's clocks skip an hour, events with it."""
    plan = moved_to(load_scenario(base_file).plan, datetime(2026, 3, 29, 1, 59, 30))
    created = _spec(plan, id="app-1", kind="appliance", interval="1s")
    steps: list[tuple[float, Action | RunChange, tuple[str, ...]]] = [
        (0.0, command_action("light-1", "set_power", {"fraction": 0.5}), ("light-1",)),
        (0.1 + 0.2, command_action("rack-1", "duplicate", {"probability": 0.5, "duration": "10s"}), ("rack-1",)),
        (5.0, command_action("rack-1", "set_power", {"kw": 2}), ("rack-1",)),  # with the scenario's event at 5 s
        (7.123456789012345, created, ("app-1",)),
        (12.5, UpdateDevice(dataclasses.replace(created.spec, rated_kw=3.3, interval=2.0)), ("app-1",)),
        (20.000000000000004, command_action("rack-1", "set_offline", {}), ("rack-1",)),
        (25.0, command_action("rack-1", "set_online", {}), ("rack-1",)),
        (30.25, ReadNow(), ("hvac-1",)),
        (40.0, DeleteDevice(), ("light-1",)),
        (41.0, _spec(plan, id="light-1", kind="lighting", interval="3s", rated_kw=2), ("light-1",)),
        (55.5, command_action("hvac-1", "inject_fault", {"fault": "brownout", "duration": "5s"}), ("hvac-1",)),
        (61.0, command_action("line-1", "out_of_order", {"probability": 0.3}), ("line-1", "hvac-1")),
    ]  # fmt: skip
    live = _live(plan, steps, 73.3)
    replayed = _replay(tmp_path, Base(path=base_file), plan, live)

    assert replayed.now == live.now == 73.3
    assert _readings(replayed) == _readings(live)
    assert sum(len(readings) for readings in _readings(live).values()) > 300
    assert list(replayed.journal) == list(live.journal)
    assert (60.0, "set_power", ("hvac-1",)) in [(e.t, e.action, e.targets) for e in replayed.journal]
    assert [(r.at, r.targets) for r in replayed.applied] == [(r.at, r.targets) for r in live.applied]


def test_instants_start_and_end_round_trip_exactly(tmp_path: Path, base_file: Path) -> None:
    plan = dataclasses.replace(load_scenario(base_file).plan, start_epoch=1754287200.25)  # a quarter second in
    instants = sorted([0.0, 0.1 + 0.2, 1 / 3, 1e-7, 86399.99999999999, 123456.78901234567, 2.0**-40, 3e9 + 0.1])
    changes = [Recorded(t, command_action("rack-1", "set_power", {"kw": 1}), ("rack-1",)) for t in instants]
    until = 3e9 + 0.30000000000000004
    text = recording(Base(path=base_file), plan, started=plan, seed=11, until=until, changes=changes, folder=tmp_path)
    (tmp_path / "rec.yaml").write_text(text)

    replay = load_scenario(tmp_path / "rec.yaml").plan
    assert [recorded.at for recorded in replay.session] == instants
    assert replay.duration == until
    assert replay.start_epoch == plan.start_epoch
    assert replay.seed == 11
    assert yaml.safe_load(text)["extends"] == "./base.yaml"


def test_a_change_lands_after_the_timeline_and_before_the_readings_of_its_instant(
    tmp_path: Path, base_file: Path
) -> None:
    """Live, a change at 5 s comes after what the timeline has at 5 s (the scenario's `set_power 1 kW`, and the
    end of a `disable` scheduled at 2 s) and before the readings due at 5 s."""
    one = base_file.with_name("one.yaml")
    one.write_text(BASE.split("devices:")[0] + QUIET)
    plan = load_scenario(one).plan
    steps: list[tuple[float, Action | RunChange, tuple[str, ...]]] = [
        (5.0, command_action("rack-1", "set_power", {"kw": 2}), ("rack-1",)),
        (5.0, command_action("rack-2", "disable", {}), ("rack-2",)),
    ]
    live = _live(plan, steps, 6.0)
    replayed = _replay(tmp_path, Base(path=one), plan, live)

    readings = _readings(replayed)
    rack1 = {reading.t: reading for reading in readings["rack-1"]}
    rack2 = {reading.t: reading for reading in readings["rack-2"]}
    assert rack1[4.5].power > 10
    assert rack1[5.0].power == pytest.approx(2.0, rel=0.1)  # the command's 2 kW, not the scenario's 1 kW
    assert (rack2[1.5].enabled, rack2[4.5].enabled, rack2[5.0].enabled) == (True, False, False)  # disabled again
    assert readings == _readings(live)
    assert [(e.t, e.action, e.phase, e.source) for e in replayed.journal] == [
        (2.0, "disable", "start", "scenario"),
        (5.0, "set_power", "start", "scenario"),
        (5.0, "disable", "end", "scenario"),
        (5.0, "set_power", "start", "command"),
        (5.0, "disable", "start", "command"),
    ]


def test_a_reading_now_at_the_recording_instant_is_replayed(tmp_path: Path, base_file: Path) -> None:
    plan = load_scenario(base_file).plan
    sim = Simulation(plan, MemorySink())
    sim.advance(9.75)
    sim.apply(ReadNow(), ("hvac-1",))  # at the very instant the recording is taken
    replayed = _replay(tmp_path, Base(path=base_file), plan, sim)
    assert _readings(replayed)["hvac-1"][-1].t == 9.75
    assert _readings(replayed) == _readings(sim)


def test_the_shard_and_the_stored_devices_of_the_start_are_recorded(tmp_path: Path, base_file: Path) -> None:
    """As the API starts a session: shard, then the store's devices laid over (one replaced, one gone, one new)."""
    started = shard(load_scenario(base_file).plan, 1, 2)  # hvac-1 and rack-1
    assert [spec.id for spec in started.devices] == ["hvac-1", "rack-1"]
    new = _spec(started, id="extra-1", kind="server", interval="1s").spec
    ran = dataclasses.replace(
        started, devices=(dataclasses.replace(started.devices[0], rated_kw=12.5), new), events=started.events[1:]
    )
    live = _live(ran, [(3.0, command_action("extra-1", "enable", {}), ("extra-1",))], 30.0)
    replayed = _replay(tmp_path, Base(path=base_file), started, live)

    assert replayed.plan.shard == (1, 2)
    assert [device_fields(spec) for spec in replayed.plan.devices] == [device_fields(spec) for spec in ran.devices]
    assert _readings(replayed) == _readings(live)


def test_an_uploaded_scenario_is_embedded(tmp_path: Path, base_file: Path) -> None:
    loaded = load_scenario(base_file)
    live = _live(loaded.plan, [(2.5, command_action("hvac-1", "disable", {}), ("hvac-1",))], 100.0)
    text = session_recording(Base(embedded=yaml.safe_load(loaded.rendered)), loaded.plan, live, folder=tmp_path)
    data = yaml.safe_load(text)
    assert "extends" not in data
    assert [device["id"] for device in data["devices"]] == ["hvac-1", "light-1", "rack-1", "line-1"]
    base_file.unlink()  # nothing to extend: the recording holds it all
    (tmp_path / "rec.yaml").write_text(text)
    plan = load_scenario(tmp_path / "rec.yaml").plan
    replayed = Simulation(plan, MemorySink())
    run_virtual(replayed, plan.duration)
    assert _readings(replayed) == _readings(live)


def test_nothing_to_record_at_sim_time_zero(tmp_path: Path, base_file: Path) -> None:
    plan = load_scenario(base_file).plan
    with pytest.raises(NothingToRecord, match="sim time 0"):
        session_recording(Base(path=base_file), plan, Simulation(plan, MemorySink()), folder=tmp_path)


def test_a_change_that_no_longer_applies_fails_the_replay_naming_it(tmp_path: Path, base_file: Path) -> None:
    plan = load_scenario(base_file).plan
    live = _live(plan, [(4.0, command_action("light-1", "disable", {}), ("light-1",))], 8.0)
    path = tmp_path / "session.yaml"
    path.write_text(session_recording(Base(path=base_file), plan, live, folder=tmp_path))
    base_file.write_text(BASE.replace("  - {id: light-1, kind: lighting, interval: 2s, tags: [floor]}\n", ""))
    replay = load_scenario(path).plan
    with pytest.raises(SimulationError, match=r"light-1 at t=4s: the recorded disable no longer applies"):
        run_virtual(Simulation(replay, MemorySink()), replay.duration)


@pytest.mark.parametrize("name", scenario_names())
def test_every_device_of_the_named_scenarios_round_trips_through_a_recording(name: str) -> None:
    """A created or updated device is written with every field: read back, it is the same device."""
    plan = load_named(name).plan
    for spec in plan.devices:
        written = yaml.safe_load(yaml.safe_dump(change_fields(Recorded(1.0, UpdateDevice(spec), (spec.id,)))))
        history = spec.replay.history if spec.replay is not None else None  # kept: the API cannot read files
        back = device_spec(Device.model_validate(written["device"]), plan.profiles, plan.site, history=history)
        assert device_fields(back) == device_fields(spec)
        fields = {field.name for field in dataclasses.fields(spec)} - {"replay"}
        if spec.replay is not None:  # a replay device's own fields stand for its `replay`
            fields |= {"csv", "loop", "interpolation", "scale"}
        assert set(device_fields(spec)) == fields  # none left out
        assert back.profile is spec.profile or back.profile == spec.profile


def test_a_recorded_change_of_a_replay_device_keeps_the_history_it_read(tmp_path: Path) -> None:
    """The API cannot read files: a replay device's recorded update and stored spec play the base's history."""
    plan = load_named("history-replay").plan
    meter = next(spec for spec in plan.devices if spec.id == "east-wing")
    fields = device_fields(meter) | {"rated_kw": 20.0, "scale": None}  # the API's PUT of a new rating
    overlay = {
        "version": 1, "extends": "history-replay", "name": "history-replay-recording", "duration": 7200.0,
        "session": {"devices": [device_fields(meter)],
                    "changes": [{"at": 3600.5, "action": "update_device", "device": fields}]},
    }  # fmt: skip
    path = tmp_path / "recording.yaml"
    path.write_text(yaml.safe_dump(overlay, sort_keys=False))
    replay = load_scenario(path).plan
    sink = MemorySink()
    run_virtual(Simulation(replay, sink), replay.duration)
    east = [reading for reading in sink.readings() if reading.device_id == "east-wing"]
    before = max(r.power for r in east if r.t < 3600.5)
    after = max(r.power for r in east if r.t > 3601)
    assert 0.4 < after / before < 0.6  # the same history, its peak now scaled from 40 kW to 20 kW


def test_a_recording_of_many_changes_replays_beyond_the_scenario_size_limit(tmp_path: Path) -> None:
    """A long demo makes a big recording: the 1 MiB limit of a scenario is a recording's 32 MiB."""
    changes = "".join(
        f"  - {{at: {1 + i * 0.25}, action: set_power, target: [mock-hvac-001], kw: {i % 20 + 0.5}}}\n"
        for i in range(20_000)
    )
    path = tmp_path / "long.yaml"
    path.write_text(f"version: 1\nextends: default\nname: long\nduration: 5002.0\nsession:\n  changes:\n{changes}")
    assert path.stat().st_size > MAX_FILE_BYTES
    plan = load_scenario(path).plan
    assert len(plan.session) == 20_000
    sim = Simulation(plan, MemorySink())
    run_virtual(sim, plan.duration)
    applied = [entry for entry in sim.journal if entry.action == "set_power"]
    assert len(applied) == 20_000 and applied[-1].t == 1 + 19_999 * 0.25
