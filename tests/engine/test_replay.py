"""History replay (`kind: replay`): a CSV of recorded readings played as a device."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from engine import ScenarioError, load_named, parse_scenario
from engine.model.history import History, Playback, ReplaySpec
from engine.model.readings import Reading
from engine.runtime.driver import run_virtual
from engine.runtime.report import build_report
from engine.runtime.report_check import differences
from engine.runtime.sinks import MemorySink
from engine.scenario.history_csv import MAX_HISTORY_BYTES
from engine.scenario.loader import LoadedScenario, load_scenario
from engine.simulation import Simulation
from tests.helpers import by_device, messages

ROOT = Path(__file__).parents[2]
HOUR, DAY, WEEK = 3600.0, 86400.0, 7 * 86400.0


def site(folder: Path, rows: str, device: str = "", *, start: str = "2025-03-03T00:00:00", tz: str = "UTC",
         events: str = "", csv: str = "history.csv", duration: str = "7d", interval: str = "1h") -> Path:  # fmt: skip
    """A scenario with one replay device `r` (its extra fields `device`) and its CSV `rows` beside it."""
    (folder / csv).write_text(rows)
    path = folder / "site.yaml"
    path.write_text(
        f"version: 1\nname: site\nstart: {start}\ntimezone: {tz}\nduration: {duration}\nseed: 3\n"
        f"devices:\n  - {{id: r, kind: replay, csv: {csv}, interval: {interval}{device}}}\n"
        + (f"events:\n{events}" if events else "")
    )
    return path


def week_rows(first: datetime, *, days: int = 7, step_h: int = 1, header: str = "timestamp,power") -> str:
    """Hourly rows whose power tells the weekday and hour: 100 * (weekday + 1) + hour."""
    lines = [header]
    for k in range(days * 24 // step_h):
        moment = first + timedelta(hours=k * step_h)
        lines.append(f"{moment.isoformat()},{100 * (moment.weekday() + 1) + moment.hour}")
    return "\n".join(lines) + "\n"


def run(path: Path, until: float) -> tuple[LoadedScenario, Simulation, dict[str, list[Reading]]]:
    loaded = load_scenario(path)
    sink = MemorySink()
    sim = Simulation(loaded.plan, sink)
    run_virtual(sim, until)
    return loaded, sim, by_device(sink.readings())


def powers(readings: list[Reading]) -> list[float]:
    return [reading.power for reading in readings]


def test_a_week_from_a_wednesday_plays_its_monday_on_the_scenarios_monday(tmp_path: Path) -> None:
    rows = week_rows(datetime(2025, 2, 5))  # a Wednesday
    _, _, readings = run(site(tmp_path, rows), 2 * WEEK)
    shown = powers(readings["r"])
    assert shown[:3] == [100.0, 101.0, 102.0]  # Monday 00:00, 01:00, 02:00
    assert shown[24 * 2 + 9] == 309.0  # Wednesday 09:00
    assert shown[24 * 6 + 23] == 723.0  # Sunday 23:00, then the loop is back on Monday
    assert shown[24 * 7 : 24 * 7 + 2] == [100.0, 101.0]
    assert shown[24 * 7 :] == shown[: 24 * 7]


def test_a_day_loop_keeps_the_time_of_day_whatever_hour_the_file_starts(tmp_path: Path) -> None:
    hours = [datetime(2025, 2, 5, 6) + timedelta(hours=h) for h in range(24)]  # 06:00 on the 5th to 05:00 on the 6th
    rows = "timestamp,power\n" + "".join(f"{moment.isoformat()},{moment.hour}\n" for moment in hours)
    _, _, readings = run(site(tmp_path, rows, ", loop: day", duration="3d"), 3 * DAY)
    assert powers(readings["r"]) == [float(h % 24) for h in range(72)]


def test_a_file_shorter_than_its_loop_is_refused_clearly(tmp_path: Path) -> None:
    path = site(tmp_path, week_rows(datetime(2025, 2, 5), days=3))
    assert messages(path) == [
        f"{path}:8: devices[0].csv: history.csv: covers 72 h, less than one week: `loop: week` needs at least a "
        "whole week of rows or use loop: day"
    ]


def test_linear_between_rows_or_the_row_held(tmp_path: Path) -> None:
    rows = week_rows(datetime(2025, 3, 3), step_h=2)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, _, linear = run(site(tmp_path / "a", rows), DAY)
    _, _, held = run(site(tmp_path / "b", rows, ", interpolation: hold"), DAY)
    assert powers(linear["r"])[:4] == [100.0, 101.0, 102.0, 103.0]
    assert powers(held["r"])[:4] == [100.0, 100.0, 102.0, 102.0]
    assert powers(linear["r"])[23] == 161.0  # half way from Monday 22:00 (122) to Tuesday 00:00 (200)
    assert powers(held["r"])[23] == 122.0


def test_scale_and_a_target_rating(tmp_path: Path) -> None:
    rows = "timestamp,power,voltage,current\n" + "".join(
        f"2025-03-0{3 + d}T{h:02d}:00:00,{10 + h},{230 + d},{(10 + h) * 1000 / (3 * (230 + d) * 0.9):.6f}\n"
        for d in range(7)
        for h in range(24)
    )
    for name, fields in [("scaled", ", scale: 2"), ("rated", ", rated_kw: 66")]:
        (tmp_path / name).mkdir()
        loaded, _, readings = run(site(tmp_path / name, rows, fields), DAY)
        assert loaded.plan.devices[0].rated_kw == 66.0  # the peak, 33 kW, times 2
        first = readings["r"][0]
        assert (first.power, first.voltage) == (20.0, 230.0)
        assert first.current == 2 * 16.10306  # the recorded current (16.103060 A), scaled with power
        assert first.power == pytest.approx(3 * first.voltage * first.current * 0.9 / 1000, rel=1e-6)
    (tmp_path / "both").mkdir()
    path = site(tmp_path / "both", rows, ", scale: 2, rated_kw: 50")
    assert messages(path) == [
        f"{path}:8: devices[0].rated_kw: is below the history's peak times scale (33 kW x 2 = 66 kW): give a higher "
        "rating, or leave it out, got 50"
    ]


def test_without_voltage_and_current_they_come_from_the_site_and_the_power_factor(tmp_path: Path) -> None:
    _, _, readings = run(site(tmp_path, week_rows(datetime(2025, 3, 3)), ", power_factor: 0.8"), DAY)
    for reading in readings["r"]:
        assert reading.voltage == pytest.approx(230, rel=0.03) and reading.voltage != 230.0
        assert reading.power == pytest.approx(3 * reading.voltage * reading.current * 0.8 / 1000, rel=1e-12)


def test_offsets_are_instants_and_naive_times_local_and_a_repeated_fall_back_hour_plays_once(tmp_path: Path) -> None:
    rows = week_rows(datetime(2025, 3, 3)).replace(":00:00,", ":00:00Z,")  # UTC: Berlin shows them an hour later
    _, _, readings = run(site(tmp_path, rows, tz="Europe/Berlin"), DAY)
    assert powers(readings["r"])[:3] == [723.0, 100.0, 101.0]  # local 00:00 is 23:00 UTC on the Sunday before
    fall = tmp_path / "fall"
    fall.mkdir()
    utc = [datetime(2025, 10, 25, 22) + timedelta(hours=k) for k in range(8 * 24)]  # 26 October: 03:00 -> 02:00
    rows = "timestamp,power\n" + "".join(f"{moment.isoformat()}Z,{k}\n" for k, moment in enumerate(utc))
    loaded = load_scenario(site(fall, rows, tz="Europe/Berlin", start="2025-10-27T00:00:00"))
    history = loaded.plan.devices[0].replay.history  # type: ignore[union-attr]
    assert len(history.local) == len(utc) - 1  # 02:00-03:00 local came twice: its second pass is left out
    assert np.all(np.diff(history.local) > 0)


@pytest.mark.parametrize(
    ("rows", "device", "message"),
    [
        ("", "", "history.csv: empty file; it needs a header line with timestamp and power, then rows"),
        ("timestamp,power\n", "", "history.csv: no rows after the header"),
        ("time,kw\n2025-03-03T00:00,1\n", "", "history.csv:1: no column 'timestamp'; the header has 'time', 'kw' "
         "(map other headers with `columns:`)"),
        ("timestamp,power\n2025-03-03T00:00,1\n", ", columns: {voltage: V}", "history.csv:1: no column 'V' "
         "(columns.voltage); the header has 'timestamp', 'power' (map other headers with `columns:`)"),
        ("timestamp,power\nmonday,1\n", "", "history.csv:2: timestamp: must be an ISO 8601 date-time like "
         "2025-03-03T08:15:00Z, 2025-03-03T08:15+01:00 or local 2025-03-03T08:15, got 'monday'"),
        ("timestamp,power\n2025-03-03T01:00,1\n2025-03-03T00:00,2\n", "", "history.csv:3: timestamp: times must "
         "increase, got '2025-03-03T00:00' after an equal or later one (a local time repeated by a DST change "
         "needs an offset, e.g. +01:00)"),
        ("timestamp,power\n2025-03-03T01:00Z,1\n2025-03-03T01:00+01:00,2\n", "", "history.csv:3: timestamp: times "
         "must increase, got '2025-03-03T01:00+01:00' after an equal or later one"),
        ("timestamp,power\n2025-03-03T00:00,lots\n", "", "history.csv:2: power: must be a number, got 'lots'"),
        ("timestamp,power\n2025-03-03T00:00,-3\n", "", "history.csv:2: power: must be between 0 and 1e+07, got '-3'"),
        ("timestamp,power\n2025-03-03T00:00,nan\n", "", "history.csv:2: power: must be between 0 and 1e+07, got 'nan'"),
        ("timestamp,power\n2025-03-03T00:00\n", "", "history.csv:2: needs 2 columns like the header, got 1"),
    ],
)  # fmt: skip
def test_a_bad_history_is_a_located_issue(tmp_path: Path, rows: str, device: str, message: str) -> None:
    path = site(tmp_path, rows, device)
    assert messages(path) == [f"{path}:8: devices[0].csv: {message}"]


def test_a_history_outside_the_folder_too_big_or_missing_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    path = site(folder, week_rows(datetime(2025, 3, 3)))
    path.write_text(path.read_text().replace("csv: history.csv", "csv: ../history.csv"))
    assert messages(path) == [
        f"{path}:8: devices[0].csv: must be a path inside the scenario's folder, got '../history.csv'"
    ]
    path.write_text(path.read_text().replace("csv: ../history.csv", "csv: big.csv"))
    (folder / "big.csv").write_bytes(b"timestamp,power\n" + b"#" * MAX_HISTORY_BYTES)
    assert messages(path) == [f"{path}:8: devices[0].csv: big.csv: file is over {MAX_HISTORY_BYTES} bytes, the limit"]
    path.write_text(path.read_text().replace("csv: big.csv", "csv: none.csv"))
    assert messages(path) == [f"{path}:8: devices[0].csv: none.csv: cannot read: No such file or directory"]


def test_replay_fields_belong_to_replay_devices(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\nname: s\ndevices:\n  - {id: a, kind: hvac, csv: h.csv, scale: 2}\n  - {id: b, kind: replay}\n"
        "  - {id: c, kind: replay, csv: h.csv, profile: hvac}\n"
    )
    assert messages(path) == [
        f"{path}:4: devices[0]: csv, scale: for replay devices only",
        f"{path}:5: devices[1]: a replay device needs `csv`: the file of readings it plays",
        f"{path}:6: devices[2]: a replay device plays its csv: it takes no profile",
    ]


def test_a_column_mapping_extra_columns_and_a_byte_order_mark(tmp_path: Path) -> None:
    lines = week_rows(datetime(2025, 3, 3)).splitlines()[1:]
    rows = "\ufeffTime,site,P_kW\n" + "".join(f"{line.split(',')[0]},north,{line.split(',')[1]}\n" for line in lines)
    _, _, readings = run(site(tmp_path, rows, ", columns: {timestamp: Time, power: P_kW}"), 3 * HOUR)
    assert powers(readings["r"]) == [100.0, 101.0, 102.0]


def test_faults_and_commands_apply_to_a_replay(tmp_path: Path) -> None:
    events = (
        '  - {at: "+01:00", action: outage, target: r, duration: 1h}\n'
        '  - {at: "+03:00", action: brownout, target: {kind: replay}, factor: 0.8, duration: 1h}\n'
        '  - {at: "+05:00", action: stuck, target: r, duration: 2h}\n'
        '  - {at: "+08:00", action: disable, target: r, duration: 1h}\n'
        '  - {at: "+10:00", action: set_power, target: r, fraction: 0.5}\n'
        '  - {at: "+11:00", action: clear_override, target: r}\n'
        '  - {at: "+12:00", action: trip, target: all, duration: 1h}\n'
        '  - {at: "+14:00", action: comm_loss, target: r, duration: 1h}\n'
    )
    rows = week_rows(datetime(2025, 3, 3))
    _, sim, readings = run(site(tmp_path, rows, ", voltage_noise: 0", events=events), 16 * HOUR)
    by_hour = {round((reading.t) / HOUR): reading for reading in readings["r"]}
    assert (by_hour[0].power, by_hour[0].voltage) == (100.0, 230.0)
    assert (by_hour[1].power, by_hour[1].voltage, by_hour[1].current) == (0.0, 0.0, 0.0)  # outage
    assert (by_hour[3].power, by_hour[3].voltage) == (103.0, 230.0 * 0.8)  # brownout: a regulated load
    assert by_hour[3].current == pytest.approx(by_hour[2].current * 103 / 102 / 0.8)
    assert by_hour[6].power == by_hour[5].power == 104.0  # stuck at the last value before it
    assert by_hour[7].power == 107.0
    assert by_hour[8].power == pytest.approx(723.0 * 0.003) and not by_hour[8].enabled  # disabled: standby
    assert by_hour[10].power == 723.0 * 0.5  # half the rating (the peak, Sunday 23:00)
    assert by_hour[11].power == 111.0
    assert (by_hour[12].power, by_hour[12].current, by_hour[12].voltage) == (0.0, 0.0, 230.0)  # breaker open
    assert 14 not in by_hour and by_hour[15].power == 115.0  # comm loss: silent
    assert sim.by_id["r"].register.energy > 0


def test_seeded_noise_is_the_same_every_run_and_another_with_another_seed(tmp_path: Path) -> None:
    path = site(tmp_path, week_rows(datetime(2025, 3, 3)), ", noise: 0.05")
    first = powers(run(path, DAY)[2]["r"])
    assert first == powers(run(path, DAY)[2]["r"])
    assert first != [100.0 + h for h in range(24)]
    assert all(abs(p / (100.0 + h) - 1) <= 0.05 for h, p in enumerate(first))
    path.write_text(path.read_text().replace("seed: 3", "seed: 4"))
    assert powers(run(path, DAY)[2]["r"]) != first


def test_readings_do_not_depend_on_how_the_run_is_cut_into_batches(tmp_path: Path) -> None:
    path = site(tmp_path, week_rows(datetime(2025, 3, 3)), ", noise: 0.05", interval="7s")
    loaded = load_scenario(path)
    whole, cut = MemorySink(), MemorySink()
    run_virtual(Simulation(loaded.plan, whole), 6 * HOUR)
    sim = Simulation(loaded.plan, cut)
    for t in (1.0, 2.0, 30.0, 31.0, 700.0, 4000.0, 6 * HOUR):  # a tick of real time samples one or two
        run_virtual(sim, t)
    assert whole.readings() == cut.readings()


def test_the_report_lists_each_history_once_with_its_sha256(tmp_path: Path) -> None:
    rows = week_rows(datetime(2025, 3, 3))
    path = site(tmp_path, rows)
    path.write_text(path.read_text() + "  - {id: s, kind: replay, csv: history.csv}\n")
    loaded, sim, _ = run(path, HOUR)
    assert loaded.plan.devices[0].replay.history is loaded.plan.devices[1].replay.history  # type: ignore[union-attr]
    report = build_report(sim, run_id="x", source=str(path), until=HOUR, wall_seconds=0.0)
    digest = hashlib.sha256(rows.encode()).hexdigest()
    assert report["scenario"]["files"] == [{"source": str(tmp_path / "history.csv"), "sha256": digest}]
    moved = json.loads(json.dumps(report))
    moved["scenario"]["files"][0]["source"] = "/elsewhere/history.csv"
    assert differences(report, moved) == []  # the path may differ between checkouts; the content may not
    moved["scenario"]["files"][0]["sha256"] = "0" * 64
    assert [d.where for d in differences(report, moved)] == ["scenario.files[0].sha256"]


def test_the_playback_matches_a_plain_python_oracle() -> None:
    """The numpy path against a row-by-row reading of the loop's definition, at 20,000 random instants."""
    rng = random.Random(7)
    first = 1_738_713_600.0 + 3 * HOUR  # a Wednesday, 03:00
    local = np.cumsum([0.0] + [rng.choice([600.0, 900.0, 1800.0]) for _ in range(1500)]) + first
    values = np.array([rng.uniform(0, 50) for _ in local])
    history = History("h.csv", "", local, values)
    for interpolation in ("linear", "hold"):
        playback = Playback(
            ReplaySpec(history, "week", interpolation, 1.5), phases=3, nominal_voltage=230.0, power_factor=0.9
        )
        period = playback.period
        played = [i for i in range(len(local)) if local[i] < first + period]
        xs = [float(local[i]) for i in played] + [first + period]
        ys = [float(values[i]) * 1.5 for i in played] + [float(values[0]) * 1.5]
        times = np.array([first + rng.uniform(-30 * DAY, 60 * DAY) for _ in range(20_000)])
        got = playback.power(times)
        for t, value in zip(times.tolist(), got.tolist(), strict=True):
            position = first + (t - first) % period
            k = max(i for i in range(len(xs)) if xs[i] <= position) if position >= xs[0] else 0
            k = min(k, len(xs) - 2)
            fraction = (position - xs[k]) / (xs[k + 1] - xs[k])
            expected = ys[k] if interpolation == "hold" else ys[k] + (ys[k + 1] - ys[k]) * fraction
            assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_the_example_history_is_what_its_script_writes(tmp_path: Path) -> None:
    committed = ROOT / "scenarios" / "data" / "site-history.csv"
    out = tmp_path / "site-history.csv"
    subprocess.run([sys.executable, str(ROOT / "scenarios" / "data" / "make_site_history.py"), str(out)], check=True)
    assert out.read_bytes() == committed.read_bytes()
    assert len(committed.read_bytes()) < 200_000


