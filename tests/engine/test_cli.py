"""The `iot-mock` command end to end, in a subprocess like a user runs it."""

from __future__ import annotations

import csv
import importlib.metadata
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine import scenario_names
from engine.model.kinds import KINDS
from tests.helpers import READING_FIELDS
from tests.runtime.conftest import Mosquitto
from tests.runtime.mqtt_helpers import retained_on


def iot_mock(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iot_mock", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_run_default_prints_json_lines_in_the_contract_order() -> None:
    done = iot_mock("run", "--duration", "1m")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 5 * 6
    first = json.loads(lines[0])
    assert list(first) == READING_FIELDS
    assert first["device_id"] == "mock-hvac-001"
    assert first["timestamp"] == "2025-08-03T22:00:00Z"  # 00:00 in Berlin (summer time)
    assert {json.loads(line)["device_id"] for line in lines} == {
        "mock-hvac-001", "mock-lighting-001", "mock-server-001", "mock-industrial-001", "mock-kitchen-001"
    }  # fmt: skip
    assert done.stderr == ""


def test_encoded_readings_are_physically_consistent(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    done = iot_mock("run", "office-week", "--duration", "1d", "--out", str(out))
    assert done.returncode == 0, done.stderr
    kinds = {"hvac": "hvac", "lighting": "lighting", "server": "server", "kitchen": "appliance"}
    with out.open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 2 * 2880 + 2 * 1440 + 2880 + 1440
    for row in rows:
        kind = next(k for name, k in kinds.items() if name in row["device_id"])
        power, voltage, current = float(row["power"]), float(row["voltage"]), float(row["current"])
        if power > 0.05:
            computed = 3 * voltage * current * KINDS[kind].power_factor / 1000  # type: ignore[index]
            assert computed == pytest.approx(power, rel=0.01), row


def test_run_writes_several_outputs_and_a_report(tmp_path: Path) -> None:
    jsonl, csv_path, report = tmp_path / "r.jsonl", tmp_path / "r.csv", tmp_path / "report.json"
    done = iot_mock(
        "run", "office-week", "--duration", "2d", "--seed", "3",
        "--out", str(jsonl), "--out", str(csv_path), "--report", str(report),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = jsonl.read_text().splitlines()
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "device_id,timestamp,power,voltage,current,energy,status,enabled,seq"
    assert len(rows) == len(lines) + 1
    data = json.loads(report.read_text())
    assert data["scenario"]["name"] == "office-week" and data["scenario"]["revision"] == 1
    assert len(data["scenario"]["sha256"]) == 64 and data["seed"] == 3
    assert (data["start"], data["end"]) == ("2025-08-03T22:00:00Z", "2025-08-05T22:00:00Z")
    assert data["readings"] == len(lines)
    assert sum(device["readings"] for device in data["devices"]) == len(lines)
    last = {}
    for line in lines:
        reading = json.loads(line)
        last[reading["device_id"]] = reading
    for device in data["devices"]:
        assert device["energy_kwh"] == pytest.approx(last[device["device_id"]]["energy"], abs=0.01)
        assert device["power_kw"]["min"] <= device["power_kw"]["mean"] <= device["power_kw"]["max"]
    assert [(e["timestamp"], e["action"], e["phase"]) for e in data["events"]] == [
        ("2025-08-05T12:00:00Z", "outage", "start"),
        ("2025-08-05T12:30:00Z", "outage", "end"),
    ]


def test_validate_lists_every_issue_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\ndevices:\n  - {id: a, kind: hvac, interval: 0s, noise: 3}\n")
    done = iot_mock("validate", "default", str(bad))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {bad}:4: devices[0].interval: must be between 100ms and 1d, got 0s",
        f"error: {bad}:4: devices[0].noise: input should be less than or equal to 1, got 3",
    ]  # the same `error:` lines as `run` prints
    good = iot_mock("validate", "scenarios/default.yaml", cwd=Path(__file__).parents[2])
    assert good.returncode == 0 and "ok (default revision 1, 5 devices, 0 events)" in good.stdout


def test_validate_a_folder_checks_every_scenario_in_it(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 1\nname: a\ndevices: [{id: x, kind: hvac}]\n")
    (tmp_path / "b.yml").write_text("version: 1\nname: b\ndevices: [{id: y, kind: oven}]\n")
    (tmp_path / "notes.txt").write_text("not a scenario")
    (tmp_path / "empty").mkdir()
    done = iot_mock("validate", str(tmp_path), str(tmp_path / "empty"))
    assert done.returncode == 1
    assert done.stdout == f"{tmp_path / 'a.yaml'}: ok (a revision 1, 1 devices, 0 events)\n"
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"error: {tmp_path / 'b.yml'}:3: devices[0].kind: ")
    assert lines[1] == f"error: {tmp_path / 'empty'}: no scenario files (*.yaml, *.yml) in this folder"
    bundled = iot_mock("validate", "scenarios", cwd=Path(__file__).parents[2])
    assert bundled.returncode == 0 and len(bundled.stdout.splitlines()) == len(scenario_names()), bundled.stderr


def test_version() -> None:
    done = iot_mock("--version")
    assert done.returncode == 0 and done.stdout == f"iot-mock {importlib.metadata.version('iot-mock')}\n"


def test_errors_are_one_line_never_a_traceback(tmp_path: Path) -> None:
    done = iot_mock("run", "no-such-scenario")
    assert done.returncode == 1
    assert done.stderr.startswith("error: no-such-scenario: no such file or named scenario (named scenarios: ")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    done = iot_mock("run", "--out", "x.txt")
    assert done.returncode == 2 and "must end in .jsonl, .csv, .lp or .parquet" in done.stderr
    done = iot_mock("run", "--out", str(tmp_path / "missing" / "x.jsonl"))
    assert done.returncode == 1 and "No such file or directory" in done.stderr and "Traceback" not in done.stderr


def test_schema_and_scenarios() -> None:
    schema = json.loads(iot_mock("schema").stdout)
    assert schema["title"] == "iot-mock scenario, version 1"
    assert {"version", "name", "devices", "events", "profiles", "site"} <= set(schema["properties"])
    assert schema["$defs"]["Device"]["additionalProperties"] is False
    listing = iot_mock("scenarios").stdout
    named = ("default", "office-week", "office-week-ci", "datacenter-day", "factory-shifts", "brownout-storm")
    for name in named:
        assert name in listing
    assert "fleet-1000           r1    1000 devices  A grocery chain's 1,000 meters" in listing


def test_render_shows_the_templated_yaml() -> None:
    done = iot_mock("render", "datacenter-day")
    assert done.returncode == 0
    assert 'id: "rack-b12"' in done.stdout and "{%" not in done.stdout


def test_output_to_a_closed_pipe_stops_quietly() -> None:
    command = f"{sys.executable} -m iot_mock run default --duration 1d | head -n 1"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert len(done.stdout.splitlines()) == 1 and done.stderr == ""


def test_progress_bar_when_asked(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "iot_mock", "run", "--duration", "2h", "--out", str(tmp_path / "r.jsonl")]
    done = subprocess.run([*command, "--progress"], capture_output=True, timeout=60, check=True)
    final = done.stderr.decode().split("\r")[-1]
    assert final.startswith("[##############################] 100%  3,600 readings  ")
    assert final.endswith("/s\n")
    assert done.stderr.decode().count("100%") == 1  # once, with the rate of the whole run


def test_serve_with_the_api_port_taken_fails_before_starting_anything(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """One `error:` line and exit 3, and nothing on the broker: no `online` was ever published."""
    prefix = f"cli-{os.getpid()}-{tmp_path.name}"
    env = {"IOT_MOCK_TOPIC_PREFIX": prefix, "IOT_MOCK_STATE_DB": str(tmp_path / "devices.sqlite3")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = iot_mock("serve", "--mqtt", mosquitto.url, "--port", str(port), "--no-embedded-broker", env=env)
    assert done.returncode == 3
    assert done.stderr == (
        f"error: cannot listen on 127.0.0.1:{port}: address already in use (set --port or IOT_MOCK_API_PORT)\n"
    )
    assert retained_on(mosquitto.port, f"{prefix}/simulator/status") == []


def test_serve_checks_its_files_before_starting_anything(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """A device store that cannot be opened is exit 3, a missing TLS file exit 1; neither publishes."""
    prefix = f"cli-{os.getpid()}-{tmp_path.name}"
    (tmp_path / "a-file").write_text("")
    store = tmp_path / "a-file" / "devices.sqlite3"
    args = ("serve", "--mqtt", mosquitto.url, "--port", "0", "--no-embedded-broker")
    done = iot_mock(*args, env={"IOT_MOCK_TOPIC_PREFIX": prefix, "IOT_MOCK_STATE_DB": str(store)})
    assert done.returncode == 3
    assert done.stderr == (
        f"error: cannot open the device store {store}: File exists: {tmp_path / 'a-file'} (set IOT_MOCK_STATE_DB)\n"
    )
    missing = tmp_path / "ca.pem"
    done = iot_mock(*args, env={"IOT_MOCK_TOPIC_PREFIX": prefix, "IOT_MOCK_MQTT_TLS_CA": str(missing)})
    assert (done.returncode, done.stderr) == (1, f"error: IOT_MOCK_MQTT_TLS_CA: no such file: {missing}\n")
    assert retained_on(mosquitto.port, f"{prefix}/simulator/status") == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("notjson", "each origin must look like http://host[:port] or https://..., got 'notjson'"),
        ('["*"]', "'*' is refused: list the origins that may call the API, got '[\"*\"]'"),
        ("[oops", "must be comma-separated origins or a JSON list like [\"http://localhost:3000\"], got '[oops'"),
    ],
)
def test_a_bad_setting_is_one_error_line(value: str, message: str, tmp_path: Path) -> None:
    done = iot_mock("serve", "--no-embedded-broker", env={"IOT_MOCK_CORS_ORIGINS": value}, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == f"error: bad settings: IOT_MOCK_CORS_ORIGINS: {message}\n"


def test_a_bad_port_flag_is_a_usage_error() -> None:
    done = iot_mock("serve", "--port", "70000")
    assert done.returncode == 2 and "--port: must be a TCP port from 0 to 65535, got '70000'" in done.stderr


def test_hostile_templates_and_yaml_tags_are_error_lines(tmp_path: Path) -> None:
    header = "version: 1\nname: x\ndevices: [{id: a, kind: hvac}]\n"
    files = {
        "center.yaml": "# {{ 'x'|center(1000000000) }}\n",
        "macro.yaml": "# {% macro f() %}{{ f() }}{% endmacro %}{{ f() }}\n",
        "tag.yaml": "description: !foo bar\n",
    }
    paths = []
    for name, body in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_text(header + body)
    done = iot_mock("validate", *map(str, paths))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {paths[0]}:4: template: center: width 1000000000 above 1000000",
        f"error: {paths[1]}:4: template: recursion too deep (does a macro call itself?)",
        f"error: {paths[2]}:4: description: YAML tag '!foo' is not allowed in scenario files; write a plain value",
    ]
    run = iot_mock("run", str(paths[2]))
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"error: {paths[2]}:4: description: YAML tag '!foo' is not allowed in scenario files; write a plain value"
    ]


def test_schema_file_in_docs_is_current() -> None:
    committed = Path(__file__).parents[2] / "docs" / "scenario.schema.json"
    assert json.loads(committed.read_text()) == json.loads(iot_mock("schema").stdout), (
        "docs/scenario.schema.json is stale: iot-mock schema > docs/scenario.schema.json"
    )


def test_a_record_file_without_a_folder_is_refused_before_serving(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "session.yaml"
    done = iot_mock("serve", "--no-embedded-broker", "--record", str(missing), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == f"error: --record {missing}: no folder {str(missing.parent)!r} to write it in\n"


def test_a_recording_of_a_shard_refuses_another_shard(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("version: 1\nname: b\ndevices: [{id: a, kind: hvac}, {id: b, kind: server}]\n")
    recording = tmp_path / "rec.yaml"
    recording.write_text("version: 1\nextends: ./base.yaml\nname: r\nduration: 60\nsession: {shard: 2/2}\n")
    ran = iot_mock("run", str(recording), "--shard", "2/2")
    assert ran.returncode == 0 and {json.loads(line)["device_id"] for line in ran.stdout.splitlines()} == {"b"}
    done = iot_mock("run", str(recording), "--shard", "1/2")
    assert done.returncode == 1
    assert done.stderr == "error: the scenario is shard 2/2 already (its session.shard)\n"
