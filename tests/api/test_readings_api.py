"""A reading over REST is the very payload published over MQTT: one formatter for the contract."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
from starlette.testclient import TestClient

from api.latest import LatestReadings
from engine import parse_scenario
from engine.contract.readings import Encoder
from engine.model.readings import ReadingBatch
from engine.runtime.sinks import FanOut, MemorySink
from engine.simulation import Simulation
from tests.api.conftest import make_client
from tests.helpers import scenario_text
from tests.runtime.conftest import Mosquitto
from tests.runtime.mqtt_helpers import collect

START = 1_754_265_600.0  # 2025-08-04T00:00:00Z


def test_latest_payload_is_the_encoders_bytes_rounded_half_to_even() -> None:
    """Python's round() would give 12.345, 229.9 and 0.123 here (and 25.0): not what MQTT carries."""
    t = np.array([0.0, 0.0, 10.5])
    batch = ReadingBatch(
        ("a", "b"),
        np.array([0, 1, 0]),
        t,
        np.array([1.0, 25.0, 12.3445]),
        np.array([230.05, 230.0, 229.95]),
        np.array([2.0005, 3.0, 0.1235]),
        np.array([1.0, 2.0, 12.3445]),
        np.array([0, 0, 1]),
        np.array([True, False, True]),
        np.array([False, False, True]),
        t,
    )
    latest = LatestReadings(START)
    latest.write(batch, [])
    published = Encoder(START).payloads(batch)
    assert latest.payloads(["a", "b", "nobody"]) == {"a": published[2], "b": published[1]}
    assert latest.payload("a") == (
        b'{"device_id":"a","timestamp":"2025-08-04T00:00:10.500Z","power":12.344,"voltage":230.0,'
        b'"current":0.124,"energy":12.344,"status":"online","enabled":true,"seq":1}'
    )
    assert latest.payload("b") == (
        b'{"device_id":"b","timestamp":"2025-08-04T00:00:00Z","power":25.000,"voltage":230.0,'
        b'"current":3.000,"energy":2.000,"status":"online","enabled":false,"seq":0}'
    )
    assert latest.payload("nobody") is None


def test_the_latest_reading_is_the_newest_even_when_older_ones_arrive_after_it() -> None:
    text = scenario_text(
        """
        devices: [{id: ac, kind: hvac, interval: 10s, buffer: 100}, {id: oven, kind: appliance, interval: 1s}]
        events:
          - {at: "+00:01", action: out_of_order, target: all, probability: 0.5, max_delay: 30s}
          - {at: "+00:02", action: comm_loss, target: ac, duration: 3m}
        """
    )
    memory, latest = MemorySink(), LatestReadings(START)
    sim = Simulation(parse_scenario(text).plan, FanOut([memory, latest]))
    for until in (150.0, 300.0, 302.0, 600.0):
        sim.advance(until)
        newest: dict[str, tuple[float, int]] = {}
        for reading in memory.readings():
            if reading.t >= newest.get(reading.device_id, (-1.0,))[0]:
                newest[reading.device_id] = (reading.t, reading.seq)
        assert {i: (r.t, r.seq) for i, r in latest.readings.items()} == newest
    # The case in point happened: a batch whose last row of a device is not that device's newest.
    assert any(
        batch.t[batch.device == d][-1] < batch.t[batch.device == d].max() for batch in memory.batches for d in (0, 1)
    )


def test_rest_reading_is_the_mqtt_payload_of_the_same_seq(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with make_client(mosquitto, tmp_path / "devices.sqlite3") as client:
        prefix = client.get("/api/v1/simulation/status").json()["mqtt"]["topic_prefix"]
        asyncio.run(compare(client, mosquitto, prefix))


async def compare(client: TestClient, mosquitto: Mosquitto, prefix: str) -> None:
    async with collect(mosquitto.port, f"{prefix}/devices/+/data") as got:
        await got.wait_for(lambda: len({m.topic for m in got.messages}) == 5)  # every device published since
        client.post("/api/v1/simulation/pause")
        rest = {
            d["id"]: client.get(f"/api/v1/devices/{d['id']}/readings") for d in client.get("/api/v1/devices").json()
        }
        seqs = {device_id: json.loads(r.content)["seq"] for device_id, r in rest.items()}

        def published(device_id: str) -> bytes | None:
            for m in got.messages:
                if m.topic.endswith(f"/{device_id}/data") and m.json()["seq"] == seqs[device_id]:
                    return m.payload
            return None

        await got.wait_for(lambda: all(published(device_id) for device_id in rest))
    for device_id, response in rest.items():
        assert response.headers["content-type"] == "application/json"
        assert response.content == published(device_id), device_id
