"""`iot-mock run --check EXPECTED.json` and `iot-mock report diff A B`: a CI gate on the run report."""

from __future__ import annotations

import json
from pathlib import Path

from engine.runtime.report_check import differences
from tests.engine.test_cli import iot_mock

SMALL = "meter-faults"


def test_differences_name_the_device_the_field_and_both_values() -> None:
    expected = {
        "run_id": "a", "wall_seconds": 1.0, "readings": 10,
        "scenario": {"name": "x", "source": "/here/x.yaml", "chain": [{"source": "/here/x.yaml", "sha256": "1"}]},
        "devices": [{"device_id": "ac", "energy_kwh": 1.5}, {"device_id": "rack", "energy_kwh": 2.0}],
        "events": [{"t": 0.0, "action": "outage"}],
    }  # fmt: skip
    got = {
        "run_id": "b", "wall_seconds": 9.0, "readings": 11,
        "scenario": {"name": "x", "source": "/there/x.yaml", "chain": [{"source": "/there/x.yaml", "sha256": "1"}]},
        "devices": [{"device_id": "rack", "energy_kwh": 2.0}, {"device_id": "oven", "energy_kwh": 0.5},
                    {"device_id": "ac", "energy_kwh": 1.25}],
        "events": [{"t": 0.0, "action": "outage"}, {"t": 60.0, "action": "outage"}],
    }  # fmt: skip
    assert [str(d) for d in differences(expected, got)] == [
        "readings: expected 10, got 11",
        "devices[ac].energy_kwh: expected 1.5, got 1.25",  # matched by id, not by place
        'devices[oven]: expected (missing), got {"device_id": "oven", "energy_kwh": 0.5}',
        'events[1]: expected (missing), got {"t": 60.0, "action": "outage"}',
    ]
    assert differences(expected, expected) == []
    assert [str(d) for d in differences({"energy_kwh": 1}, {"energy_kwh": 1.0})] == ["energy_kwh: expected 1, got 1.0"]


def test_a_run_checked_against_its_own_report_passes_and_a_changed_one_fails(tmp_path: Path) -> None:
    report = tmp_path / "expected.json"
    done = iot_mock("run", SMALL, "--duration", "2h", "--out", str(tmp_path / "r.jsonl"), "--report", str(report))
    assert done.returncode == 0, done.stderr
    again = iot_mock("run", SMALL, "--duration", "2h", "--out", str(tmp_path / "s.jsonl"), "--check", str(report))
    assert again.returncode == 0 and again.stderr == "", again.stderr  # run id and wall time differ: ignored
    data = json.loads(report.read_text())
    data["devices"][1]["energy_reported_kwh"] = 1.0
    data["faults"][0]["seq"]["lights"] = [0, 0]
    report.write_text(json.dumps(data))
    failed = iot_mock("run", SMALL, "--duration", "2h", "--out", str(tmp_path / "t.jsonl"), "--check", str(report))
    assert failed.returncode == 1
    lines = failed.stderr.splitlines()
    assert lines[0].startswith("error: report differs: devices[chiller].energy_reported_kwh: expected 1.0, got ")
    assert lines[1] == "error: report differs: faults[0].seq.lights: expected [0, 0], got [112, 112]"
    assert lines[2] == f"error: 2 differences from {report}"


def test_report_diff_exits_like_diff(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"run_id": "1", "seed": 3, "readings": 5}))
    b.write_text(json.dumps({"run_id": "2", "seed": 3, "readings": 5}))
    assert iot_mock("report", "diff", str(a), str(b)).returncode == 0
    b.write_text(json.dumps({"run_id": "2", "seed": 4, "readings": 5}))
    differ = iot_mock("report", "diff", str(a), str(b))
    assert (differ.returncode, differ.stdout) == (1, "seed: expected 3, got 4\n")
    b.write_text("{not json")
    broken = iot_mock("report", "diff", str(a), str(b))
    assert broken.returncode == 2 and broken.stderr.startswith(f"error: {b}: not a readable run report")
    missing = iot_mock("run", SMALL, "--duration", "1m", "--check", str(tmp_path / "none.json"))
    assert missing.returncode == 1 and "none.json: not a readable run report" in missing.stderr
