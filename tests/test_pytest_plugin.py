"""The pytest plugin: loaded from its entry point, cheap to load, and the documented example passes."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "docs" / "examples" / "test_pipeline_with_iot_mock.py"


def test_the_plugin_is_registered_for_pytest() -> None:
    (entry,) = [e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "iot_mock"]
    assert entry.value == "iot_mock.pytest_plugin"


def test_loading_the_plugin_imports_no_part_of_the_engine() -> None:
    code = "import sys, iot_mock.pytest_plugin; print(sorted(m for m in sys.modules if m.split('.')[0] == 'engine'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_the_documented_example_passes_in_a_users_own_session(tmp_path: Path) -> None:
    (tmp_path / EXAMPLE.name).write_text(EXAMPLE.read_text())
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / EXAMPLE.name)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
