"""What each kind of device is: rated power, power factor, voltage sensitivity and load curve.

Rated power is the nameplate: a platform may alarm above it, so healthy operation never exceeds
it. Demand (rated x load curve x behaviour x noise) passes through `nameplate`, which leaves it
alone up to `KNEE` of the rating and above that bends it smoothly towards the rating without
reaching it, as a load at full output does; only a scripted overload (`set_power` above the
rating) goes beyond.

Defaults come from the seed service's five devices (HVAC 25 kW, LED lighting 8.5 kW, server
rack 45 kW, production line 120 kW, kitchen 15 kW) and typical power factors: motors and
compressors lag, PFC power supplies and LED drivers are close to 1, heating elements are 1.
A sixth kind, `replay`, plays recorded readings instead of a curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from engine.model.behaviours import Behaviour, appliance, hvac, industrial, lighting, replay, server
from engine.model.specs import Kind

Power = TypeVar("Power", float, npt.NDArray[np.float64])


@dataclass(frozen=True, slots=True)
class KindSpec:
    """Defaults and physics of one kind of device."""

    rated_kw: float
    power_factor: float
    # Power follows voltage**exponent in a sag: 2 for resistive heating, 0 for regulated loads.
    voltage_exponent: int
    profile: str
    behaviour: Behaviour
    """Its discrete behaviour: a process that modulates the load (`engine.model.behaviours`)."""
    noise: float
    """Default power noise (a device's `noise` when it gives none): the spread around the curve."""
    noise_tau: float
    """Time constant (s) of the noise, an Ornstein-Uhlenbeck process (`engine.model.noise`)."""


# Noise time constants: fans and air handlers follow the room in minutes (hvac 2 min); LED drivers
# hold their output, only dimming drifts (lighting 10 min, and a 2 % default spread); a rack's load follows
# its workload over minutes (server 5 min); machines vary with the work piece (industrial 1 min);
# heating elements and their controls swing fastest (appliance 30 s).
KINDS: dict[Kind, KindSpec] = {
    "hvac": KindSpec(
        rated_kw=25.0, power_factor=0.85, voltage_exponent=0, profile="hvac", behaviour=hvac,
        noise=0.10, noise_tau=120.0,
    ),
    "lighting": KindSpec(
        rated_kw=8.5, power_factor=0.95, voltage_exponent=0, profile="lighting", behaviour=lighting,
        noise=0.02, noise_tau=600.0,
    ),
    "server": KindSpec(
        rated_kw=45.0, power_factor=0.98, voltage_exponent=0, profile="server", behaviour=server,
        noise=0.10, noise_tau=300.0,
    ),
    "industrial": KindSpec(
        rated_kw=120.0, power_factor=0.80, voltage_exponent=0, profile="industrial", behaviour=industrial,
        noise=0.10, noise_tau=60.0,
    ),
    "appliance": KindSpec(
        rated_kw=15.0, power_factor=0.97, voltage_exponent=2, profile="appliance", behaviour=appliance,
        noise=0.10, noise_tau=30.0,
    ),
    "replay": KindSpec(
        rated_kw=0.0, power_factor=0.95, voltage_exponent=0, profile="replay", behaviour=replay,
        noise=0.0, noise_tau=300.0,
    ),
}  # fmt: skip
"""`replay` plays a recorded history (`engine.model.history`): its rating is the history's peak (times its
scale) unless given, it has no load curve of its own (`profile` is a flat placeholder), no noise
unless given (the history has its own) and no behaviour; the power factor applies when the file has
no current."""

# A switched-off load still powers its controls: this fraction of rated power.
STANDBY_FRACTION = 0.003

KNEE = 0.9
"""Demand up to this fraction of rated power is drawn as it is; above it, it saturates."""


def nameplate(demand: Power, rated_kw: float) -> Power:
    """Demand in kW limited to below `rated_kw`: identity up to the knee, then a smooth saturation.

    Above the knee `k`, `k + h * e / (e + h)` (excess `e`, headroom `h = rated - k`) has slope 1 at
    the knee and tends to the rating, so the top of a load stays lively but under the nameplate.
    Only +, -, * and / (bit-identical everywhere), in the same order for floats and arrays.
    """
    knee = rated_kw * KNEE
    head = rated_kw - knee
    if isinstance(demand, np.ndarray):
        excess = np.maximum(demand - knee, 0.0)
        return np.where(excess > 0.0, knee + head * excess / (excess + head), demand)
    if demand <= knee:
        return demand
    excess = demand - knee
    return knee + head * excess / (excess + head)
