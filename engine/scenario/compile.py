"""From a validated Scenario to the engine's Plan, and the cross-field checks that need both.

`check(data)` finds every reference that cannot be resolved (unknown profile, target or tag,
duplicate id, event before the start, `at` and `rate` together) with the path of the field, so
the loader can report them with their lines; `to_plan` then resolves defaults, profiles, targets and event times.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfoNotFoundError

from engine.model.actions import Action, CreateDevice, DeleteDevice, ReadNow, RunChange, UpdateDevice
from engine.model.calendar import utc_epoch
from engine.model.history import History, ReplaySpec, peak_kw
from engine.model.kinds import KINDS
from engine.model.profiles import (
    BUILTIN_PROFILES,
    REPLAY_PROFILE,
    DailyProfile,
    profile_from_curves,
    shift_profile_name,
)
from engine.model.specs import DeviceSpec, InrushSpec, Plan, Recorded, Scheduled, SiteSpec, WeatherSpec, shard
from engine.model.zones import site_zone
from engine.scenario.device_format import Device
from engine.scenario.durations import parse_relative
from engine.scenario.fields import KindTarget, TagTarget, Target
from engine.scenario.format import DEFAULT_START, DeviceChange, DeviceTargeted, Event, Scenario, Session

Problem = tuple[tuple[str | int, ...], str, object]
RESERVED_IDS = frozenset({"all"})
INRUSH_KINDS = frozenset({"hvac", "industrial"})
"""Kinds with motors or compressors: they have an inrush unless the device turns it off."""
INRUSH_DEFAULT = InrushSpec(factor=5.0, duration=2.0)
HVAC_SETPOINT_C, HVAC_DEADBAND_C = 22.0, 4.0


def event_offset(at: str | datetime, start: datetime, timezone: str) -> float:
    """Seconds after the start for an event's `at`; raises ValueError with a usable message."""
    if isinstance(at, str):
        relative = parse_relative(at)
        if relative is not None:
            return relative
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise ValueError(
                f"must be a local date-time like '2025-08-05T14:00' or relative like '+2d09:00', got {at!r}"
            ) from None
    else:
        moment = at
    if moment.tzinfo is not None:
        raise ValueError("give a local time without offset; the scenario's timezone applies")
    return utc_epoch(moment, timezone) - utc_epoch(start, timezone)


