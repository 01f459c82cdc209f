"""The preview page in a real headless Chromium, offline: it draws, asks the network for nothing, and zooms."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.browser import launch, needs_chromium
from tests.engine.test_cli import iot_mock

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")


@needs_chromium
@pytest.mark.timeout(60)
def test_page_draws_offline_and_a_drag_zooms_every_panel(tmp_path: Path) -> None:
    out = tmp_path / "office.html"
    done = iot_mock("preview", "office-week", "--duration", "2d", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            asked: list[str] = []

            def offline(route: Any) -> None:
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    asked.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            page.goto(out.as_uri())
            playwright.expect(page.locator(".plotly-graph-div .main-svg").first).to_be_visible(timeout=20_000)
            playwright.expect(page.locator("text=office-hvac-north").first).to_be_visible()
            site = page.locator(".draglayer .xy .nsewdrag").first  # the site panel's plot area
            box = site.bounding_box()
            assert box is not None
            axes = (
                "(() => { const layout = document.querySelector('.plotly-graph-div')._fullLayout;"
                " const names = Object.keys(layout).filter(k => /^xaxis[0-9]*$/.test(k)).sort();"
                " return names.map(k => layout[k].range); })()"
            )
            before = page.evaluate(axes)
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + box["width"] * 0.4, y)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=8)
            page.mouse.up()
            page.wait_for_function(f"(before) => JSON.stringify({axes}) !== JSON.stringify(before)", arg=before)
            after = page.evaluate(axes)
        finally:
            browser.close()
    assert asked == []
    assert len(after) == 8 and all(r == before[0] for r in before)  # the site, 6 devices, the timeline
    assert all(r == after[0] for r in after)  # every panel shows the zoomed span
    start, end = (datetime.fromisoformat(text) for text in after[0])
    assert datetime(2025, 8, 4, 18, 30) < start < datetime(2025, 8, 4, 20) < datetime(2025, 8, 4, 23) < end
    assert end < datetime(2025, 8, 5, 1)  # 40 % to 50 % of the two days, in the scenario's local time
