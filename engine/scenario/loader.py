"""Read a scenario file: size limit, sandboxed template, safe YAML, validation, cross-checks.

Every problem found is collected and raised once as a ScenarioError whose issues each carry a
line and a field path (`scenarios/plant.yaml:14: devices[2].interval: ...`). A templated file is
located in its rendered text, shown by `iot-mock render FILE`. A file that `extends:` a base is
merged with its chain first (`compose.py`), and each issue names the file of the chain it is in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.errors import Issue, ScenarioError
from engine.model.history import History, peak_kw
from engine.model.specs import Plan
from engine.model.zones import site_zone
from engine.scenario.actions import ACTION_NAMES
from engine.scenario.compile import check, to_plan
from engine.scenario.compose import ChainFile, Composed, compose
from engine.scenario.format import SUPPORTED_VERSIONS, Scenario
from engine.scenario.history_csv import read_history
from engine.scenario.source import MAX_FILE_BYTES, check_size, read_source
from engine.scenario.weather_csv import read_hourly
from engine.scenario.yaml_source import Path as FieldPath

__all__ = ["MAX_FILE_BYTES", "LoadedScenario", "load_scenario", "parse_scenario", "read_source"]


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    """A valid scenario, where it came from, and the plan the engine runs.

    `sha256` and `rendered` are the top file's; `chain` lists every file of its `extends:` chain, top
    first (one entry for a file that extends nothing).
    """

    source: str
    scenario: Scenario
    plan: Plan
    sha256: str
    rendered: str
    chain: tuple[ChainFile, ...] = ()


def load_scenario(path: str | Path) -> LoadedScenario:
    """Load and validate the scenario file at `path`; raises ScenarioError listing every problem."""
    return parse_scenario(read_source(path), str(path), folder=Path(path).parent)


def parse_scenario(raw: bytes | str, source: str = "<scenario>", *, folder: Path | None = None) -> LoadedScenario:
    """Validate scenario text (bytes from a file or an upload); raises ScenarioError.

    `folder` is where the scenario's own files (a weather CSV, a base it `extends:` by path) are read
    from; None for an upload, which may extend named scenarios only.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    check_size(data, source)
    composed = compose(data, source, folder=folder)
    where = composed.where
    if composed.data is None:
        raise ScenarioError(where, composed.issues)
    scenario, issues = _validate(composed)
    issues = composed.issues + issues
    table: tuple[tuple[float, float], ...] = ()
    files: list[tuple[str, str]] = []
    weather = scenario.site.weather if scenario is not None else None
    if weather is not None and weather.csv is not None:
        at = ("site", "weather", "csv")
        try:
            table, file = read_hourly(weather.csv, composed.folder_of(at))
            files.append((_shown(weather.csv, composed.folder_of(at)), file.sha256))
        except ValueError as exc:
            issues.append(composed.issue(at, str(exc), weather.csv))
    histories = _histories(scenario, composed, issues, files) if scenario is not None else {}
    if issues or scenario is None:
        raise ScenarioError(where, sorted(issues, key=_issue_order))
    sha256 = composed.chain[0].sha256
    plan = to_plan(scenario, sha256=sha256, weather_table=table, histories=histories, data_files=tuple(files))
    return LoadedScenario(source, scenario, plan, sha256, composed.rendered, composed.chain)


def _shown(name: str, folder: Path | None) -> str:
    """A data file's path as the report shows it: beside the scenario file, as that file was named."""
    return str(folder / name) if folder is not None else name


def _histories(
    scenario: Scenario, composed: Composed, issues: list[Issue], files: list[tuple[str, str]]
) -> dict[int, History]:
    """Each replay device's history (by device index), each file read once; problems go to `issues`.

    Besides the file's own problems: a file too short for its loop, and a `rated_kw` below the scaled peak."""
    zone = site_zone(scenario.timezone)
    read: dict[tuple[str, str, tuple[object, ...]], History | None] = {}
    histories: dict[int, History] = {}
    for index, device in enumerate(scenario.devices):
        if device.kind != "replay" or device.csv is None:
            continue
        at = ("devices", index, "csv")
        folder = composed.folder_of(at)
        mapping = device.columns.model_dump() if device.columns is not None else {}
        key = (str(folder), device.csv, tuple(sorted(mapping.items())))
        if key not in read:
            try:
                read[key] = found = read_history(device.csv, folder, mapping, zone)
                files.append((_shown(device.csv, folder), found.sha256))
            except ValueError as exc:
                read[key] = None
                issues.append(composed.issue(at, str(exc), device.csv))
        history = read[key]
        if history is None:
            continue
        loop = device.loop or "week"
        try:
            peak = peak_kw(history, loop)
        except ValueError as exc:
            issues.append(composed.issue(at, f"{device.csv}: {exc}", device.csv))
            continue
        if peak <= 0:
            issues.append(
                composed.issue(at, f"{device.csv}: power is 0 in every row played: nothing to replay", device.csv)
            )
        elif device.scale is not None and device.rated_kw is not None and peak * device.scale > device.rated_kw:
            scaled = f"{peak:g} kW x {device.scale:g} = {peak * device.scale:g} kW"
            msg = f"is below the history's peak times scale ({scaled}): give a higher rating, or leave it out"
            msg = f"{msg}, got {device.rated_kw:g}"
            issues.append(composed.issue(("devices", index, "rated_kw"), msg, device.rated_kw))
        else:
            histories[index] = history
    return histories


