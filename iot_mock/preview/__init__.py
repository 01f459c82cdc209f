"""`iot-mock preview`: a scenario's power, site total and fault timeline as a picture, without a broker.

`series` runs the scenario in virtual time and reduces it to time buckets (numpy only); `static`
draws a PNG or SVG with matplotlib, `interactive` a self-contained, zoomable HTML page with plotly.
Both libraries are the optional extra `preview`, imported only here, when a preview is drawn, so the
command line starts as fast without them and the engine never sees them.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from engine.errors import IotMockError
from iot_mock.preview.series import Series
from iot_mock.preview.style import Detail

SUFFIXES = (".png", ".svg", ".html")
INSTALL = "pip install 'iot-mock[preview]'"


def require(out: Path) -> None:
    """Fail before the run, naming the install command, when the library for `out` is missing."""
    needed = "plotly" if out.suffix.lower() == ".html" else "matplotlib"
    try:
        importlib.import_module(needed)
    except ImportError:
        raise IotMockError(f"preview {out.suffix.lower()} needs {needed}: {INSTALL}") from None


def write(series: Series, out: Path, *, detail: Detail = "auto", top: int | None = None) -> None:
    """Draw `series` into `out`, in the format its suffix names; per device, all or the `top` by energy."""
    if out.suffix.lower() == ".html":
        from iot_mock.preview import interactive

        interactive.draw(series, out, detail=detail, top=top)
    else:
        from iot_mock.preview import static

        static.draw(series, out, detail=detail, top=top)
