"""docs/scenarios.md's examples: one for every field, kind and action, and each parses in a scenario."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import load_scenario, parse_scenario
from engine.scenario import manual
from engine.scenario.actions import ACTION_NAMES
from engine.scenario.format import json_schema

SCHEMA = json_schema()
PLACES = manual.places(SCHEMA)
WEATHER_CSV = "time,temperature_c\n2025-08-04T00:00,18.5\n2025-08-05T00:00,21.0\n"
"""The file the weather example names, beside the scenario."""
HISTORY_CSV = "time,kw,volts,amps\n" + "".join(
    f"2025-08-04T{hour:02d}:00,{10 + hour % 5},230.0,{(10 + hour % 5) * 1000 / 230 / 3:.2f}\n" for hour in range(24)
)
"""A day of hourly rows under other headers, the file the replay example names (loop: day)."""


def _examples(path: str) -> list[Any]:
    place = next(place for place in PLACES if place.path == path)
    return [example for name in place.defs for example in SCHEMA["$defs"][name].get("examples", [])]


def _base() -> dict[str, Any]:
    """The first whole example, with every device example added: what the other examples go into."""
    base: dict[str, Any] = copy.deepcopy(SCHEMA["examples"][0])
    base["devices"] += copy.deepcopy(_examples("devices[]"))
    base["events"] = []
    return base


def _insert(scenario: dict[str, Any], path: str, value: object) -> None:
    """`value` at `path` (`site.weather`, `profiles.<name>`, `events[].target`) of `scenario`."""
    *parents, last = path.split(".")
    node: Any = scenario
    walked: list[str] = []
    for segment in parents:
        walked.append(segment)
        if segment.endswith("[]"):
            items = node.setdefault(segment[:-2], [])
            if not items:  # an example of the list's own to hold the value
                items.append(copy.deepcopy(_examples(".".join(walked))[0]))
            node = items[-1]
        else:
            if not isinstance(node.get(segment), dict):
                node[segment] = {}
            node = node[segment]
    if last.endswith("[]"):
        node.setdefault(last[:-2], []).append(value)
    elif last == "<name>":
        node["example"] = value
    else:
        node[last] = value


def _load(scenario: dict[str, Any], folder: Path) -> None:
    (folder / "weather.csv").write_text(WEATHER_CSV)
    (folder / "history.csv").write_text(HISTORY_CSV)
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    load_scenario(path)  # raises ScenarioError with every issue located


def test_each_whole_example_is_a_valid_scenario() -> None:
    for example in SCHEMA["examples"]:
        parse_scenario(yaml.safe_dump(example, sort_keys=False))


def test_every_example_parses_at_its_place_in_a_scenario(tmp_path: Path) -> None:
    base = _base()
    _load(base, tmp_path)  # every device example at once
    checked = 0
    for place in PLACES:
        if place.path == "devices[]":
            continue
        for example in _examples(place.path):
            scenario = copy.deepcopy(base)
            _insert(scenario, place.path, copy.deepcopy(example))
            _load(scenario, tmp_path)
            checked += 1
    assert checked >= len(ACTION_NAMES) + 5


def test_an_example_that_does_not_fit_its_place_fails(tmp_path: Path) -> None:
    scenario = _base()
    _insert(scenario, "devices[].inrush", {"factor": 0.5})
    with pytest.raises(Exception, match=r"inrush\.factor"):
        _load(scenario, tmp_path)


def test_every_field_every_kind_and_every_action_has_an_example() -> None:
    missing = []
    for place in [manual.Place("", "", ["Scenario"]), *PLACES]:
        nodes = [SCHEMA if name == "Scenario" else SCHEMA["$defs"][name] for name in place.defs]
        shared = [example for node in nodes for example in node.get("examples", [])]
        for name, node in zip(place.defs, nodes, strict=True):
            own = node.get("examples", [])
            for field in node.get("properties", {}):
                common = all(field in other.get("properties", {}) for other in nodes)
                pool = shared if place.discriminator and common else own
                if not any(isinstance(example, dict) and field in example for example in pool):
                    missing.append(f"{place.path or '(top level)'} {name}.{field}")
    assert not missing, (
        f"give these an example (the model's json_schema_extra examples, an action's examples): {missing}"
    )
    kinds = {value for name in PLACES[[p.path for p in PLACES].index("devices[]")].defs
             for value in SCHEMA["$defs"][name]["properties"]["kind"].get("enum", [])}  # fmt: skip
    assert kinds <= {example["kind"] for example in _examples("devices[]")}
    assert {example["action"] for example in _examples("events[]")} == set(ACTION_NAMES)


def test_the_shown_yaml_of_every_example_reads_back_as_the_example() -> None:
    examples = list(SCHEMA["examples"])
    for place in PLACES:
        examples += _examples(place.path)
    for example in examples:
        assert yaml.safe_load(manual.flow(example)) == example
