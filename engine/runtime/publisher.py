"""How the bridge hands messages to its connection: the `Publisher` port and its two paths.

The fast path (`packets`) writes windows of pre-built PUBLISH packets into paho's queues and
matches PUBACKs itself, through paho's private parts; it is what makes 10,000+ msg/s possible.
The public path uses paho's public `publish()` and `is_published()` only: about 20 us a message,
but it works whatever paho does inside. At each connection start `open_publisher` checks that every
private part the fast path touches is there (`FAST_PATH_PARTS`) and falls back to the public path
when one is missing, so a paho upgrade slows the bridge down instead of losing readings. paho and
aiomqtt are pinned in pyproject.toml to the versions these paths were tested with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal, Protocol

import aiomqtt
import paho.mqtt.client as mqtt

from engine.contract.packets import Publishable, TopicHeaders
from engine.runtime.packets import Window, buffered_reads, fast_acks

PublishPath = Literal["fast", "public"]
FAST_PATH_PARTS: tuple[tuple[str, bool], ...] = (
    # (paho.Client attribute, whether it must be callable)
    ("_sock", False),
    ("_out_packet", False),
    ("_out_messages", False),
    ("_out_message_mutex", False),
    ("_inflight_messages", False),
    ("_mid_generate", True),
    ("_call_socket_register_write", True),
    ("_handle_pubackcomp", True),
    ("_in_packet", False),
    ("_protocol", False),
    ("_sock_recv", True),
    ("_msgtime_mutex", False),
    ("_last_bytes_received", False),
    ("loop_read", True),
)
"""Every private part of paho the fast path reads, writes or replaces (see `packets`)."""


class Flight(Protocol):
    """Messages handed to the connection together, acknowledged to the outbox together."""

    count: int

    def send(self) -> bool:
        """Queue the messages on the connection; False if it has none."""

    def done(self) -> bool:
        """Whether every message is sent (written at QoS 0, acknowledged above)."""

    def sent(self) -> int:
        """How many messages, from the first, are known sent."""

    def forget(self) -> None:
        """Drop what is left of the flight from the client's in-flight table (after a failure)."""

    @property
    def waiter(self) -> asyncio.Future[None] | None:
        """Resolves when done; None when only polling `done()` can tell."""


class Publisher(Protocol):
    """One connection's way of publishing: cuts messages into flights, and says if it is connected."""

    path: PublishPath

    def flights(self, messages: Sequence[Publishable]) -> list[Flight]: ...

    def is_connected(self) -> bool: ...


class PublicFlight:
    """Messages published one by one through paho's public `publish()`; any QoS, mixed."""

    waiter = None

    def __init__(self, paho: mqtt.Client, messages: Sequence[Publishable]) -> None:
        self._paho = paho
        self._messages = messages
        self._infos: list[mqtt.MQTTMessageInfo] = []
        self._published = 0  # infos known published, from the first
        self.count = len(messages)

    def send(self) -> bool:
        self._infos = [self._paho.publish(m.topic, m.payload, m.qos, m.retain) for m in self._messages]
        return all(info.rc == mqtt.MQTT_ERR_SUCCESS for info in self._infos)

    def _advance(self) -> int:
        infos, i = self._infos, self._published
        # paho's is_published() raises for a message it refused (no connection): that one is not sent.
        while i < len(infos) and infos[i].rc == mqtt.MQTT_ERR_SUCCESS and infos[i].is_published():
            i += 1
        self._published = i
        return i

    def done(self) -> bool:
        return bool(self._infos) and self._advance() == self.count

    def sent(self) -> int:
        return self._advance()

    def forget(self) -> None:
        pass


class FastPublisher:
    """Windows of one QoS each through the fast path; QoS 2 through paho's own `publish()`."""

    path: PublishPath = "fast"

    def __init__(self, paho: mqtt.Client, topics: TopicHeaders) -> None:
        self._paho = paho
        self._topics = topics

    def flights(self, messages: Sequence[Publishable]) -> list[Flight]:
        out: list[Flight] = []
        start = 0
        for end in range(1, len(messages) + 1):
            if end == len(messages) or messages[end].qos != messages[start].qos:
                run = messages[start:end]
                out.append(PublicFlight(self._paho, run) if run[0].qos == 2 else Window(self._paho, run, self._topics))
                start = end
        return out

    def is_connected(self) -> bool:
        return self._paho.is_connected()


class PublicPublisher:
    """paho's public API only: the fallback when the fast path's private parts are not all there."""

    path: PublishPath = "public"

    def __init__(self, paho: mqtt.Client) -> None:
        self._paho = paho

    def flights(self, messages: Sequence[Publishable]) -> list[Flight]:
        return [PublicFlight(self._paho, messages)] if messages else []

    def is_connected(self) -> bool:
        return self._paho.is_connected()


def missing_parts(paho: object, parts: Sequence[tuple[str, bool]] = FAST_PATH_PARTS) -> list[str]:
    """The private parts of paho that the fast path needs and this client lacks (or has, not callable)."""
    missing = []
    for name, is_callable in parts:
        if not hasattr(paho, name) or (is_callable and not callable(getattr(paho, name))):
            missing.append(name)
    return missing


def open_publisher(
    client: aiomqtt.Client,
    topics: TopicHeaders,
    *,
    fast: bool = True,
    parts: Sequence[tuple[str, bool]] = FAST_PATH_PARTS,
) -> tuple[Publisher, list[str]]:
    """The publisher of a connected client, and the fast path's missing parts (empty when all are there).

    The fast path when asked for and every part is there (it then installs its PUBACK handler and
    buffered reader on the client), else the public path.
    """
    paho = getattr(client, "_client", None)  # aiomqtt's paho client: both paths publish through it
    if not isinstance(paho, mqtt.Client):
        raise RuntimeError("aiomqtt.Client has no paho client (`_client`): install the pinned aiomqtt")
    # Every publish goes through paho directly, so aiomqtt's per-message confirmation callback,
    # which costs an object pair per message, is switched off.
    paho.on_publish = None
    missing = missing_parts(paho, parts) if fast else []
    if not fast or missing:
        return PublicPublisher(paho), missing
    fast_acks(paho)
    buffered_reads(paho)
    return FastPublisher(paho, topics), []


async def wait_sent(publisher: Publisher, flights: Sequence[Flight], poll: float = 0.05) -> None:
    """Until every flight is sent; raises ConnectionError if the connection goes first."""
    for flight in flights:
        while not flight.done():
            if not publisher.is_connected():
                raise ConnectionError("the connection was lost before the messages were sent")
            waiter = flight.waiter
            if waiter is None:
                await asyncio.sleep(0.002)
            else:
                await asyncio.wait([waiter], timeout=poll)
