"""Scenario routes: list, show and validate scenarios; start one; inject an event now.

Named scenarios are looked up by name among `scenarios/` only (never a path), so a name cannot
reach outside it. An uploaded scenario is YAML in the body (or in a start's `yaml` field), checked
like a file on disk; its one size limit is the request body's (IOT_MOCK_MAX_BODY_BYTES). Loading
a scenario runs in a thread (and its template in a worker process), never on the event loop, so
a slow or hostile file cannot hold up publishing or other requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.errors import InvalidBody
from api.routes import apply_change, conductor, json_object, live_run, simulation_status
from api.routing import Operation
from engine.contract.topics import ID_PATTERN
from engine.model.specs import Plan
from engine.runtime import changes
from engine.runtime.clock import MAX_SPEED, MIN_SPEED
from engine.scenario.catalog import load_named, resolve, scenario_names
from engine.scenario.compile import moved_to
from engine.scenario.events import TargetedAction
from engine.scenario.loader import LoadedScenario, parse_scenario
from engine.scenario.recording import Base
from engine.scenario.yaml_source import parse_yaml

T = TypeVar("T")


_loaded: dict[str, LoadedScenario] = {}
_lock = threading.Lock()


def load_named_cached(name: str) -> LoadedScenario:
    """`load_named`, kept while every file it read has the bytes it read (their sha256): listing the
    named scenarios, as the API does on each request, need not render and check a 1,000-device
    template each time. A loaded scenario is immutable, so callers share it."""
    key = str(resolve(name).resolve())
    with _lock:
        kept = _loaded.get(key)
    if kept is not None and _unchanged(kept):
        return kept
    loaded = load_named(name)
    with _lock:
        _loaded[key] = loaded
    return loaded


def _unchanged(loaded: LoadedScenario) -> bool:
    read = [(part.source, part.sha256) for part in loaded.chain] or [(loaded.source, loaded.sha256)]
    for path, sha256 in [*read, *loaded.plan.data_files]:
        try:
            if hashlib.sha256(Path(path).read_bytes()).hexdigest() != sha256:
                return False
        except OSError:
            return False
    return True


def _summary(plan: Plan) -> dict[str, Any]:
    return {"name": plan.name, "revision": plan.revision, "description": plan.description,
            "devices": len(plan.devices)}  # fmt: skip


async def _named(request: Request, name: str) -> Plan:
    if name not in scenario_names():
        raise HTTPException(404, f"no named scenario {name!r}; see GET /api/v1/scenarios")
    loader: Loader = request.state.loader
    return (await loader.run(load_named_cached, name)).plan


async def _uploaded(request: Request, text: bytes | str, source: str) -> LoadedScenario:
    loader: Loader = request.state.loader
    return await loader.run(parse_scenario, text, source)


class Loader:
    """Loads uploaded scenarios off the event loop, a few at a time, on threads of its own.

    Not the loop's default executor: aiomqtt connects to the broker through that one, so a flood of
    slow uploads there would hold up a reconnection. Each load may run a template worker (2 s,
    256 MiB), so at most `workers` run at once and `waiting` more queue; beyond, a 503 says to retry.
    """

    def __init__(self, *, workers: int = 2, waiting: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iot-mock-scenario")
        self._limit = workers + waiting
        self._busy = 0

    async def run(self, load: Callable[..., T], *args: object) -> T:
        if self._busy >= self._limit:
            raise HTTPException(503, "too many scenarios are being loaded at once; retry in a few seconds",
                                headers={"Retry-After": "2"})  # fmt: skip
        self._busy += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, load, *args)
        finally:
            self._busy -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


async def list_scenarios(request: Request) -> Response:
    """The named scenarios: name, revision, description, device count."""
    return JSONResponse([_summary(await _named(request, name)) for name in scenario_names()])


async def show_scenario(request: Request) -> Response:
    """One named scenario: its summary, timezone, duration, devices and events."""
    plan = await _named(request, request.path_params["name"])
    return JSONResponse(
        _summary(plan)
        | {
            "timezone": plan.timezone,
            "duration": plan.duration,
            "seed": plan.seed,
            "devices": [{"id": d.id, "kind": d.kind, "name": d.name, "rated_kw": d.rated_kw} for d in plan.devices],
            "events": [
                {"at": e.at, "action": e.action.action, "targets": list(e.targets), "duration": e.action.lasts()}
                | ({"rate_per_s": e.rate, "until": e.until} if e.rate is not None else {})  # arrivals from `at`
                for e in plan.events
            ],
        }
    )


async def validate_scenario(request: Request) -> Response:
    """Check a scenario sent as YAML in the body: 200 with its summary, or 422 with every issue."""
    loaded = await _uploaded(request, await request.body(), "upload.yaml")
    return JSONResponse({"valid": True, **_summary(loaded.plan)})


class StartRequest(BaseModel):
    """What to run: a named scenario or one in YAML, with optional seed, speed and start time."""

    model_config = ConfigDict(extra="forbid")

    scenario: str | None = Field(None, pattern=ID_PATTERN, description="A named scenario.")
    yaml: str | None = Field(
        None, description="A scenario file's text, instead of a name (within the body limit, IOT_MOCK_MAX_BODY_BYTES)."
    )
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED, description="N times real time.")
    start: datetime | None = Field(None, description="Sim time zero, local to the scenario (default: now).")

    @model_validator(mode="after")
    def _one_source(self) -> StartRequest:
        if (self.scenario is None) == (self.yaml is None):
            raise ValueError("give exactly one of scenario (a name) or yaml (a scenario's text)")
        return self


async def start(request: Request) -> Response:
    """Start a scenario now (stopping the current run): by name or from YAML; seed, speed, start."""
    try:
        body = StartRequest.model_validate(await json_object(request))
    except ValidationError as exc:
        raise InvalidBody.of(exc) from None
    if body.scenario is not None:
        plan, base = await _named(request, body.scenario), Base(name=body.scenario)
    else:  # an upload has no path to extend: its recording embeds it
        loaded = await _uploaded(request, body.yaml or "", "body.yaml")
        data = parse_yaml(loaded.rendered).data
        plan, base = loaded.plan, Base(embedded=data if isinstance(data, dict) else None)
    plan = moved_to(plan, body.start or datetime.now(UTC).replace(microsecond=0))
    await conductor(request).start(plan, speed=body.speed, seed=body.seed, base=base)
    return await simulation_status(request)


_EVENT: TypeAdapter[TargetedAction] = TypeAdapter(TargetedAction)


async def inject_event(request: Request) -> Response:
    """Apply an action now (any of the scenario format's: a fault, set_power...) to a device, a list, a kind or all."""
    live = live_run(request)
    try:
        event = _EVENT.validate_python(await json_object(request))
    except ValidationError as exc:
        raise InvalidBody.of(exc, tagged="action") from None
    action = event.resolved()
    outcome = await apply_change(live, changes.act_on(action, event.target))  # targets resolved as it applies
    targets = list(outcome.result())
    return JSONResponse({"action": action.action, "targets": targets, "at": outcome.now, "duration": action.lasts()})


SCENARIO_ROUTES = [
    Operation("GET", "/api/v1/scenarios", list_scenarios),
    Operation("POST", "/api/v1/scenarios/validate", validate_scenario),
    Operation("GET", "/api/v1/scenarios/{name}", show_scenario),
    Operation("POST", "/api/v1/simulation/start", start),
    Operation("POST", "/api/v1/simulation/events", inject_event),
]
