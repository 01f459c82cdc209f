"""The live demo page in a real headless Chromium, against a real `iot-mock serve` and broker."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import launch, needs_chromium

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
pytestmark = needs_chromium
expect = playwright.expect


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        launched = launch(p)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto(url)
    return page


def post(url: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url.rstrip("/") + path, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def get(url: str, path: str) -> Any:
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.timeout(120)
def test_the_page_shows_the_site_and_each_device_with_badges_controls_and_feedback(service: str, browser: Any) -> None:
    page = open_page(browser, service)
    rows = page.locator("#devices .row")
    expect(rows).to_have_count(5, timeout=10_000)
    names = page.locator("#devices .row .name").all_inner_texts()
    assert names == ["HVAC System", "LED Lighting", "Server Rack", "Production Line", "Kitchen Equipment"]
    server = page.locator("#device-mock-server-001")
    expect(server).to_contain_text("mock-server-001")
    expect(server).to_contain_text("server · Data Center")
    expect(server.locator(".badge")).to_have_text(["online"])
    expect(server.locator(".power")).to_have_text(re.compile(r"^\d+\.\d\d$"), timeout=5_000)
    # At a glance: counts, the site's power, the clock in the scenario's zone with its date, the picker on the run.
    expect(page.locator("#count-total")).to_have_text("5")
    expect(page.locator("#count-online")).to_have_text("5")
    expect(page.locator("#total-power")).to_have_text(re.compile(r"^\d[\d,]*\.\d$"))
    expect(page.locator("#clock-zone")).to_have_text("Europe/Berlin")
    expect(page.locator("#clock-time")).to_have_text(re.compile(r"^\w{3}, \d{1,2} \w{3} \d{4}, \d\d:\d\d:\d\d$"))
    expect(page.locator("#clock-mode")).to_have_text("accelerated \u00d720")  # x20
    expect(page.locator("#scenarios")).to_have_value("default")
    # The site chart and the rows' charts have axes with time and kW ticks (labels drawn on the canvas).
    expect(page.locator("#site-chart .u-legend")).to_contain_text("server")
    for ticks in ("iotMock.siteTicks()", "iotMock.rowTicks('mock-server-001')"):
        page.wait_for_function(f"() => {ticks}.length == 2 && {ticks}[0].length >= 2 && {ticks}[1].length >= 2")
        times, kilowatts = page.evaluate(ticks)
        assert all(re.fullmatch(r"\d\d:\d\d(:\d\d)?", label) for label in times), times
        assert all(re.fullmatch(r"[\d,.]+", label) for label in kilowatts), kilowatts
    # A fault injected through the API shows its badge within 2 s, from the server's state.
    post(service, "/api/v1/simulation/events", {"action": "outage", "target": "mock-hvac-001", "duration": "30m"})
    expect(page.locator("#device-mock-hvac-001 .badge.outage")).to_have_text("outage", timeout=2_000)
    expect(page.locator("#count-faulted")).to_have_text("1", timeout=2_000)
    expect(page.locator("#timeline li").first).to_contain_text("outage · mock-hvac-001", timeout=2_000)
    expect(page.locator("#device-mock-hvac-001")).to_contain_text("clear faults")
    # Controls match the state: disable, then only enable is offered; the command's feedback is shown.
    assert server.get_by_role("button", name="enable").count() == 0
    server.get_by_role("button", name="disable").click()
    expect(page.locator("#feedback .toast").last).to_have_text("disable → Server Rack: done", timeout=2_000)
    expect(server.locator(".badge.disabled")).to_be_visible(timeout=2_000)
    expect(server.get_by_role("button", name="enable")).to_be_visible()
    assert server.get_by_role("button", name="disable").count() == 0
    # Any action of the vocabulary, with its parameters, from the schema the API publishes.
    options = page.locator("#action option").all_inner_texts()
    assert {"outage", "brownout", "set_power", "reset_energy", "clear_fault"} <= set(options)
    page.select_option("#action", "set_power")
    page.select_option("#target", "mock-kitchen-001")
    page.fill("#params input[name=kw]", "2.5")
    page.click("#apply")
    expect(page.locator("#result")).to_have_text("set_power on 1 device(s)", timeout=2_000)
    kitchen = page.locator("#device-mock-kitchen-001")
    expect(kitchen.locator(".power")).to_have_text(re.compile(r"^2\.[2-7]"), timeout=5_000)
    expect(kitchen.locator(".badge.override")).to_have_text("override 2.5 kW", timeout=2_000)
    page.select_option("#action", "set_interval")
    page.click("#apply")  # interval is required: the API's message is shown
    expect(page.locator("#result")).to_contain_text("refused", timeout=2_000)
    # A device offline is marked stale once its values age.
    post(service, "/api/v1/devices/mock-lighting-001/command", {"command": "set_offline"})
    lighting = page.locator("#device-mock-lighting-001")
    expect(lighting.locator(".badge.offline")).to_be_visible(timeout=2_000)
    expect(lighting.locator(".badge.stale")).to_be_visible(timeout=10_000)
    expect(lighting).to_have_class(re.compile(r"\bstale\b"))
    # The detail view: the device's chart over its history, its events, every command.
    page.locator("#device-mock-hvac-001 .name").click()
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text("HVAC System")
    expect(page.locator("#detail-badges .badge.outage")).to_be_visible()
    expect(page.locator("#detail-events li").first).to_contain_text("outage", timeout=2_000)
    page.wait_for_function("() => iotMock.detailTicks().length == 2 && iotMock.detailTicks()[0].length >= 2")
    commands = page.locator("#detail-action option").all_inner_texts()
    assert {"inject_fault", "clear_trip", "set_interval", "enable", "disable"} <= set(commands)
    page.select_option("#detail-action", "clear_fault")
    page.locator("#detail-command button[type=submit]").click()
    expect(page.locator("#detail-result")).to_have_text("clear_fault: done", timeout=2_000)
    expect(page.locator("#detail-badges .badge.outage")).to_have_count(0, timeout=2_000)
    page.locator("#detail-close").click()
    # The scenario picker replaces the run: office-week has six devices.
    page.select_option("#scenarios", "office-week")
    page.fill("#seed", "7")
    page.click("#start")
    expect(rows).to_have_count(6, timeout=10_000)
    expect(page.locator("#scenario")).to_contain_text("office-week", timeout=5_000)
    expect(page.locator("#feedback .toast").last).to_contain_text("start office-week: done")
    # Pause shows resume only; the recording button is disabled while the server has no recording.
    page.click("#pause")
    expect(page.locator("#resume")).to_be_visible(timeout=2_000)
    expect(page.locator("#pause")).to_be_hidden()
    expect(page.locator("#paused")).to_be_visible()
    status = get(service, "/api/v1/simulation/status")
    assert status["paused"]
    # "download recording" saves the session so far: an overlay of the scenario that runs.
    expect(page.locator("#recording")).not_to_have_attribute("aria-disabled", "true")
    with page.expect_download(timeout=10_000) as download:
        page.click("#recording")
    saved = Path(download.value.path()).read_text()
    assert download.value.suggested_filename.endswith(".yaml")
    assert "extends: office-week" in saved and "seed: 7" in saved
    expect(page.locator("#feedback .toast").last).to_contain_text("download recording: done")
    page.screenshot(path=str(Path("/tmp") / "iot-mock-page.png"), full_page=True)
    assert page.errors == []


@pytest.mark.timeout(90)
def test_a_reload_shows_the_history_at_once(service: str, browser: Any) -> None:
    # x20 and a 10 s step: a point every half second; wait until the server holds twenty.
    deadline = 30_000
    page = open_page(browser, service)
    page.wait_for_function("() => window.iotMock && iotMock.sitePoints() >= 20", timeout=deadline)
    held = len(get(service, "/api/v1/history")["t"])
    page.reload()
    page.wait_for_function(f"() => iotMock.sitePoints() >= {held}", timeout=2_000)  # not collected since the reload
    page.wait_for_function(f"() => iotMock.rowPoints('mock-hvac-001') >= {held}", timeout=2_000)
    assert page.errors == []


MANY = """
version: 1
name: many-meters
revision: 1
description: {n} meters of four kinds
start: 2025-03-10T08:00:00
timezone: Europe/Berlin
duration: 1d
seed: 7
devices:
{{% for i in range({n}) %}}
  - {{id: "m-{{{{ '%05d' % i }}}}", kind: "{{{{ ['server', 'hvac', 'lighting', 'industrial'][i % 4] }}}}",
     name: "Meter {{{{ i }}}}", location: "Hall {{{{ i // 500 }}}}", rated_kw: 5, interval: 5s,
     tags: ["{{{{ ['north', 'south'][i % 2] }}}}"]}}
{{% endfor %}}
"""


@pytest.mark.timeout(120)
def test_two_thousand_devices_stream_while_the_page_stays_responsive(service: str, browser: Any) -> None:
    post(service, "/api/v1/simulation/start", {"yaml": MANY.format(n=2000), "speed": 10})
    page = open_page(browser, service)
    expect(page.locator("#count-total")).to_have_text("2,000", timeout=20_000)
    expect(page.locator("#shown")).to_have_text("(2,000)")
    rows = page.locator("#devices .row")
    assert 5 <= rows.count() < 60  # a window onto the list, not 2,000 rows
    page.evaluate("""() => { window.gaps = []; let last = performance.now();
        const tick = now => { gaps.push(now - last); last = now; if (gaps.length < 400) requestAnimationFrame(tick); };
        requestAnimationFrame(tick); iotMock.renderTimes.length = 0; }""")
    first = page.locator("#clock-time").inner_text()
    page.locator("#list").hover()
    for _ in range(10):  # scroll through while deltas arrive
        page.mouse.wheel(0, 2500)
        page.wait_for_timeout(150)
    page.wait_for_function("() => gaps.length >= 300", timeout=30_000)
    figures = page.evaluate("""() => {
        const sorted = a => a.slice().sort((x, y) => x - y);
        const g = sorted(gaps.slice(10)), r = sorted(iotMock.renderTimes);
        const at = (a, q) => a[Math.min(a.length - 1, Math.floor(a.length * q))];
        return {frame_p50: at(g, .5), frame_p95: at(g, .95), frame_max: g[g.length - 1],
                update_p50: at(r, .5), update_p95: at(r, .95), update_max: r[r.length - 1], updates: r.length}; }""")
    print(f"\n2,000 devices: {figures}")
    assert page.locator("#clock-time").inner_text() != first  # deltas kept coming
    assert figures["updates"] >= 5
    assert figures["frame_p95"] < 250, figures  # generous (a shared, noisy machine): 17 ms when idle
    assert figures["update_p95"] < 250, figures  # drawing all 2,000 rows would take seconds
    # The filters narrow the list: by kind and tag.
    page.select_option("#filter-kind", "hvac")
    page.select_option("#filter-tag", "north")
    expect(page.locator("#shown")).to_have_text("(0 of 2,000)")  # hvac: i % 4 == 1, so i is odd: all south
    page.select_option("#filter-tag", "south")
    expect(page.locator("#shown")).to_have_text("(500 of 2,000)")
    assert page.errors == []
