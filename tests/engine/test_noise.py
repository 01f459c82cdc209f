"""The power noise: an Ornstein-Uhlenbeck wander, exact at every interval, the same in both paths."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from engine.model.noise import Wander
from tests.helpers import by_device, scenario_text, simulate

FLAT = """\
profiles:
  flat: {weekday: {"00:00": 0.5}}
"""


def _chunked(wander: Wander, t: np.ndarray, u: np.ndarray, interval: float, sizes: list[int]) -> list[float]:
    out: list[float] = []
    i, k = 0, 0
    while i < len(t):
        size = min(sizes[k % len(sizes)], len(t) - i)
        if size <= 4:
            out.extend(wander.at(t[i : i + size].tolist(), u[2 * i : 2 * (i + size)].tolist(), interval))
        else:
            out.extend(wander.over(t[i : i + size], u[2 * i : 2 * (i + size)], interval).tolist())
        i, k = i + size, k + 1
    return out


@pytest.mark.parametrize(("tau", "interval"), [(300.0, 1.0), (30.0, 10.0), (30.0, 0.5), (5.0, 100.0), (60.0, 13.0)])
def test_blocks_and_floats_give_the_plain_recursion_bit_for_bit_whatever_the_cuts(tau: float, interval: float) -> None:
    rng = np.random.default_rng(5)
    n = 6000
    t = np.arange(n) * interval
    t[2500:] += 3.3  # one irregular gap (as after set_interval or read_now)
    u = rng.random(2 * n)
    e = u[0::2] + u[1::2] - 1.0
    floats = Wander(tau).at(t.tolist(), u.tolist(), interval)
    assert _chunked(Wander(tau), t, u, interval, [6000]) == floats
    assert _chunked(Wander(tau), t, u, interval, [1, 700, 3, 2, 5000, 4, 64]) == floats
    # The oracle: z_k = a z_(k-1) + sqrt(1 - a^2) e_k with a = exp(-gap / tau), z_0 = e_0.
    z, plain = float(e[0]), [float(e[0])]
    for k in range(1, n):
        a = math.exp(-(t[k] - t[k - 1]) / tau)
        z = a * z + math.sqrt(1 - a * a) * float(e[k])
        plain.append(z)
    assert np.max(np.abs(np.array(floats) - np.array(plain))) < 1e-11


def _residuals(kind: str, interval: str, hours: float, noise: str = "") -> np.ndarray:
    text = scenario_text(
        FLAT + f"devices: [{{id: d, kind: {kind}, rated_kw: 10, profile: flat, interval: {interval}, "
        f"behaviour: false, inrush: false{noise}}}]\n"
    )
    _, sink = simulate(text, hours * 3600)
    return np.array([r.power for r in by_device(sink.readings())["d"]]) / 5.0 - 1.0


def test_one_second_readings_are_correlated_and_the_spread_is_what_noise_says() -> None:
    rack = _residuals("server", "1s", 24)
    assert np.corrcoef(rack[:-1], rack[1:])[0, 1] > 0.99  # was 0.0 with white noise
    assert np.median(np.abs(np.diff(rack))) < 0.005  # was about 4 % from one second to the next
    assert rack.std() == pytest.approx(0.1 / math.sqrt(6), rel=0.15)  # noise 0.1: std 0.1 / sqrt(6)
    hours = rack[: 24 * 3600].reshape(24, 3600)
    within = np.sqrt(np.mean(hours.var(axis=1)))
    assert within > 0.8 * 0.1 / math.sqrt(6)  # and nearly all of it within each hour (tau is 5 min)


def test_a_one_second_and_a_ten_second_meter_look_alike() -> None:
    fast, slow = _residuals("hvac", "1s", 12), _residuals("hvac", "10s", 12)
    assert slow.std() == pytest.approx(fast.std(), rel=0.15)
    lag10 = np.corrcoef(fast[:-10], fast[10:])[0, 1]
    lag1_slow = np.corrcoef(slow[:-1], slow[1:])[0, 1]
    assert lag10 == pytest.approx(math.exp(-10 / 120), abs=0.03)  # hvac: tau 120 s
    assert lag1_slow == pytest.approx(math.exp(-10 / 120), abs=0.03)


def test_led_lighting_is_nearly_flat_between_switchings() -> None:
    light = _residuals("lighting", "1s", 2)
    assert np.max(np.abs(np.diff(light))) < 0.002
    assert light.std() < 0.02


def test_a_device_starts_from_the_stationary_spread() -> None:
    """The first reading of each of many devices spreads as the process does later."""
    devices = ", ".join(
        f"{{id: d{i}, kind: server, rated_kw: 10, profile: flat, behaviour: false}}" for i in range(400)
    )
    _, sink = simulate(scenario_text(FLAT + f"devices: [{devices}]\n"), 1)
    first = np.array([r.power for r in sink.readings()]) / 5.0 - 1.0
    assert len(first) == 400
    assert first.std() == pytest.approx(0.1 / math.sqrt(6), rel=0.15)


def test_an_explicit_noise_overrides_the_kinds_default() -> None:
    quiet = _residuals("server", "10s", 6, ", noise: 0")
    assert np.all(quiet == 0.0)


def test_the_widest_noise_never_draws_negative_power_nor_runs_the_register_backwards() -> None:
    """noise: 1 (the schema's maximum) lets the unbounded wander pass -1 now and then: the factor
    stops at 0, so power, current and the shown energy stay physical (they went below 0 and back)."""
    text = scenario_text("devices: [{id: s, kind: server, interval: 1s, noise: 1.0}]\n")
    _, sink = simulate(text, 86400)
    readings = sink.readings()
    assert min(r.power for r in readings) == 0.0 and min(r.current for r in readings) == 0.0
    assert all(b.energy >= a.energy for a, b in itertools.pairwise(readings))