def _issue_order(issue: Issue) -> tuple[bool, str, int, str]:
    """The top file's issues first, by line; then each base's."""
    return issue.source is not None, issue.source or "", issue.line or 0, issue.loc


def _validate(parsed: Composed) -> tuple[Scenario | None, list[Issue]]:
    data = parsed.data
    if not isinstance(data, dict):
        return None, [Issue(1, "", f"a scenario is a mapping of fields, got {type(data).__name__}")]
    version = data.get("version")
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        msg = "is required" if version is None else f"unsupported version {version!r}"
        issue = parsed.issue(("version",), f"{msg}; this iot-mock reads version {supported}")
        return None, [issue if issue.line is not None else replace(issue, line=1)]
    problems = [parsed.issue(path, msg, value) for path, msg, value in check(data)]
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        return None, _validation_issues(exc, parsed) + problems
    return scenario, problems


def _validation_issues(exc: ValidationError, parsed: Composed) -> list[Issue]:
    """pydantic errors as located issues; union branches on one field are merged into one issue."""
    found: list[tuple[FieldPath, str, str, object]] = []
    for error in exc.errors(include_url=False):
        kind = error["type"]
        path = _data_path(parsed.data, error["loc"], missing=kind == "missing")
        value = None if kind == "missing" else error.get("input")
        if kind == "union_tag_invalid":
            path = (*path, "action")
        found.append((path, kind, _message(kind, error["msg"], value, error.get("ctx") or {}), value))
    # A union branch that merely had the wrong type says nothing when another branch got further.
    specific = [path for path, kind, _, _ in found if not _is_type_error(kind)]
    found = [
        entry
        for entry in found
        if not (_is_type_error(entry[1]) and any(other[: len(entry[0])] == entry[0] for other in specific))
    ]
    merged: dict[FieldPath, Issue] = {}
    for path, _, msg, value in found:
        if path in merged:
            previous = merged[path]
            merged[path] = replace(previous, msg=_union_message(path, value))
            continue
        merged[path] = parsed.issue(path, msg, value)
    return list(merged.values())


def _is_type_error(kind: str) -> bool:
    return kind.endswith("_type") or kind in ("is_instance_of", "model_attributes_type")


def _message(kind: str, msg: str, value: object, ctx: dict[str, Any]) -> str:
    """pydantic's message, reworded where ours says more, with the bad value appended."""
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; `iot-mock schema` lists the fields)"
    if kind == "string_pattern_mismatch":
        return f"must be 1 to 64 letters, digits, '_' or '-', got {value!r}"
    if kind == "union_tag_invalid":
        return f"unknown action {ctx.get('tag')!r}; one of: {', '.join(ACTION_NAMES)}"
    msg = msg.removeprefix("Value error, ")
    if "got " not in msg and isinstance(value, str | int | float | bool):
        msg = f"{msg[0].lower()}{msg[1:]}, got {value!r}"
    return msg


def _union_message(path: FieldPath, value: object) -> str:
    if path and path[-1] == "target":
        return f"must be a device id, a list of ids, {{kind: K}}, {{tag: NAME}} or 'all', got {value!r}"
    return f"has none of the accepted forms (`iot-mock schema` shows them), got {value!r}"


def _data_path(data: object, loc: tuple[str | int, ...], *, missing: bool) -> FieldPath:
    """The part of pydantic's `loc` that exists in the data (drops union and tag names)."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        found, child = _child(node, part)
        if found:
            node = child
            path.append(part)
        elif i == len(loc) - 1 and missing and isinstance(part, str):
            path.append(part)
    return tuple(path)


def _child(node: object, part: str | int) -> tuple[bool, object]:
    if isinstance(node, dict):
        return part in node, node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None