class Targetable(Protocol):
    """What a target is resolved against: a device of the scenario file or of a running simulation."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...


def target_ids(target: Target, devices: Sequence[Targetable]) -> tuple[str, ...]:
    """The ids of the `devices` a target names, in device order."""
    if target == "all":
        return tuple(device.id for device in devices)
    if isinstance(target, KindTarget):
        return tuple(device.id for device in devices if device.kind == target.kind)
    if isinstance(target, TagTarget):
        return tuple(device.id for device in devices if target.tag in device.tags)
    wanted = {target} if isinstance(target, str) else set(target)
    return tuple(device.id for device in devices if device.id in wanted)


def check(data: dict[str, Any]) -> list[Problem]:
    """Every unresolvable reference in raw scenario data, each with its field path.

    Works on the raw mapping, so these problems are reported together with the field errors
    of the same file; anything malformed here is left to the model validation to report.
    """
    return list(_problems(data))


def _items(value: object) -> list[tuple[int, dict[str, Any]]]:
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)] if isinstance(value, list) else []


def _problems(data: dict[str, Any]) -> Iterator[Problem]:
    raw_profiles = data.get("profiles")
    profiles: dict[str, Any] = raw_profiles if isinstance(raw_profiles, dict) else {}
    devices = _items(data.get("devices"))
    seen: set[str] = set()
    kinds: set[object] = set()
    for i, device in devices:
        device_id, profile = device.get("id"), device.get("profile")
        kinds.add(device.get("kind"))
        if not isinstance(device_id, str):
            continue
        if device_id in RESERVED_IDS:
            yield ("devices", i, "id"), f"{device_id!r} is reserved for event targets", device_id
        if device_id in seen:
            yield ("devices", i, "id"), f"duplicate device id {device_id!r}", device_id
        seen.add(device_id)
        if isinstance(profile, str) and profile not in profiles and profile not in BUILTIN_PROFILES:
            known = ", ".join(sorted({*profiles, *BUILTIN_PROFILES}))
            yield ("devices", i, "profile"), f"unknown profile {profile!r}; known: {known}", profile
    yield from _session_problems(data.get("session"), profiles)
    tags = {
        tag
        for _, device in devices
        if isinstance(device.get("tags"), list)
        for tag in device["tags"]
        if isinstance(tag, str)
    }
    start, timezone = _start(data)
    for i, event in _items(data.get("events")):
        yield from _when_problems(i, event, start, timezone)
        target = event.get("target", "all")
        if isinstance(target, dict) and isinstance(target.get("kind"), str) and target["kind"] not in kinds:
            yield ("events", i, "target"), f"no device of kind {target['kind']!r}", target["kind"]
        elif isinstance(target, dict) and isinstance(target.get("tag"), str) and target["tag"] not in tags:
            yield ("events", i, "target"), f"no device has tag {target['tag']!r}", target["tag"]
        elif target != "all" and isinstance(target, str | list):
            names = [target] if isinstance(target, str) else target
            unknown = [name for name in names if isinstance(name, str) and name not in seen]
            if unknown:
                yield ("events", i, "target"), f"unknown device id {unknown[0]!r}", unknown[0]


def _session_problems(session: object, profiles: Mapping[str, Any]) -> Iterator[Problem]:
    """The profiles a recorded session's devices name must exist (the session's other references were
    resolved when it was recorded; one that no longer resolves fails the replay at its instant, named)."""
    if not isinstance(session, dict):
        return
    located: list[tuple[tuple[str | int, ...], object]]
    located = [(("session", "devices", i), device) for i, device in _items(session.get("devices"))]
    located += [(("session", "changes", i, "device"), c.get("device")) for i, c in _items(session.get("changes"))]
    for path, device in located:
        profile = device.get("profile") if isinstance(device, dict) else None
        if isinstance(profile, str) and profile not in profiles and profile not in BUILTIN_PROFILES:
            known = ", ".join(sorted({*profiles, *BUILTIN_PROFILES}))
            yield (*path, "profile"), f"unknown profile {profile!r}; known: {known}", profile


def _when_problems(i: int, event: dict[str, Any], start: datetime | None, timezone: str | None) -> Iterator[Problem]:
    """An event is once `at` a time or at a `rate` (then maybe `from`, `until`): each time after the start."""
    if "at" not in event and "rate" not in event:
        yield ("events", i, "at"), "is required (or a `rate` of seeded arrivals)", None
    if "at" in event and "rate" in event:
        yield ("events", i, "rate"), "give either `at` (once) or `rate` (seeded arrivals), not both", event["rate"]
    offsets: dict[str, float] = {}
    for name in ("at", "from", "until"):
        moment = event.get(name)
        if name != "at" and name in event and "rate" not in event:
            yield ("events", i, name), f"only with `rate` (the span of its arrivals), got {str(moment)!r}", str(moment)
            continue
        if isinstance(moment, date) and not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day)
        if not isinstance(moment, str | datetime):
            continue  # missing, or a wrong type the model reports
        try:
            if start is not None and timezone is not None:
                offsets[name] = event_offset(moment, start, timezone)
                if offsets[name] < 0:
                    yield ("events", i, name), f"is before the scenario start, got {str(moment)!r}", str(moment)
            elif isinstance(moment, str) and parse_relative(moment) is None:
                datetime.fromisoformat(moment)
        except ValueError as exc:
            yield ("events", i, name), _at_message(exc, moment), str(moment)
    if "until" in offsets and ("from" in offsets or "from" not in event):
        begin = offsets.get("from", 0.0)
        if 0 <= offsets["until"] <= begin:  # before the start is said above
            after = f"`from` ({event['from']})" if "from" in event else "the start"
            yield ("events", i, "until"), f"must be after {after}, got {str(event['until'])!r}", str(event["until"])


def _at_message(exc: ValueError, at: object) -> str:
    text = str(exc)
    if text.startswith(("must", "give", "minutes")):
        return text
    return f"must be a local date-time like '2025-08-05T14:00' or relative like '+2d09:00', got {str(at)!r}"


def _start(data: dict[str, Any]) -> tuple[datetime | None, str | None]:
    """The scenario's start and timezone when both are usable, else Nones."""
    start = data.get("start", DEFAULT_START)
    timezone = data.get("timezone", "UTC")
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start)
        except ValueError:
            return None, None
    if not isinstance(start, datetime) or start.tzinfo is not None or not isinstance(timezone, str):
        return None, None
    try:
        site_zone(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None, None
    return start, timezone


def device_spec(
    device: Device, profiles: Mapping[str, DailyProfile], site: SiteSpec, *, history: History | None = None
) -> DeviceSpec:
    """A device with the defaults of its kind and site filled in; its profile must be in `profiles`.

    A replay device needs the `history` its `csv` holds (`history_csv.read_history`); raises ValueError
    without it."""
    replay = _replay(device, history) if device.kind == "replay" else None
    if replay is not None:
        rated_kw = (
            device.rated_kw if device.rated_kw is not None else peak_kw(replay.history, replay.loop) * replay.scale
        )
    else:
        rated_kw = device.rated_kw if device.rated_kw is not None else KINDS[device.kind].rated_kw
    return DeviceSpec(
        id=device.id,
        kind=device.kind,
        name=device.name or device.id,
        location=device.location,
        rated_kw=rated_kw,
        profile=REPLAY_PROFILE if replay is not None else profiles[_profile_name(device)],
        interval=device.interval,
        noise=device.noise if device.noise is not None else KINDS[device.kind].noise,
        voltage_noise=device.voltage_noise,
        power_factor=device.power_factor or KINDS[device.kind].power_factor,
        phases=device.phases or site.phases,
        behaviour=device.behaviour,
        tags=tuple(device.tags),
        buffer=device.buffer,
        register_kwh=device.register_kwh,
        energy_start_kwh=device.energy_start_kwh,
        trip_current_a=device.trip_current_a,
        inrush=_inrush(device),
        shifts=device.shifts,
        days=device.days,
        setpoint_c=device.setpoint_c if device.setpoint_c is not None else HVAC_SETPOINT_C,
        deadband_c=device.deadband_c if device.deadband_c is not None else HVAC_DEADBAND_C,
        replay=replay,
    )


def _replay(device: Device, history: History | None) -> ReplaySpec:
    """How a replay device plays its history: `scale`, else the one that makes its peak `rated_kw`, else 1."""
    if history is None or device.csv is None:
        raise ValueError(f"replay device {device.id!r}: its csv must be read first (a scenario file's folder)")
    loop = device.loop or "week"
    scale = device.scale
    if scale is None:
        peak = peak_kw(history, loop)
        scale = device.rated_kw / peak if device.rated_kw is not None and peak > 0 else 1.0
    return ReplaySpec(history, loop, device.interpolation or "linear", scale, device.csv)


def device_fields(spec: DeviceSpec) -> dict[str, Any]:
    """A device spec as the scenario format writes it, every field given (what `device_spec` turns back into
    the same spec): the API's store keeps it, a recording holds it."""
    return {
        "id": spec.id, "kind": spec.kind, "name": spec.name, "location": spec.location, "rated_kw": spec.rated_kw,
        "profile": spec.profile.name, "interval": spec.interval, "noise": spec.noise,
        "voltage_noise": spec.voltage_noise, "power_factor": spec.power_factor, "phases": spec.phases,
        "behaviour": spec.behaviour, "tags": list(spec.tags), "buffer": spec.buffer,
        "register_kwh": spec.register_kwh, "energy_start_kwh": spec.energy_start_kwh,
        "trip_current_a": spec.trip_current_a,
        "inrush": {"factor": spec.inrush.factor, "duration": spec.inrush.duration} if spec.inrush else False,
        "shifts": spec.shifts, "days": spec.days,
        "setpoint_c": spec.setpoint_c if spec.kind == "hvac" else None,
        "deadband_c": spec.deadband_c if spec.kind == "hvac" else None,
    } | (_replay_fields(spec.replay) if spec.replay is not None else {})  # fmt: skip


def _replay_fields(replay: ReplaySpec) -> dict[str, Any]:
    """A replay device's own fields: its file (as the scenario named it), loop, interpolation and scale."""
    return {"profile": None, "csv": replay.csv, "loop": replay.loop, "interpolation": replay.interpolation,
            "scale": replay.scale}  # fmt: skip


def _profile_name(device: Device) -> str:
    """Its own profile, the one its shifts and days make (industrial), or its kind's."""
    if device.shifts is not None or device.days is not None:
        return shift_profile_name(device.shifts or 2, device.days or 5)
    return device.profile or KINDS[device.kind].profile


def _inrush(device: Device) -> InrushSpec | None:
    """The device's inrush: its own, or its kind's default (hvac, industrial); None when off."""
    if device.inrush is False:
        return None
    if device.inrush is None:
        return INRUSH_DEFAULT if device.kind in INRUSH_KINDS else None
    return InrushSpec(device.inrush.factor, device.inrush.duration)


def to_plan(
    scenario: Scenario,
    *,
    sha256: str = "",
    weather_table: tuple[tuple[float, float], ...] = (),
    histories: Mapping[int, History] | None = None,
    data_files: tuple[tuple[str, str], ...] = (),
) -> Plan:
    """The engine's resolved plan; call after `check` found nothing. `weather_table`: `site.weather.csv`'s rows;
    `histories`: each replay device's (by its index); `data_files`: (path, sha256) of the files read."""
    histories = histories or {}
    profiles: dict[str, DailyProfile] = dict(BUILTIN_PROFILES)
    for name, profile in scenario.profiles.items():
        profiles[name] = profile_from_curves(name, profile.weekday, profile.saturday, profile.sunday)
    weather = _weather(scenario, weather_table)
    site = SiteSpec(scenario.site.voltage, scenario.site.phases, scenario.site.frequency, weather)
    devices = tuple(
        device_spec(device, profiles, site, history=histories.get(index))
        for index, device in enumerate(scenario.devices)
    )
    events = tuple(_scheduled(index, event, scenario) for index, event in enumerate(scenario.events))
    plan = Plan(
        name=scenario.name,
        revision=scenario.revision,
        description=scenario.description,
        start_epoch=utc_epoch(scenario.start, scenario.timezone),
        timezone=scenario.timezone,
        duration=scenario.duration,
        seed=scenario.seed,
        site=site,
        devices=devices,
        events=events,
        holidays=frozenset(scenario.holidays),
        source_sha256=sha256,
        stagger=scenario.stagger,
        profiles=profiles,
        data_files=data_files,
    )
    return plan if scenario.session is None else _with_session(plan, scenario.session)


def _with_session(plan: Plan, session: Session) -> Plan:
    """The plan as the recorded session ran it: moved to its start, its shard, then the API's stored devices
    laid over it (as `api.store` lays them), and its changes to replay."""
    if session.start is not None:
        plan = moved_to(plan, session.start)
    if session.shard is not None:
        index, count = (int(part) for part in session.shard.split("/"))
        plan = shard(plan, index, count)
    devices = {device.id: device for device in plan.devices}
    for device_id in session.removed:
        devices.pop(device_id, None)
    for device in session.devices:
        devices[device.id] = device_spec(device, plan.profiles, plan.site, history=_history_of(devices.get(device.id)))
    events = tuple(
        dataclasses.replace(event, targets=tuple(t for t in event.targets if t in devices)) for event in plan.events
    )
    replayed = tuple(_recorded(change, plan, devices) for change in session.changes)
    return dataclasses.replace(plan, devices=tuple(devices.values()), events=events, session=replayed)


def _history_of(spec: DeviceSpec | None) -> History | None:
    """The history a replay device read: what a recorded change of it keeps (the API cannot read files)."""
    return spec.replay.history if spec is not None and spec.replay is not None else None


def _recorded(change: object, plan: Plan, devices: Mapping[str, DeviceSpec]) -> Recorded:
    """One change of a session as the simulation applies it; `devices`: those the session started with."""
    applied: Action | RunChange
    if isinstance(change, DeviceChange):
        history = _history_of(devices.get(change.device.id))
        spec = device_spec(change.device, plan.profiles, plan.site, history=history)
        applied = CreateDevice(spec) if change.action == "create_device" else UpdateDevice(spec)
        return Recorded(change.at, applied, (spec.id,))
    if isinstance(change, DeviceTargeted):
        applied = DeleteDevice() if change.action == "delete_device" else ReadNow()
        return Recorded(change.at, applied, tuple(change.target))
    action: Any = change  # one of RECORDED_ACTIONS: an action with `at` and `target`
    return Recorded(action.at, action.resolved(), tuple(action.target))


def _weather(scenario: Scenario, table: tuple[tuple[float, float], ...]) -> WeatherSpec | None:
    weather = scenario.site.weather
    if weather is None:
        return None
    return WeatherSpec(weather.mean_c, weather.daily_swing_c, weather.seasonal_swing_c, table)


def _scheduled(index: int, event: Event, scenario: Scenario) -> Scheduled:
    """An event of the file as the timeline runs it: once at an offset, or arrivals at a rate from one."""
    targets = target_ids(event.target, scenario.devices)

    def offset(at: str | datetime) -> float:
        return event_offset(at, scenario.start, scenario.timezone)

    if event.rate is None:
        if event.at is None:
            raise ValueError(f"events[{index}]: give `at` or `rate` (check() reports this, located)")
        return Scheduled(offset(event.at), targets, event.resolved())
    return Scheduled(
        offset(event.from_) if event.from_ is not None else 0.0,
        targets,
        event.resolved(),
        rate=event.rate,
        until=offset(event.until) if event.until is not None else None,
        key=f"events/{index}",
    )


def moved_to(plan: Plan, start: datetime) -> Plan:
    """The plan started at `start`, events included: naive is local time in the scenario's timezone."""
    epoch = start.timestamp() if start.tzinfo else utc_epoch(start, plan.timezone)
    return dataclasses.replace(plan, start_epoch=epoch)
