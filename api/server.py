"""Serve the app with uvicorn in the running event loop, beside the simulation it controls."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette

from engine.runtime.settings import Settings


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the CLI owns SIGINT/SIGTERM and sets should_exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class CannotListen(Exception):
    """The API's address cannot be listened on; the message says why and what to set."""


def listen(host: str, port: int) -> list[socket.socket]:
    """Sockets listening on every address `host` resolves to (SO_REUSEADDR, as uvicorn sets it).

    Bound before anything else starts, so a taken port fails at once, and handed to `serve`.
    """
    where = f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CannotListen(f"cannot listen on {where}: {exc.strerror} (set --host or IOT_MOCK_API_HOST)") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in addresses:
            if port == 0 and sockets:  # every address on the one free port the first was given
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            listening = socket.socket(family, kind, proto)
            sockets.append(listening)
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            listening.bind(address)
            listening.listen(2048)
    except OSError as exc:
        for opened in sockets:
            opened.close()
        raise CannotListen(f"cannot listen on {where}: {_bind_problem(exc)}") from None
    return sockets


def _bind_problem(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "address already in use (set --port or IOT_MOCK_API_PORT)"
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges; set --port or IOT_MOCK_API_PORT)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "not an address of this machine (set --host or IOT_MOCK_API_HOST)"
    return f"{(exc.strerror or str(exc)).lower()} (set --host/--port or IOT_MOCK_API_HOST/IOT_MOCK_API_PORT)"


async def serve(app: Starlette, settings: Settings, stop: asyncio.Event, *, sockets: list[socket.socket]) -> None:
    """Serve `app` on `sockets` (from `listen`) until `stop` is set, then shut down cleanly."""
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        lifespan="on",
        log_level="info",
        access_log=False,  # one log line per request would cost more than most requests
        timeout_graceful_shutdown=2,  # open event streams would otherwise hold shutdown forever
    )
    server = _Server(config)
    async with asyncio.TaskGroup() as tasks:
        serving = tasks.create_task(server.serve(sockets=sockets), name="http")
        stopping = tasks.create_task(stop.wait(), name="stop-signal")
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        stopping.cancel()
