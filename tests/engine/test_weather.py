"""The site's weather, and HVAC that heats and cools for it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from engine import parse_scenario
from engine.errors import ScenarioError
from engine.model.calendar import SiteCalendar
from engine.model.specs import WeatherSpec
from engine.model.weather import Climate, TemperatureCursor, thermal_load, thermal_load_at
from engine.runtime.driver import run_virtual
from engine.runtime.sinks import MemorySink
from engine.scenario.loader import load_scenario
from engine.simulation import Simulation
from tests.helpers import scenario_text, simulate

DAY = 86400.0


def _temperatures(start: str, days: float, seed: int = 1, spec: WeatherSpec | None = None) -> np.ndarray:
    calendar = SiteCalendar(float(np.datetime64(start, "s").astype(float)), "UTC")
    local = calendar.local(np.arange(0.0, days * DAY, 600.0))
    return TemperatureCursor(Climate.of(spec or WeatherSpec(), seed)).temperatures(local)


def test_the_climate_has_its_seasons_days_and_a_seeded_anomaly() -> None:
    january, july = _temperatures("2025-01-10", 10), _temperatures("2025-07-10", 10)
    assert january.mean() == pytest.approx(11 - 9, abs=3) and july.mean() == pytest.approx(11 + 9, abs=3)
    by_hour = july.reshape(10, 24 * 6).mean(axis=0)
    assert 14 <= int(np.argmax(by_hour)) // 6 <= 16 and 2 <= int(np.argmin(by_hour)) // 6 <= 4
    assert by_hour.max() - by_hour.min() == pytest.approx(2 * 8, abs=2)
    assert not np.array_equal(_temperatures("2025-07-10", 2, seed=2), _temperatures("2025-07-10", 2))


def test_the_temperature_is_a_pure_function_of_time_the_same_for_floats() -> None:
    climate = Climate.of(WeatherSpec(), 7)
    local = np.sort(np.random.default_rng(1).uniform(1.7e9, 1.7e9 + 30 * DAY, 5000))
    bulk = TemperatureCursor(climate).temperatures(local)
    one_by_one = TemperatureCursor(climate)
    assert [one_by_one.temperature_at(x) for x in local.tolist()] == bulk.tolist()
    halves = TemperatureCursor(climate)
    assert (
        np.concatenate((halves.temperatures(local[:2500]), halves.temperatures(local[2500:]))).tolist() == bulk.tolist()
    )
    gaps = np.linspace(-10, 45, 2000)
    assert thermal_load(gaps, 22.0, 4.0).tolist() == [thermal_load_at(x, 22.0, 4.0) for x in gaps.tolist()]


def _hvac_energy(start: str, weather: str) -> float:
    text = (
        scenario_text(
            f"site: {{weather: {weather}}}\n" if weather else "",
            start=start,
        )
        + "devices: [{id: ac, kind: hvac, interval: 5m}]\n"
    )
    sim, _ = simulate(text, 7 * DAY)
    return sim.by_id["ac"].register.energy


def test_hvac_uses_more_energy_on_a_hot_week_and_in_winter_than_on_a_mild_one() -> None:
    mild = _hvac_energy("2025-04-21T00:00:00", "{mean_c: 22, seasonal_swing_c: 0, daily_swing_c: 1}")
    hot = _hvac_energy("2025-07-14T00:00:00", "{mean_c: 24, seasonal_swing_c: 9}")
    winter = _hvac_energy("2025-01-13T00:00:00", "{}")
    assert hot > 2 * mild and winter > 2 * mild


def test_without_weather_hvac_follows_its_profile_as_before() -> None:
    assert _hvac_energy("2025-07-14T00:00:00", "") != _hvac_energy("2025-07-14T00:00:00", "{}")
    text = scenario_text("devices: [{id: ac, kind: hvac, setpoint_c: 20, deadband_c: 2}]\n")
    assert parse_scenario(text).plan.devices[0].setpoint_c == 20.0


def test_setpoints_are_for_hvac() -> None:
    with pytest.raises(ScenarioError, match="setpoint_c and deadband_c are for hvac devices"):
        parse_scenario(scenario_text("devices: [{id: a, kind: server, setpoint_c: 21}]\n"))


def _csv_site(tmp_path: Path, rows: str, csv: str = "weather.csv") -> Path:
    (tmp_path / "weather.csv").write_text("time,temperature_c\n" + rows)
    scenario = tmp_path / "site.yaml"
    scenario.write_text(
        scenario_text(f"site: {{weather: {{csv: {csv}}}}}\n") + "devices: [{id: ac, kind: hvac, interval: 5m}]\n"
    )
    return scenario


def test_hourly_values_from_a_csv_beside_the_scenario(tmp_path: Path) -> None:
    hours = [f"2025-08-04T{h:02d}:00,{t}\n" for h, t in zip(range(24), [10.0 + h for h in range(24)], strict=True)]
    loaded = load_scenario(_csv_site(tmp_path, "".join(hours)))
    climate = Climate.of(loaded.plan.site.weather or WeatherSpec(), 1)
    calendar = SiteCalendar(loaded.plan.start_epoch, "UTC")
    cursor = TemperatureCursor(climate)
    local = calendar.local(np.array([0.0, 1800.0, 23 * 3600.0, 2 * DAY]))
    assert cursor.temperatures(local).tolist() == [10.0, 10.5, 33.0, 33.0]  # linear, then held
    assert cursor.temperature_at(float(local[1])) == 10.5


def test_hvac_heats_for_a_cold_csv_week(tmp_path: Path) -> None:
    def energy(temperature: float, folder: Path) -> float:
        folder.mkdir()
        loaded = load_scenario(_csv_site(folder, f"2025-08-04T00:00,{temperature}\n"))
        sim = Simulation(loaded.plan, MemorySink())
        run_virtual(sim, 2 * DAY)
        return sim.by_id["ac"].register.energy

    assert energy(-5.0, tmp_path / "cold") > 2 * energy(22.0, tmp_path / "mild")


@pytest.mark.parametrize(
    ("rows", "csv", "message"),
    [
        ("2025-08-04T00:00,warm\n", "weather.csv", "weather.csv:2: temperature_c must be a number, got 'warm'"),
        ("2025-08-04T01:00,1\n2025-08-04T00:00,2\n", "weather.csv", "weather.csv:3: times must increase"),
        ("2025-08-04T00:00,1\n", "../weather.csv", "must be a path inside the scenario's folder"),
        ("2025-08-04T00:00,1\n", "other.csv", "other.csv: cannot read: No such file or directory"),
    ],
)
def test_a_bad_csv_is_a_located_issue(tmp_path: Path, rows: str, csv: str, message: str) -> None:
    path = _csv_site(tmp_path, rows, csv)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}:6: site.weather.csv: {message}")


def test_an_uploaded_scenario_cannot_name_a_csv() -> None:
    text = scenario_text("site: {weather: {csv: w.csv}}\n") + "devices: [{id: ac, kind: hvac}]\n"
    with pytest.raises(ScenarioError, match="a weather CSV needs a scenario file"):
        parse_scenario(text)
    with pytest.raises(ScenarioError, match="give either csv or the synthetic climate"):
        parse_scenario(text.replace("csv: w.csv", "csv: w.csv, mean_c: 3"))


def test_a_csv_link_out_of_the_folder_a_fifo_and_a_huge_file_are_refused(tmp_path: Path) -> None:
    """The folder check is on the resolved path; only regular files are read, and never beyond the limit."""
    outside = tmp_path / "secret.csv"
    outside.write_text("time,temperature_c\n2025-08-04T00:00,1\n")
    folder = tmp_path / "site"
    folder.mkdir()
    path = _csv_site(folder, "2025-08-04T00:00,1\n", "link.csv")
    (folder / "link.csv").symlink_to(outside)
    with pytest.raises(ScenarioError, match="it leads outside"):
        load_scenario(path)
    (folder / "link.csv").unlink()
    os.mkfifo(folder / "link.csv")
    with pytest.raises(ScenarioError, match=r"link\.csv: not a regular file"):
        load_scenario(path)
    (folder / "link.csv").unlink()
    (folder / "link.csv").write_bytes(b"time,temperature_c\n" + b"#" * (4 << 20))
    with pytest.raises(ScenarioError, match="over 4194304 bytes"):
        load_scenario(path)
