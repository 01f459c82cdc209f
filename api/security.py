"""Request guards: CORS for allowed origins, the optional bearer token and the body size limit.

CORS wraps the token guard: a browser's preflight (OPTIONS, never carrying a token) from an
allowed origin is answered before the guard could refuse it, and the guard's 401 to a real request
still carries the origin's CORS headers, so the page can read why it failed.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def guarded(path: str) -> bool:
    """Whether a path needs the token (when one is set): the API and the metrics, not /health or the page."""
    return path.startswith("/api/") or path == "/metrics"


class Guard:
    """Refuses /api requests without the bearer token (when one is set) and bodies over the limit."""

    def __init__(self, app: ASGIApp, *, token: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.token = token
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        needs_token = guarded(scope["path"]) and scope["method"] != "OPTIONS"  # OPTIONS only lists methods
        if self.token and needs_token and not self._authorised(scope, headers):
            response = JSONResponse(
                {"detail": "missing or wrong bearer token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        length = headers.get(b"content-length")
        if length is not None and not length.isdigit():
            await JSONResponse({"detail": "Content-Length is not a number"}, status_code=400)(scope, receive, send)
            return
        if length is not None and int(length) > self.max_body_bytes:
            response = JSONResponse({"detail": f"body larger than {self.max_body_bytes} bytes"}, status_code=413)
            await response(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _authorised(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        given = headers.get(b"authorization", b"").decode("latin-1")
        if scope["path"] == "/api/v1/stream":  # EventSource cannot send headers: a query token
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = given or f"Bearer {query.get('access_token', [''])[0]}"
        return hmac.compare_digest(given.encode("latin-1"), f"Bearer {self.token}".encode())

    def _limited(self, receive: Receive) -> Receive:
        """Counts streamed body bytes too (no content-length), refusing past the limit."""
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        return limited


class BodyTooLarge(Exception):
    """A streamed body went over the limit."""


class Cors(CORSMiddleware):
    """Starlette's CORS, except that a refused preflight carries no CORS header at all (not even the methods)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 200:
            for name in [n for n in response.headers if n.lower().startswith("access-control-")]:
                del response.headers[name]
        return response
