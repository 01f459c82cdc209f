"""--shard auto: each pod takes its shard from the environment Kubernetes gives it, and N pods give the whole run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.model.specs import shard
from engine.scenario.catalog import load_named
from iot_mock.cli import EXIT_BAD_INPUT, EXIT_USAGE, main
from tests.helpers import scenario_text
from tests.runtime.conftest import Mosquitto, free_port
from tests.runtime.mqtt_helpers import collect

TEXT = scenario_text(
    """
    devices:
    {% for i in range(7) %}
      - {id: "d{{ i }}", kind: {{ ["hvac", "server", "industrial"][i % 3] }}, interval: 5m}
    {% endfor %}
    events:
      - {at: "+1h", action: outage, target: [d1, d2], duration: 10m}
    """
)
ORCHESTRATOR = ("HOSTNAME", "JOB_COMPLETION_INDEX")


def _clean_environment() -> dict[str, str]:
    """This machine's environment without anything that places a shard (its own HOSTNAME could read NAME-N)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("IOT_MOCK_") and k not in ORCHESTRATOR}


def _start(scenario: Path, *args: str, **environment: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "iot_mock", "run", str(scenario), "--duration", "3h", *args]
    env = _clean_environment() | environment
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _finish(process: subprocess.Popen[str]) -> tuple[list[str], str]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out.splitlines(), err


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "shards.yaml"
    path.write_text(TEXT)
    return path


@pytest.mark.timeout(35)  # 4.5-6.2 s measured: about 5x, over the 30 s default
def test_an_indexed_job_of_three_gives_the_whole_run(scenario: Path) -> None:
    # As an Indexed Job with completions=3 runs it: one pod per index, each told only its index.
    pods = [_start(scenario, "--shard", "auto", JOB_COMPLETION_INDEX=str(k), IOT_MOCK_SHARDS="3") for k in range(3)]
    whole = _start(scenario)
    parts = [_finish(pod) for pod in pods]
    readings, _ = _finish(whole)
    assert [err for _, err in parts] == ["shard 1/3: 3 of 7 devices\n", "shard 2/3: 2 of 7 devices\n",
                                         "shard 3/3: 2 of 7 devices\n"]  # fmt: skip
    assert all(lines for lines, _ in parts)
    assert sorted(line for lines, _ in parts for line in lines) == sorted(readings)


def test_a_statefulset_pod_takes_its_ordinal_from_its_name(scenario: Path) -> None:
    pod = _start(scenario, HOSTNAME="iot-mock-2", IOT_MOCK_SHARD="auto", IOT_MOCK_SHARDS="3")
    labelled = _start(scenario, "--shard", "auto", IOT_MOCK_POD_INDEX="2", IOT_MOCK_SHARDS="3", HOSTNAME="web")
    given = _start(scenario, "--shard", "3/3")
    expected = _finish(given)
    assert _finish(pod) == expected
    assert _finish(labelled) == expected
    assert expected[1] == "shard 3/3: 2 of 7 devices\n"


def test_a_live_statefulset_pod_publishes_its_shard_only(mosquitto: Mosquitto, tmp_path: Path) -> None:
    # Pod iot-mock-3 of a 10-replica StatefulSet, configured as deploy/kubernetes/statefulset.yaml does.
    expected = {device.id for device in shard(load_named("datacenter-day").plan, 4, 10).devices}
    prefix = f"shard-auto-{os.getpid()}"
    command = [sys.executable, "-m", "iot_mock", "serve", "datacenter-day", "--start", "2026-01-05T00:00:00Z",
               "--port", str(free_port()), "--no-embedded-broker"]  # fmt: skip
    env = _clean_environment() | {
        "HOSTNAME": "iot-mock-3",
        "IOT_MOCK_SHARD": "auto",
        "IOT_MOCK_SHARDS": "10",
        "IOT_MOCK_MQTT_URL": mosquitto.url,
        "IOT_MOCK_TOPIC_PREFIX": prefix,
        "IOT_MOCK_STATE_DB": str(tmp_path / "devices.sqlite3"),
    }

    async def scenario() -> tuple[set[str], str]:
        async with collect(mosquitto.port, f"{prefix}/devices/+/status") as got:
            pod = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
            try:
                await got.wait_for(lambda: {m.topic.split("/")[-2] for m in got.messages} >= expected, timeout=30)
            finally:
                pod.send_signal(signal.SIGTERM)
                _, err = await asyncio.to_thread(pod.communicate, timeout=30)
        return {m.topic.split("/")[-2] for m in got.messages}, err

    published, err = asyncio.run(scenario())
    assert published == expected and len(expected) == 3
    assert err.startswith("shard 4/10: 3 of 27 devices\n")


