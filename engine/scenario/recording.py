"""A live session as a scenario: an overlay that `extends:` what ran and replays it exactly.

The overlay keeps the scenario that ran as its base: `extends:` a named scenario, or a path to the
file relative to where the recording is written; an uploaded scenario has neither, so its own text is
embedded (template rendered, with the `extends:` of a named scenario it may have). Over it: the
effective `seed`, and a `duration` that ends at the instant the recording was taken. Its `session:`
holds the session's exact start (the scenario moved there, its events with it, as `serve --start`
and the API's start move it), the shard, the API's stored devices the session started with, and
every external change applied, each at its exact instant: a float of seconds written with every
digit (`repr`, which YAML reads back to the same float).

Replayed (`Simulation._replay`), each change lands where the live one did, so the readings, their `seq`
and the journal are those of the session, up to that instant.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from engine.model.actions import CreateDevice, DeleteDevice, ReadNow, UpdateDevice
from engine.model.specs import Plan, Recorded
from engine.scenario.compile import device_fields
from engine.scenario.compose import _Dumper  # the one that `iot-mock render` writes with

SUFFIX = "-recording"


@dataclass(frozen=True, slots=True)
class Base:
    """The scenario a session ran: named, a file, or uploaded (then embedded, having no path to extend)."""

    name: str | None = None
    path: Path | None = None
    embedded: Mapping[str, Any] | None = None
    """An uploaded scenario's own fields (its text parsed, template rendered)."""

    def extends(self, folder: Path) -> str | None:
        """What the overlay's `extends:` says, seen from `folder`; None when the scenario is embedded."""
        if self.name is not None:
            return self.name
        if self.path is None:
            return None
        relative = Path(os.path.relpath(self.path.resolve(), folder.resolve())).as_posix()
        return relative if relative.startswith("../") else f"./{relative}"


class NothingToRecord(ValueError):
    """The session has not advanced yet (sim time 0): there is no span to replay."""


def utc_start(plan: Plan) -> str:
    """The plan's start instant in UTC, ISO 8601 to the microsecond (never ambiguous, whatever DST does)."""
    start = datetime.fromtimestamp(plan.start_epoch, UTC)
    if start.timestamp() != plan.start_epoch:  # finer than a microsecond: no start a session is given
        raise ValueError(f"the start {plan.start_epoch!r} has no exact ISO 8601 form")
    return start.isoformat()


def recording(
    base: Base,
    ran: Plan,
    *,
    started: Plan,
    seed: int,
    until: float,
    changes: Sequence[Recorded],
    folder: Path,
) -> str:
    """The overlay (YAML) of a session: `started` is the plan it was started with (sharded, moved to its
    start), `ran` that plan with the API's stored devices laid over it, `changes` what it applied until
    `until`; `folder` is where the recording goes (a file base is named relative to it)."""
    if until <= 0:
        raise NothingToRecord("the session has not advanced yet (sim time 0): nothing to record")
    extends = base.extends(folder)
    data: dict[str, Any] = {"version": 1}
    if extends is not None:
        data["extends"] = extends
    elif base.embedded is not None:
        data |= {key: value for key, value in base.embedded.items() if key not in ("version", "session")}
    else:
        raise ValueError("a recording needs the scenario that ran: a name, a path or the scenario itself")
    data |= {
        "name": (ran.name[: 64 - len(SUFFIX)] + SUFFIX),
        "description": f"A live session of {ran.name} (revision {ran.revision}), recorded at sim time {until!r} s.",
        "duration": until,
        "seed": seed,
        "session": _session(ran, started, changes),
    }
    header = f"# A recorded live session of {ran.name}: `iot-mock run` replays its readings exactly.\n"
    if ran.source_sha256:
        header += f"# The scenario that ran had sha256 {ran.source_sha256}.\n"
    return header + yaml.dump(data, Dumper=_Recording, sort_keys=False, allow_unicode=True, width=120)


def _session(ran: Plan, started: Plan, changes: Sequence[Recorded]) -> dict[str, Any]:
    session: dict[str, Any] = {"start": utc_start(ran)}
    if ran.shard is not None:
        session["shard"] = f"{ran.shard[0]}/{ran.shard[1]}"
    before = {spec.id: device_fields(spec) for spec in started.devices}
    after = [device_fields(spec) for spec in ran.devices]
    laid = [_given(fields) for fields in after if before.get(fields["id"]) != fields]
    removed = [device_id for device_id in before if device_id not in {fields["id"] for fields in after}]
    if laid:
        session["devices"] = laid
    if removed:
        session["removed"] = removed
    session["changes"] = [_OneLine(change_fields(change)) for change in changes]
    return session


def change_fields(recorded: Recorded) -> dict[str, Any]:
    """One applied change as a `session.changes` entry: its exact instant, what it was, on which ids."""
    change = recorded.change
    fields: dict[str, Any] = {"at": float(recorded.at), "action": change.action}
    if isinstance(change, CreateDevice | UpdateDevice):
        return fields | {"device": _given(device_fields(change.spec))}
    fields["target"] = list(recorded.targets)
    if isinstance(change, DeleteDevice | ReadNow):
        return fields
    duration = change.lasts()
    return fields | change.params() | ({"duration": duration} if duration is not None else {})


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """A device's fields without those left at None (their default)."""
    return {key: value for key, value in fields.items() if value is not None}


class _OneLine(dict[str, Any]):
    """A mapping written in flow style: one change a line (a device change wraps)."""


class _Recording(_Dumper):
    """The render's dumper, with each change on a line of its own."""


def _one_line(dumper: yaml.SafeDumper, value: _OneLine) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", list(value.items()), flow_style=True)


_Recording.add_representer(_OneLine, _one_line)
