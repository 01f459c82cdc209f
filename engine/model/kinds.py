"""What each kind of device is: rated power, power factor, voltage sensitivity and load curve.

Defaults come from the seed service's five devices (HVAC 25 kW, LED lighting 8.5 kW, server
rack 45 kW, production line 120 kW, kitchen 15 kW) and typical power factors: motors and
compressors lag, PFC power supplies and LED drivers are close to 1, heating elements are 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model.specs import Kind


@dataclass(frozen=True, slots=True)
class KindSpec:
    """Defaults and physics of one kind of device."""

    rated_kw: float
    power_factor: float
    # Power follows voltage**exponent in a sag: 2 for resistive heating, 0 for regulated loads.
    voltage_exponent: int
    profile: str


KINDS: dict[Kind, KindSpec] = {
    "hvac": KindSpec(rated_kw=25.0, power_factor=0.85, voltage_exponent=0, profile="hvac"),
    "lighting": KindSpec(rated_kw=8.5, power_factor=0.95, voltage_exponent=0, profile="lighting"),
    "server": KindSpec(rated_kw=45.0, power_factor=0.98, voltage_exponent=0, profile="server"),
    "industrial": KindSpec(rated_kw=120.0, power_factor=0.80, voltage_exponent=0, profile="industrial"),
    "appliance": KindSpec(rated_kw=15.0, power_factor=0.97, voltage_exponent=2, profile="appliance"),
}

# A switched-off load still powers its controls: this fraction of rated power.
STANDBY_FRACTION = 0.003
