"""Scenario composition: `extends:` a base (a named scenario or a file), merged before validation.

Each file of the chain is read with the same limits and rendered (its template, if any) on its own,
then the raw mappings are merged from the root base down: devices with an existing id take the
overlay's given fields over the base's (field by field), new ids come after the base's in overlay
order, `remove: [ids]` drops base devices, `profiles` merge by name, `events` are appended, any other
top-level field replaces the base's. The merge keeps, for every value, the file and line it came
from (`Origin`), so an issue names the file that holds the bad value, at its line and own field path.

A base is a named scenario (`extends: office-week`) or a path relative to the file (`extends:
./base.yaml`); a scenario without a folder (an upload) may name only named scenarios. A chain is at
most MAX_CHAIN files long and a cycle is refused, naming the chain.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from engine.errors import Issue, ScenarioError
from engine.scenario.named import named_file, scenario_names
from engine.scenario.source import read_source, render_source
from engine.scenario.yaml_source import ParsedYaml, _dotted, parse_yaml
from engine.scenario.yaml_source import Path as FieldPath

MAX_CHAIN = 8
"""Files in one chain, the top one included."""
_MERGED = frozenset({"devices", "profiles", "events"})
_CONSUMED = frozenset({"extends", "remove"})


@dataclass(frozen=True, slots=True)
class ChainFile:
    """One file of a chain: its name, the sha256 of its bytes and the folder its own files are read from."""

    source: str
    sha256: str
    folder: Path | None
    where: str
    """How issues name it: `source`, or `source (rendered)` for a template."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a merged value came from: the file (index in the chain), its line and path in that file."""

    file: int
    line: int
    path: FieldPath


@dataclass(slots=True)
class _File:
    chain: ChainFile
    parsed: ParsedYaml
    rendered: str


