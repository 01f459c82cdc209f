"""The pytest plugin: loaded from its entry point, cheap to load, and the documented example passes."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import CommandError

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


def test_a_live_service_against_a_private_broker_takes_commands_and_events(
    iot_mock_mosquitto: str, iot_mock_service: Callable[..., Any]
) -> None:
    """The opt-in broker and the live service of the plugin, as a user's integration test uses them."""
    service = iot_mock_service("default", mqtt_url=iot_mock_mosquitto, speed=300)
    service.wait_for(60.0)
    service.command("mock-hvac-001", "set_power", {"kw": 11})
    port = iot_mock_mosquitto.rsplit(":", 1)[1]
    topic = "energy/devices/mock-hvac-001/data"
    received = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-t", topic, "-C", "3", "-W", "30"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    powers = [json.loads(line)["power"] for line in received.stdout.splitlines()]
    assert len(powers) == 3 and all(9.5 < power < 12.5 for power in powers)  # 11 kW and its noise
    assert service.inject({"action": "outage", "target": {"kind": "hvac"}, "duration": 60}) == ("mock-hvac-001",)
    with pytest.raises(CommandError, match="unknown device"):
        service.command("nobody", "enable")
    start = service.now
    service.wait_for(start + 120.0)
    assert [e.action for e in service.live.sim.journal if e.source == "command"][:2] == ["set_power", "outage"]
    service.stop()
    assert service.live.sim.ended
