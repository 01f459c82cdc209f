"""A real MQTT subscriber for tests: records every message, and waits on conditions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from engine.model.specs import Plan
from engine.runtime.service import LiveRun, run_live
from engine.runtime.settings import Settings


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Collector:
    messages: list[Received] = field(default_factory=list)

    def on(self, suffix: str) -> list[Received]:
        return [m for m in self.messages if m.topic.endswith(suffix)]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def collect(
    port: int, topic: str, *, identifier: str | None = None, persistent: bool = False
) -> AsyncIterator[Collector]:
    """Subscribe (QoS 1) to `topic` and record messages until the block ends; reconnects if asked."""
    collector = Collector()
    subscribed = asyncio.Event()

    async def listen() -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", port, identifier=identifier, clean_session=not persistent
                ) as client:
                    await client.subscribe(topic, qos=1)
                    subscribed.set()
                    async for message in client.messages:
                        payload = message.payload if isinstance(message.payload, bytes) else b""
                        collector.messages.append(
                            Received(message.topic.value, payload, bool(message.retain), time.monotonic())
                        )
            except aiomqtt.MqttError:
                if not persistent:
                    raise
                await asyncio.sleep(0.1)

    async with asyncio.TaskGroup() as tasks:
        listener = tasks.create_task(listen(), name="collector")
        async with asyncio.timeout(10):
            await subscribed.wait()
        try:
            yield collector
        finally:
            listener.cancel()


async def publish(port: int, topic: str, payload: bytes) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(topic, payload, qos=1)


async def retained(port: int, topic: str) -> dict[str, bytes]:
    """The retained messages (topic: payload) a fresh subscriber to `topic` (ending in `#`) gets.

    A marker published after subscribing arrives after any retained message (the broker sends
    those on subscribing), so waiting for it decides "none" without sleeping.
    """
    marker = f"{topic.removesuffix('#')}marker-{time.monotonic_ns()}"
    async with collect(port, topic) as got:
        await publish(port, marker, b"end")
        await got.wait_for(lambda: any(m.topic == marker for m in got.messages))
        return {m.topic: m.payload for m in got.messages if m.retain}


def retained_on(port: int, topic: str) -> list[bytes]:
    """The retained message on one topic, as a list (empty when there is none); from sync tests."""
    kept = asyncio.run(retained(port, topic.rsplit("/", 1)[0] + "/#"))
    return [payload for name, payload in kept.items() if name == topic]


@contextlib.asynccontextmanager
async def running(plan: Plan, settings: Settings, *, speed: float | None) -> AsyncIterator[LiveRun]:
    """A live run of `plan`, once connected to its broker; stopped (drain, `offline`) when the block ends."""
    stop = asyncio.Event()
    started: asyncio.Future[LiveRun] = asyncio.get_running_loop().create_future()
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(run_live(plan, settings, speed=speed, stop=stop, started=started), name="live-run")
        live = await started
        await live.bridge.wait_connected()
        try:
            yield live
        finally:
            stop.set()