def test_history_replay_plays_the_files_mondays_on_its_monday() -> None:
    loaded = load_named("history-replay")
    rows = (ROOT / "scenarios" / "data" / "site-history.csv").read_text().splitlines()
    monday_8 = next(line for line in rows if line.startswith("2025-02-10T08:00:00+01:00")).split(",")
    sink = MemorySink()
    sim = Simulation(loaded.plan, sink)
    run_virtual(sim, 8 * HOUR + 1)
    reading = next(r for r in sink.readings() if r.device_id == "main-meter" and r.t == 8 * HOUR)
    assert (reading.power, reading.voltage, reading.current) == pytest.approx(
        (float(monday_8[1]), float(monday_8[2]), float(monday_8[3])), rel=1e-9
    )


def test_a_weather_csv_is_listed_with_its_sha256_too(tmp_path: Path) -> None:
    weather = "time,temperature_c\n2025-03-03T00:00,4\n2025-03-03T12:00,9\n"
    (tmp_path / "weather.csv").write_text(weather)
    path = site(tmp_path, week_rows(datetime(2025, 3, 3)))
    path.write_text(path.read_text().replace("seed: 3\n", "seed: 3\nsite: {weather: {csv: weather.csv}}\n"))
    loaded, sim, _ = run(path, HOUR)
    report = build_report(sim, run_id="x", source=str(path), until=HOUR, wall_seconds=0.0)
    assert [entry["sha256"] for entry in report["scenario"]["files"]] == [
        hashlib.sha256(weather.encode()).hexdigest(),
        hashlib.sha256(week_rows(datetime(2025, 3, 3)).encode()).hexdigest(),
    ]
    assert loaded.plan.data_files[0][0] == str(tmp_path / "weather.csv")


