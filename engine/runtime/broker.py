"""An embedded MQTT broker (amqtt) for a fresh machine where no broker is running.

Started only when nothing listens at the configured loopback address and the user has not
turned it off (`IOT_MOCK_MQTT_EMBEDDED=false`); the log says so. It binds the same loopback
address, so `mosquitto_sub -h 127.0.0.1 -t 'energy/#' -v` reads the service as usual. For load
tests and production use a real broker (Mosquitto, EMQX): amqtt is pure Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import warnings
from collections.abc import AsyncIterator

log = logging.getLogger("iot_mock.broker")


async def is_listening(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a TCP server accepts connections at host:port."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.asynccontextmanager
async def embedded_broker(host: str, port: int) -> AsyncIterator[None]:
    """Run an amqtt broker on host:port (anonymous, loopback) for the duration of the block."""
    from amqtt.broker import Broker  # imported here: only needed when no broker is found

    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    for noisy in ("amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        broker = Broker(config)
        await broker.start()
    log.info("no MQTT broker at %s:%d: started an embedded one (amqtt) there", host, port)
    try:
        yield
    finally:
        await broker.shutdown()
