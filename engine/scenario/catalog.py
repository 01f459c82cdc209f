"""Named scenarios: load one by name (or by path), list them.

The lookup itself (`scenarios_dir`, `scenario_names`, `named_file`) lives in `named.py`, below the
loader, so that a scenario can `extends:` a named one.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from engine.errors import Issue, ScenarioError
from engine.scenario.loader import LoadedScenario, load_scenario
from engine.scenario.named import named_file, scenario_names, scenarios_dir

__all__ = ["load_named", "load_named_cached", "resolve", "scenario_names", "scenarios_dir"]


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


_loaded: dict[str, LoadedScenario] = {}
_lock = threading.Lock()


def load_named_cached(name: str) -> LoadedScenario:
    """`load_named`, kept while every file it read has the bytes it read (their sha256): listing the
    named scenarios, as the API does on each request, need not render and check a 1,000-device
    template each time. A loaded scenario is immutable, so callers share it."""
    key = str(resolve(name).resolve())
    with _lock:
        kept = _loaded.get(key)
    if kept is not None and _unchanged(kept):
        return kept
    loaded = load_named(name)
    with _lock:
        _loaded[key] = loaded
    return loaded


def _unchanged(loaded: LoadedScenario) -> bool:
    read = [(part.source, part.sha256) for part in loaded.chain] or [(loaded.source, loaded.sha256)]
    for path, sha256 in [*read, *loaded.plan.data_files]:
        try:
            if hashlib.sha256(Path(path).read_bytes()).hexdigest() != sha256:
                return False
        except OSError:
            return False
    return True
