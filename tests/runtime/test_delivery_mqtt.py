"""Delivery faults through a real Mosquitto: what a subscriber receives is what the file run says.

Duplicates arrive twice, identical; readings held back arrive after later ones and at most
`max_delay` late in sim time, and in real time when they are due (paced by their send instant);
with a buffer large enough no `seq` is missing after a comm loss, with a small one exactly the
readings dropped at the meter are.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime

from engine import parse_scenario
from engine.contract.readings import Encoder
from engine.model.readings import ReadingBatch
from engine.runtime.service import run_live
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from tests.helpers import scenario_text
from tests.runtime.conftest import Mosquitto
from tests.runtime.mqtt_helpers import Received, collect
from tests.runtime.test_mqtt import settings_for

FAULTS = scenario_text(
    """\
devices:
  - {id: dup, kind: server, interval: 1s}
  - {id: late, kind: appliance, interval: 1s}
  - {id: big, kind: hvac, interval: 5s, buffer: 1000}
  - {id: small, kind: lighting, interval: 5s, buffer: 10}
events:
  - {at: "+00:01", action: duplicate, target: dup, probability: 0.2, duration: 5m}
  - {at: "+00:01", action: out_of_order, target: late, probability: 0.2, max_delay: 20s, duration: 5m}
  - {at: "+00:02", action: comm_loss, target: [big, small], duration: 3m}
"""
)
UNTIL = 600.0


def seconds(reading: dict[str, object]) -> float:
    return datetime.fromisoformat(str(reading["timestamp"])).timestamp()


def by_device(messages: list[Received]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for message in messages:
        out.setdefault(message.topic.split("/")[-2], []).append(message.payload)
    return out


def file_run(text: str, until: float) -> tuple[Simulation, list[ReadingBatch]]:
    sink = MemorySink()
    sim = Simulation(parse_scenario(text).plan, sink)
    sim.advance(until)
    return sim, sink.batches


def test_delivery_faults_reach_a_subscriber_as_the_file_run_says(mosquitto: Mosquitto) -> None:
    settings, prefix = settings_for(mosquitto.url)
    plan = parse_scenario(FAULTS).plan
    expected_sim, batches = file_run(FAULTS, UNTIL)
    encoder = Encoder(plan.start_epoch)
    expected: dict[str, list[bytes]] = {}
    for batch in batches:
        for device, payload in zip(batch.device.tolist(), encoder.payloads(batch), strict=True):
            expected.setdefault(batch.device_ids[device], []).append(payload)
    generated = sum(device.link.published for device in expected_sim.all_devices)

    async def scenario() -> dict[str, list[bytes]]:
        async with collect(mosquitto.port, f"{prefix}/devices/+/data") as got:
            live = await run_live(plan, settings, speed=None, until=UNTIL)
            await got.wait_for(lambda: len(got.messages) == generated)
            assert live.counters().delivered == generated
        return by_device(got.messages)

    received = asyncio.run(scenario())
    assert received == expected  # each device's messages: the file run's, byte for byte, in its order
    links = {device.spec.id: device.link for device in expected_sim.all_devices}

    dup = received["dup"]
    copies = Counter(dup)
    twins = [payload for payload, count in copies.items() if count == 2]
    assert len(twins) == links["dup"].duplicated > 20 and set(copies.values()) == {1, 2}
    for payload in twins:  # the second copy right after the first, byte for byte
        at = dup.index(payload)
        assert dup[at + 1] == payload
    assert [json.loads(p)["seq"] for p in dict.fromkeys(dup)] == list(range(600))

    late = [json.loads(p) for p in received["late"]]
    assert sorted(r["seq"] for r in late) == list(range(600))
    overtaken = newest = 0
    latest_time = -1.0
    for reading in late:
        overtaken += reading["seq"] < newest
        newest = max(newest, reading["seq"])
        latest_time = max(latest_time, seconds(reading))
        assert latest_time <= seconds(reading) + 20.0  # nothing arrived before it measured over 20 s later
    assert 0 < overtaken <= links["late"].delayed

    big = [json.loads(p)["seq"] for p in received["big"]]
    assert big == list(range(120)) and links["big"].held == 36  # 3 minutes at 5 s, forwarded in order
    small = [json.loads(p)["seq"] for p in received["small"]]
    missing = sorted(set(range(120)) - set(small))
    assert len(missing) == links["small"].dropped_at_meter == 26 and missing == list(range(24, 50))


def test_a_reading_held_back_is_paced_and_its_lag_measured_by_its_send_instant(mosquitto: Mosquitto) -> None:
    settings, prefix = settings_for(mosquitto.url)
    text = scenario_text(
        """\
devices: [{id: late, kind: appliance, interval: 20s}]
events: [{at: "+00:00", action: out_of_order, probability: 1, max_delay: 19s}]
"""
    )
    speed, until = 40.0, 80.0
    _, batches = file_run(text, until)
    sent = [float(s) for b in batches for s in b.sent]
    delays = [s - float(t) for b in batches for t, s in zip(b.t, b.sent, strict=True)]
    assert len(sent) == 4 and max(delays) > 12.0  # 0.3 s of wall time at x40: beyond the tolerance below

    async def scenario() -> tuple[list[Received], float | None]:
        async with collect(mosquitto.port, f"{prefix}/devices/late/data") as got:
            live = await run_live(parse_scenario(text).plan, settings, speed=speed, until=until)
            await got.wait_for(lambda: len(got.messages) == len(sent))
        return got.messages, live.counters().lag_ms.max

    messages, lag = asyncio.run(scenario())
    assert lag is not None and lag < 150  # lag is measured from the send instant: a held reading is not "late"
    first = messages[0].at - sent[0] / speed
    for message, when in zip(messages, sent, strict=True):  # each within 150 ms of its send instant at x40
        assert abs((message.at - first) - when / speed) < 0.15, (json.loads(message.payload), when)
