"""The MQTT bridge: readings and statuses out, commands in, responses out (DESIGN section 4).

One connection for all devices. A fresh aiomqtt client per connection attempt (paho would
re-send its own queue after a reconnect, duplicating what the outbox re-sends), exponential
backoff with jitter between attempts, and the outbox keeps order and counts across outages.
Publishing is pipelined: a window of messages is handed to the client at once, in order, and
acknowledged together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiomqtt

from engine.contract.envelope import Answer, Envelope
from engine.contract.messages import status_payload
from engine.contract.packets import TopicHeaders
from engine.contract.readings import Encoder
from engine.contract.topics import Topics
from engine.errors import CommandError
from engine.model.readings import ReadingBatch, StatusChange
from engine.runtime import changes
from engine.runtime.clock import Clock
from engine.runtime.inbox import Inbox, Outcome
from engine.runtime.outbox import Message, Outbox
from engine.runtime.publisher import FAST_PATH_PARTS, Flight, Publisher, PublishPath, open_publisher, wait_sent
from engine.runtime.settings import Settings
from engine.runtime.tally import CommandTally

log = logging.getLogger("iot_mock.mqtt")
WINDOW = 1000
PIPELINE = 4
"""Windows in flight at once."""
LAST_CALL = 1.0
"""Seconds after the drain deadline for the messages that are not readings (the devices' last statuses)."""
SLACK = 16 * WINDOW
"""Readings a virtual run keeps buffered ahead of the broker (it waits above): enough to keep the windows
full while the next batch is simulated, little enough to keep memory low whatever the outbox size."""
# 0 = paho's in-flight limit off: paho rescans its in-flight messages on every acknowledgement when
# a limit is set (quadratic in the window); the WINDOW already bounds what is in flight.
INFLIGHT = 0


class MqttBridge:
    """Sink of a simulation (readings and statuses to MQTT) and source of its commands."""

    def __init__(
        self,
        settings: Settings,
        device_ids: tuple[str, ...],
        encoder: Encoder,
        clock: Clock,
        *,
        inbox: Inbox,
        fast_path: bool = True,
    ) -> None:
        self.settings = settings
        self.broker = settings.broker()
        self.prefix = settings.topic_prefix
        self.qos = settings.mqtt_qos
        self.encoder = encoder
        self.clock = clock
        self.inbox = inbox
        """Where commands go: the driver applies them between two advances and the answer comes back."""
        self.outbox = Outbox(settings.outbox_size, low_water=SLACK)
        self.owns: Callable[[str], bool] | None = None
        """Set in a sharded run: whether a device is this shard's. Commands for the devices of other
        shards (which every shard receives) are theirs to answer: not answered here, nor counted."""
        self.foreign_commands = 0
        self.connected = False
        self.connections = 0
        self.commands = CommandTally()
        self.topics = Topics(self.prefix)
        self.fast_path = fast_path
        """False: publish through paho's public API only (see `publisher`)."""
        self.fast_path_parts = FAST_PATH_PARTS
        self.path: PublishPath | None = None
        """The publishing path of the current or last connection: "fast" or "public"."""
        self._fallback_logged = False
        # Encoded topic names, bounded: the data and status topics of the known devices, with room for more.
        self.topic_headers = TopicHeaders(limit=max(4096, 4 * len(device_ids)))
        self._data_topics = [self.topics.data(device_id) for device_id in device_ids]
        self._closing = False
        self._last_call = False
        self._drain_deadline = float("inf")
        self._stopped = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._closed = asyncio.Event()

    @property
    def simulator_topic(self) -> str:
        return self.topics.simulator

    # The sink port -----------------------------------------------------------------------
    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        messages = [message for change in statuses for message in self._status_messages(change)]
        if len(batch):
            topics = self._data_topics
            if len(topics) < len(batch.device_ids):  # devices added at runtime
                topics += [self.topics.data(i) for i in batch.device_ids[len(topics) :]]
            # Paced by when each is sent: a reading held back (out of order, buffered) goes out late.
            due = [self.clock.wall_time(t) for t in batch.sent.tolist()] if self.clock.speed else None
            payloads = self.encoder.payloads(batch)
            qos = self.qos
            if due is None:
                messages += [
                    Message(topics[d], p, qos, False, None, True)
                    for d, p in zip(batch.device.tolist(), payloads, strict=True)
                ]
            else:
                messages += [
                    Message(topics[d], p, qos, False, w, True)
                    for d, p, w in zip(batch.device.tolist(), payloads, due, strict=True)
                ]
        self.outbox.put(messages)

    def _status_messages(self, change: StatusChange) -> list[Message]:
        """The status as JSON, retained; a device that is gone gets it unretained, then its retained one cleared."""
        topic = self.topics.status(change.device_id)
        payload = status_payload(change, self.encoder.timestamp(change.t))
        qos = max(1, self.qos)
        if change.removed:  # an empty retained message deletes the retained status
            return [Message(topic, payload, qos, False), Message(topic, b"", qos, True)]
        return [Message(topic, payload, qos, True)]

    # The connection ----------------------------------------------------------------------
    def _client(self) -> aiomqtt.Client:
        settings, broker = self.settings, self.broker
        tls: aiomqtt.TLSParameters | None = None
        if broker.tls:
            tls = aiomqtt.TLSParameters(
                ca_certs=str(settings.mqtt_tls_ca) if settings.mqtt_tls_ca else None,
                certfile=str(settings.mqtt_tls_cert) if settings.mqtt_tls_cert else None,
                keyfile=str(settings.mqtt_tls_key) if settings.mqtt_tls_key else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        return aiomqtt.Client(
            broker.host,
            broker.port,
            username=broker.username,
            password=broker.password,
            identifier=settings.mqtt_client_id,
            keepalive=settings.mqtt_keepalive,
            tls_params=tls,
            will=aiomqtt.Will(self.simulator_topic, b"offline", qos=1, retain=True),
            max_inflight_messages=INFLIGHT,
            max_queued_outgoing_messages=0,
            timeout=10,
        )

    async def run(self) -> None:
        """Connect, publish and listen until `close()`; reconnect with backoff when the broker goes."""
        backoff = 0.5
        jitter = random.Random()
        while not self._stopped.is_set():
            try:
                await self._session()
                self._stopped.set()
            except aiomqtt.MqttError as exc:
                self._subscribed.clear()
                backoff = 0.5 if self.connected else backoff
                self.outbox.requeue()
                if self.connected:
                    log.warning("disconnected from MQTT broker %s: %s", self.broker, exc)
                else:
                    log.warning("cannot reach MQTT broker %s: %s; retrying in %.1fs", self.broker, exc, backoff)
                self.connected = False
                if self._closing and time.monotonic() >= self._drain_deadline:
                    break
                # Wait out the backoff, but no longer than the shutdown deadline once closing.
                pause = backoff * (0.5 + jitter.random())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._closed.wait()
                        await asyncio.sleep(max(0.0, min(pause, self._drain_deadline - time.monotonic())))
                backoff = min(backoff * 2, 30.0)
            except BaseException:
                self.connected = False
                raise
        self.connected = False

    async def _session(self) -> None:
        """One connection: announce, subscribe, then send and listen until closing or an error."""
        client = self._client()
        try:
            await self._connected_session(client)
        finally:
            # aiomqtt keeps an unexpected disconnection as a future's exception that nothing reads
            # once the session has ended; read it, or asyncio logs it when the client is collected.
            lost = getattr(client, "_disconnected", None)
            if isinstance(lost, asyncio.Future) and lost.done() and not lost.cancelled():
                lost.exception()

    async def _connected_session(self, client: aiomqtt.Client) -> None:
        async with client:
            self.connected = True
            self.connections += 1
            verb = "connected to" if self.connections == 1 else "reconnected to"
            log.info("%s MQTT broker %s", verb, self.broker)
            publisher = self._publisher(client)
            await self._announce(publisher, b"online")
            await client.subscribe(self.topics.commands, qos=1)
            self._subscribed.set()
            try:
                async with asyncio.TaskGroup() as tasks:
                    listener = tasks.create_task(self._listen(client), name="mqtt-commands")
                    await self._send(publisher)
                    listener.cancel()
            except ExceptionGroup as group:
                errors = group.subgroup(aiomqtt.MqttError)
                if errors is None:
                    raise
                raise errors.exceptions[0] from group
            finally:
                # Commands the client received (and acknowledged) but the listener had not read
                # yet: applied now, their responses wait in the outbox for the next connection.
                queue = getattr(client, "_queue", None)
                while isinstance(queue, asyncio.Queue) and not queue.empty():
                    self._handle_message(queue.get_nowait())
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(max(1.0, self._drain_deadline - time.monotonic())):
                    await self._announce(publisher, b"offline")

    def _publisher(self, client: aiomqtt.Client) -> Publisher:
        """This connection's publishing path: the fast one unless switched off or a part of it is missing."""
        headers, fast, parts = self.topic_headers, self.fast_path, self.fast_path_parts
        publisher, missing = open_publisher(client, headers, fast=fast, parts=parts)
        if missing and not self._fallback_logged:
            self._fallback_logged = True
            log.warning(
                "MQTT fast path off: this paho-mqtt lacks %s; publishing through paho's public API (slower)",
                ", ".join(missing),
            )
        self.path = publisher.path
        return publisher

    async def _send(self, publisher: Publisher) -> None:
        """Publish the outbox in order, windows of it in flight at once, until closing and drained.

        On the fast path, windows of packets go straight into aiomqtt's paho client (see `packets`): aiomqtt's
        `publish()` keeps a future per message and rescans every pending call on each publish,
        which caps throughput near 2,000 msg/s here, and paho's own costs a system call per message.
        Up to PIPELINE windows are in flight, so the wait for one window's last acknowledgement
        (40 ms when the broker's socket has Nagle's algorithm on, Mosquitto's default) does not
        hold up the next; they are acknowledged to the outbox in order.
        """
        outbox = self.outbox
        flights: deque[tuple[list[Message], list[Flight]]] = deque()
        ready: asyncio.Future[None] | None = None
        try:
            while True:
                while flights and all(part.done() for part in flights[0][1]):
                    outbox.ack(flights.popleft()[0], time.monotonic())
                if self._closing and (outbox.pending == 0 or time.monotonic() > self._drain_deadline):
                    if outbox.pending == 0 or self._last_call:
                        return
                    self._last_call_after_deadline()
                    continue
                while len(flights) < PIPELINE and (batch := outbox.take(WINDOW)):
                    parts = publisher.flights(batch)
                    flights.append((batch, parts))
                    if not all(part.send() for part in parts):
                        raise ConnectionError("the connection was lost while publishing")
                if flights and not publisher.is_connected():
                    raise ConnectionError("the connection was lost before the broker acknowledged")
                waiters: list[asyncio.Future[Any]] = []
                poll = 0.05
                if flights:
                    head = next(part for part in flights[0][1] if not part.done())
                    waiter = head.waiter
                    if waiter is not None:
                        waiters.append(waiter)
                    else:
                        poll = 0.002  # paho's own messages (QoS 2, the public path) have no future to wait on
                if len(flights) < PIPELINE:
                    if ready is None or ready.done():
                        ready = outbox.ready()
                    waiters.append(ready)
                if self._closing:
                    poll = max(0.0, min(poll, self._drain_deadline - time.monotonic()))
                if waiters:
                    await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                else:  # every window in flight is paho's own (QoS 2): poll their progress
                    await asyncio.sleep(poll)
        except (ConnectionError, aiomqtt.MqttError) as exc:
            self._settle(flights)
            if self._closing and time.monotonic() >= self._drain_deadline:
                return
            raise aiomqtt.MqttError(str(exc)) from exc
        finally:
            if self._closing:
                self._settle(flights)

    def _settle(self, flights: deque[tuple[list[Message], list[Flight]]]) -> None:
        """After a failure or at the drain deadline: what the broker did acknowledge is delivered.

        Acknowledgements come in publishing order, so that is a prefix of the windows in flight;
        the rest stays in the outbox, to be sent again in order.
        """
        now = time.monotonic()
        while flights:
            batch, parts = flights.popleft()
            sent = 0
            for part in parts:
                done = part.sent()
                part.forget()
                sent += done
                if done < part.count:
                    break
            if sent:
                self.outbox.ack(batch[:sent], now)
            if sent < len(batch):
                flights.clear()

    def _last_call_after_deadline(self) -> None:
        """At the drain deadline: the readings still waiting are dropped (and counted), and the
        messages behind them, the devices' last statuses and their retained clears, get LAST_CALL
        seconds more, so no ghost device outlives the run on the broker."""
        self._last_call = True
        dropped = self.outbox.drop_waiting()
        if dropped:
            log.warning("drain deadline reached: %d readings dropped undelivered", dropped)
        self._drain_deadline = time.monotonic() + LAST_CALL

    async def _announce(self, publisher: Publisher, state: bytes) -> None:
        """Publish the simulator's own retained status (`online`, `offline`) and wait for its PUBACK."""
        flights = publisher.flights([Message(self.topics.simulator, state, 1, True)])
        if not all(flight.send() for flight in flights):
            raise aiomqtt.MqttError("the connection was lost while publishing")
        try:
            await wait_sent(publisher, flights)
        except ConnectionError as exc:
            raise aiomqtt.MqttError(str(exc)) from exc

    async def wait_connected(self) -> None:
        """Until connected and listening for commands."""
        await self._subscribed.wait()

    async def close(self, drain_seconds: float) -> None:
        """Deliver what is buffered within `drain_seconds`, publish `offline`, disconnect."""
        self._closing = True
        self._drain_deadline = time.monotonic() + drain_seconds
        self._closed.set()
        self.outbox.wake()

    # Commands ----------------------------------------------------------------------------
    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self._handle_message(message)

    def _handle_message(self, message: aiomqtt.Message) -> None:
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        self.handle_command(message.topic.value, payload)

    def handle_command(self, topic: str, payload: bytes) -> None:
        """Read one command message and hand it to the inbox; the answer becomes its response. Never raises.

        The envelope is checked here, at receipt (it needs no simulation); the command itself applies
        in the driver, between two advances. Nothing here waits for it, so a flood of commands is
        applied a queue at a time, and one the inbox refuses (busy, the run has ended) is answered so.
        """
        device_id = self.topics.commanded_device(topic)
        if device_id is None:
            self.commands.received += 1
            self.commands.rejected += 1
            log.warning("command on %r rejected: not a valid device id", topic)
            return
        if self.owns is not None and not self.owns(device_id):
            self.foreign_commands += 1
            return
        try:
            read = self.commands.read(device_id, payload, max_bytes=self.settings.command_max_bytes)
        except Exception as exc:  # a bug in the reader, not bad input: logged in full, and still answered
            log.error("command for %s could not be read", device_id, exc_info=exc)
            self.commands.rejected += 1
            read = Answer(None, None, CommandError(device_id, str(exc) or type(exc).__name__))
        if isinstance(read, Answer):
            self._respond(device_id, read, self.inbox.now)
            return
        envelope, action = read
        self.inbox.put(
            changes.act(action, (device_id,)),
            lambda outcome: self._answered(device_id, envelope, outcome),
        )

    def _answered(self, device_id: str, envelope: Envelope, outcome: Outcome[Any]) -> None:
        try:
            answer = self.commands.settle(device_id, envelope, outcome.error)
        except Exception as exc:  # a bug, not bad input: logged in full, and still answered
            log.error("command for %s failed unexpectedly", device_id, exc_info=exc)
            error = CommandError(device_id, str(exc) or type(exc).__name__)
            answer = Answer(envelope.request_id, envelope.command, error)
        self._respond(device_id, answer, outcome.now)

    def _respond(self, device_id: str, answer: Answer, now: float) -> None:
        if answer.error is not None:
            log.info("command %r for %s rejected: %s", answer.command, device_id, answer.error.reason)
        payload = answer.payload(self.encoder.timestamp(now))
        self.outbox.put([Message(self.topics.responses(device_id), payload, max(1, self.qos))])
