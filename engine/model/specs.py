"""The validated, fully resolved plan of a run: plain frozen values the simulation starts from.

pydantic stays at the boundary (the scenario file); everything inside the engine reads these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from engine.model.profiles import DailyProfile

if TYPE_CHECKING:
    from engine.model.actions import Action, RunChange
    from engine.model.history import ReplaySpec

Kind = Literal["hvac", "lighting", "server", "industrial", "appliance", "replay"]
"""The kinds of device; `engine.model.kinds.KINDS` holds what each one is."""


@dataclass(frozen=True, slots=True)
class WeatherSpec:
    """The site's climate (`engine.model.weather`): synthetic from a mean and daily and seasonal amplitudes
    (C), or a table of temperatures."""

    mean_c: float = 11.0
    daily_swing_c: float = 8.0
    seasonal_swing_c: float = 9.0
    table: tuple[tuple[float, float], ...] = ()
    """Instead of the synthetic climate: (local seconds since the local 1970 epoch, C) from a CSV file."""


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """The supply every device shares, and the weather its HVAC units answer to."""

    voltage: float = 230.0
    phases: int = 3
    frequency: int = 50
    weather: WeatherSpec | None = None


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One meter with every default resolved."""

    id: str
    kind: Kind
    name: str
    location: str
    rated_kw: float
    profile: DailyProfile
    interval: float
    noise: float
    voltage_noise: float
    power_factor: float
    phases: int
    behaviour: bool = True
    tags: tuple[str, ...] = ()
    buffer: int = 0
    """Readings stored while the link is down, forwarded when it returns (store-and-forward)."""
    register_kwh: float | None = None
    """The energy register's size: the reported energy wraps modulo it."""
    energy_start_kwh: float = 0.0
    trip_current_a: float | None = None
    inrush: InrushSpec | None = None
    shifts: int | None = None
    days: int | None = None
    setpoint_c: float = 22.0
    """hvac: the indoor temperature it holds, with the site's `weather` (`engine.model.weather`)."""
    deadband_c: float = 4.0
    """hvac: no heating nor cooling within setpoint_c +- deadband_c / 2."""
    replay: ReplaySpec | None = None
    """replay: the history it plays (`engine.model.history`)."""


@dataclass(frozen=True, slots=True)
class InrushSpec:
    """A motor start: `factor` times the draw for `duration` seconds."""

    factor: float
    duration: float


@dataclass(frozen=True, slots=True)
class Scheduled:
    """An action of the scenario's timeline, on `targets`: once at `at` seconds after the start or, with a
    `rate`, at seeded random instants from `at` on."""

    at: float
    targets: tuple[str, ...]
    action: Action
    rate: float | None = None
    """Mean arrivals per second (a Poisson process) from `at` to `until`; None: once, at `at`."""
    until: float | None = None
    """With a rate: no arrival at or after it; None: arrivals until the run ends."""
    key: str = ""
    """With a rate: names its stream of arrivals (`events/{index in the file}`), so the instants depend
    only on the run's seed and the event, the same in every shard and clock mode."""


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a run needs: the scenario resolved against its timezone and defaults."""

    name: str
    revision: int
    description: str
    start_epoch: float
    timezone: str
    duration: float
    seed: int
    site: SiteSpec
    devices: tuple[DeviceSpec, ...]
    events: tuple[Scheduled, ...] = ()
    holidays: frozenset[date] = frozenset()
    source_sha256: str = ""
    stagger: bool = False
    profiles: Mapping[str, DailyProfile] = dataclasses.field(default_factory=dict)
    """Every profile a device may name: the built-in ones and the scenario's."""
    shard: tuple[int, int] | None = None
    """(K, N) when this plan is shard K of N of a scenario: other processes run the other devices."""
    data_files: tuple[tuple[str, str], ...] = ()
    """(path, sha256) of each data file the scenario read (a weather CSV, replay histories), for the report."""
    session: tuple[Recorded, ...] = ()
    """The external changes of a recorded live session, by time: applied as that session applied them."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """One external change (a command, an injected event, a device change) applied at `at` seconds, on
    `targets`: what a live session applied, and what its replay applies again at the same instant."""

    at: float
    change: Action | RunChange
    targets: tuple[str, ...]


def shard(plan: Plan, index: int, count: int) -> Plan:
    """The part of `plan` that shard `index` of `count` runs: its devices and the events that touch them.

    Devices are dealt round-robin in file order, so shards differ by one device at most.
    Readings depend only on the seed and a device's own id, so the shards of a plan together
    produce exactly the readings of the whole plan.
    """
    if not 1 <= index <= count:
        raise ValueError(f"shard {index}/{count}: the shard must be between 1 and {count}")
    if count == 1:
        return plan
    devices = plan.devices[index - 1 :: count]
    kept = {device.id for device in devices}
    events = tuple(
        dataclasses.replace(event, targets=targets)
        for event in plan.events
        if (targets := tuple(target for target in event.targets if target in kept))
    )
    return dataclasses.replace(plan, devices=devices, events=events, shard=(index, count))
