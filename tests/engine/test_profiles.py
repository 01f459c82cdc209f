"""Load curves and the site calendar: local time, kinds of day, DST, holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from engine.model.calendar import SiteCalendar, utc_epoch
from engine.model.profiles import BUILTIN_PROFILES, SATURDAY, SUNDAY, WEEKDAY, profile_from_curves

MONDAY = datetime(2025, 8, 4)  # a Monday


def levels_at(profile: str, calendar: SiteCalendar, hours: list[float]) -> list[float]:
    t = np.array([h * 3600.0 for h in hours])
    levels: list[float] = BUILTIN_PROFILES[profile].levels(calendar.local(t), calendar.day_type).tolist()
    return levels


def test_day_types_and_holidays() -> None:
    calendar = SiteCalendar(utc_epoch(MONDAY, "UTC"), "UTC", frozenset({date(2025, 8, 6)}))
    day = int(utc_epoch(MONDAY, "UTC") // 86400)
    kinds = [calendar.day_type(day + i) for i in range(7)]
    assert kinds == [WEEKDAY, WEEKDAY, SUNDAY, WEEKDAY, WEEKDAY, SATURDAY, SUNDAY]


def test_curves_are_linear_between_points_and_continuous_at_midnight() -> None:
    profile = profile_from_curves("p", weekday={"00:00": 0.2, "12:00": 1.0}, sunday={"00:00": 0.0})
    calendar = SiteCalendar(utc_epoch(datetime(2025, 8, 8), "UTC"), "UTC")  # a Friday
    t = np.array([0.0, 6 * 3600, 12 * 3600, 18 * 3600, 24 * 3600, 30 * 3600])
    # Friday 00:00 0.2 -> 12:00 1.0, then towards Saturday's 00:00 (the sunday curve: 0.0).
    assert profile.levels(calendar.local(t), calendar.day_type).tolist() == pytest.approx(
        [0.2, 0.6, 1.0, 0.5, 0.0, 0.0]
    )


def test_office_lighting_is_high_in_working_hours_and_low_at_night_and_weekends() -> None:
    calendar = SiteCalendar(utc_epoch(MONDAY, "UTC"), "UTC")
    monday = levels_at("lighting", calendar, [3, 10, 15, 23])
    saturday_night, sunday_noon = levels_at("lighting", calendar, [5 * 24 + 2, 6 * 24 + 12])
    assert monday[1] >= 0.85 and monday[2] >= 0.85
    assert monday[0] <= 0.05 and monday[3] <= 0.1
    assert saturday_night <= 0.05 and sunday_noon <= 0.05


def test_hvac_peaks_in_the_afternoon_and_industrial_idles_on_weekends() -> None:
    calendar = SiteCalendar(utc_epoch(MONDAY, "UTC"), "UTC")
    hvac = levels_at("hvac", calendar, [3, 9, 15])
    assert hvac[0] < hvac[1] < hvac[2]
    weekday_shift, sunday = levels_at("industrial", calendar, [10.5, 6 * 24 + 10.5])
    assert weekday_shift > 0.8 and sunday <= 0.12


def test_kitchen_has_breakfast_and_lunch_peaks() -> None:
    calendar = SiteCalendar(utc_epoch(MONDAY, "UTC"), "UTC")
    night, breakfast, morning, lunch, afternoon = levels_at("appliance", calendar, [3, 7.5, 9.5, 12.5, 15.5])
    assert breakfast > morning and lunch > afternoon and lunch > breakfast > night


def test_curves_follow_local_time_across_dst() -> None:
    # Europe/Berlin switches to summer time on 2025-03-30 at 02:00 (UTC+1 -> UTC+2).
    start = datetime(2025, 3, 28)  # a Friday
    calendar = SiteCalendar(utc_epoch(start, "Europe/Berlin"), "Europe/Berlin")
    # Monday 2025-03-31 08:00 local is 3 days + 8 h - 1 h (the lost hour) after the start.
    t = np.array([(3 * 24 + 7) * 3600.0])
    local = calendar.local(t)
    assert datetime.fromtimestamp(float(local[0]), UTC).replace(tzinfo=None) == datetime(2025, 3, 31, 8, 0)


def test_server_is_flat_near_seventy_percent() -> None:
    calendar = SiteCalendar(utc_epoch(MONDAY, "UTC"), "UTC")
    values = levels_at("server", calendar, [h / 2 for h in range(0, 7 * 48)])
    assert min(values) >= 0.65 and max(values) <= 0.78
