"""Serve the app with uvicorn in the running event loop, beside the simulation it controls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette

from engine.runtime.settings import Settings


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the CLI owns SIGINT/SIGTERM and sets should_exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(app: Starlette, settings: Settings, stop: asyncio.Event) -> None:
    """Serve `app` on the configured host and port until `stop` is set, then shut down cleanly."""
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
        serving = tasks.create_task(server.serve(), name="http")
        stopping = tasks.create_task(stop.wait(), name="stop-signal")
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        stopping.cancel()
