"""A live run: a simulation driven by a clock, publishing through the MQTT bridge.

One task group owns the bridge's connection loop while the clock drives the simulation. At the
end of the span the run waits until the broker has every message it generated (logging progress
meanwhile); on a stop (SIGINT/SIGTERM, the API, or `stop` set) it delivers what it can within the
drain deadline instead. Either way every device then goes `offline` (reason `stopped`, its
retained status cleared), the simulator publishes `offline` and disconnects.
Used by `iot-mock serve` and `iot-mock run --mqtt`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from engine.contract.readings import Encoder
from engine.model.readings import Sink
from engine.model.specs import Plan
from engine.runtime.broker import embedded_broker, is_listening, is_loopback
from engine.runtime.clock import Clock, Pacing
from engine.runtime.driver import Driver
from engine.runtime.inbox import Inbox
from engine.runtime.mqtt import MqttBridge
from engine.runtime.settings import Settings
from engine.runtime.sinks import FanOut
from engine.runtime.tally import CommandCounts
from engine.simulation import Simulation

log = logging.getLogger("iot_mock")
CONNECT_WAIT = 5.0
"""Seconds a paced run waits for the broker before its clock starts anyway (and readings queue)."""
PACED_STEP = 5_000
"""Readings per advance at most in paced time: a tenth of a second of work, so the loop stays responsive."""
RunHook = Callable[[], contextlib.AbstractContextManager[object]]
"""A process-wide tweak for the time of a run, chosen by the program's entry (see `run_live`)."""
PROGRESS_EVERY = 5.0
"""Seconds between two log lines while the end of a run waits for the broker."""


@dataclass(frozen=True, slots=True)
class LagMs:
    """Publish lag of recent readings (publish minus due), in milliseconds; None before any."""

    p50: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True, slots=True)
class Counters:
    """A live run's counts at one instant: the `mqtt` part of the run report and of the status."""

    generated: int
    delivered: int
    buffered: int
    dropped: int
    undelivered: int
    behind_seconds: float
    falling_behind: bool
    commands: CommandCounts
    """MQTT commands (the API's are counted by the API)."""
    connections: int
    lag_ms: LagMs

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON object, keys in this order."""
        return asdict(self)


@dataclass(slots=True)
class LiveRun:
    """The parts of a running live simulation, for whoever steers it (CLI, API).

    Read `sim` freely; change it only through `inbox` (see `engine.runtime.changes`), which the
    driver applies between two advances.
    """

    sim: Simulation
    clock: Clock
    bridge: MqttBridge
    stop: asyncio.Event
    pacing: Pacing
    inbox: Inbox

    @property
    def undelivered(self) -> int:
        """Readings generated that the broker does not have: dropped, or still buffered."""
        outbox = self.bridge.outbox
        return outbox.buffered + outbox.dropped

    def counters(self) -> Counters:
        outbox = self.bridge.outbox
        lag = outbox.lag
        return Counters(
            generated=outbox.generated,
            delivered=outbox.delivered,
            buffered=outbox.buffered,
            dropped=outbox.dropped,
            undelivered=self.undelivered,
            behind_seconds=round(self.pacing.behind_seconds, 3),
            falling_behind=self.pacing.falling_behind,
            commands=self.bridge.commands.counts(),
            connections=self.bridge.connections,
            lag_ms=LagMs(_ms(lag.percentile(50)), _ms(lag.percentile(99)), _ms(lag.maximum if lag.recent else None)),
        )


async def _deliver_all(live: LiveRun) -> None:
    """At the normal end of a run: wait until the broker has everything, unless stopped meanwhile."""
    outbox = live.bridge.outbox
    loop = asyncio.get_running_loop()
    report_at = loop.time()
    while outbox.pending and not live.stop.is_set():
        if loop.time() >= report_at:
            report_at = loop.time() + PROGRESS_EVERY
            log.info(
                "end of the run: waiting for the broker (%s) to take %d more readings, %d delivered; "
                "SIGINT/SIGTERM gives up after the drain deadline",
                "connected" if live.bridge.connected else "not connected",
                outbox.buffered,
                outbox.delivered,
            )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.2):  # to notice a stop
                await outbox.wait_empty()


async def _connected(bridge: MqttBridge) -> None:
    """Until connected, listening, and the devices' first statuses are out."""
    await bridge.wait_connected()
    await bridge.outbox.wait_empty()


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


async def run_live(
    plan: Plan,
    settings: Settings,
    *,
    speed: float | None,
    until: float = float("inf"),
    seed: int | None = None,
    sinks: tuple[Sink, ...] = (),
    stop: asyncio.Event | None = None,
    started: asyncio.Future[LiveRun] | None = None,
    set_up: RunHook | None = None,
) -> LiveRun:
    """Run `plan` to `until` (or until `stop` is set) along a clock at `speed` (None: virtual).

    `set_up()` is entered once the run's devices are built and left when it ends: the program's
    entry tunes the process there (the CLI freezes the garbage collector's view of the devices).
    """
    stop = stop or asyncio.Event()
    broker = settings.broker()
    async with contextlib.AsyncExitStack() as stack:
        if settings.mqtt_embedded and is_loopback(broker.host) and not await is_listening(broker.host, broker.port):
            await stack.enter_async_context(embedded_broker(broker.host, broker.port))
        clock = Clock(speed)
        inbox = Inbox()
        bridge = MqttBridge(settings, tuple(d.id for d in plan.devices), Encoder(plan.start_epoch), clock, inbox=inbox)
        sim = Simulation(plan, FanOut([bridge, *sinks]), seed=seed)
        if plan.shard is not None:
            bridge.owns = sim.by_id.__contains__
        live = LiveRun(sim, clock, bridge, stop, Pacing(), inbox)
        pace = {"virtual": "in virtual time", "realtime": "in real time"}.get(clock.mode) or f"at x{clock.speed:g}"
        log.info(
            "running %s (%d devices) %s, publishing to %s under %r",
            plan.name,
            len(plan.devices),
            pace,
            broker,
            settings.topic_prefix,
        )
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(bridge.run(), name="mqtt-bridge")
            if started is not None:
                started.set_result(live)
            if set_up is not None:
                stack.enter_context(set_up())
            driver = Driver(sim, clock, inbox=inbox, pacing=live.pacing)
            if speed is not None:
                # A paced run starts its clock once connected (or given up waiting), so the setup
                # and the connection do not make the first readings late.
                # The devices' first statuses go out before it starts, too, not ahead of readings.
                sim.flush()
                await driver.meanwhile(_connected(bridge), timeout=CONNECT_WAIT, stop=stop)
                clock.restart(sim.now)
            outbox = bridge.outbox
            # Virtual time waits for room in the outbox. Paced time, while connected, holds the clock
            # back when the outbox is full (no reading dropped); while the broker is away, readings go
            # on and the oldest are dropped past the bound. The API may switch between the two.
            batch = outbox.capacity - outbox.low_water
            step = min(PACED_STEP, batch)
            await driver.run(
                until, room=outbox.wait_room, has_room=lambda: not bridge.connected or outbox.fits(step),
                stop=stop, batch=batch, step=step,
            )  # fmt: skip
            # The inbox is closed: commands from now on are answered "the run has ended".
            if not stop.is_set():
                await _deliver_all(live)
            sim.end()
            await bridge.close(settings.drain_seconds)
        counters = live.counters()
        log.info(
            "stopped at sim time %.1fs: %d readings generated, %d delivered, %d buffered, %d dropped",
            sim.now,
            counters.generated,
            counters.delivered,
            counters.buffered,
            counters.dropped,
        )
        return live
