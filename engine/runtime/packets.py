"""The fast publishing path: windows of PUBLISH packets handed to the connection's paho client at once.

paho's `publish()` costs about 20 microseconds a message here: an info object with its own
condition variable, topic checks, logging hooks and one `send()` system call per message. A
window of readings is instead encoded into one buffer (MQTT is a byte stream, so packets may be
written back to back) that paho writes with a few `send()` calls. QoS 1 messages still get their
packet ids from paho and are registered in its in-flight table, so paho matches each PUBACK as
usual; one shared entry per window counts them down instead of an info object per message.
MQTT 3.1.1 only, which is what the bridge speaks.

All of this leans on paho's private parts (listed in `publisher.FAST_PATH_PARTS`, checked at each
connection start, with paho's public path as the fallback); the bytes come from `engine.contract.packets`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from engine.contract.packets import PUBLISH, Publishable, TopicHeaders, publish_packets


class Window:
    """A window of messages in flight on one paho client; `done` resolves when all are sent.

    "Sent" means what paho means: written to the socket (QoS 0) or acknowledged (QoS 1).
    paho calls `_set_as_published()` on a message's info object, and on this window for each.
    """

    __slots__ = ("_done", "_mids", "_offsets", "_packet", "_paho", "_queued", "count", "info", "pending", "qos")

    def __init__(self, paho: mqtt.Client, messages: Sequence[Publishable], topics: TopicHeaders) -> None:
        self._paho = paho
        self._queued = False
        self.count = len(messages)
        self.qos = messages[0].qos
        self.info = self  # paho reads `entry.info` of an in-flight entry; the window is its own
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        packet, self._offsets, self._mids = publish_packets(messages, topics, paho._mid_generate if self.qos else None)
        # QoS 0: the one packet is the one thing paho reports written. QoS 1: each PUBACK counts.
        self.pending = self.count if self.qos else 1
        self._packet: dict[str, Any] = {
            "command": PUBLISH,
            "mid": 0,
            "qos": self.qos,
            "pos": 0,
            "to_process": len(packet),
            "packet": packet,
            "info": self,
        }

    def send(self) -> bool:
        """Queue the window on the client; False if the client has no connection."""
        paho = self._paho
        if paho._sock is None:
            return False
        if self.qos:
            with paho._out_message_mutex:
                for mid in self._mids:
                    paho._out_messages[mid] = self  # type: ignore[assignment]
                paho._inflight_messages += self.count
        paho._out_packet.append(self._packet)  # type: ignore[arg-type]
        paho._call_socket_register_write()
        self._queued = True
        return True

    @property
    def waiter(self) -> asyncio.Future[None]:
        """Resolves when every message of the window is sent."""
        return self._done

    def done(self) -> bool:
        return self._done.done()

    def _set_as_published(self) -> None:
        self.pending -= 1
        if self.pending == 0 and not self._done.done():
            self._done.set_result(None)

    def sent(self) -> int:
        """How many messages, from the first, are known sent: after a failure, they count as delivered."""
        if self.pending == 0:
            return self.count
        if not self._queued:
            return 0
        if self.qos:
            # PUBACKs come in the order of the PUBLISHes (MQTT 3.1.1, 4.6), so this is a prefix.
            out = self._paho._out_messages
            return next((i for i, mid in enumerate(self._mids) if mid in out), self.count)
        written = self._packet["pos"]
        return next((i for i, end in enumerate(self._offsets) if end > written), self.count)

    def forget(self) -> None:
        """Remove what is left of the window from the client's in-flight table."""
        if self.qos:
            out = self._paho._out_messages
            for mid in self._mids:
                out.pop(mid, None)


