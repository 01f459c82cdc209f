"""The core stays pure: no network, web or async client code is imported by it."""

from __future__ import annotations

import subprocess
import sys

import engine

FORBIDDEN = ("aiomqtt", "paho", "starlette", "uvicorn", "httpx", "api", "engine.runtime")


def test_core_imports_no_network_or_runtime_code() -> None:
    probe = (
        "import sys, engine.simulation, engine.scenario.loader, engine.scenario.catalog, engine.contract.readings;"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m.startswith('engine.runtime')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_core_never_reads_the_wall_clock() -> None:
    from pathlib import Path

    root = Path(engine.__file__).parent
    core = [
        *root.joinpath("model").glob("*.py"),
        *root.joinpath("scenario").glob("*.py"),
        root / "simulation.py",
    ]
    offenders = [
        str(path.relative_to(root))
        for path in core
        if any(call in path.read_text() for call in ("time.time(", "datetime.now(", "time.monotonic(", "time.sleep("))
        and path.name != "template.py"  # the template render limit is the one wall-clock deadline
    ]
    assert offenders == []


def test_public_names_are_exported() -> None:
    assert sorted(engine.__all__) == engine.__all__
    for name in engine.__all__:
        assert getattr(engine, name) is not None
