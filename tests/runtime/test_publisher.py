"""The publisher port: the fast path's check at connection start, the public fallback, bounded caches.

Everything through a real Mosquitto, with an independent subscriber counting what arrives.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from types import SimpleNamespace

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from engine.contract.readings import Encoder
from engine.model.specs import Plan
from engine.runtime.clock import Clock
from engine.runtime.inbox import Inbox
from engine.runtime.mqtt import MqttBridge
from engine.runtime.publisher import FAST_PATH_PARTS, missing_parts
from engine.runtime.settings import Settings
from engine.simulation import Simulation
from tests.runtime.conftest import Mosquitto
from tests.runtime.mqtt_helpers import collect, publish, running
from tests.runtime.test_mqtt import TWO, plan_of, settings_for

GONE = "_part_no_paho_has"


def test_the_check_names_every_missing_or_uncallable_part() -> None:
    paho = mqtt.Client(CallbackAPIVersion.VERSION2)
    assert missing_parts(paho) == []  # the pinned paho has every part
    parts = {name: (lambda: None) if is_callable else 0 for name, is_callable in FAST_PATH_PARTS}
    del parts["_out_messages"]
    parts["_mid_generate"] = 0  # there, but no longer a method
    assert missing_parts(SimpleNamespace(**parts)) == ["_out_messages", "_mid_generate"]


def bridge_of(
    settings: Settings, plan: Plan, *, fast_path: bool = True, gone: bool = False
) -> tuple[MqttBridge, Simulation]:
    """A bridge of its own (not run_live's), and the simulation that writes to it."""
    bridge = MqttBridge(
        settings,
        tuple(d.id for d in plan.devices),
        Encoder(plan.start_epoch),
        Clock(None),
        inbox=Inbox(),
        fast_path=fast_path,
    )
    if gone:  # the check runs against the real client, which lacks this part
        bridge.fast_path_parts = (*FAST_PATH_PARTS, (GONE, False))
    sim = Simulation(plan, bridge, seed=0)
    return bridge, sim


async def publish_run(settings: Settings, plan: Plan, *, fast_path: bool = True, gone: bool = False) -> MqttBridge:
    """A virtual run of `plan` over one hour through a bridge of its own, drained at the end."""
    bridge, sim = bridge_of(settings, plan, fast_path=fast_path, gone=gone)
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(bridge.run(), name="mqtt-bridge")
        async with asyncio.timeout(10):
            await bridge.wait_connected()
        for until in range(300, 3601, 300):
            sim.advance(until)
            async with asyncio.timeout(10):
                await bridge.outbox.wait_room()
        sim.end()
        sim.flush()
        await bridge.close(10)
    return bridge


@pytest.mark.parametrize("qos", [0, 1])
def test_a_missing_part_falls_back_to_the_public_path_with_one_warning_and_loses_nothing(
    mosquitto: Mosquitto, qos: int, caplog: pytest.LogCaptureFixture
) -> None:
    settings, prefix = settings_for(mosquitto.url, mqtt_qos=qos)

    async def scenario() -> tuple[MqttBridge, set[bytes], int]:
        async with collect(mosquitto.port, f"{prefix}/#") as got:
            bridge = await publish_run(settings, plan_of(TWO), gone=True)
            await got.wait_for(lambda: len({m.payload for m in got.on("/data")}) == 720)
            await got.wait_for(lambda: [m.payload for m in got.on("simulator/status")] == [b"online", b"offline"])
            return bridge, {m.payload for m in got.on("/data")}, len(got.on("/status")) - 2

    with caplog.at_level(logging.WARNING, logger="iot_mock"):
        bridge, payloads, statuses = asyncio.run(scenario())
    assert bridge.path == "public"
    assert bridge.outbox.generated == bridge.outbox.delivered == len(payloads) == 720
    assert statuses == 2 * 3  # each device: online, offline, then its retained status cleared
    warnings = [r.getMessage() for r in caplog.records if "fast path" in r.getMessage()]
    assert len(warnings) == 1 and GONE in warnings[0]


def test_the_fallback_warning_is_logged_once_however_often_the_bridge_reconnects(
    own_mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    settings, _ = settings_for(own_mosquitto.url)

    async def scenario() -> MqttBridge:
        bridge, sim = bridge_of(settings, plan_of(TWO), gone=True)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(bridge.run(), name="mqtt-bridge")
            async with asyncio.timeout(20):
                await bridge.wait_connected()
                sim.advance(1800)
                await bridge.outbox.wait_empty()
                own_mosquitto.stop()
                own_mosquitto.start()
                while bridge.connections < 2:
                    await asyncio.sleep(0.05)
                await bridge.wait_connected()
            sim.advance(3600)
            sim.end()
            sim.flush()
            await bridge.close(10)
        return bridge

    with caplog.at_level(logging.WARNING, logger="iot_mock"):
        bridge = asyncio.run(scenario())
    assert bridge.connections == 2 and bridge.path == "public"
    assert bridge.outbox.generated == bridge.outbox.delivered == 720
    assert len([r for r in caplog.records if "fast path off" in r.getMessage()]) == 1


@pytest.mark.parametrize(("fast_path", "path"), [(True, "fast"), (False, "public")])
def test_the_constructor_chooses_the_path_and_both_deliver_every_reading_in_order(
    mosquitto: Mosquitto, fast_path: bool, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings, prefix = settings_for(mosquitto.url, mqtt_qos=1)

    async def scenario() -> tuple[MqttBridge, list[dict[str, object]]]:
        async with collect(mosquitto.port, f"{prefix}/devices/+/data") as got:
            bridge = await publish_run(settings, plan_of(TWO), fast_path=fast_path)
            await got.wait_for(lambda: len(got.messages) >= 720)
            return bridge, [m.json() for m in got.messages]

    with caplog.at_level(logging.WARNING, logger="iot_mock"):
        bridge, readings = asyncio.run(scenario())
    assert bridge.path == path and bridge.outbox.delivered == len(readings) == 720
    for device in ("ac", "rack"):
        assert [r["seq"] for r in readings if r["device_id"] == device] == list(range(360))
    assert not [r for r in caplog.records if "fast path" in r.getMessage()]


def test_a_flood_of_commands_to_made_up_devices_does_not_grow_the_topic_cache(mosquitto: Mosquitto) -> None:
    settings, prefix = settings_for(mosquitto.url)
    flood = 20_000

    async def scenario() -> tuple[list[str], dict[str, object]]:
        async with (
            collect(mosquitto.port, f"{prefix}/devices/+/responses") as got,
            running(plan_of(TWO), settings, speed=1) as live,
        ):
            bridge = live.bridge
            client = mqtt.Client(CallbackAPIVersion.VERSION2)  # paho's own loop: 20,000 publishes in a second
            client.connect("127.0.0.1", mosquitto.port)
            client.loop_start()
            try:
                infos = [client.publish(f"{prefix}/devices/x{n:05d}-{secrets.token_hex(2)}/commands",
                                        b'{"command": "disable"}', qos=1) for n in range(flood)]  # fmt: skip
                async with asyncio.timeout(60):
                    while not all(info.is_published() for info in infos[-100:]):
                        await asyncio.sleep(0.05)
            finally:
                client.loop_stop()
                client.disconnect()
            await got.wait_for(lambda: len(got.messages) == flood, timeout=60)
            await publish(mosquitto.port, f"{prefix}/devices/ac/commands", b'{"command": "disable"}')
            await got.wait_for(lambda: len(got.messages) == flood + 1)
            return list(bridge.topic_headers.cache), got.messages[0].json()

    cached, first = asyncio.run(scenario())
    assert first["ok"] is False and "unknown device" in str(first["error"])
    # At most the data and status topics of the two devices and the simulator's: no response topic.
    assert len(cached) <= 5 and not [topic for topic in cached if topic.endswith("/responses")]


def test_response_payloads_keep_the_contracts_bytes() -> None:
    from engine.contract.envelope import Answer, read_envelope
    from engine.errors import CommandError

    envelope = read_envelope("ac", b'{"command": "disable", "id": "r1"}', 1024)
    ok = Answer(envelope.request_id, envelope.command, None)
    assert (
        ok.payload("2025-08-04T00:00:00Z")
        == b'{"id":"r1","command":"disable","ok":true,"timestamp":"2025-08-04T00:00:00Z"}'
    )
    bad = Answer(None, "x", CommandError("ac", "unknown command 'x'"))
    assert json.loads(bad.payload("t")) == {
        "id": None,
        "command": "x",
        "ok": False,
        "error": "unknown command 'x'",
        "timestamp": "t",
    }
