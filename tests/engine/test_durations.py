from __future__ import annotations

import pytest

from engine.scenario.durations import parse_duration, parse_relative


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30), ("15m", 900), ("1h30m", 5400), ("7d", 604800), ("1d2h3m4s5ms", 93784.005),
     (12, 12), (0.25, 0.25), ("1.5h", 5400)],
)  # fmt: skip
def test_durations_parse(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["-5s", "5", "5x", "", "h", True, None, float("nan"), -1, [1]])
def test_bad_durations_name_the_value(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("+2d09:00", 2 * 86400 + 9 * 3600),
        ("+09:30", 34200),
        ("+3d", 259200),
        ("+90m", 5400),
        ("+00:00:30", 30),
    ],
)
def test_relative_instants(text: str, seconds: float) -> None:
    assert parse_relative(text) == seconds


def test_absolute_instants_are_not_relative() -> None:
    assert parse_relative("2025-08-05T14:00") is None


def test_bad_relative_instant() -> None:
    with pytest.raises(ValueError, match=r"\+2d09:75"):
        parse_relative("+2d09:75")
