"""The live service against aedes, a second MQTT broker implementation: nothing Mosquitto-specific is relied on."""

from __future__ import annotations

import asyncio
import json

import pytest

from engine.runtime.service import LiveRun, run_live
from tests.runtime.conftest import Aedes
from tests.runtime.mqtt_helpers import collect, publish, retained, running
from tests.runtime.test_mqtt import plan_of, settings_for

THREE = "devices: [" + ", ".join(f"{{id: d{i}, kind: industrial, interval: 1s}}" for i in range(3)) + "]\n"


@pytest.mark.parametrize("qos", [0, 1])
def test_every_reading_arrives_through_aedes(aedes: Aedes, qos: int) -> None:
    settings, prefix = settings_for(aedes.url, mqtt_qos=qos)

    async def scenario() -> tuple[LiveRun, list[dict[str, object]], dict[str, bytes]]:
        async with collect(aedes.port, f"{prefix}/devices/+/data") as got:
            live = await run_live(plan_of(THREE), settings, speed=None, until=7200)  # 21,600 readings
            await got.wait_for(lambda: len(got.messages) >= 21_600, timeout=60)
            readings = [json.loads(m.payload) for m in got.messages]
        return live, readings, await retained(aedes.port, f"{prefix}/#")

    live, readings, kept = asyncio.run(scenario())
    assert live.counters().generated == live.counters().delivered == 21_600
    for device in ("d0", "d1", "d2"):
        assert [r["seq"] for r in readings if r["device_id"] == device] == list(range(7200))  # all, in order
    assert kept == {f"{prefix}/simulator/status": b"offline"}  # retained statuses cleared at the end


def test_a_command_round_trip_through_aedes(aedes: Aedes) -> None:
    settings, prefix = settings_for(aedes.url)

    async def scenario() -> tuple[LiveRun, list[dict[str, object]], list[dict[str, object]]]:
        async with (
            collect(aedes.port, f"{prefix}/devices/d0/+") as got,
            running(plan_of(THREE), settings, speed=20) as live,
        ):
            command = {"command": "disable", "id": "c-1"}
            await publish(aedes.port, f"{prefix}/devices/d0/commands", json.dumps(command).encode())
            await got.wait_for(lambda: bool(got.on("/responses")) and len(got.on("/status")) >= 2)
        return live, [m.json() for m in got.on("/responses")], [m.json() for m in got.on("/status") if m.payload]

    live, responses, statuses = asyncio.run(scenario())
    assert [(r["id"], r["command"], r["ok"]) for r in responses] == [("c-1", "disable", True)]
    assert statuses[1]["enabled"] is False and statuses[1]["reason"] == "disable"
    assert live.sim.by_id["d0"].enabled is False
