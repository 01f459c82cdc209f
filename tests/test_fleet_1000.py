"""The named scenario `fleet-1000`: 1,000 templated meters of every kind, sliced by tags.

The shape is checked on the loaded plan; what the tags do, on a run of its first 2 h 40 min (a second or so).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from engine import load_named
from engine.model.specs import Plan
from engine.runtime.driver import run_virtual
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation

HOUR = 3600.0


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_named("fleet-1000").plan  # rendering and checking 1,000 devices: loaded once


def test_a_thousand_meters_of_every_kind_in_38_sites(plan: Plan) -> None:
    devices = plan.devices
    assert len(devices) == 1000 and len({d.id for d in devices}) == 1000
    assert Counter(d.kind for d in devices) == {
        "hvac": 320, "appliance": 260, "lighting": 240, "industrial": 100, "server": 80,
    }  # fmt: skip
    sites = Counter(tag for d in devices for tag in d.tags if tag.startswith(("store-", "dc-")))
    assert sites == {**{f"store-{n:03d}": 25 for n in range(1, 37)}, "dc-north": 50, "dc-east": 50}
    regions = Counter(tag for d in devices for tag in d.tags if tag.startswith("region-"))
    assert regions == {"region-north": 275, "region-east": 275, "region-south": 225, "region-west": 225}
    assert all(sum(tag.startswith("region-") for tag in d.tags) == 1 for d in devices)
    formats = Counter(tag for d in devices for tag in d.tags if tag.startswith("format-"))
    assert formats == {"format-super": 450, "format-express": 225, "format-hyper": 225}
    by_id = {d.id: d for d in devices}
    assert by_id["s004-oven-1"].rated_kw == 32.4 and by_id["s002-oven-1"].rated_kw == 9.0  # hyper x1.8, express x0.5
    assert plan.stagger


def test_each_event_reaches_the_devices_its_tag_names(plan: Plan) -> None:
    tagged: dict[str, set[str]] = defaultdict(set)
    for device in plan.devices:
        for tag in device.tags:
            tagged[tag].add(device.id)
    reached = {event.action.action: set(event.targets) for event in plan.events}
    assert reached["comm_loss"] == tagged["region-east"]
    assert reached["outage"] == tagged["store-017"] and len(tagged["store-017"]) == 25
    assert reached["drift"] == tagged["meter-lot-2023"] and len(reached["drift"]) == 12
    assert len(reached["disable"]) == 36 * 2 + 16  # every store's two rooftop units, both DCs' freezers
    assert reached["brownout"] == tagged["region-west"] and reached["duplicate"] == tagged["region-south"]


def test_the_east_goes_silent_and_only_its_dc_forwards_what_it_stored(plan: Plan) -> None:
    """The 02:00-02:30 comm loss: east stores' readings are lost, the east DC's arrive at 02:30, the rest flow."""
    sim = Simulation(plan, sink := MemorySink())
    run_virtual(sim, 2 * HOUR + 40 * 60)
    start, end = 2 * HOUR, 2.5 * HOUR
    measured: dict[str, list[float]] = defaultdict(list)  # reading times in the loss, per device
    sent: dict[str, list[float]] = defaultdict(list)  # and when they were sent
    for batch in sink.batches:
        for device, t, at in zip(batch.device, batch.t, batch.sent, strict=True):
            if start <= t < end:
                measured[batch.device_ids[device]].append(float(t))
                sent[batch.device_ids[device]].append(float(at))
    for device in plan.devices:
        readings = 30 * 60 / device.interval
        if "region-east" not in device.tags:
            assert len(measured[device.id]) == readings and sent[device.id] == measured[device.id], device.id
        elif device.buffer:  # the east DC: every reading stored, sent when the link returns
            assert len(measured[device.id]) == readings and set(sent[device.id]) == {end}, device.id
        else:
            assert measured[device.id] == [], device.id
