"""The layers hold, and the checks that hold them would catch a breach.

The layer contracts themselves live in pyproject.toml ([tool.importlinter]) and `./dev test` runs
`lint-imports` before pytest. Here: proof that those contracts fail on each kind of wrong import
(in a scratch copy of the packages), and what a static import graph cannot see: what importing the
core really loads, and the wall-clock reads that need no import (`datetime.now()`).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).parents[2]
ENGINE = Path(engine.__file__).parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
FORBIDDEN = ("aiomqtt", "paho", "amqtt", "starlette", "uvicorn", "httpx", "prometheus_client", "api", "iot_mock")


def _core_modules() -> list[str]:
    """Every engine module outside runtime/, the async edge (a new core package is included as it appears)."""
    files = (path.relative_to(ROOT).with_suffix("") for path in ENGINE.rglob("*.py"))
    return sorted(
        ".".join(part for part in file.parts if part != "__init__") for file in files if file.parts[1] != "runtime"
    )


def _lint_imports(checkout: Path) -> subprocess.CompletedProcess[str]:
    command = [str(LINT_IMPORTS), "--no-cache", "--no-logo"]
    return subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the packages and the contracts, for lint-imports (which puts its cwd first on sys.path)."""
    for package in ("engine", "api", "iot_mock"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_copy_keeps_every_contract(checkout: Path) -> None:
    done = _lint_imports(checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 broken." in done.stdout


@pytest.mark.parametrize(
    ("module", "code", "broken"),
    [
        pytest.param(
            "engine/model/device.py",
            "import engine.runtime.clock",
            "engine.model is not allowed to import engine.runtime",
            id="model-imports-runtime",
        ),
        pytest.param(  # indirect, in a function, through the package's re-exports of the simulation
            "engine/model/profiles.py",
            "def _late() -> None:\n    from engine import Simulation",
            "engine.model is not allowed to import engine.simulation",
            id="model-imports-the-simulation-through-engine",
        ),
        pytest.param(
            "engine/scenario/format.py",
            "import aiomqtt",
            "engine.scenario is not allowed to import aiomqtt",
            id="scenario-imports-aiomqtt",
        ),
        pytest.param(
            "engine/simulation/simulation.py",
            "from paho.mqtt import client",
            "engine.simulation is not allowed to import paho",
            id="simulation-imports-paho",
        ),
        pytest.param(
            "engine/simulation/simulation.py",
            "import time",
            "engine.simulation is not allowed to import time",
            id="simulation-reads-the-clock",
        ),
        pytest.param(
            "engine/scenario/compile.py",
            "import asyncio",
            "engine.scenario is not allowed to import asyncio",
            id="scenario-imports-asyncio",
        ),
        pytest.param(
            "engine/runtime/sinks.py",
            "import api.app",
            "engine is not allowed to import api",
            id="runtime-imports-api",
        ),
        pytest.param(
            "api/app.py",
            "import iot_mock.cli",
            "api is not allowed to import iot_mock",
            id="api-imports-the-command-line",
        ),
        pytest.param(  # the exhaustive contract: a new engine package has no layer until it is given one
            "engine/newpart/__init__.py",
            '"""A part of the engine nobody placed."""',
            "- engine.newpart",
            id="an-unplaced-engine-package",
        ),
    ],
)
def test_the_contracts_catch_a_wrong_import(checkout: Path, module: str, code: str, broken: str) -> None:
    path = checkout / module
    path.parent.mkdir(exist_ok=True)
    path.write_text((path.read_text() if path.exists() else "") + f"\n{code}\n")
    done = _lint_imports(checkout)
    assert done.returncode == 1, done.stdout + done.stderr
    assert broken in done.stdout


def test_importing_the_core_loads_no_network_web_or_runtime_code() -> None:
    """Imports the static graph cannot follow: a third-party package that pulls one in, an importlib call."""
    modules = _core_modules()
    assert {"engine.simulation", "engine.scenario.loader", "engine.contract.readings"} <= set(modules)
    probe = (
        f"import importlib, sys; [importlib.import_module(name) for name in {modules!r}];"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m.startswith('engine.runtime')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_the_core_never_reads_the_wall_clock_through_datetime() -> None:
    """The core needs `datetime` for calendars, so no import contract can forbid `datetime.now()`.

    `time` (and threads, processes, sockets) is forbidden to the core by an import contract, the
    template render deadline aside; this is the rest of that rule.
    """
    clock_reads = {"now", "utcnow", "today"}
    offenders = []
    for name in _core_modules():
        path = ROOT / (name.replace(".", "/") + ".py")
        path = path if path.exists() else ROOT / name.replace(".", "/") / "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in clock_reads:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.func.attr}()")
    assert offenders == []


def test_public_names_are_exported() -> None:
    assert sorted(engine.__all__) == engine.__all__
    for name in engine.__all__:
        assert getattr(engine, name) is not None
