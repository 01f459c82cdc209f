"""/docs in a real headless Chromium against a real `iot-mock serve`: Swagger UI, offline, with "try it"."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from api.docs import ASSETS, CSP
from tests.browser import launch, needs_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Route

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
SCREENSHOT = Path(__file__).parents[2] / "out" / "docs-page.png"
"""Where the test leaves its screenshot, for a human to look at (out/ is not committed)."""


def test_every_asset_of_the_page_is_served_with_the_policy(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "http" not in CSP
    for name in ASSETS:
        assert f'"docs/{name}"' in page.text, name
        served = client.get(f"/docs/{name}")
        assert served.status_code == 200 and len(served.content) > 100, name
    assert client.get("/docs/LICENSE").status_code == 404  # only the named files, no directory
    assert client.get("/docs/../pyproject.toml").status_code == 404


@pytest.mark.timeout(90)
@needs_chromium
def test_docs_render_schemas_and_try_it_answers_without_leaving_loopback(service: str) -> None:
    requested: list[str] = []
    refused: list[str] = []
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})

            def route(handle: Route) -> None:
                requested.append(handle.request.url)
                if urlsplit(handle.request.url).hostname == "127.0.0.1":
                    handle.continue_()
                else:  # anything else would leave the machine: record it and refuse it
                    handle.abort()

            page.route("**/*", route)
            page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
            page.goto(service + "docs")
            operations = page.locator(".opblock")
            playwright.expect(operations.first).to_be_visible(timeout=15_000)
            assert operations.count() >= 20
            listed = page.locator(".opblock-summary-path").all_inner_texts()
            assert "/api/v1/devices/{device_id}" in [text.replace("\u200b", "") for text in listed]
            # Summaries are plain text and descriptions markdown: `code` renders as code, never as backticks.
            assert not [text for text in page.locator(".opblock-summary-description").all_inner_texts() if "`" in text]
            command = page.locator("#operations-default-send_command")
            command.locator(".opblock-summary").click()
            playwright.expect(command.locator(".opblock-description-wrapper code").first).to_have_text("detail")
            playwright.expect(command.locator(".examples-select select")).to_contain_text("set_power")
            get_devices = page.locator("#operations-default-list_devices")
            get_devices.locator(".opblock-summary").click()
            playwright.expect(get_devices.locator(".responses-wrapper")).to_contain_text("mock-hvac-001")
            # A schema is shown (the Device model, from the Schemas section of the response).
            get_devices.get_by_role("tab", name="Schema").first.click()
            playwright.expect(get_devices.locator(".model-box").first).to_contain_text("rated_kw")
            # Try it out: GET /api/v1/devices answers 200 in the page.
            get_devices.get_by_role("button", name="Try it out").click()
            get_devices.get_by_role("button", name="Execute").click()
            live = get_devices.locator(".live-responses-table tbody .response-col_status")
            playwright.expect(live.first).to_have_text("200", timeout=10_000)
            playwright.expect(get_devices.locator(".live-responses-table")).to_contain_text('"rated_kw"')
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=False)
        finally:
            browser.close()
    assert requested and all(urlsplit(url).hostname == "127.0.0.1" for url in requested), requested
    assert not refused, refused  # no CSP violation, no failed load
