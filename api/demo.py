"""The live demo page at `/`, its bundled assets, the history it opens with and the stream of changes.

The stream (server-sent events) opens with a `snapshot`: the simulation, every device with its state
and latest reading, and where the history stands. Then, twice a second, a `delta` with only what
changed since the previous message: the status, the devices whose state changed (faults, status,
switch), those removed, the readings that changed (as columns), the history steps closed and the
site's power by kind at each, and the journal's new entries. A new connection (a reload, a reconnect)
gets a snapshot again, so a client resyncs by reconnecting; a new run sends a snapshot too.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from api.history import History, columns
from api.routes import conductor, describe, device_of, live_run, status_of
from api.routing import Operation
from engine.runtime.service import LiveRun
from engine.simulation.journal import Entry

STATIC = Path(__file__).parent / "static"
PAGE = (STATIC / "index.html").read_text()
ASSETS = {
    "app.js": "text/javascript",
    "style.css": "text/css",
    "vendor/uPlot.iife.min.js": "text/javascript",
    "vendor/uPlot.min.css": "text/css",
}
"""The page's files, served from the package (no CDN: the page works offline)."""
PERIOD = 0.5
"""Seconds between two messages on the stream."""
EVENTS_KEPT = 200
"""Journal entries a snapshot or the history carries (the newest)."""
TARGETS_SHOWN = 20
"""Targets an event lists by id; `count` has them all."""
MAX_DEVICES = 200
"""Devices one history request may ask the series of."""


async def page(request: Request) -> Response:
    """The live demo page."""
    return HTMLResponse(PAGE)


async def asset(request: Request) -> Response:
    """A bundled file of the page."""
    name = request.path_params["name"]
    media = ASSETS.get(name)
    if media is None:
        raise HTTPException(404, f"no asset {name!r}")
    return Response((STATIC / name).read_bytes(), media_type=media, headers={"Cache-Control": "max-age=3600"})


def _history(request: Request) -> History:
    found: History = conductor(request).history
    return found


def event_json(entry: Entry) -> dict[str, Any]:
    """A journal entry for the page: its first targets by id, and how many there are."""
    return {
        "t": entry.t,
        "action": entry.action,
        "phase": entry.phase,
        "source": entry.source,
        "targets": list(entry.targets[:TARGETS_SHOWN]),
        "count": len(entry.targets),
        "params": {k: _plain(v) for k, v in entry.params.items()},
        "duration": entry.duration,
        "occurrence": entry.occurrence,
    }


def _plain(value: object) -> object:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def _events(live: LiveRun, start: int, device_id: str | None = None) -> list[dict[str, Any]]:
    journal = live.sim.journal
    found: list[dict[str, Any]] = []
    for index in range(len(journal) - 1, start - 1, -1):
        entry = journal[index]
        if device_id is None or device_id in entry.targets:
            found.append(event_json(entry))
            if len(found) == EVENTS_KEPT:
                break
    return found[::-1]


def _kinds(live: LiveRun) -> dict[str, str]:
    return {device.spec.id: device.spec.kind for device in live.sim.devices}


def _device_json(live: LiveRun, device_id: str) -> dict[str, Any]:
    device = describe(live, device_id)
    device["tags"] = list(live.sim.by_id[device_id].spec.tags)
    return device


def _signature(live: LiveRun, device_id: str) -> tuple[object, ...]:
    """What a device's badges depend on: a change of it is sent (a meter's trip bumps no device revision)."""
    device = live.sim.by_id[device_id]
    return device.revision, device.status, device.enabled, tuple(fault.name for fault in device.faults())


def _clock(live: LiveRun) -> dict[str, Any]:
    plan = live.sim.plan
    return {"start_epoch": plan.start_epoch, "timezone": plan.timezone}


def _faulted(live: LiveRun) -> int:
    return sum(1 for device in live.sim.devices if device.faults())


@dataclass
class Cursor:
    """What one stream has sent: the run, the history tick and step, the journal length, device states."""

    live: LiveRun | None = None
    tick: int = 0
    step: int | None = None
    journal: int = 0
    revision: int = -1
    signatures: dict[str, tuple[object, ...]] = field(default_factory=dict)
    faulted: int = 0


def snapshot(request: Request, cursor: Cursor | None = None) -> dict[str, object]:
    """The simulation and every device with its state and latest reading; `running: false` between runs."""
    cursor = cursor if cursor is not None else Cursor()
    live = conductor(request).current
    cursor.live = live
    if live is None:
        return {"simulation": {"running": False}, "devices": []}
    history = _history(request)
    ids = [device.spec.id for device in live.sim.devices]
    payloads = conductor(request).latest.payloads(ids)
    latest = history.latest(ids)
    times = dict(zip(latest.ids, latest.values[:, 0].tolist(), strict=True))
    devices = []
    cursor.revision, cursor.signatures = live.sim.revision, {}
    for device_id in ids:
        device = _device_json(live, device_id)
        payload = payloads.get(device_id)
        device["reading"] = None if payload is None else json.loads(payload)  # the published reading
        device["reading_t"] = times.get(device_id)
        devices.append(device)
        cursor.signatures[device_id] = _signature(live, device_id)
    steps = history.steps()
    cursor.tick, cursor.step, cursor.journal = latest.tick, steps[-1] if steps else None, len(live.sim.journal)
    cursor.faulted = _faulted(live)
    return {
        "simulation": status_of(live),
        "clock": _clock(live),
        "faulted": cursor.faulted,
        "devices": devices,
        "history": {"step": history.step, "points": history.points, "t": history.times(steps)},
        "events": _events(live, 0),
    }


