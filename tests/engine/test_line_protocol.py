"""`--out FILE.lp`: InfluxDB line protocol with exactly the values of the JSON lines, read back and compared."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from tests.engine.test_cli import iot_mock

LINE = re.compile(
    r"^meter_reading,device_id=(?P<device_id>[A-Za-z0-9_-]+) power=(?P<power>[0-9.]+),voltage=(?P<voltage>[0-9.]+),"
    r"current=(?P<current>[0-9.]+),energy=(?P<energy>[0-9.]+),enabled=(?P<enabled>true|false),seq=(?P<seq>[0-9]+)i "
    r"(?P<ns>[0-9]+)$"
)


def test_line_protocol_holds_the_json_lines_values_byte_for_byte(tmp_path: Path) -> None:
    """meter-faults over 10 hours: duplicates, late and forwarded readings, a rollover, sub-kW values."""
    lp, jsonl = tmp_path / "r.lp", tmp_path / "r.jsonl"
    done = iot_mock("run", "meter-faults", "--duration", "10h", "--out", str(lp), "--out", str(jsonl))
    assert done.returncode == 0, done.stderr
    lines, objects = lp.read_text().splitlines(), jsonl.read_text().splitlines()
    assert len(lines) == len(objects) > 20_000
    for line, text in zip(lines, objects, strict=True):
        match = LINE.match(line)
        assert match, line
        # The JSON's own number tokens, as written (json.loads would lose "0.000" vs "0.0").
        tokens = dict(re.findall(r'"(power|voltage|current|energy|seq)":([0-9.]+)', text))
        reading = json.loads(text)
        assert {key: match[key] for key in tokens} == tokens, line
        assert (match["device_id"], match["enabled"]) == (reading["device_id"], str(reading["enabled"]).lower())
        instant = datetime.fromisoformat(reading["timestamp"].replace("Z", "+00:00"))
        assert int(match["ns"]) == round(instant.timestamp() * 1000) * 1_000_000
