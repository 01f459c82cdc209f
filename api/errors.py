"""One mapping from errors to HTTP responses: `{"detail": str, "issues"?: [...]}`, never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.security import BodyTooLarge
from engine.errors import CommandError, DuplicateDevice, ScenarioError, UnknownDevice


class InvalidBody(Exception):
    """A request body that does not fit its model: 422 with every issue."""

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        self.issues = issues
        super().__init__(
            f"invalid body: {issues[0]['loc'] or 'body'}: {issues[0]['msg']}" if issues else "invalid body"
        )

    @classmethod
    def of(cls, exc: ValidationError, *, tagged: str | None = None) -> InvalidBody:
        """The issues of a body; `tagged` names the discriminator of a body that is a tagged union
        (whose errors pydantic locates under the tag, dropped here, or nowhere for a bad tag)."""
        issues = []
        for error in exc.errors():
            loc = error["loc"]
            if tagged is not None:
                loc = (tagged,) if error["type"] == "union_tag_invalid" or not loc else loc[1:]
            message = error["msg"].removeprefix("Value error, ")  # a model's own check, worded as over MQTT
            issues.append({"loc": ".".join(str(part) for part in loc), "msg": message})
        return cls(issues)


async def invalid_body(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidBody)
    return JSONResponse({"detail": str(exc), "issues": exc.issues}, status_code=422)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def command_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CommandError)
    status = 404 if isinstance(exc, UnknownDevice) else 409 if isinstance(exc, DuplicateDevice) else 422
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def scenario_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScenarioError)
    issues = [
        {"loc": issue.loc, "line": issue.line, "msg": issue.msg} | ({"source": issue.source} if issue.source else {})
        for issue in exc.issues
    ]
    return JSONResponse({"detail": f"invalid scenario {exc.source}", "issues": issues}, status_code=422)


async def body_too_large(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": "body too large"}, status_code=413)


EXCEPTION_HANDLERS = {
    HTTPException: http_error,
    CommandError: command_error,
    ScenarioError: scenario_error,
    BodyTooLarge: body_too_large,
    InvalidBody: invalid_body,
}
