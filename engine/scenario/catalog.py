"""Named scenarios: load one by name (or by path), list them.

The lookup itself (`scenarios_dir`, `scenario_names`, `named_file`) lives in `named.py`, below the
loader, so that a scenario can `extends:` a named one.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import Issue, ScenarioError
from engine.scenario.loader import LoadedScenario, load_scenario
from engine.scenario.named import named_file, scenario_names, scenarios_dir

__all__ = ["load_named", "resolve", "scenario_names", "scenarios_dir"]


def resolve(name_or_path: str) -> Path:
    """The file for a scenario name, or the path itself when it names an existing file."""
    as_path = Path(name_or_path)
    if as_path.is_file():
        return as_path
    candidate = named_file(name_or_path)
    if candidate is not None:
        return candidate
    known = ", ".join(scenario_names()) or "none"
    raise ScenarioError(name_or_path, [Issue(None, "", f"no such file or named scenario (named scenarios: {known})")])


def load_named(name_or_path: str) -> LoadedScenario:
    """Load a scenario given by name or path."""
    return load_scenario(resolve(name_or_path))
