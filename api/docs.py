"""The /docs page: Swagger UI rendering /openapi.json, every asset served from the app (no network).

The renderer is the `swagger-ui-py` package, pinned in pyproject.toml: its wheel carries the
swagger-ui-dist files, of which only the bundle and its stylesheet are served, by name (no directory
is exposed). The page and its start-up script are our own files in api/static/docs. Its Content
Security Policy lets the page load scripts, styles and images from the app alone and talk to the
app alone ("try it" calls the API of the origin that served the page).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from api.routing import Operation

OWN = Path(__file__).parent / "static" / "docs"


def _renderer() -> Path:
    """The folder of swagger-ui-dist's files in the installed package (found without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("/docs needs the swagger-ui-py package (a dependency of iot-mock): pip install iot-mock")
    return Path(spec.origin).parent / "static"


ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_renderer() / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (_renderer() / "swagger-ui.css", "text/css"),
    "docs.js": (OWN / "docs.js", "text/javascript"),
    "docs.css": (OWN / "docs.css", "text/css"),
}
"""Every file the page loads, by the name it is served under /docs/."""

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # the renderer's icons are data: SVGs in its stylesheet
    "font-src 'self'",
    "connect-src 'self'",  # /openapi.json and "try it"
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])  # fmt: skip
"""The page's Content Security Policy: everything from the app, nothing from the network, no inline code."""
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
PAGE = (OWN / "docs.html").read_text()


async def docs(request: Request) -> Response:
    """The API documentation: every operation with its schemas and examples, and "try it"."""
    return HTMLResponse(PAGE, headers=HEADERS)


async def asset(request: Request) -> Response:
    path, media_type = ASSETS[request.url.path.rsplit("/", 1)[1]]
    return FileResponse(path, media_type=media_type, headers={**HEADERS, "Cache-Control": "public, max-age=3600"})


DOCS_ROUTES = [Operation("GET", "/docs", docs), *(Operation("GET", f"/docs/{name}", asset) for name in ASSETS)]
