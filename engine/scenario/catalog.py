"""Named scenarios: the YAML files in `scenarios/`, found by name without path tricks.

A name is an id (`contract.topics.ID_PATTERN`) and maps to `<dir>/<name>.yaml`, so a name can never reach
outside the directory. The directory is `IOT_MOCK_SCENARIOS_DIR`, else the checkout's
`scenarios/`, else the copy bundled in the installed package.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.contract.topics import ID_PATTERN
from engine.errors import Issue, ScenarioError
from engine.scenario.loader import LoadedScenario, load_scenario

_NAME = re.compile(ID_PATTERN)


def scenarios_dir() -> Path:
    """Where named scenarios live."""
    configured = os.environ.get("IOT_MOCK_SCENARIOS_DIR")
    if configured:
        return Path(configured)
    checkout = Path(__file__).resolve().parents[2] / "scenarios"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parents[1] / "_bundled_scenarios"


def scenario_names() -> list[str]:
    """Names of the scenarios in `scenarios_dir()`, sorted."""
    folder = scenarios_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if _NAME.match(p.stem))


def resolve(name_or_path: str) -> Path:
    """The file for a scenario name, or the path itself when it names an existing file."""
    as_path = Path(name_or_path)
    if as_path.is_file():
        return as_path
    if _NAME.match(name_or_path):
        candidate = scenarios_dir() / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    known = ", ".join(scenario_names()) or "none"
    raise ScenarioError(name_or_path, [Issue(None, "", f"no such file or named scenario (named scenarios: {known})")])


def load_named(name_or_path: str) -> LoadedScenario:
    """Load a scenario given by name or path."""
    return load_scenario(resolve(name_or_path))
