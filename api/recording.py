"""The recording route: the session so far as an overlay scenario that `iot-mock run` replays exactly.

A file scenario is named relative to the service's working directory (save the download there, or
edit its `extends:`); a named one by its name; an uploaded one is embedded (see
`engine.scenario.recording`).
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from api.routes import conductor
from api.routing import Operation
from engine.scenario.recording import NothingToRecord

MEDIA_TYPE = "application/yaml"


async def get_recording(request: Request) -> Response:
    """The session so far as a scenario (YAML) that extends the one that ran and replays every reading exactly.

    Its start, seed, shard and every command, injected event and device change applied, each at its
    exact sim time; its duration ends now. `iot-mock run FILE` reproduces the session's readings byte
    for byte up to this instant. 409 before any run, or while sim time is still 0.
    """
    keeper = conductor(request)
    try:
        text = await keeper.recording(Path.cwd())
    except NothingToRecord as exc:
        raise HTTPException(409, str(exc)) from None
    if text is None or keeper.live is None:
        raise HTTPException(409, "no simulation has run; start one with POST /api/v1/simulation/start")
    filename = f"{keeper.live.sim.plan.name}-recording.yaml"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(text, media_type=MEDIA_TYPE, headers=headers)


RECORDING_ROUTES = [Operation("GET", "/api/v1/simulation/recording", get_recording)]