@dataclass(slots=True)
class Composed:
    """The raw (merged) mapping of a scenario, where each part came from, and the files of its chain.

    `chain` is top first. `origins` is None for a file that extends nothing: it is located by its own
    lines, at no cost for a big file.
    """

    data: object
    chain: tuple[ChainFile, ...]
    top: ParsedYaml
    rendered: str
    origins: dict[FieldPath, Origin] | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def where(self) -> str:
        return self.chain[0].where

    def locate(self, path: FieldPath) -> tuple[int, int | None, str]:
        """The file (chain index), line and own dotted path of `path`, or of its nearest located parent."""
        if self.origins is None:
            return 0, self.top.line_of(path), _dotted(path)
        for end in range(len(path), -1, -1):
            origin = self.origins.get(path[:end])
            if origin is not None:
                return origin.file, origin.line, _dotted((*origin.path, *path[end:]))
        return 0, None, _dotted(path)

    def issue(self, path: FieldPath, msg: str, value: object = None) -> Issue:
        """An issue about `path` of the merged data, located in the file that holds it."""
        index, line, loc = self.locate(path)
        return Issue(line, loc, msg, value, self.chain[index].where if index else None)

    def folder_of(self, path: FieldPath) -> Path | None:
        """The folder of the file that holds `path`: where a file it names (a weather CSV) is read from."""
        return self.chain[self.locate(path)[0]].folder

    def merged_yaml(self) -> str:
        """The merged scenario as YAML, headed by the chain it came from (`iot-mock render`)."""
        header = "".join(
            f"# {'from' if i else 'merged'}: {f.source} (sha256 {f.sha256})\n" for i, f in enumerate(self.chain)
        )
        return header + yaml.dump(self.data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


class _Dumper(yaml.SafeDumper):
    """Quotes every string with a colon: `08:00` stays a string for any YAML reader (YAML 1.1: a number)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'" if ":" in value else None)


_Dumper.add_representer(str, _str)


def compose(raw: bytes, source: str, *, folder: Path | None) -> Composed:
    """The scenario text `raw`, with its chain of bases merged in; raises ScenarioError when the chain
    cannot be followed (an unknown base, a cycle). A top file that does not parse comes back with
    `data` None and its issues, for the loader to report."""
    top = _read(raw, source, folder)
    composed = Composed(top.parsed.data, (top.chain,), top.parsed, top.rendered, issues=list(top.parsed.issues))
    data = top.parsed.data
    if not isinstance(data, dict) or "extends" not in data:
        if isinstance(data, dict) and "remove" in data:
            composed.issues.append(composed.issue(("remove",), "needs extends: it drops devices of the base"))
        return composed
    files = _chain(top, folder)
    layer = _Layer.of(files[-1], len(files) - 1)
    issues = [issue for f in files for issue in _sourced(f.parsed.issues, f.chain.where if f is not top else None)]
    for index in range(len(files) - 2, -1, -1):
        layer = layer.merged(files[index], index, issues)
    return Composed(layer.data, tuple(f.chain for f in files), top.parsed, top.rendered, layer.origins, issues)


def _read(raw: bytes, source: str, folder: Path | None) -> _File:
    rendered = render_source(raw, source)
    where = source if rendered.encode() == raw else f"{source} (rendered)"
    chain = ChainFile(source, hashlib.sha256(raw).hexdigest(), folder, where)
    return _File(chain, parse_yaml(rendered), rendered)


def _sourced(issues: list[Issue], where: str | None) -> list[Issue]:
    return [dataclasses.replace(issue, source=where) if where else issue for issue in issues]


def _chain(top: _File, folder: Path | None) -> list[_File]:
    """The files from the top one down to the root base (which extends nothing)."""
    files = [top]
    seen = [Path(top.chain.source).resolve() if folder is not None else None]
    current = top
    while isinstance(current.parsed.data, dict) and "extends" in current.parsed.data:
        path = _base_path(current)
        key = path.resolve()
        if key in seen:
            names = " -> ".join([*(f.chain.source for f in files), str(path)])
            _refuse(current, f"extends a scenario already in the chain, a cycle: {names}")
        if len(files) >= MAX_CHAIN:
            _refuse(current, f"a chain of extends is at most {MAX_CHAIN} files long")
        try:
            base = _read(read_source(path), str(path), path.parent)
        except ScenarioError as exc:
            raise ScenarioError(top.chain.where, _sourced(exc.issues, exc.source)) from exc
        if base.parsed.data is None:
            raise ScenarioError(top.chain.where, _sourced(base.parsed.issues, base.chain.where))
        files.append(base)
        seen.append(key)
        current = base
    return files


def _base_path(file: _File) -> Path:
    """The file `extends:` names, relative to the file's folder or among the named scenarios."""
    assert isinstance(file.parsed.data, dict)
    value = file.parsed.data["extends"]
    if not isinstance(value, str) or not value:
        _refuse(file, f"must be a named scenario or a path like ./base.yaml, got {value!r}")
    if "/" in value or "\\" in value or value.endswith((".yaml", ".yml")):
        folder = file.chain.folder
        if folder is None:
            _refuse(file, f"an uploaded scenario can extend a named scenario only, not a path, got {value!r}")
        if Path(value).is_absolute():
            _refuse(file, f"give a path relative to this file, got {value!r}")
        path = folder / value
        if not path.is_file():
            _refuse(file, f"no such file {str(path)!r}")
        return path
    named = named_file(value)
    if named is None:
        _refuse(file, f"no named scenario {value!r} (named scenarios: {', '.join(scenario_names()) or 'none'})")
    return named


def _refuse(file: _File, msg: str) -> NoReturn:
    where = file.chain.where
    raise ScenarioError(where, [Issue(file.parsed.line_of(("extends",)), "extends", msg, None)])


@dataclass(slots=True)
class _Layer:
    """Merged raw data and the origin of each of its paths."""

    data: dict[Any, Any]
    origins: dict[FieldPath, Origin]

    @classmethod
    def of(cls, file: _File, index: int) -> _Layer:
        assert isinstance(file.parsed.data, dict)
        data = {key: value for key, value in file.parsed.data.items() if key not in _CONSUMED}
        layer = cls(data, {})
        layer.graft(file, index, lambda path: None if path and path[0] in _CONSUMED else path)
        return layer

    def graft(self, file: _File, index: int, to: Any) -> None:
        """Record the origin of every located path of `file`, at the merged path `to(path)` (None: dropped)."""
        for path, line in file.parsed.lines.items():
            merged = to(path)
            if merged is not None:
                self.origins[merged] = Origin(index, line, path)

    def merged(self, overlay: _File, index: int, issues: list[Issue]) -> _Layer:
        """This layer with `overlay` over it (the rules in the module docstring)."""
        given = overlay.parsed.data
        assert isinstance(given, dict)
        data = dict(self.data)
        replaced = {key for key in given if key not in _MERGED and key not in _CONSUMED}
        for key in replaced:
            data[key] = given[key]
        device_to, base_device_to, overridden = self._devices(data, overlay, index, issues)
        profile_names = set(given["profiles"]) if isinstance(given.get("profiles"), dict) else set()
        if "profiles" in given:
            base_profiles = data.get("profiles")
            new_profiles = given["profiles"]
            if isinstance(base_profiles, dict) and isinstance(new_profiles, dict):
                data["profiles"] = {**base_profiles, **new_profiles}
            else:
                data["profiles"] = new_profiles
                profile_names = {"*all*"}
        events_offset = 0
        if "events" in given:
            base_events, new_events = data.get("events"), given["events"]
            if isinstance(base_events, list) and isinstance(new_events, list):
                events_offset = len(base_events)
                data["events"] = [*base_events, *new_events]
            else:
                data["events"] = new_events

        def base_to(path: FieldPath) -> FieldPath | None:
            if not path:
                return path
            head = path[0]
            if head in replaced:
                return None
            if head == "devices" and len(path) > 1:
                j = base_device_to.get(path[1])  # type: ignore[arg-type]
                if j is None or (len(path) > 2 and path[2] in overridden.get(j, ())):
                    return None
                return ("devices", j, *path[2:])
            if head == "profiles" and len(path) > 1 and (path[1] in profile_names or "*all*" in profile_names):
                return None
            if head == "events" and "events" in given and not events_offset and len(path) > 1:
                return None  # the overlay's events replaced a malformed list
            return path

        def overlay_to(path: FieldPath) -> FieldPath | None:
            if not path:
                return None
            head = path[0]
            if head in _CONSUMED:
                return None
            if head == "devices" and len(path) > 1:
                j = device_to.get(path[1])  # type: ignore[arg-type]
                return None if j is None else ("devices", j, *path[2:])
            if head == "events" and len(path) > 1 and isinstance(path[1], int):
                return ("events", path[1] + events_offset, *path[2:])
            return path

        layer = _Layer(data, {})
        for path, origin in self.origins.items():
            moved = base_to(path)
            if moved is not None:
                layer.origins[moved] = origin
        layer.graft(overlay, index, overlay_to)
        return layer

    def _devices(
        self, data: dict[Any, Any], overlay: _File, index: int, issues: list[Issue]
    ) -> tuple[dict[int, int], dict[int, int], dict[int, set[str]]]:
        """Merge the overlay's devices and `remove` into `data`; the index maps overlay -> merged and
        base -> merged, and the fields the overlay gave for each merged base device."""
        given = overlay.parsed.data
        assert isinstance(given, dict)
        base = data.get("devices")
        base_list: list[Any] = base if isinstance(base, list) else []
        ids = [device.get("id") if isinstance(device, dict) else None for device in base_list]
        removed: set[object] = set()
        remove = given.get("remove", [])
        if not isinstance(remove, list):
            issues.append(_overlay_issue(overlay, index, ("remove",), f"must be a list of device ids, got {remove!r}"))
            remove = []
        for k, device_id in enumerate(remove):
            if device_id not in ids:
                msg = f"no device {device_id!r} in the base to remove"
                issues.append(_overlay_issue(overlay, index, ("remove", k), msg, device_id))
            removed.add(device_id)
        kept = [(i, device) for i, device in enumerate(base_list) if ids[i] not in removed or ids[i] is None]
        merged: list[Any] = [device for _, device in kept]
        base_to = {i: j for j, (i, _) in enumerate(kept)}
        position: dict[object, int] = {}
        for j, device in enumerate(merged):
            if isinstance(device, dict):
                position.setdefault(device.get("id"), j)
        overlay_to: dict[int, int] = {}
        overridden: dict[int, set[str]] = {}
        new = given.get("devices", [])
        if "devices" in given and not isinstance(new, list):
            data["devices"] = new
            return {}, {}, {}
        for k, device in enumerate(new):
            device_id = device.get("id") if isinstance(device, dict) else None
            found = position.pop(device_id, None) if device_id is not None else None
            if found is not None and isinstance(device, dict):
                merged[found] = {**merged[found], **device}
                overridden[found] = {str(key) for key in device}
                overlay_to[k] = found
            else:
                overlay_to[k] = len(merged)
                merged.append(device)
        if "devices" in data or new:
            data["devices"] = merged
        return overlay_to, base_to, overridden


def _overlay_issue(file: _File, index: int, path: FieldPath, msg: str, value: object = None) -> Issue:
    return Issue(file.parsed.line_of(path), _dotted(path), msg, value, file.chain.where if index else None)
