"""The REST routes under /api/v1 and /health (DESIGN section 5; /metrics is in `api.metrics`).

Handlers read the live run from the app's lifespan state; every change (a command, a reading now, a
device, an event) goes through the run's inbox, as MQTT commands do, and is applied by the driver
between two advances while the request waits (`apply_change`).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.conductor import Conductor
from api.routing import Operation
from engine.contract.envelope import Answer
from engine.contract.readings import Encoder
from engine.errors import UnknownDevice
from engine.model.device import Device
from engine.runtime import changes
from engine.runtime.clock import check_speed
from engine.runtime.inbox import Busy, Outcome, RunEnded, Work
from engine.runtime.service import LiveRun
from engine.scenario.actions import FAULT_NAMES

T = TypeVar("T")


def conductor(request: Request) -> Conductor:
    found: Conductor = request.state.conductor
    return found


def live_run(request: Request) -> LiveRun:
    """The running simulation; 409 when none runs (stopped through the API)."""
    live = conductor(request).current
    if live is None:
        raise HTTPException(409, "no simulation is running; start one with POST /api/v1/simulation/start")
    return live


def _device(request: Request) -> dict[str, Any]:
    return describe(live_run(request), request.path_params["device_id"])


def device_of(live: LiveRun, device_id: str) -> Device:
    """The device; 404 if there is no such device."""
    device = live.sim.by_id.get(device_id)
    if device is None:
        raise HTTPException(404, f"unknown device {device_id!r}")
    return device


def describe(live: LiveRun, device_id: str) -> dict[str, Any]:
    device = device_of(live, device_id)
    spec = device.spec
    active = {fault.name for fault in device.faults()}
    return {
        "id": spec.id,
        "kind": spec.kind,
        "name": spec.name,
        "location": spec.location,
        "rated_kw": spec.rated_kw,
        "profile": spec.profile.name,
        "interval": device.interval,
        "power_factor": spec.power_factor,
        "phases": spec.phases,
        "status": device.status,
        "enabled": device.enabled,
        "override_kw": device.load.override_kw,
        "faults": {name: name in active for name in FAULT_NAMES},
    }


async def list_devices(request: Request) -> Response:
    """List every device with its current state."""
    live = live_run(request)
    keeper = conductor(request)
    revision = live.sim.revision
    cached = keeper.cache.get("devices")
    if cached is None or cached[0] != revision:  # device state only changes with events and commands
        parts = keeper.device_json
        for device in live.sim.devices:  # only the devices that changed are described again
            part = parts.get(device.spec.id)
            if part is None or part[0] is not device or part[1] != device.revision:
                body = json.dumps(describe(live, device.spec.id), separators=(",", ":")).encode()
                parts[device.spec.id] = part = (device, device.revision, body)
        listed = b"[" + b",".join(parts[device.spec.id][2] for device in live.sim.devices) + b"]"
        cached = keeper.cache["devices"] = (revision, listed)
    return Response(cached[1], media_type="application/json")


async def get_device(request: Request) -> Response:
    """One device and its current state."""
    return JSONResponse(_device(request))


async def get_readings(request: Request) -> Response:
    """The device's latest reading: the bytes of its MQTT payload."""
    device_id = device_of(live_run(request), request.path_params["device_id"]).spec.id
    payload = conductor(request).latest.payload(device_id)
    if payload is None:
        raise HTTPException(404, f"no reading from {device_id!r} yet")
    return Response(payload, media_type="application/json")


async def simulate(request: Request) -> Response:
    """Produce and publish one reading of the device now; returns it (404 while it is offline)."""
    live = live_run(request)
    await apply_change(live, changes.read_now(device_of(live, request.path_params["device_id"]).spec.id))
    return await get_readings(request)


async def apply_change(live: LiveRun, work: Work[T]) -> Outcome[T]:
    """`work` applied by the run's driver between two advances, the request waiting for it.

    Raises the work's own error (a CommandError: 404, 409, 422), or 503 when the inbox is full
    (busy) and 409 when the run has ended meanwhile.
    """
    outcome = await live.inbox.call(work)
    refused(outcome.error)
    outcome.result()
    return outcome


def refused(error: Exception | None) -> None:
    """The HTTP error of the inbox's refusals: 503 busy (try again), 409 the run has ended."""
    if isinstance(error, Busy):
        raise HTTPException(503, error.reason, headers={"Retry-After": "1"})
    if isinstance(error, RunEnded):
        raise HTTPException(409, error.reason)


async def json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}", parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "body must be a JSON object")
    return body


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