def test_an_upload_cannot_name_a_history_and_a_base_reads_its_own_beside_it(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    site(base, week_rows(datetime(2025, 3, 3)))
    with pytest.raises(ScenarioError, match=r"devices\[0\]\.csv: a replay CSV needs a scenario file"):
        parse_scenario((base / "site.yaml").read_text(), "upload.yaml")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("extends: ./base/site.yaml\nname: overlay\ndevices:\n  - {id: r, scale: 2}\n")
    _, _, readings = run(overlay, 2 * HOUR)
    assert powers(readings["r"]) == [200.0, 202.0]


def test_spikes_drift_and_a_breaker_that_trips_by_itself_on_a_replay(tmp_path: Path) -> None:
    events = (
        '  - {at: "+01:00", action: spikes, target: r, probability: 1, factor: 2, duration: 1h}\n'
        '  - {at: "+03:00", action: drift, target: r, per_day: 0.24, duration: 3h}\n'
    )
    rows = week_rows(datetime(2025, 3, 3))
    limit = 110.5 * 1000 / (3 * 230 * 0.95)  # the current of 110.5 kW: Monday 11:00 (111 kW) exceeds it
    path = site(tmp_path, rows, f", voltage_noise: 0, trip_current_a: {limit}", events=events)
    _, sim, readings = run(path, 12 * HOUR)
    by_hour = {round(reading.t / HOUR): reading for reading in readings["r"]}
    assert by_hour[1].power == 2 * 101.0 and by_hour[2].power == 102.0  # spiked while it lasted
    assert by_hour[3].power == 103.0 and by_hour[5].power == pytest.approx(105.0 * 1.02)  # 2 h of +24 %/day
    assert by_hour[10].power == 110.0 and by_hour[11].power == 0.0 and by_hour[11].current == 0.0
    trips = [entry for entry in sim.journal if entry.action == "trip"]
    assert [(entry.t, entry.phase) for entry in trips] == [(11 * HOUR, "start")]
