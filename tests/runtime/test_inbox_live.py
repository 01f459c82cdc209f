"""The inbox in a live run with a real broker: a command flood past the bound, commands after the end."""

from __future__ import annotations

import asyncio
import json

from engine.runtime.inbox import CAPACITY
from engine.runtime.tally import CommandCounts
from tests.runtime.conftest import Mosquitto
from tests.runtime.mqtt_helpers import collect, running
from tests.runtime.test_mqtt import TWO, plan_of, settings_for


def test_a_command_flood_past_the_bound_is_answered_busy_counted_and_the_run_goes_on(mosquitto: Mosquitto) -> None:
    settings, prefix = settings_for(mosquitto.url)
    flood = CAPACITY + 200
    topic = f"{prefix}/devices/rack/commands"

    async def scenario() -> None:
        async with (
            collect(mosquitto.port, f"{prefix}/devices/#") as got,
            running(plan_of(TWO), settings, speed=100) as live,
        ):
            for n in range(flood):  # as fast as the bridge's listener can hand them over: no await between
                live.bridge.handle_command(topic, json.dumps({"id": f"f{n}", "command": "disable"}).encode())
            await got.wait_for(lambda: len(got.on("/responses")) == flood, timeout=30)
            seen = len(got.on("/data"))
            await got.wait_for(lambda: len(got.on("/data")) > seen + 4)  # still publishing
            responses = [m.json() for m in got.on("/responses")]
            assert [r["id"] for r in responses if r["ok"]] == [f"f{n}" for n in range(CAPACITY)]
            busy = [r for r in responses if not r["ok"]]
            assert [r["id"] for r in busy] == [f"f{n}" for n in range(CAPACITY, flood)]
            assert busy[0]["error"] == f"busy: {CAPACITY} changes are already waiting; try again shortly"
            assert live.bridge.commands.counts() == CommandCounts(flood, CAPACITY, 200)
            assert live.inbox.rejected == 200 and live.inbox.pending == 0

    asyncio.run(scenario())


def test_a_command_queued_as_the_run_stops_is_answered_the_run_has_ended(mosquitto: Mosquitto) -> None:
    settings, prefix = settings_for(mosquitto.url)

    async def scenario() -> None:
        async with collect(mosquitto.port, f"{prefix}/devices/+/responses") as got:
            async with running(plan_of(TWO), settings, speed=100) as live:
                live.stop.set()
                live.bridge.handle_command(f"{prefix}/devices/rack/commands", b'{"id": "late", "command": "disable"}')
                assert live.inbox.pending == 1  # queued: the driver has not seen the stop yet
            await got.wait_for(lambda: len(got.messages) == 1)  # delivered in the drain, before `offline`
        (response,) = [m.json() for m in got.messages]
        assert (response["id"], response["ok"], response["error"]) == ("late", False, "the run has ended")
        assert live.bridge.commands.counts() == CommandCounts(1, 0, 1)
        assert [e.action for e in live.sim.journal if e.source == "command"] == []

    asyncio.run(scenario())
