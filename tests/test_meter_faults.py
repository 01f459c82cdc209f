"""The named scenario `meter-faults`: every action at least once, and a pipeline's test written from
the run report alone (what a user's CI does: replay it, then compare what it flagged with the truth)."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import load_named
from engine.contract.readings import Encoder
from engine.runtime.driver import run_virtual
from engine.runtime.report import Report, build_report
from engine.runtime.sinks import MemorySink
from engine.scenario.actions import ACTION_NAMES
from engine.simulation import Simulation

SCENARIO = Path(__file__).parents[1] / "scenarios" / "meter-faults.yaml"
DAY = 86400.0
Message = dict[str, Any]


@pytest.fixture(scope="module")
def replayed() -> tuple[list[Message], Report]:
    """The day as a pipeline receives it (JSON messages in the order sent) and the run's report."""
    loaded = load_named("meter-faults")
    sim = Simulation(loaded.plan, sink := MemorySink())
    run_virtual(sim, DAY)
    encoder = Encoder(loaded.plan.start_epoch)
    lines = b"".join(encoder.jsonl(batch) for batch in sink.batches).splitlines()
    report = build_report(sim, run_id="ci", source=str(SCENARIO), until=DAY, wall_seconds=0.0)
    return [json.loads(line) for line in lines], report


def _by_device(messages: list[Message]) -> dict[str, list[Message]]:
    grouped: dict[str, list[Message]] = defaultdict(list)
    for message in messages:
        grouped[message["device_id"]].append(message)
    return grouped


def _faults(report: Report, action: str, device_id: str) -> list[tuple[int, int]]:
    found = []
    for fault in report["faults"]:
        span = fault["seq"].get(device_id)
        if fault["action"] == action and span is not None:
            found.append((span[0], span[1]))
    return found


def test_it_uses_every_action_of_the_vocabulary() -> None:
    events = yaml.safe_load(SCENARIO.read_text())["events"]
    assert {event["action"] for event in events} == set(ACTION_NAMES)


def test_missing_readings_are_exactly_those_dropped_at_the_meter(replayed: tuple[list[Message], Report]) -> None:
    messages, report = replayed
    devices = {device["device_id"]: device for device in report["devices"]}
    for device_id, sent in _by_device(messages).items():
        seqs = {message["seq"] for message in sent}
        last_seq = devices[device_id]["last_seq"]
        assert last_seq is not None
        missing = sorted(set(range(last_seq + 1)) - seqs)
        assert len(missing) == devices[device_id]["dropped_at_meter"], device_id
        if missing:  # the oldest of the comm loss: its buffer kept the newest
            ((first, last),) = _faults(report, "comm_loss", device_id)
            assert missing == list(range(first, first + len(missing))) and last - first + 1 > len(missing)
    assert devices["rack-a"]["dropped_at_meter"] == 140 and devices["rack-b"]["held"] == 240


def test_duplicates_are_identical_twins_counted_in_the_report(replayed: tuple[list[Message], Report]) -> None:
    messages, report = replayed
    devices = {device["device_id"]: device for device in report["devices"]}
    for device_id, sent in _by_device(messages).items():
        twins = [a for a, b in itertools.pairwise(sent) if a["seq"] == b["seq"] and a == b]
        assert len(twins) == devices[device_id]["duplicated"], device_id
        spans = _faults(report, "duplicate", device_id)
        assert all(any(first <= twin["seq"] <= last for first, last in spans) for twin in twins)
    assert devices["rack-a"]["duplicated"] > 0 and devices["rack-b"]["duplicated"] > 0


def test_reordered_readings_are_late_by_at_most_max_delay(replayed: tuple[list[Message], Report]) -> None:
    messages, report = replayed
    sent = _by_device(messages)["rack-a"]
    delayed = next(device["delayed"] for device in report["devices"] if device["device_id"] == "rack-a")
    overtaken = [m for i, m in enumerate(sent) if any(o["seq"] > m["seq"] for o in sent[max(0, i - 20) : i])]
    ((first, last),) = _faults(report, "out_of_order", "rack-a")
    assert 0 < len(overtaken) <= delayed
    assert all(first <= m["seq"] <= last for m in overtaken)
    stamps = [m["timestamp"] for m in sent]
    for i, message in enumerate(sent):  # the newest sent before it is at most 30 s (max_delay) newer
        newest = max(stamps[max(0, i - 20) : i + 1])
        assert _seconds(newest) - _seconds(message["timestamp"]) <= 30.0


def test_a_trip_shows_zero_power_with_voltage_and_a_rollover_stays_below_the_register(
    replayed: tuple[list[Message], Report],
) -> None:
    messages, report = replayed
    grouped = _by_device(messages)
    ((first, last),) = _faults(report, "trip", "roof-hvac")  # by the meter itself, in the brownout
    tripped = [m for m in grouped["roof-hvac"] if first <= m["seq"] <= last]
    assert tripped and all(m["power"] == 0.0 and m["current"] == 0.0 and m["voltage"] > 150 for m in tripped)
    energy = [m["energy"] for m in grouped["kitchen"]]
    assert max(energy) < 9999.999 and sum(1 for a, b in itertools.pairwise(energy) if b < a) == 1
    stuck = [m for m in grouped["lights"] if any(a <= m["seq"] <= b for a, b in _faults(report, "stuck", "lights"))]
    assert len(stuck) == 30 and len({(m["power"], m["voltage"], m["energy"]) for m in stuck}) == 1


def _seconds(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