def delta(request: Request, cursor: Cursor) -> tuple[str, dict[str, object]]:
    """What changed since `cursor` (updated), or a new snapshot when the run changed."""
    live = conductor(request).current
    if live is not cursor.live:
        return "snapshot", snapshot(request, cursor)
    if live is None:
        return "delta", {"simulation": {"running": False}}
    body: dict[str, object] = {"simulation": status_of(live)}
    if live.sim.revision != cursor.revision:
        cursor.revision = live.sim.revision
        changed, ids = [], set()
        for device in live.sim.devices:
            device_id = device.spec.id
            ids.add(device_id)
            signature = _signature(live, device_id)
            if cursor.signatures.get(device_id) != signature:
                cursor.signatures[device_id] = signature
                changed.append(_device_json(live, device_id))
        removed = [device_id for device_id in cursor.signatures if device_id not in ids]
        for device_id in removed:
            del cursor.signatures[device_id]
        cursor.faulted = _faulted(live)
        body.update(devices=changed, removed=removed)
    body["faulted"] = cursor.faulted
    history = _history(request)
    readings = history.changed_since(cursor.tick)
    cursor.tick = readings.tick
    body["readings"] = columns(readings)
    steps = history.steps(cursor.step)
    if steps:
        cursor.step = steps[-1]
        body["totals"] = {"t": history.times(steps), "kinds": history.totals(_kinds(live), steps)}
    if len(live.sim.journal) > cursor.journal:
        body["events"] = _events(live, cursor.journal)
        cursor.journal = len(live.sim.journal)
    return "delta", body


async def stream(request: Request) -> Response:
    """Server-sent events: a `snapshot` of the simulation and every device, then a `delta` twice a second.

    With `?snapshots=N` the stream ends after N messages (for scripts and generated clients); without
    it, it goes on until the client leaves. Reconnecting starts with a snapshot again (the resync).
    """
    conductor(request)
    limit = _snapshots(request.query_params.get("snapshots"))

    async def events() -> AsyncIterator[str]:
        cursor, sent = Cursor(), 0
        while limit is None or sent < limit:  # a run stopped or replaced is sent as a new snapshot
            if sent:
                await asyncio.sleep(PERIOD)
                kind, body = delta(request, cursor)
            else:
                kind, body = "snapshot", snapshot(request, cursor)
            sent += 1
            yield f"event: {kind}\ndata: {json.dumps(body, separators=(',', ':'))}\nid: {sent}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


MAX_SNAPSHOTS = 1_000_000


def _snapshots(text: str | None) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{1,7}", text) or not 1 <= int(text) <= MAX_SNAPSHOTS:  # ASCII digits only
        raise HTTPException(422, f"snapshots must be a whole number from 1 to {MAX_SNAPSHOTS}, got {text!r}")
    return int(text)


async def site_history(request: Request) -> Response:
    """The recent history: the site's power by kind per step, the journal's newest entries, and the power
    of the devices asked for (`?devices=ID,ID`, at most 200) per step."""
    live = live_run(request)
    history = _history(request)
    asked = _ids(request.query_params.get("devices", ""))
    steps = history.steps()
    return Response(
        json.dumps(
            {
                "step": history.step,
                "points": history.points,
                "clock": _clock(live),
                "t": history.times(steps),
                "totals": history.totals(_kinds(live), steps),
                "devices": history.series((i for i in asked if i in live.sim.by_id), steps),
                "events": _events(live, 0),
            },
            separators=(",", ":"),
        ),
        media_type="application/json",
    )


def _ids(text: str) -> list[str]:
    ids = [part for part in text.split(",") if part]
    if len(ids) > MAX_DEVICES:
        raise HTTPException(422, f"devices lists at most {MAX_DEVICES} ids, got {len(ids)}")
    return ids


async def device_history(request: Request) -> Response:
    """One device's recent history: its power per step and its newest journal entries."""
    live = live_run(request)
    device_id = device_of(live, request.path_params["device_id"]).spec.id
    history = _history(request)
    steps = history.steps()
    series: Iterable[float | None] = history.series([device_id], steps).get(device_id, [])
    return Response(
        json.dumps(
            {
                "step": history.step,
                "clock": _clock(live),
                "t": history.times(steps),
                "power": list(series),
                "events": _events(live, 0, device_id),
            },
            separators=(",", ":"),
        ),
        media_type="application/json",
    )


DEMO_ROUTES = [
    Operation("GET", "/", page),
    Operation("GET", "/static/{name:path}", asset),
    Operation("GET", "/api/v1/stream", stream),
    Operation("GET", "/api/v1/history", site_history),
    Operation("GET", "/api/v1/history/devices/{device_id}", device_history),
]
