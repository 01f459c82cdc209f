"""The live demo page at `/` and the server-sent event stream that feeds it (no polling)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from api.routes import conductor, describe, status_of
from api.routing import Operation

PAGE = (Path(__file__).parent / "static" / "index.html").read_text()
PERIOD = 0.5
"""Seconds between two snapshots on the stream."""


async def page(request: Request) -> Response:
    """The live demo page."""
    return HTMLResponse(PAGE)


def snapshot(request: Request) -> dict[str, object]:
    """The simulation and every device with its latest reading; `running: false` between runs."""
    live = conductor(request).current
    if live is None:
        return {"simulation": {"running": False}, "devices": []}
    payloads = conductor(request).latest.payloads(device.spec.id for device in live.sim.devices)
    devices = []
    for simulated in live.sim.devices:
        device = describe(live, simulated.spec.id)
        payload = payloads.get(simulated.spec.id)
        device["reading"] = None if payload is None else json.loads(payload)  # the published reading
        devices.append(device)
    return {"simulation": status_of(live), "devices": devices}


async def stream(request: Request) -> Response:
    """Server-sent events: a `snapshot` of the simulation and every device twice a second.

    With `?snapshots=N` the stream ends after N snapshots (for scripts and generated clients);
    without it, it goes on until the client leaves.
    """
    conductor(request)
    limit = _snapshots(request.query_params.get("snapshots"))

    async def events() -> AsyncIterator[str]:
        sent = 0
        while limit is None or sent < limit:  # a run stopped or replaced shows in the snapshots
            if sent:
                await asyncio.sleep(PERIOD)
            yield f"event: snapshot\ndata: {json.dumps(snapshot(request), separators=(',', ':'))}\n\n"
            sent += 1

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


MAX_SNAPSHOTS = 1_000_000


def _snapshots(text: str | None) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{1,7}", text) or not 1 <= int(text) <= MAX_SNAPSHOTS:  # ASCII digits only
        raise HTTPException(422, f"snapshots must be a whole number from 1 to {MAX_SNAPSHOTS}, got {text!r}")
    return int(text)


DEMO_ROUTES = [Operation("GET", "/", page), Operation("GET", "/api/v1/stream", stream)]
