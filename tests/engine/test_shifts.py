"""Industrial shift patterns: `shifts` and `days` make the device's profile."""

from __future__ import annotations

import pytest

from engine import parse_scenario
from engine.errors import ScenarioError
from engine.model.profiles import SATURDAY, SUNDAY, WEEKDAY, DailyProfile
from tests.helpers import scenario_text

STANDBY = 0.10


def _profile(fields: str) -> DailyProfile:
    return parse_scenario(scenario_text(f"devices: [{{id: line, kind: industrial{fields}}}]\n")).plan.devices[0].profile


def _level(profile: DailyProfile, day_type: int, hhmm: str) -> float:
    curve = profile.curve(day_type)
    seconds = int(hhmm[:2]) * 3600 + int(hhmm[3:]) * 60
    points = dict(zip(curve.seconds, curve.levels, strict=True))
    before = max(s for s in curve.seconds if s <= seconds)
    return points[before]


@pytest.mark.parametrize(
    ("shifts", "working", "idle"),
    [(1, ["07:00", "11:00", "13:00"], ["15:00", "18:00", "23:00", "03:00"]),
     (2, ["07:00", "13:00", "15:00", "20:00"], ["23:00", "03:00"]),
     (3, ["03:00", "07:00", "15:00", "23:00"], [])],
)  # fmt: skip
def test_the_hours_of_each_shift_pattern(shifts: int, working: list[str], idle: list[str]) -> None:
    profile = _profile(f", shifts: {shifts}")
    assert profile.name == f"industrial-{shifts}x5"
    assert all(_level(profile, WEEKDAY, hhmm) >= 0.85 for hhmm in working)
    assert all(_level(profile, WEEKDAY, hhmm) == STANDBY for hhmm in idle)


@pytest.mark.parametrize(("days", "saturday", "sunday"), [(5, False, False), (6, True, False), (7, True, True)])
def test_the_working_days(days: int, saturday: bool, sunday: bool) -> None:
    profile = _profile(f", shifts: 1, days: {days}")
    assert (_level(profile, SATURDAY, "10:00") > 0.85) is saturday
    assert (_level(profile, SUNDAY, "10:00") > 0.85) is sunday
    assert _level(profile, SUNDAY, "10:00") in ((0.90,) if sunday else (STANDBY,))


def test_days_alone_means_two_shifts_and_a_profile_must_agree() -> None:
    assert _profile(", days: 6").name == "industrial-2x6"
    assert _profile(", shifts: 3, days: 7, profile: industrial-3x7").name == "industrial-3x7"
    with pytest.raises(ScenarioError, match="give either profile or shifts/days"):
        _profile(", shifts: 3, profile: industrial")
    with pytest.raises(ScenarioError, match="shifts and days are for industrial devices"):
        parse_scenario(scenario_text("devices: [{id: a, kind: hvac, shifts: 2}]\n"))
