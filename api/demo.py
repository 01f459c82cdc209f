"""The live demo page at `/` and the server-sent event stream that feeds it (no polling)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from api.routes import conductor, describe, status_of

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
    payloads = conductor(request).latest.payloads(meter.spec.id for meter in live.sim.meters)
    devices = []
    for meter in live.sim.meters:
        device = describe(live, meter.spec.id)
        payload = payloads.get(meter.spec.id)
        device["reading"] = None if payload is None else json.loads(payload)  # the published reading
        devices.append(device)
    return {"simulation": status_of(live), "devices": devices}


async def stream(request: Request) -> Response:
    """Server-sent events: a `snapshot` of the simulation and every device twice a second."""
    conductor(request)

    async def events() -> AsyncIterator[str]:
        while True:  # until the browser goes away; a run stopped or replaced shows in the snapshots
            yield f"event: snapshot\ndata: {json.dumps(snapshot(request), separators=(',', ':'))}\n\n"
            await asyncio.sleep(PERIOD)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


DEMO_ROUTES = [Route("/", page, methods=["GET"]), Route("/api/v1/stream", stream, methods=["GET"])]
