"""The live demo page at `/` and the server-sent event stream that feeds it (no polling)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from api.latest import LatestReadings
from api.routes import describe, live_run, status_of
from engine.model.encoding import Encoder

PAGE = (Path(__file__).parent / "static" / "index.html").read_text()
PERIOD = 0.5
"""Seconds between two snapshots on the stream."""


async def page(request: Request) -> Response:
    """The live demo page."""
    return HTMLResponse(PAGE)


def snapshot(request: Request) -> dict[str, object]:
    live = live_run(request)
    latest: LatestReadings = request.state.latest
    encoder = Encoder(live.sim.plan.start_epoch)
    devices = []
    for device_id in live.sim.device_ids:
        device = describe(live, device_id)
        reading = latest.readings.get(device_id)
        device["reading"] = None if reading is None else {
            "timestamp": encoder.timestamp(reading.t),
            "power": reading.power, "voltage": reading.voltage, "current": reading.current,
            "energy": reading.energy, "seq": reading.seq,
        }  # fmt: skip
        devices.append(device)
    return {"simulation": status_of(live), "devices": devices}


async def stream(request: Request) -> Response:
    """Server-sent events: a `snapshot` of the simulation and every device twice a second."""

    async def events() -> AsyncIterator[str]:
        live = live_run(request)
        while not live.stop.is_set():
            yield f"event: snapshot\ndata: {json.dumps(snapshot(request), separators=(',', ':'))}\n\n"
            await asyncio.sleep(PERIOD)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


DEMO_ROUTES = [Route("/", page, methods=["GET"]), Route("/api/v1/stream", stream, methods=["GET"])]
