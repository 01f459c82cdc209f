"""The demo page's bundled files: the pinned uPlot as fetched from npm, served offline from the package."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from starlette.testclient import TestClient

import api
from api.demo import ASSETS

STATIC = Path(api.__file__).parent / "static"
VENDOR = STATIC / "vendor"


def test_the_committed_uplot_is_the_pinned_release() -> None:
    sums = {
        name: digest for digest, name in (line.split() for line in (VENDOR / "SHA256SUMS").read_text().splitlines())
    }
    assert set(sums) == {"uPlot.LICENSE", "uPlot.iife.min.js", "uPlot.min.css"}
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    script = (VENDOR / "fetch-uplot.sh").read_text()
    assert re.search(r"^version=1\.6\.32$", script, re.MULTILINE)  # the version SHA256SUMS was made from
    assert "Permission is hereby granted" in (VENDOR / "uPlot.LICENSE").read_text()  # MIT, shipped beside it


def test_the_page_needs_no_network(client: TestClient) -> None:
    page = client.get("/").text
    linked = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert linked and all(link.startswith("/") for link in linked), linked  # nothing from a CDN
    for name, media in ASSETS.items():
        served = client.get(f"/static/{name}")
        assert served.status_code == 200 and served.headers["content-type"].startswith(media)
        assert served.content == (STATIC / name).read_bytes()
    for own in ("index.html", "app.js", "style.css"):
        assert not re.search(r"https?://", (STATIC / own).read_text()), own
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/vendor/SHA256SUMS").status_code == 404  # only the page's files