@pytest.mark.parametrize(
    ("args", "environment", "shard"),
    [
        (["--shard", "2/3"], {"IOT_MOCK_SHARD": "auto"}, "2/3"),  # the flag wins over the environment
        ([], {"IOT_MOCK_SHARD": "1/3"}, "1/3"),
        (["--shard", "auto"], {"JOB_COMPLETION_INDEX": "0", "HOSTNAME": "iot-mock-2", "IOT_MOCK_SHARDS": "3"}, "1/3"),
        (["--shard", "auto"], {"IOT_MOCK_POD_INDEX": "1", "HOSTNAME": "iot-mock-2", "IOT_MOCK_SHARDS": "3"}, "2/3"),
        # The downward API gives "" for a label the pod lacks (Kubernetes before 1.27): the name decides.
        (["--shard", "auto"], {"IOT_MOCK_POD_INDEX": "", "HOSTNAME": "iot-mock-2", "IOT_MOCK_SHARDS": "3"}, "3/3"),
        ([], {"IOT_MOCK_SHARD": "", "JOB_COMPLETION_INDEX": "1"}, None),  # no shard asked for: every device
    ],
)
def test_where_the_shard_comes_from(
    args: list[str],
    environment: dict[str, str],
    shard: str | None,
    scenario: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _set_environment(monkeypatch, environment)
    assert main(["run", str(scenario), "--duration", "10m", *args]) == 0
    err = capsys.readouterr().err
    assert err.partition(":")[0] == (f"shard {shard}" if shard else "")


NO_INDEX = (
    "error: {given}: no shard index (set JOB_COMPLETION_INDEX in an Indexed Job, or run in a StatefulSet pod "
    "named NAME-N; {seen})"
)


@pytest.mark.parametrize(
    ("args", "environment", "message"),
    [
        (["--shard", "auto"], {"IOT_MOCK_SHARDS": "3"},
         NO_INDEX.format(given="--shard auto", seen="HOSTNAME is not set")),
        ([], {"IOT_MOCK_SHARD": "auto", "HOSTNAME": "3f2a9c1b7d4e", "IOT_MOCK_SHARDS": "3"},
         NO_INDEX.format(given="IOT_MOCK_SHARD=auto", seen="HOSTNAME is '3f2a9c1b7d4e'")),
        (["--shard", "auto"], {"JOB_COMPLETION_INDEX": "3"},
         "error: --shard auto: no shard count (set IOT_MOCK_SHARDS to the Job's completions or the StatefulSet's "
         "replicas)"),
        (["--shard", "auto"], {"JOB_COMPLETION_INDEX": "10", "IOT_MOCK_SHARDS": "10"},
         "error: --shard auto: index 10 from JOB_COMPLETION_INDEX is out of range for 10 shards (IOT_MOCK_SHARDS): "
         "an index runs from 0 to 9"),
        (["--shard", "auto"], {"HOSTNAME": "iot-mock-3", "IOT_MOCK_SHARDS": "3"},
         "error: --shard auto: index 3 from HOSTNAME=iot-mock-3 is out of range for 3 shards (IOT_MOCK_SHARDS): "
         "an index runs from 0 to 2"),
        (["--shard", "auto"], {"JOB_COMPLETION_INDEX": "-1", "IOT_MOCK_SHARDS": "3"},
         "error: --shard auto: JOB_COMPLETION_INDEX must be a whole number like 0 or 3, got '-1'"),
        (["--shard", "auto"], {"IOT_MOCK_POD_INDEX": "two", "IOT_MOCK_SHARDS": "3"},
         "error: --shard auto: IOT_MOCK_POD_INDEX must be a whole number like 0 or 3, got 'two'"),
        (["--shard", "auto"], {"JOB_COMPLETION_INDEX": "0", "IOT_MOCK_SHARDS": "ten"},
         "error: --shard auto: IOT_MOCK_SHARDS must be a whole number like 0 or 3, got 'ten'"),
        (["--shard", "auto"], {"JOB_COMPLETION_INDEX": "0", "IOT_MOCK_SHARDS": "0"},
         "error: --shard auto: IOT_MOCK_SHARDS must be at least 1, got '0'"),
        ([], {"IOT_MOCK_SHARD": "4/3"},
         "error: IOT_MOCK_SHARD: must be K/N with 1 <= K <= N, like 2/4, or auto, got '4/3'"),
    ],
)  # fmt: skip
def test_a_shard_that_cannot_be_placed_is_one_error_line(
    args: list[str],
    environment: dict[str, str],
    message: str,
    scenario: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _set_environment(monkeypatch, environment)
    assert main(["run", str(scenario), *args]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", message + "\n")


def test_serve_checks_the_shard_before_it_starts_anything(tmp_path: Path) -> None:
    # Nothing listens at this broker address: a serve that got further would start the embedded one.
    command = [sys.executable, "-m", "iot_mock", "serve", "--shard", "auto", "--port", "0"]
    env = _clean_environment() | {"IOT_MOCK_SHARDS": "3", "IOT_MOCK_STATE_DB": str(tmp_path / "devices.sqlite3")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert (done.returncode, done.stdout) == (EXIT_BAD_INPUT, "")
    assert done.stderr == NO_INDEX.format(given="--shard auto", seen="HOSTNAME is not set") + "\n"
    assert not (tmp_path / "devices.sqlite3").exists()


def test_a_bad_shard_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["run", "--shard", "automatic"])
    assert stopped.value.code == EXIT_USAGE
    expected = "argument --shard: must be K/N with 1 <= K <= N, like 2/4, or auto, got 'automatic'"
    assert expected in capsys.readouterr().err


def _set_environment(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> None:
    for name in [*ORCHESTRATOR, "IOT_MOCK_SHARD", "IOT_MOCK_SHARDS", "IOT_MOCK_POD_INDEX"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
