"""The Starlette app: built from data in `create_app`, its lifespan owning the live run.

The lifespan starts the simulation, its clock and the MQTT bridge in one task group and hands
them to the routes as lifespan state; leaving it stops the run (drain, `offline`, disconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from api.demo import DEMO_ROUTES
from api.errors import EXCEPTION_HANDLERS
from api.latest import LatestReadings
from api.openapi import OPENAPI_ROUTES
from api.routes import ROUTES
from api.security import Guard
from engine.model.specs import Plan
from engine.runtime.service import LiveRun, run_live
from engine.runtime.settings import Settings


def create_app(plan: Plan, settings: Settings, *, speed: float | None = 1.0, seed: int | None = None) -> Starlette:
    """The control plane for a live run of `plan`, started and stopped with the app."""
    latest = LatestReadings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        stop = asyncio.Event()
        started: asyncio.Future[LiveRun] = asyncio.get_running_loop().create_future()
        async with asyncio.TaskGroup() as tasks:
            runner = tasks.create_task(
                run_live(plan, settings, speed=speed, seed=seed, sinks=(latest,), stop=stop, started=started),
                name="live-run",
            )
            await asyncio.wait({runner, started}, return_when=asyncio.FIRST_COMPLETED)
            if not started.done():  # the run failed before it started: the task group raises why
                return
            yield {"live": started.result(), "latest": latest, "cache": {}}
            stop.set()

    middleware = [Middleware(Guard, token=settings.api_token, max_body_bytes=settings.max_body_bytes)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PUT", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    return Starlette(
        routes=[*ROUTES, *DEMO_ROUTES, *OPENAPI_ROUTES],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=middleware,
        lifespan=lifespan,
    )
