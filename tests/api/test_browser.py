"""The live demo page in a real headless Chromium, against a real `iot-mock serve` and broker."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (./dev test installs it)")
def test_page_shows_the_devices_and_disabling_one_updates_it_within_two_seconds(service: str) -> None:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.goto(service)
            rows = page.locator("#devices tr")
            playwright.expect(rows).to_have_count(5, timeout=10_000)
            names = rows.locator("td:first-child").all_inner_texts()
            assert names == ["HVAC System", "LED Lighting", "Server Rack", "Production Line", "Kitchen Equipment"]
            server = page.locator("#device-mock-server-001")
            playwright.expect(server.locator("td").nth(2)).to_have_text("on", timeout=5_000)
            playwright.expect(server.locator("td").nth(3)).not_to_have_text("", timeout=5_000)
            server.get_by_role("button", name="disable").click()
            playwright.expect(server.locator("td").nth(2)).to_have_text("off", timeout=2_000)
            # The scenario picker replaces the run: office-week has six devices.
            page.select_option("#scenarios", "office-week")
            page.click("#start")
            playwright.expect(rows).to_have_count(6, timeout=10_000)
            playwright.expect(page.locator("#scenario")).to_contain_text("office-week", timeout=5_000)
        finally:
            browser.close()
