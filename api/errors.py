"""One mapping from errors to HTTP responses: `{"detail": str, "issues"?: [...]}`, never a 500 for bad input."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.security import BodyTooLarge
from engine.errors import CommandError, ScenarioError


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def command_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CommandError)
    status = 404 if exc.reason == "unknown device" else 422
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def scenario_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScenarioError)
    issues = [{"loc": issue.loc, "line": issue.line, "msg": issue.msg} for issue in exc.issues]
    return JSONResponse({"detail": f"invalid scenario {exc.source}", "issues": issues}, status_code=422)


async def body_too_large(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": "body too large"}, status_code=413)


EXCEPTION_HANDLERS = {
    HTTPException: http_error,
    CommandError: command_error,
    ScenarioError: scenario_error,
    BodyTooLarge: body_too_large,
}
