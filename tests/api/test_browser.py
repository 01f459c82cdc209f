"""The live demo page in a real headless Chromium, against a real `iot-mock serve` and broker."""

from __future__ import annotations

import re
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
            # Any action of the vocabulary, with its parameters, from the schema the API publishes.
            options = page.locator("#action option").all_inner_texts()
            assert {"outage", "brownout", "set_power", "reset_energy", "clear_fault"} <= set(options)
            page.select_option("#action", "set_power")
            page.select_option("#target", "mock-kitchen-001")
            page.fill("#params input[name=kw]", "2.5")
            page.click("#apply")
            playwright.expect(page.locator("#result")).to_have_text("set_power on 1 device(s)", timeout=2_000)
            kitchen = page.locator("#device-mock-kitchen-001")
            playwright.expect(kitchen.locator("td").nth(3)).to_have_text(re.compile(r"^2\.[2-7]"), timeout=5_000)
            page.select_option("#action", "set_interval")
            page.click("#apply")  # interval is required: the API's message is shown
            playwright.expect(page.locator("#result")).to_contain_text("refused", timeout=2_000)
            # The scenario picker replaces the run: office-week has six devices.
            page.select_option("#scenarios", "office-week")
            page.click("#start")
            playwright.expect(rows).to_have_count(6, timeout=10_000)
            playwright.expect(page.locator("#scenario")).to_contain_text("office-week", timeout=5_000)
        finally:
            browser.close()
