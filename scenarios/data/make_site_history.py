"""Writes site-history.csv: three weeks of 15-minute readings of an office building's main meter.

The history the `history-replay` scenario plays is synthetic, made by this script, not measured: a
three-storey office of about 120 kW peak in Berlin, 5 to 25 February 2025 (a Wednesday to a
Tuesday), with what a real main meter shows: a night base load (servers, ventilation, fridges),
a morning ramp as people arrive, a lunch dip, an evening tail, Saturday cleaning and a quiet
Sunday, air-handler cycling, a slow day-to-day drift and meter noise; the supply voltage sags a
little under the day's load, and the power factor is lower at night (motors) than by day.

It is deterministic: only `random.Random.random()` (whose sequence Python guarantees across
versions) and rounding to the meter's resolution, so `python scenarios/data/make_site_history.py`
writes the committed file byte for byte (tests/engine/test_replay.py checks it).
"""

from __future__ import annotations

import math
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2025, 2, 5, tzinfo=timezone(timedelta(hours=1)))  # CET, a Wednesday
DAYS = 21
STEP = timedelta(minutes=15)
PHASES = 3
OUT = Path(__file__).with_name("site-history.csv")


def _smooth(x: float) -> float:
    """0 before 0, 1 after 1, an S-curve between: a ramp as people arrive or leave."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def occupancy(weekday: int, hour: float) -> float:
    """The fraction of the building in use at a local hour (0 Monday .. 6 Sunday)."""
    if weekday < 5:
        arrive = _smooth((hour - 6.5) / 2.0)
        leave = 1.0 - _smooth((hour - 16.5) / 2.5)
        lunch = 0.12 * math.exp(-(((hour - 12.5) / 0.6) ** 2))
        friday = 0.85 if weekday == 4 and hour > 13.0 else 1.0
        return max(arrive * leave - lunch, 0.0) * friday
    if weekday == 5:  # Saturday: cleaning crew and a few people in the morning
        return 0.18 * _smooth((hour - 8.0) / 1.0) * (1.0 - _smooth((hour - 13.0) / 1.0))
    return 0.0


def rows(rng: random.Random) -> list[str]:
    lines = ["timestamp,power,voltage,current"]
    wander = 0.0
    day_level = 1.0
    for step in range(DAYS * 96):
        moment = START + step * STEP
        hour = moment.hour + moment.minute / 60.0
        if step % 96 == 0:  # a new day: a little busier or quieter than the last
            day_level = 0.92 + 0.16 * rng.random()
        wander = 0.9 * wander + 0.1 * (rng.random() - 0.5) * 2.0
        in_use = occupancy(moment.weekday(), hour) * day_level
        base = 24.0 + 2.0 * math.sin(2.0 * math.pi * (hour - 4.0) / 24.0)  # ventilation follows the day
        hvac = 18.0 * in_use * (0.8 + 0.4 * rng.random())  # air handlers cycling
        power = base + 80.0 * in_use + hvac + 3.0 * wander + 0.6 * (rng.random() - 0.5)
        voltage = 232.5 - 4.0 * power / 120.0 + 0.8 * (rng.random() - 0.5)
        power_factor = 0.90 + 0.05 * min(in_use * 1.5, 1.0)
        power, voltage = round(power, 2), round(voltage, 1)
        current = round(power * 1000.0 / (PHASES * voltage * power_factor), 2)
        lines.append(f"{moment.isoformat()},{power:.2f},{voltage:.1f},{current:.2f}")
    return lines


def main() -> None:
    text = "\n".join(rows(random.Random(20250205))) + "\n"
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    target.write_text(text)


if __name__ == "__main__":
    main()
