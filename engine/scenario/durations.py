"""Human durations (`500ms`, `30s`, `15m`, `1h30m`, `7d`) and relative instants (`+2d09:00`).

Durations are float seconds, as sim time is; a bare number is taken as seconds.
"""

from __future__ import annotations

import re

_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|d|h|m|s))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_RELATIVE = re.compile(r"^\+(?:(\d+)d)?(?:(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")

MAX_SECONDS = 100 * 365 * 86400.0
DURATION_PATTERN = r"^(\d+(\.\d+)?(ms|d|h|m|s))+$"


def parse_duration(value: object) -> float:
    """Seconds in `value`: a non-negative number, or units like `1h30m`; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"must be a duration like '30s' or '1h30m', got {value!r}")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError(f"must be a duration of at most {MAX_SECONDS:g}s, got a larger number") from None
    elif isinstance(value, str):
        text = value.strip().lower()
        if not _DURATION.match(text):
            raise ValueError(f"must be a duration like '500ms', '30s', '15m', '1h30m' or '7d', got {value!r}")
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(text))
    else:
        raise ValueError(f"must be a duration like '30s' or '1h30m', got {value!r}")
    if not seconds >= 0:
        raise ValueError(f"must be a non-negative duration, got {value!r}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"must be a duration of at most {MAX_SECONDS:g}s (100 years), got {str(value)[:40]!r}")
    return seconds


def parse_relative(value: str) -> float | None:
    """Seconds after the start for `+2d09:00`, `+09:30`, `+3d` or `+1h30m`; None if not relative."""
    text = value.strip()
    if not text.startswith("+"):
        return None
    match = _RELATIVE.match(text)
    if match and any(match.groups()):
        days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        if minutes > 59 or seconds > 59:
            raise ValueError(f"minutes and seconds must be below 60, got {value!r}")
        return days * 86400.0 + hours * 3600.0 + minutes * 60.0 + seconds
    try:
        return parse_duration(text[1:])
    except ValueError:
        raise ValueError(f"must be '+[Nd][HH:MM[:SS]]' or '+' and a duration like '+1h30m', got {value!r}") from None
