"""One Route per path, holding every method of that path, so 405 and OPTIONS list all of them.

Modules declare operations, `(method, path, endpoint)`, next to their handlers; `paths` groups
them into one `PathRoute` per path, in the order of first appearance (which keeps a literal path
such as /scenarios/validate ahead of /scenarios/{name}). The OpenAPI document reads the same
operations, so a handler's name is its operation id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Operation:
    """One method of one path and the handler that answers it."""

    method: str
    path: str
    endpoint: Endpoint


class PathRoute(Route):
    """Every operation of one path: dispatches on the method, answers OPTIONS, and 405 with the full Allow."""

    def __init__(self, path: str, operations: dict[str, Endpoint]) -> None:
        self.operations = operations
        self.allow = ", ".join(sorted({*operations, "OPTIONS"} | ({"HEAD"} if "GET" in operations else set())))

        async def dispatch(request: Request) -> Response:
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": self.allow})
            method = "GET" if request.method == "HEAD" else request.method
            return await operations[method](request)

        super().__init__(path, dispatch, methods=[*operations, "OPTIONS"], name=path)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allowed = self.allow
            detail = f"{scope['method']} is not allowed on {self.path}; allowed: {allowed}"
            raise HTTPException(405, detail, headers={"Allow": allowed})
        await self.app(scope, receive, send)


def paths(operations: Iterable[Operation]) -> list[Route]:
    """One PathRoute per path, in the order paths first appear."""
    grouped: dict[str, dict[str, Endpoint]] = {}
    for operation in operations:
        methods = grouped.setdefault(operation.path, {})
        if operation.method in methods:
            raise ValueError(f"{operation.method} {operation.path} is declared twice")
        methods[operation.method] = operation.endpoint
    return [PathRoute(path, methods) for path, methods in grouped.items()]
