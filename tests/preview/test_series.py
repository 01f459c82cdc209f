"""The preview's data, without a plotting library: buckets checked against a plain oracle, the bands, the filters."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from engine import load_named
from engine.errors import IotMockError
from engine.runtime.driver import run_virtual
from engine.runtime.sinks import FanOut, MemorySink
from engine.simulation import Simulation
from iot_mock.preview.series import Band, Buckets, bucket_count, chosen, collect
from iot_mock.preview.style import order, shown


def test_buckets_equal_a_plain_reduction_of_every_reading() -> None:
    """meter-faults over 10 hours (late, duplicated and forwarded readings, a comm loss): min, mean and max
    per device and bucket, NaN where it sent nothing, equal those of a Python loop over the readings."""
    plan = load_named("meter-faults").plan
    until, count = 36_000.0, 137  # a bucket width that is no round number of seconds
    ids = tuple(device.id for device in plan.devices)
    buckets, memory = Buckets(ids, until, count), MemorySink()
    run_virtual(Simulation(plan, FanOut([buckets, memory])), until)
    found: dict[tuple[int, int], list[float]] = {}
    for reading in memory.readings():
        bucket = min(int(reading.t / until * count), count - 1)
        found.setdefault((ids.index(reading.device_id), bucket), []).append(reading.power)
    low, mean, high = buckets.arrays()
    assert len(memory.readings()) > 20_000 and np.isnan(mean).any()  # rack-a and rack-b: no reading in some
    for row in range(len(ids)):
        for bucket in range(count):
            values = found.get((row, bucket))
            if values is None:
                assert math.isnan(low[row, bucket]) and math.isnan(mean[row, bucket]) and math.isnan(high[row, bucket])
            else:
                assert (low[row, bucket], high[row, bucket]) == (min(values), max(values))
                assert mean[row, bucket] == pytest.approx(math.fsum(values) / len(values), rel=1e-12)


def test_a_fault_on_most_devices_is_site_wide_and_one_on_a_kind_is_on_its_rows() -> None:
    series = collect(load_named("office-week").plan, until=7 * 86400.0)
    assert series.bands == (
        Band("outage", 136800.0, 138600.0, tuple(d.id for d in load_named("office-week").plan.devices), True),
        Band("brownout", 292500.0, 295200.0, ("office-hvac-north", "office-hvac-south"), False),
    )
    assert series.instants == ()
    assert series.timezone == "Europe/Berlin" and series.title == "office-week r1"
    assert series.total() == pytest.approx(sum(series.kind_totals().values()))
    # The energy of the bucket means is the run's (to the bucket's rounding of each device's last reading).
    width_h = series.until / len(series.centers) / 3600
    assert float(series.total().sum() * width_h) == pytest.approx(sum(series.energy_kwh), rel=0.002)


def test_actions_that_do_not_last_are_instants() -> None:
    series = collect(load_named("meter-faults").plan, until=86400.0)
    instants = {(i.action, i.targets) for i in series.instants}
    assert {("set_power", ("roof-hvac",)), ("reset_energy", ("rack-a",)), ("enable", ("line-1",))} <= instants
    assert not {i.action for i in series.instants} & {"outage", "comm_loss", "brownout"}
    assert {"outage", "comm_loss", "brownout", "stuck", "spikes"} <= {b.action for b in series.bands}
    drift = next(b for b in series.bands if b.action == "drift")
    assert drift.end == 86400.0  # still in force at the end: shaded to the end of the span


def test_devices_and_kind_filters_keep_the_events_that_touch_what_is_left() -> None:
    plan = load_named("office-week").plan
    hvac = chosen(plan, patterns=["office-hvac-*"])
    assert [d.id for d in hvac.devices] == ["office-hvac-north", "office-hvac-south"]
    assert [event.targets for event in hvac.events] == [("office-hvac-north", "office-hvac-south")] * 2
    lighting = chosen(plan, kinds=["lighting"])
    assert [d.id for d in lighting.devices] == ["office-lighting-1f", "office-lighting-2f"]
    assert [event.action.action for event in lighting.events] == ["outage"]
    assert chosen(plan, patterns=["*"]) is plan
    with pytest.raises(IotMockError) as raised:
        chosen(plan, patterns=["rack-*"], kinds=["server"])
    assert str(raised.value) == (
        "--devices rack-* --kind server: no device of office-week matches (its devices: office-hvac-north, "
        "office-hvac-south, office-lighting-1f, office-lighting-2f, office-server-room and 1 more)"
    )


def test_a_bucket_is_never_shorter_than_the_slowest_interval() -> None:
    plan = load_named("office-week").plan  # 30 s and 1 min devices
    assert bucket_count(plan, 3600.0, 1500) == 60
    assert bucket_count(plan, 7 * 86400.0, 1500) == 1500
    assert bucket_count(plan, 30.0, 1500) == 1


def test_the_command_line_imports_no_plotting_library() -> None:
    """`iot-mock --help` (and run, serve) start as fast as before: the preview loads only for `preview`."""
    code = (
        "import sys, iot_mock.cli; print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in {'matplotlib', 'plotly'} or m.startswith('iot_mock.preview')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "[]\n"


def test_top_keeps_the_devices_that_used_the_most_energy_grouped_by_kind() -> None:
    series = collect(load_named("office-week").plan, until=86400.0)
    energy = dict(zip(series.ids, series.energy_kwh, strict=True))
    top = sorted(energy, key=lambda device_id: -energy[device_id])[:4]
    assert top == ["office-hvac-north", "office-hvac-south", "office-server-room", "office-lighting-1f"]
    assert [series.ids[row] for row in order(series, 4)] == [  # grouped by kind, as the scenario lists them
        "office-hvac-north", "office-hvac-south", "office-lighting-1f", "office-server-room"
    ]  # fmt: skip
    assert order(series) == order(series, 6) == order(series, 99) == [0, 1, 2, 3, 4, 5]
    assert (shown(series, order(series, 3)), shown(series, order(series))) == (
        "the 3 of 6 devices that used the most energy",
        "6 devices",
    )


def test_the_html_envelope_is_one_closed_outline_per_run_of_buckets_with_readings() -> None:
    """A fill between two lines with gaps (a comm loss) would bridge the gap with a slanted band."""
    from iot_mock.preview.interactive import _envelope

    nan = float("nan")
    x, y = _envelope(["a", "b", "c", "d"], np.array([0.0, nan, 2.0, 3.0]), np.array([1.0, nan, 3.0, 4.0]))
    assert x == ["a", "a", None, "c", "d", "d", "c", None]
    assert y == [1.0, 0.0, None, 3.0, 4.0, 3.0, 2.0, None]
    assert _envelope(["a"], np.array([nan]), np.array([nan])) == ([], [])
