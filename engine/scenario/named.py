"""Where named scenarios live: the YAML files of one folder, found by name without path tricks.

A name is an id (`contract.topics.ID_PATTERN`) and maps to `<dir>/<name>.yaml`, so a name can never reach
outside the folder. The folder is `IOT_MOCK_SCENARIOS_DIR`, else the checkout's `scenarios/`, else the
copy bundled in the installed package. Apart from the loader, so that `extends: NAME` can find a base.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.contract.topics import ID_PATTERN

NAME = re.compile(ID_PATTERN)


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
    return sorted(p.stem for p in folder.glob("*.yaml") if NAME.match(p.stem))


def named_file(name: str) -> Path | None:
    """The file of a named scenario, or None when there is no scenario of that name."""
    if not NAME.match(name):
        return None
    candidate = scenarios_dir() / f"{name}.yaml"
    return candidate if candidate.is_file() else None
