"""`iot-mock preview` end to end, in a subprocess as a user runs it: a valid PNG, SVG and HTML page, and
the message when the optional extra is missing."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.engine.test_cli import iot_mock
from tests.engine.test_jobs import RECORDING

OFFICE = ["office-hvac-north", "office-hvac-south", "office-lighting-1f", "office-lighting-2f", "office-server-room",
          "office-kitchen"]  # fmt: skip


def test_png_is_a_png_of_the_figure_size(tmp_path: Path) -> None:
    out = tmp_path / "office.png"
    done = iot_mock("preview", "office-week", "--duration", "2d", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"preview: {out}\n" and done.stdout == ""
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1650  # 15 inches at 110 dpi
    assert 900 < height < 1400  # the site, six device rows, the timeline
    assert 50_000 < len(data) < 2_000_000


def test_svg_parses_and_names_every_device_the_axes_and_the_fault(tmp_path: Path) -> None:
    out = tmp_path / "office.svg"
    done = iot_mock("preview", "office-week", "--duration", "2d", "--out", str(out))
    assert done.returncode == 0, done.stderr
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {"".join(element.itertext()).strip() for element in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"local time (Europe/Berlin)", "site power (kW)", "outage", "hvac (2)", "site total"} <= texts
    assert set(OFFICE) <= texts and {"hvac, kW", "lighting, kW"} <= texts  # each device row, its kind and unit
    assert any(
        text.startswith("office-week r1: 6 devices, Mon 2025-08-04 00:00 to Wed 2025-08-06 00:00") for text in texts
    )
    assert {"Mon 04", "Tue 05"} <= texts  # the days on the time axis, in local time


def test_many_devices_or_detail_heatmap_draw_a_heatmap(tmp_path: Path) -> None:
    out = tmp_path / "dc.svg"
    done = iot_mock("preview", "datacenter-day", "--duration", "6h", "--out", str(out))  # 27 devices
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "% of peak" in text and "<image" in text and "rack-b12" in text
    out = tmp_path / "office.svg"
    done = iot_mock("preview", "office-week", "--duration", "6h", "--detail", "heatmap", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "% of peak" in out.read_text()


def test_html_is_one_page_that_loads_nothing_from_the_network_and_holds_the_data(tmp_path: Path) -> None:
    out = tmp_path / "office.html"
    done = iot_mock("preview", "office-week", "--duration", "2d", "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and not [tag for tag in scripts if "src=" in tag]  # plotly.js is inline
    assert not re.findall(r"<link\b[^>]*>", page) and not re.findall(r"@import", page.split("<script")[0])
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page.split("<body")[1].split("<script")[0])
    figure = page[page.index("Plotly.newPlot(") :]
    for name in [*OFFICE, "site total", "hvac (2)", "outage", "local time (Europe/Berlin)"]:
        assert '"' + name.replace("/", "\\u002f") in figure, name  # plotly escapes "/" (no "</script>" in data)
    assert '"2025-08-04 00:00:' in figure  # bucket times in the scenario's local time
    assert '"bdata":' in figure  # the values, as typed arrays


def test_html_time_never_runs_backwards_across_a_clock_change(tmp_path: Path) -> None:
    """plotly has no timezones: across the end of summer time (02:00-03:00 twice) the page keeps the start's
    UTC offset, and says so, rather than draw the repeated hour over itself."""
    scenario = tmp_path / "dst.yaml"
    scenario.write_text(
        "version: 1\nname: dst\nstart: 2025-10-25T00:00:00\ntimezone: Europe/Berlin\nduration: 2d\n"
        "devices:\n  - {id: a, kind: server, interval: 1m}\n"
    )
    out = tmp_path / "dst.html"
    done = iot_mock("preview", str(scenario), "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert '"time at UTC+02:00 (Europe\\u002fBerlin at the start: its clocks change within the span)"' in page
    x = json.loads(re.search(r'"x":(\["[^\]]*\])', page)[1])  # type: ignore[index]
    assert len(x) == 1500 and x == sorted(set(x)) and x[0].startswith("2025-10-25 00:0") and x[-1] < "2025-10-27 00:00"
    out = tmp_path / "summer.html"  # no change in the span: the local time itself
    done = iot_mock("preview", "office-week", "--duration", "6h", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert '"local time (Europe\\u002fBerlin)"' in out.read_text()


def test_top_draws_only_the_biggest_consumers_rows(tmp_path: Path) -> None:
    out = tmp_path / "top.svg"
    done = iot_mock("preview", "office-week", "--duration", "1d", "--top", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "Per device (the 2 of 6 devices that used the most energy)" in text
    assert ">office-hvac-north<" in text and ">office-hvac-south<" in text and ">office-kitchen<" not in text
    assert ">appliance (1)<" in text  # the site's stack keeps every device


def test_bad_output_and_no_matching_device_are_refused(tmp_path: Path) -> None:
    done = iot_mock("preview", "office-week", "--out", str(tmp_path / "x.pdf"))
    assert done.returncode == 2 and "--out: must end in .png, .svg or .html, got" in done.stderr
    done = iot_mock("preview", "office-week", "--kind", "pump", "--out", str(tmp_path / "x.png"))
    assert done.returncode == 2 and "--kind: invalid choice: 'pump' (choose from 'appliance', 'hvac'," in done.stderr
    done = iot_mock("preview", "office-week", "--devices", "rack-*", "--out", str(tmp_path / "x.png"))
    assert done.returncode == 1 and done.stderr.startswith("error: --devices rack-*: no device of office-week matches")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(("suffix", "library"), [(".png", "matplotlib"), (".svg", "matplotlib"), (".html", "plotly")])
def test_without_the_extra_preview_says_how_to_install_it(tmp_path: Path, suffix: str, library: str) -> None:
    """The library made unimportable (None in sys.modules, as for a package not installed): exit 1 at once."""
    out = tmp_path / f"x{suffix}"
    code = (
        f"import sys; sys.modules[{library!r}] = None; from iot_mock.cli import main; "
        f"sys.exit(main(['preview', 'office-week', '--out', {str(out)!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"error: preview {suffix} needs {library}: pip install 'iot-mock[preview]'\n"
    assert not out.exists()


def test_a_recording_previews_some_of_its_devices(tmp_path: Path) -> None:
    """Its recorded changes of the devices left out are left out too (they failed the run before)."""
    (tmp_path / "rec.yaml").write_text(RECORDING)
    out = tmp_path / "some.svg"
    done = iot_mock("preview", str(tmp_path / "rec.yaml"), "--devices", "roof-hvac", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "roof-hvac" in text and "kitchen" not in text
    done = iot_mock("preview", str(tmp_path / "rec.yaml"), "--kind", "server", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "rack-a" in out.read_text() and "roof-hvac" not in out.read_text()
