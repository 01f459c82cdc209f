"""A behaviour stepped by its device makes the changes a SimPy process makes, at the same instants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from engine.model.behaviours import Stepper
from engine.model.kinds import KINDS
from engine.model.randomness import Uniforms, stream
from engine.model.specs import Kind


class _Changes:
    def __init__(self) -> None:
        self.seen: list[tuple[float, float]] = []

    def modulate(self, now: float, factor: float) -> None:
        self.seen.append((now, factor))


@pytest.mark.parametrize("kind", ["hvac", "lighting", "server", "industrial", "appliance"])
def test_a_stepped_behaviour_changes_its_factor_where_a_simpy_process_does(kind: Kind) -> None:
    behaviour, day = KINDS[kind].behaviour, 86_400.0
    env, in_simpy = simpy.Environment(initial_time=30.5), _Changes()
    env.process(behaviour(env, in_simpy, Uniforms(stream(7, "d", "behaviour"))))  # type: ignore[arg-type]
    env.run(until=day)
    stepped = _Changes()
    stepper = Stepper(30.5, lambda time: behaviour(time, stepped, Uniforms(stream(7, "d", "behaviour"))))
    for t in np.arange(30.5, day, 10.0):  # readings every 10 s: the changes up to each one
        stepper.run_to(float(t))
    stepper.run_to(math.nextafter(day, 0.0))
    assert len(in_simpy.seen) > 10 and stepped.seen == in_simpy.seen  # the same floats, not close ones


def test_a_uniform_draw_is_numpy_s_bit_for_bit() -> None:
    ours, numpy = Uniforms(stream(3, "d", "behaviour")), stream(3, "d", "behaviour")
    bounds = [(360.0, 720.0), (0.9, 1.1), (1.10, 1.25), (3600.0, 14400.0)]
    for i in range(2000):
        low, high = bounds[i % len(bounds)]
        assert ours.uniform(low, high) == numpy.uniform(low, high)
