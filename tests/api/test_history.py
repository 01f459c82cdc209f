"""The demo page's history sink: one point per step per device, bounded, and what changed since a tick."""

from __future__ import annotations

import numpy as np
import pytest

from api.history import History, columns
from engine.model.readings import ReadingBatch, StatusChange


def batch(rows: list[tuple[str, float, float]], *, late: bool = False) -> ReadingBatch:
    """Readings (device id, t, power); voltage 230, current power/0.23, energy t/1000."""
    ids = tuple(dict.fromkeys(device_id for device_id, _, _ in rows))
    t = np.array([r[1] for r in rows])
    power = np.array([r[2] for r in rows])
    n = len(rows)
    return ReadingBatch(
        ids,
        np.array([ids.index(r[0]) for r in rows], dtype=np.int64),
        t,
        power,
        np.full(n, 230.0),
        power / 0.23,
        t / 1000,
        np.arange(n, dtype=np.int64),
        np.ones(n, dtype=np.bool_),
        np.zeros(n, dtype=np.bool_),
        t.copy() + 100 if late else t,
    )


def test_each_step_holds_the_power_shown_at_its_end() -> None:
    history = History(step=10, points=6)
    history.write(batch([("a", 0, 1.0), ("b", 0, 5.0), ("a", 5, 2.0), ("a", 12, 3.0), ("b", 25, 6.0)]), [])
    steps = history.steps()
    assert steps == [0, 1] and history.times(steps) == [10.0, 20.0]
    assert history.series(["a", "b"], steps) == {"a": [2.0, 3.0], "b": [5.0, 5.0]}  # held from the last reading
    assert history.totals({"a": "hvac", "b": "server"}, steps) == {"hvac": [2.0, 3.0], "server": [5.0, 5.0]}
    assert history.totals({"a": "hvac", "b": "hvac"}, steps) == {"hvac": [7.0, 8.0]}


def test_the_rings_keep_the_last_points_only() -> None:
    history = History(step=1, points=4)
    history.write(batch([("a", float(t), float(t)) for t in range(20)]), [])
    steps = history.steps()
    assert steps == [15, 16, 17, 18]
    assert history.series(["a"], steps) == {"a": [15.0, 16.0, 17.0, 18.0]}
    assert history.steps(since=17) == [18]
    assert history._ring.shape[1] == 4  # memory: devices x points, whatever the run's length


def test_a_step_far_ahead_fills_the_ring_without_looping_over_the_gap() -> None:
    history = History(step=1, points=3)
    history.write(batch([("a", 0, 1.0)]), [])
    history.write(batch([("a", 1e9, 2.0)]), [])
    assert history.series(["a"], history.steps()) == {"a": [1.0, 1.0, 1.0]}


def test_changed_since_gives_only_the_devices_written_after_the_tick() -> None:
    history = History()
    history.write(batch([("a", 0, 1.0), ("b", 0, 2.0)]), [])
    first = history.changed_since(0)
    assert sorted(first.ids) == ["a", "b"]
    history.write(batch([("b", 10, 4.0)]), [])
    later = history.changed_since(first.tick)
    assert later.ids == ["b"]
    body = columns(later)
    assert body["id"] == ["b"] and body["power"] == [4.0] and body["t"] == [10.0] and body["voltage"] == [230.0]
    assert history.changed_since(later.tick).ids == []


def test_a_late_reading_older_than_the_kept_one_does_not_replace_it() -> None:
    history = History()
    history.write(batch([("a", 50, 9.0)]), [])
    history.write(batch([("a", 20, 1.0)], late=True), [])
    assert history.latest(["a"]).values[0, 1] == pytest.approx(9.0)


def test_a_removed_device_is_cleared_and_its_row_reused() -> None:
    history = History(step=10, points=4)
    history.write(batch([("a", 0, 1.0), ("b", 0, 2.0)]), [])
    history.write(batch([("b", 15, 2.0)]), [StatusChange(15, "a", "offline", False, "deleted", removed=True)])
    assert history.latest(["a"]).ids == [] and history.series(["a"], history.steps()) == {}
    rows = len(history._ticks)
    history.write(batch([("c", 20, 3.0)]), [])
    assert len(history._ticks) == rows  # the freed row holds c
    assert history.series(["c"], history.steps()) == {"c": [None, None]}  # nothing of a's past
