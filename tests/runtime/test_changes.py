"""External changes as the driver applies them: targets resolved then, failures of the run not hidden."""

from __future__ import annotations

import dataclasses

import pytest

from engine import SimulationError, parse_scenario
from engine.model.actions import CreateDevice
from engine.model.behaviours import Draws, Modulated, Process, Time
from engine.model.kinds import KINDS
from engine.runtime import changes
from engine.runtime.inbox import Inbox, Outcome
from engine.runtime.sinks import MemorySink
from engine.scenario.actions import command_action
from engine.scenario.fields import KindTarget
from engine.simulation import Simulation
from tests.helpers import scenario_text

DEVICES = "devices: [{id: ac, kind: hvac, interval: 10s}, {id: rack, kind: server, interval: 10s}]\n"


def _sim() -> Simulation:
    return Simulation(parse_scenario(scenario_text(DEVICES)).plan, MemorySink())


def test_an_injected_event_targets_the_devices_there_are_when_it_applies() -> None:
    sim = _sim()
    work = changes.act_on(command_action("ac", "disable", None), KindTarget(kind="hvac"))
    sim.apply(CreateDevice(dataclasses.replace(sim.plan.devices[0], id="ac2")), ("ac2",))  # before it applies
    assert work(sim) == ("ac", "ac2")
    assert not sim.by_id["ac2"].enabled and sim.journal[-1].targets == ("ac", "ac2")


def test_a_device_change_keeps_the_source_it_was_given() -> None:
    sim = _sim()
    sim.apply(CreateDevice(dataclasses.replace(sim.plan.devices[0], id="ac2")), ("ac2",), source="scenario")
    assert (sim.journal[-1].action, sim.journal[-1].source) == ("create_device", "scenario")


def test_a_device_that_fails_while_a_command_waits_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(env: Time, device: Modulated, rng: Draws) -> Process:
        yield env.timeout(100.0)
        raise ZeroDivisionError("compressor")

    monkeypatch.setitem(KINDS, "hvac", dataclasses.replace(KINDS["hvac"], behaviour=broken))
    sim = _sim()
    sim.advance(100.0)  # the failure is due at 100 s: the readings before 100 s do not run it
    inbox = Inbox()
    replies: list[Outcome[object]] = []
    inbox.put(changes.read_now("ac"), replies.append)  # an extra reading at 100 s does
    with pytest.raises(SimulationError) as failed:
        inbox.drain(sim)
    assert (failed.value.device_id, failed.value.sim_time, replies) == ("ac", 100.0, [])
