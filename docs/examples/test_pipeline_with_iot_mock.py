"""An example of the iot-mock pytest plugin in a user's own test suite (docs/pytest-plugin.md).

The "pipeline" here is a stand-in for yours: it flags readings whose seq skips, which is how a
platform notices readings lost at the meter. The run's report says which ones really were lost.
"""

from __future__ import annotations

from collections import defaultdict


def lost_readings(readings: list[dict]) -> dict[str, int]:
    """A toy pipeline step: per device, how many seq numbers never arrived."""
    seen: dict[str, set[int]] = defaultdict(set)
    for reading in readings:
        seen[reading["device_id"]].add(reading["seq"])
    return {device: max(seqs) + 1 - len(seqs) for device, seqs in seen.items()}


def test_the_pipeline_counts_exactly_the_readings_lost_at_the_meter(iot_mock_run):
    run = iot_mock_run("meter-faults", duration="12h")
    truth = {device["device_id"]: device["dropped_at_meter"] for device in run.report["devices"]}
    assert lost_readings(run.readings) == truth
    assert truth["rack-a"] == 140  # the comm loss at 09:00 overflowed its 100-reading buffer


def test_columns_hold_the_same_values(iot_mock_run):
    run = iot_mock_run("default", duration="1h", seed=7)
    assert len(run.columns["power"]) == len(run.readings) == 5 * 360
    assert run.columns["power"].tolist() == [reading["power"] for reading in run.readings]
    assert run.statuses[0]["status"] == "online"
