"""The `iot-mock` entry point starts the template forkserver before it imports the engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.scenario import isolation
from iot_mock import entry

ROOT = Path(__file__).resolve().parents[2]


def test_the_preloaded_module_is_the_renderer() -> None:
    assert isolation.__name__ == entry.RENDERER


def _python(*arguments: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter in the checkout (a script path, or `-c` and code)."""
    return subprocess.run([sys.executable, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=60)


def _children(argv: list[str]) -> str:
    """How many forkservers a fresh process has started once `entry.main(argv)` has run (the command a no-op)."""
    script = (
        "import os, sys\n"
        "import iot_mock.cli\n"  # imported first, so `entry.main` runs no real command below
        "iot_mock.cli.main = lambda argv=None: 0\n"
        "from iot_mock import entry\n"
        f"entry.main({argv!r})\n"
        "me = os.getpid()\n"
        "children = open(f'/proc/{me}/task/{me}/children').read().split()\n"
        "lines = [open(f'/proc/{child}/cmdline').read() for child in children]\n"
        "print(sum('multiprocessing.forkserver' in line for line in lines))\n"
    )
    done = _python("-c", script)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_command_that_loads_a_scenario_starts_the_server_up_front() -> None:
    assert _children(["validate", "x.yaml"]) == "1"


def test_help_and_the_schema_start_no_server() -> None:
    assert _children(["--help"]) == "0"
    assert _children(["schema"]) == "0"


def test_a_script_without_a_main_guard_does_not_run_again_in_the_server(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from pathlib import Path\n"
        f"marker = Path({str(marker)!r})\n"
        "marker.write_text(marker.read_text() + 'x' if marker.exists() else 'x')\n"
        "from iot_mock import entry\n"
        "entry.start_forkserver()\n"
        "from engine.scenario.isolation import render_isolated\n"
        "print(render_isolated('a: {{ 1 + 1 }}', 'inline'))\n"
    )
    done = _python(str(script))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "a: 2"
    assert marker.read_text() == "x"


def test_a_server_that_cannot_start_leaves_the_error_to_the_command() -> None:
    """A read-only root with no writable temporary directory (tests/deploy): the command, not a traceback
    from the early start, tells the user what is missing."""
    script = (
        "import sys\n"
        "from multiprocessing import util\n"
        "def no_temporary_directory():\n"
        "    raise FileNotFoundError(2, 'No usable temporary directory found')\n"
        "util.get_temp_dir = no_temporary_directory\n"
        "from iot_mock import entry\n"
        "sys.exit(entry.main(['validate', 'datacenter-day']))\n"
    )
    done = _python("-c", script)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: "), done.stderr
    assert "needs a writable temporary directory" in done.stderr
