"""`./dev` on a fresh machine: what it installs for each command, in a scratch copy of the script.

The scratch folder holds the real `dev` and stand-in tools (a `python` and `pip` that log their
arguments, an `ldd` that reports what a minimal Debian lacks), so no real install runs.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

DEV = Path(__file__).parents[1] / "dev"


def _tool(path: Path, script: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _checkout(tmp_path: Path) -> tuple[Path, Path]:
    """A checkout with `dev`, a venv whose python logs pip calls, and a log file."""
    shutil.copy(DEV, tmp_path / "dev")
    (tmp_path / "pyproject.toml").write_text("")
    log = tmp_path / "log"
    _tool(tmp_path / ".venv" / "bin" / "python", f'echo "python $*" >> {log}\n')
    for name in ("iot-mock", "ruff", "mypy", "lint-imports", "pytest"):
        _tool(tmp_path / ".venv" / "bin" / name, f'echo "{name} $*" >> {log}\n')
    return tmp_path, log


def _dev(checkout: Path, *args: str, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `dev` with PATH set to `path` alone when given."""
    env = {**os.environ, "PATH": str(path) if path else os.environ["PATH"]}
    bash = shutil.which("bash") or "/bin/bash"
    return subprocess.run([bash, "dev", *args], cwd=checkout, env=env, capture_output=True, text=True, timeout=30)


def test_serve_installs_the_package_alone_and_test_adds_the_dev_tools(tmp_path: Path) -> None:
    checkout, log = _checkout(tmp_path)
    done = _dev(checkout, "serve", "--port", "9000")
    assert done.returncode == 0, done.stderr
    pip = [line for line in log.read_text().splitlines() if "pip install" in line and "--upgrade" not in line]
    assert pip == ["python -m pip install -q --disable-pip-version-check -e ."]
    assert log.read_text().splitlines()[-1] == "iot-mock serve --port 9000"
    again = _dev(checkout, "iot-mock", "--version")
    assert again.returncode == 0 and "installing" not in again.stderr  # installed once


def test_a_typo_is_a_usage_error_before_any_install(tmp_path: Path) -> None:
    checkout, log = _checkout(tmp_path)
    done = _dev(checkout, "srve")
    assert done.returncode == 2 and done.stderr.startswith("usage: ./dev serve")
    assert not log.exists()


def test_test_names_every_system_package_a_minimal_debian_lacks(tmp_path: Path) -> None:
    """Debian minbase plus python3: no broker, no openssl, no browser, no node (aedes), no libatomic1 (Playwright)."""
    checkout, log = _checkout(tmp_path)
    node = checkout / ".venv" / "lib" / "python3.11" / "site-packages" / "playwright" / "driver" / "node"
    _tool(node, "")
    tools = tmp_path / "tools"  # the only PATH: the basics dev uses, and what a test adds
    tools.mkdir()
    (tools / "python3").symlink_to(sys.executable)
    for name in ("awk", "tr", "head", "touch", "dirname"):
        (tools / name).symlink_to(shutil.which(name) or name)
    # What ldd says of that node on Debian minbase, until "ldd.fixed" exists (libatomic1 installed).
    minbase = '[ -e "$0.fixed" ] || echo "\tlibatomic.so.1 => not found"\necho "\tlibc.so.6 => /lib/libc.so.6"\n'
    _tool(tools / "ldd", minbase)
    _tool(tools / "id", "echo 1000\n")  # not root: dev names the packages instead of installing them
    done = _dev(checkout, "test", path=tools)
    assert done.returncode == 2
    broker = "" if Path("/usr/sbin/mosquitto").exists() else "mosquitto "  # dev also looks there, off PATH
    assert done.stderr.splitlines()[-1] == (
        f"dev: the tests need: sudo apt-get install {broker}mosquitto-clients openssl chromium nodejs npm libatomic1"
    )
    assert "pytest" not in log.read_text()
    for name in ("mosquitto", "mosquitto_sub", "openssl", "chromium", "node", "ldd.fixed"):
        _tool(tools / name, "")
    (tools / "mkdir").symlink_to(shutil.which("mkdir") or "mkdir")
    _tool(tools / "npm", f'echo "npm $*" >> {log}\nmkdir -p "$3/node_modules"\n')  # npm ci --prefix DIR
    fixed = _dev(checkout, "test", "-q", path=tools)
    assert fixed.returncode == 0, fixed.stderr
    assert "npm ci --prefix tests/brokers --no-audit --no-fund --loglevel=error" in log.read_text()
    assert log.read_text().splitlines()[-1] == "pytest -q"
