"""The Starlette app: built from data in `create_app`, its lifespan owning the live run.

The lifespan opens a task group, starts the first run through the conductor and hands the
conductor to the routes as lifespan state; leaving it stops the run (drain, `offline`, disconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware

from api.conductor import Conductor
from api.demo import DEMO_ROUTES
from api.devices import DEVICE_ROUTES
from api.errors import EXCEPTION_HANDLERS
from api.metrics import METRICS_ROUTES
from api.openapi import OPENAPI_ROUTES
from api.recording import RECORDING_ROUTES
from api.routes import ROUTES
from api.routing import paths
from api.scenarios import SCENARIO_ROUTES, Loader
from api.security import Cors, Guard
from api.store import DeviceStore
from engine.model.specs import Plan
from engine.runtime.service import RunHook
from engine.runtime.settings import Settings
from engine.scenario.recording import Base


def create_app(
    plan: Plan,
    settings: Settings,
    *,
    speed: float | None = 1.0,
    seed: int | None = None,
    set_up: RunHook | None = None,
    base: Base | None = None,
    record: Path | None = None,
) -> Starlette:
    """The control plane for a live run of `plan`, started and stopped with the app (`set_up`: see `run_live`).

    `base` is the scenario `plan` came from, which its recording extends (default: the named scenario
    of the plan's name); `record` a file to keep the recording of each run in (`serve --record`).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        store = DeviceStore(settings.state_db)
        loader = Loader()
        try:
            async with asyncio.TaskGroup() as tasks:
                conductor = Conductor(settings, tasks, store, set_up=set_up, record=record)
                await conductor.start(plan, speed=speed, seed=seed, base=base or Base(name=plan.name))
                yield {"conductor": conductor, "loader": loader}
                await conductor.stop()
        finally:
            loader.close()
            store.close()

    # The first is the outermost: CORS answers preflights before the token guard sees them.
    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                Cors,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PUT", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    middleware.append(Middleware(Guard, token=settings.api_token, max_body_bytes=settings.max_body_bytes))
    return Starlette(
        routes=paths(
            [
                *ROUTES,
                *METRICS_ROUTES,
                *DEVICE_ROUTES,
                *SCENARIO_ROUTES,
                *RECORDING_ROUTES,
                *DEMO_ROUTES,
                *OPENAPI_ROUTES,
            ]
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=middleware,
        lifespan=lifespan,
    )