def fast_acks(paho: mqtt.Client) -> None:
    """Match MQTT 3.1.1 PUBACKs by packet id alone on this client.

    paho decodes every PUBACK into a reason code and a properties object, which MQTT 3.1.1 does
    not have; at 10,000 acknowledgements a second that was half of the bridge's time. Anything
    but a plain two-byte PUBACK still goes to paho's own handler.
    """
    handle = paho._handle_pubackcomp

    def handle_pubackcomp(command: str) -> MQTTErrorCode:
        packet = paho._in_packet["packet"]
        if command != "PUBACK" or paho._protocol != mqtt.MQTTv311 or len(packet) != 2 or paho.on_publish:
            return handle(command)  # type: ignore[arg-type]
        with paho._out_message_mutex:
            entry = paho._out_messages.pop((packet[0] << 8) | packet[1], None)
            if entry is not None:
                entry.info._set_as_published()
                paho._inflight_messages -= 1
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    paho._handle_pubackcomp = handle_pubackcomp  # type: ignore[method-assign,assignment]


class _ReadBuffer:
    __slots__ = ("blocked", "data", "pos", "sock")

    def __init__(self, sock: object) -> None:
        self.sock = sock
        self.data = b""
        self.pos = 0
        self.blocked = False


def buffered_reads(paho: mqtt.Client) -> None:
    """Read this client's socket 64 KiB at a time, and take PUBACKs straight from the buffer.

    paho reads a packet's type, length and body with a `recv()` each, then builds a packet
    dictionary and decodes it: for a four-byte PUBACK that is three system calls and about
    15 microseconds. Here `recv()` fills a buffer; whole PUBACKs at its front are matched to
    their windows in a tight loop, and anything else (commands, SUBACK, PINGRESP) goes through
    paho's own reader, served from the same buffer. Plain TCP and MQTT 3.1.1 only: TLS
    sockets keep paho's path (aiomqtt drains their pending bytes itself).
    """
    if paho._sock is None or isinstance(paho._sock, ssl.SSLSocket) or paho._protocol != mqtt.MQTTv311:
        return
    buffer = _ReadBuffer(paho._sock)
    sock_recv, loop_read = paho._sock_recv, paho.loop_read
    success = MQTTErrorCode.MQTT_ERR_SUCCESS

    def buffered_recv(size: int) -> bytes:
        if paho._sock is not buffer.sock:
            return sock_recv(size)
        data, pos = buffer.data, buffer.pos
        if pos >= len(data):
            try:
                data, pos = sock_recv(1 << 16), 0
            except BlockingIOError:
                buffer.blocked = True
                raise
            if not data:
                return data
        chunk = data[pos : pos + size]
        buffer.data, buffer.pos = data, pos + len(chunk)
        return chunk

    def take_pubacks() -> None:
        data, pos, end = buffer.data, buffer.pos, len(buffer.data)
        if end - pos < 4 or data[pos] != 0x40 or paho.on_publish is not None:
            return
        out = paho._out_messages
        with paho._out_message_mutex:
            while pos + 4 <= end and data[pos] == 0x40 and data[pos + 1] == 2:
                entry = out.pop((data[pos + 2] << 8) | data[pos + 3], None)
                if entry is not None:
                    entry.info._set_as_published()
                    paho._inflight_messages -= 1
                pos += 4
        buffer.pos = pos

    def read_all(max_packets: int = 1) -> MQTTErrorCode:
        while paho._sock is buffer.sock:
            if paho._in_packet["command"] == 0:  # between two packets
                if buffer.pos >= len(buffer.data):
                    try:
                        buffer.data, buffer.pos = sock_recv(1 << 16), 0
                    except BlockingIOError:
                        return success
                    except OSError:
                        return loop_read(max_packets)  # paho reports the lost connection
                    if not buffer.data:
                        return loop_read(max_packets)
                    with paho._msgtime_mutex:  # what paho's keepalive reads
                        paho._last_bytes_received = time.monotonic()
                take_pubacks()
                if buffer.pos >= len(buffer.data):
                    continue
            buffer.blocked = False
            rc = loop_read(1)  # one packet, or what has arrived of it, through paho
            if rc != success or buffer.blocked:
                return rc
        return loop_read(max_packets)

    paho._sock_recv = buffered_recv  # type: ignore[method-assign,assignment]
    paho.loop_read = read_all  # type: ignore[method-assign]