async def send_command(request: Request) -> Response:
    """Send a command to a device: {"command": str, "params": {...}?, "id": str?}; answered like over MQTT.

    The body is read and checked by the same envelope reader as an MQTT command, with the same limits
    and messages; a rejected command is a 422 whose `detail` is the MQTT response's `error` (503 when
    the run's inbox is full, 409 when the run has ended meanwhile).
    """
    live = live_run(request)
    device_id = device_of(live, request.path_params["device_id"]).spec.id
    keeper = conductor(request)
    max_bytes = keeper.settings.command_max_bytes
    tally = keeper.rest_commands
    read = tally.read(device_id, await request.body(), max_bytes=max_bytes)
    error: Exception | None = None
    if isinstance(read, Answer):
        answer, now = read, live.sim.now
    else:
        envelope, action = read
        outcome = await live.inbox.call(changes.act(action, (device_id,)))
        answer, now, error = tally.settle(device_id, envelope, outcome.error), outcome.now, outcome.error
    body = answer.response(live.bridge.encoder.timestamp(now))
    if answer.error is None:
        return JSONResponse(body)
    cause = error or answer.error  # the inbox's refusal, or the command's own error
    status = next((code for kind, code in _STATUSES if isinstance(cause, kind)), 422)
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse({"detail": body.pop("error"), "id": body["id"], "command": body["command"]}, status, headers)


_STATUSES: tuple[tuple[type[Exception], int], ...] = ((Busy, 503), (RunEnded, 409), (UnknownDevice, 404))
"""A rejected command's HTTP status by its cause; any other is 422."""


async def simulation_status(request: Request) -> Response:
    """Running state, clock, simulated time, lag, device counts and outbox counters."""
    live = conductor(request).live
    return JSONResponse(status_of(live) if live is not None else {"running": False})


def status_of(live: LiveRun) -> dict[str, Any]:
    sim, clock = live.sim, live.clock
    devices = sim.devices
    return {
        "running": not live.stop.is_set(),
        "paused": clock.paused,
        "scenario": {"name": sim.plan.name, "revision": sim.plan.revision},
        "clock": clock.mode,
        "speed": clock.speed,
        "sim_time": sim.now,
        "timestamp": Encoder(sim.plan.start_epoch).timestamp(sim.now, millis=sim.now % 1 != 0),
        "devices": {
            "total": len(devices),
            "online": sum(1 for d in devices if d.status == "online"),
            "enabled": sum(1 for d in devices if d.enabled),
        },
        "mqtt": {
            "connected": live.bridge.connected,
            "broker": str(live.bridge.broker),
            "topic_prefix": live.bridge.prefix,
        },
        **live.counters().to_json(),
    }


async def pause(request: Request) -> Response:
    """Pause simulated time (readings stop; commands still apply)."""
    live = live_run(request)
    live.clock.pause(live.sim.now)
    return await simulation_status(request)


async def resume(request: Request) -> Response:
    """Resume simulated time from where it paused."""
    live_run(request).clock.resume()
    return await simulation_status(request)


async def set_speed(request: Request) -> Response:
    """Change the clock speed: {"speed": N} (N times real time)."""
    body = await json_object(request)
    unknown = sorted(set(body) - {"speed"})
    if unknown:
        raise HTTPException(422, f'unknown field {unknown[0]!r}; the body is {{"speed": N}}')
    try:
        speed = check_speed(body.get("speed"))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    live = live_run(request)
    live.clock.set_speed(speed, at=live.sim.now)
    return await simulation_status(request)


async def stop(request: Request) -> Response:
    """Stop the simulation: the outbox is drained and `offline` published."""
    live_run(request)
    await conductor(request).stop()
    return await simulation_status(request)


async def health(request: Request) -> Response:
    """Liveness, with the MQTT connection state (no authentication)."""
    live = conductor(request).current
    if live is None:
        return JSONResponse({"status": "stopped", "mqtt": {"connected": False}, "sim_time": None})
    return JSONResponse(
        {
            "status": "ok",
            "mqtt": {"connected": live.bridge.connected, "broker": str(live.bridge.broker)},
            "sim_time": live.sim.now,
        }
    )


ROUTES = [
    Operation("GET", "/health", health),
    Operation("GET", "/api/v1/devices", list_devices),
    Operation("GET", "/api/v1/devices/{device_id}", get_device),
    Operation("GET", "/api/v1/devices/{device_id}/readings", get_readings),
    Operation("POST", "/api/v1/devices/{device_id}/command", send_command),
    Operation("POST", "/api/v1/devices/{device_id}/simulate", simulate),
    Operation("GET", "/api/v1/simulation/status", simulation_status),
    Operation("POST", "/api/v1/simulation/pause", pause),
    Operation("POST", "/api/v1/simulation/resume", resume),
    Operation("POST", "/api/v1/simulation/speed", set_speed),
    Operation("POST", "/api/v1/simulation/stop", stop),
]
