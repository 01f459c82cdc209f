"""MQTT 3.1.1 PUBLISH packets as bytes: the wire codec of the fast publishing path, free of any client.

A window of messages of one QoS becomes one buffer of PUBLISH packets written back to back (MQTT
is a byte stream). Packet ids come from the caller (the connection's client numbers them, so it
can match their PUBACKs). Topic names are encoded once per topic that repeats: `TopicHeaders` is
a bounded cache that keeps the data and status topics (one each per known device) and never the
others, so a flood of commands to made-up device ids, each answered on its own response topic,
cannot grow it; its `limit` caps even the repeating kinds (devices created and deleted forever).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Protocol

PUBLISH = 0x30
PUBACK = 0x40
_MID = struct.Struct("!H")
CACHED_KINDS = ("/data", "/status")
"""The topics that repeat: every reading and every status change of a device goes to one of them."""


class Publishable(Protocol):
    topic: str
    payload: bytes
    qos: int
    retain: bool


def remaining_length(value: int) -> bytes:
    """MQTT's variable-length integer (1 to 4 bytes, 7 bits each, low bits first)."""
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | 0x80 if value else digit)
        if not value:
            return bytes(out)


def _fixed_header(first: int, length: int) -> bytes:
    """The packet's first byte and remaining length; one `bytes()` call for the usual sizes (profiled:
    it was a fifth of the encoding's time as a call of `remaining_length` and a concatenation)."""
    if length < 128:
        return bytes((first, length))
    if length < 16_384:
        return bytes((first, length & 0x7F | 0x80, length >> 7))
    return bytes((first,)) + remaining_length(length)


def topic_header(topic: str) -> bytes:
    """A topic name as MQTT writes it: two bytes of length, then UTF-8."""
    encoded = topic.encode()
    return _MID.pack(len(encoded)) + encoded


class TopicHeaders:
    """Encoded topic names of the repeating kinds, at most `limit` of them (the oldest go first)."""

    __slots__ = ("cache", "limit")

    def __init__(self, limit: int = 65_536) -> None:
        self.cache: dict[str, bytes] = {}
        self.limit = limit

    def __len__(self) -> int:
        return len(self.cache)

    def add(self, topic: str) -> bytes:
        """The header of a topic not in the cache, kept if its kind repeats."""
        header = topic_header(topic)
        if topic.endswith(CACHED_KINDS):
            cache = self.cache
            if len(cache) >= self.limit:
                del cache[next(iter(cache))]
            cache[topic] = header
        return header


def publish_packets(
    messages: Sequence[Publishable], headers: TopicHeaders, next_mid: Callable[[], int] | None
) -> tuple[bytes, list[int], list[int]]:
    """PUBLISH packets of messages of one QoS, back to back: (bytes, end offset of each packet, packet ids).

    `next_mid` numbers the packets of QoS 1 and 2; QoS 0 packets have no id (pass None).
    """
    cache, add = headers.cache, headers.add
    parts: list[bytes] = []
    offsets: list[int] = []
    mids: list[int] = []
    size = 0
    qos = messages[0].qos
    if qos:
        assert next_mid is not None, "QoS 1 and 2 packets need packet ids"
        flags = _PUBLISH_FLAGS[qos]
        for message in messages:
            topic = cache.get(message.topic) or add(message.topic)
            mid = next_mid()
            mids.append(mid)
            length = len(topic) + len(message.payload) + 2
            header = _fixed_header(flags | message.retain, length)
            parts += (header, topic, _MID.pack(mid), message.payload)
            size += len(header) + length
            offsets.append(size)
    else:
        for message in messages:
            topic = cache.get(message.topic) or add(message.topic)
            length = len(topic) + len(message.payload)
            header = _fixed_header(PUBLISH | message.retain, length)
            parts += (header, topic, message.payload)
            size += len(header) + length
            offsets.append(size)
    return b"".join(parts), offsets, mids


_PUBLISH_FLAGS = {1: PUBLISH | 2, 2: PUBLISH | 4}
