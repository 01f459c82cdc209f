"""Device routes that change the running simulation: create, update, delete (DESIGN section 5).

A created device publishes from the next slot, a deleted one stops and its retained status is
cleared, an update applies from now. Every change is stored (SQLite) and laid over the scenario
when it starts again, so it survives a restart of the service.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.errors import InvalidBody
from api.routes import apply_change, conductor, describe, device_of, json_object, live_run
from api.routing import Operation
from engine.model.specs import DeviceSpec, Plan
from engine.runtime import changes
from engine.scenario.compile import device_fields, device_spec
from engine.scenario.device_format import Device
from engine.scenario.fields import Interval


class DeviceUpdate(BaseModel):
    """The fields of a device that an update may change; the others stay."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    location: str | None = Field(None, max_length=200)
    rated_kw: float | None = Field(None, gt=0, le=100_000)
    profile: str | None = None
    interval: Interval | None = None
    noise: float | None = Field(None, ge=0, le=1)
    voltage_noise: float | None = Field(None, ge=0, le=0.2)
    power_factor: float | None = Field(None, gt=0, le=1)


def _spec(plan: Plan, body: dict[str, Any], current: DeviceSpec | None = None) -> tuple[Device, DeviceSpec]:
    """The device of a request body; `current`: the spec it updates (a replay keeps the history it read)."""
    try:
        device = Device.model_validate(body)
    except ValidationError as exc:
        raise InvalidBody.of(exc) from None
    if device.profile is not None and device.profile not in plan.profiles:
        known = ", ".join(sorted(plan.profiles))
        raise HTTPException(422, f"unknown profile {device.profile!r}; this scenario has {known}")
    history = current.replay.history if current is not None and current.replay is not None else None
    if device.kind == "replay" and history is None:
        raise HTTPException(
            422, "a replay device plays a CSV file beside a scenario file: declare it in the scenario, not over the API"
        )
    return device, device_spec(device, plan.profiles, plan.site, history=history)


async def create_device(request: Request) -> Response:
    """Create a device (scenario format: id, kind, and optional name, rated_kw, profile, interval...).

    It publishes from its first reading slot on; 409 if the id exists.
    """
    live = live_run(request)
    device, spec = _spec(live.sim.plan, await json_object(request))
    await apply_change(live, changes.add_device(spec))
    conductor(request).store.save(live.sim.plan.name, spec.id, device.model_dump(mode="json"))
    return JSONResponse(describe(live, spec.id), status_code=201)


async def update_device(request: Request) -> Response:
    """Change a device from now on: name, location, rated_kw, profile, interval, noise, power_factor."""
    live = live_run(request)
    current = device_of(live, request.path_params["device_id"])
    try:
        edit = DeviceUpdate.model_validate(await json_object(request))
    except ValidationError as exc:
        raise InvalidBody.of(exc) from None
    body = device_fields(current.spec) | edit.model_dump(exclude_unset=True)
    if current.spec.replay is not None and "rated_kw" in edit.model_fields_set:
        body.pop("scale")  # a new rating scales the history's peak to it
    device, spec = _spec(live.sim.plan, body, current.spec)
    await apply_change(live, changes.update_device(spec))
    conductor(request).store.save(live.sim.plan.name, spec.id, device.model_dump(mode="json"))
    return JSONResponse(describe(live, spec.id))


async def delete_device(request: Request) -> Response:
    """Delete a device: it stops publishing and its retained status is cleared."""
    live = live_run(request)
    device_id = device_of(live, request.path_params["device_id"]).spec.id
    await apply_change(live, changes.remove_device(device_id))
    conductor(request).store.save(live.sim.plan.name, device_id, None)
    return Response(status_code=204)


DEVICE_ROUTES = [
    Operation("POST", "/api/v1/devices", create_device),
    Operation("PUT", "/api/v1/devices/{device_id}", update_device),
    Operation("DELETE", "/api/v1/devices/{device_id}", delete_device),
]
