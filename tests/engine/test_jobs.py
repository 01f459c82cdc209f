"""`iot-mock run --jobs N`: the run in N processes writes exactly the bytes of one process, and the same report."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine import load_named
from engine.contract.readings import Encoder
from engine.errors import IotMockError
from engine.runtime.driver import run_virtual
from engine.runtime.jobs import _Places, _Worker, _write_stretches, blocks
from engine.runtime.report_check import differences
from engine.runtime.sinks import MemorySink
from engine.simulation import Simulation
from engine.simulation.journal import Entry, merge_journals
from tests.api.conftest import wait_until
from tests.engine.test_cli import iot_mock
from tests.helpers import scenario_text

FLEET = scenario_text(
    """
    stagger: true
    devices:
    {% for i in range(23) %}
      - {id: "m{{ '%02d' % i }}", kind: {{ ["hvac", "server", "industrial", "lighting", "appliance"][i % 5] }},
         interval: {{ [10, 15, 30][i % 3] }}s}
    {% endfor %}
    events:
      - {at: "+1h", action: outage, target: all, duration: 10m}
      - {rate: "3/h", action: comm_loss, target: {kind: server}, duration: 5m}
      - {at: "+2h", action: set_interval, target: [m00, m22], interval: 5s}
      - {at: "+2h30m", action: duplicate, target: all, probability: 0.1, duration: 1h}
      - {at: "+3h", action: out_of_order, target: {kind: server}, probability: 0.1, max_delay: 30s, duration: 1h}
      - {at: "+3h", action: trip, target: {kind: appliance}}
      - {at: "+3h30m", action: clear_trip, target: all}
      - {at: "+4h", action: brownout, target: {kind: hvac}, factor: 0.8, duration: 20m}
    """
)
"""A templated fleet, staggered, whose events span every worker's block (set_interval moves the batch cuts)."""


def _run(
    scenario: str, folder: Path, jobs: int, suffixes: tuple[str, ...], *more: str
) -> tuple[list[bytes], dict[str, object]]:
    outputs = [folder / f"jobs{jobs}{suffix}" for suffix in suffixes]
    report = folder / f"jobs{jobs}.json"
    args = [arg for out in outputs for arg in ("--out", str(out))]
    done = iot_mock("run", scenario, *more, *args, "--report", str(report), "--jobs", str(jobs))
    assert done.returncode == 0, done.stderr
    return [out.read_bytes() for out in outputs], json.loads(report.read_text())


@pytest.mark.parametrize(
    ("scenario", "duration", "suffixes"),
    [
        ("meter-faults", None, (".jsonl", ".csv", ".lp", ".parquet")),
        ("office-week", "2d", (".jsonl", ".parquet")),
        ("fleet", "6h", (".jsonl", ".lp", ".parquet")),
    ],
)
def test_jobs_write_the_bytes_and_the_report_of_one_process(
    tmp_path: Path, scenario: str, duration: str | None, suffixes: tuple[str, ...]
) -> None:
    if scenario == "fleet":
        scenario = str(tmp_path / "fleet.yaml")
        Path(scenario).write_text(FLEET)
    more = ("--duration", duration) if duration else ()
    one, report = _run(scenario, tmp_path, 1, suffixes, *more)
    assert all(len(data) > 10_000 for data in one)
    assert report["faults"] and report["events"]
    for jobs in (2, 3):
        got, got_report = _run(scenario, tmp_path, jobs, suffixes, *more)
        for suffix, expected, data in zip(suffixes, one, got, strict=True):
            assert data == expected, f"--jobs {jobs} {suffix} differs"
        assert differences(report, got_report) == []


def test_jobs_to_stdout_print_what_one_process_prints() -> None:
    one = subprocess.run([sys.executable, "-m", "iot_mock", "run", "meter-faults", "--duration", "3h"],
                         capture_output=True, timeout=120)  # fmt: skip
    two = subprocess.run([sys.executable, "-m", "iot_mock", "run", "meter-faults", "--duration", "3h", "--jobs", "2"],
                         capture_output=True, timeout=120)  # fmt: skip
    assert one.returncode == two.returncode == 0, two.stderr
    assert len(one.stdout) > 100_000
    assert two.stdout == one.stdout


def test_blocks_are_contiguous_and_balanced() -> None:
    assert blocks(7, 3) == [range(0, 2), range(2, 4), range(4, 7)]
    assert blocks(2, 2) == [range(0, 1), range(1, 2)]


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_count_of_jobs_is_refused(value: str) -> None:
    done = iot_mock("run", "default", "--jobs", value)
    assert done.returncode == 2
    assert "must be a count of processes (1 or more) or auto" in done.stderr


def test_jobs_do_not_publish_to_mqtt() -> None:
    done = iot_mock("run", "default", "--duration", "1m", "--jobs", "2", "--mqtt", "mqtt://127.0.0.1:1")
    assert done.returncode == 1
    assert "--jobs: a run that publishes to MQTT (--mqtt) runs in one process" in done.stderr


def _descendants(pid: int) -> set[int]:
    """Processes below `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _long_run(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    out = tmp_path / "long.jsonl"
    command = [sys.executable, "-m", "iot_mock", "run", "datacenter-day", "--duration", "30d", "--jobs", "2",
               "--out", str(out)]  # fmt: skip
    child = subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True)
    wait_until(lambda: out.exists() and out.stat().st_size > 0, timeout=60)  # the workers run and write
    return child, out


def test_a_failed_worker_stops_the_run_with_a_clear_error(tmp_path: Path) -> None:
    child, _ = _long_run(tmp_path)
    try:
        workers = [pid for pid in _descendants(child.pid) if b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        victim = max(workers)  # the forkserver's children come after it
        os.kill(victim, signal.SIGKILL)
        _, stderr = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 1
    assert "--jobs 2: worker" in stderr.decode()
    assert "ended unexpectedly (exit code -9)" in stderr.decode()
    wait_until(lambda: not _descendants(child.pid) and _session_gone(child.pid), timeout=60)


def test_a_worker_that_dies_with_its_answer_unread_is_reported_as_ended() -> None:
    """A worker killed before it read the parent's last message resets the pipe (ECONNRESET, not EOF): the same
    clear error, on the next receive and on a send. (A fork that only sleeps holds the worker's end.)"""
    conn, theirs = multiprocessing.Pipe(duplex=True)
    process = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,), daemon=True)
    process.start()
    theirs.close()
    worker = _Worker("--jobs 2: worker 2 (devices 3 to 4)", process, conn)
    try:
        conn.send_bytes(b"places")  # never read
        process.kill()
        with pytest.raises(IotMockError, match=r"worker 2 \(devices 3 to 4\) ended unexpectedly \(exit code -9\)"):
            worker.receive()
        with pytest.raises(IotMockError, match="ended unexpectedly"):
            worker.send(_Places(()))
    finally:
        worker.stop()


def test_ctrl_c_stops_every_worker(tmp_path: Path) -> None:
    child, _ = _long_run(tmp_path)
    try:
        assert len(_descendants(child.pid)) >= 2
        os.killpg(child.pid, signal.SIGINT)  # what a terminal sends: the whole group
        child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130
    wait_until(lambda: _session_gone(child.pid), timeout=60)


def _session_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_journals_of_the_parts_merge_into_the_whole_runs() -> None:
    """One entry per step with the targets of every part in device order; an entry no part has a target for is
    kept only when every part recorded it; occurrences renumbered in the order of their starts."""
    rank = {"a": 0, "b": 1, "c": 2}
    first = [
        Entry(5.0, "outage", "start", ("c",), "scenario", occurrence=7, next_seq=(3,), key=(5.0, 0, 1, 0)),
        Entry(6.0, "trip", "start", ("c",), "meter", occurrence=8, next_seq=(4,), key=(6.0, 1, "c")),
        Entry(9.0, "outage", "end", (), "scenario", occurrence=7, key=(9.0, 0, 2, 0)),
        Entry(9.5, "reset", "start", (), "scenario", key=(9.5, 0, 3, 0)),
    ]
    second = [
        Entry(5.0, "outage", "start", ("a", "b"), "scenario", occurrence=0, next_seq=(1, 2), key=(5.0, 0, 1, 0)),
        Entry(9.5, "reset", "start", (), "scenario", key=(9.5, 0, 3, 0)),
    ]
    merged = merge_journals([first, second], rank)
    assert [(e.t, e.action, e.targets, e.next_seq, e.occurrence) for e in merged] == [
        (5.0, "outage", ("a", "b", "c"), (1, 2, 3), 0),
        (6.0, "trip", ("c",), (4,), 1),
        (9.5, "reset", (), (), None),  # the empty end at 9.0 is left out: the second part did not record it
    ]


def test_the_encoder_says_where_each_line_ends() -> None:
    """The line ends a worker sends are where the newlines are, in every text form (meter-faults: late and
    duplicated readings, millisecond timestamps)."""
    loaded = load_named("meter-faults")
    sink = MemorySink()
    run_virtual(Simulation(loaded.plan, sink), 6 * 3600)
    encoder = Encoder(loaded.plan.start_epoch)
    for batch in sink.batches:
        for form in ("jsonl", "csv", "lp"):
            ends = encoder.line_ends(batch, form)  # computed from the values, not from the text
            encoded = {"jsonl": encoder.jsonl, "csv": encoder.csv, "lp": encoder.line_protocol}[form](batch)
            newlines = np.flatnonzero(np.frombuffer(encoded, dtype=np.uint8) == ord("\n")) + 1
            assert ends.tolist() == newlines.tolist()


def test_a_workers_stretches_are_written_as_its_blocks_come(tmp_path: Path) -> None:
    """Stretches that start, end and span several blocks go to their offsets; a text shorter or longer than
    its line ends said is a bug, stopped, not a corrupt file."""
    text = bytes(range(65, 91)) * 4  # 104 bytes
    blocks = [memoryview(text)[a:b] for a, b in ((0, 10), (10, 40), (40, 41), (41, 104))]
    stretches = [[0, 5, 200], [5, 45, 0], [45, 46, 100], [46, 104, 300]]
    path = tmp_path / "out"
    path.write_bytes(b"")
    fd = os.open(path, os.O_WRONLY)
    try:
        _write_stretches(fd, iter(blocks), stretches, len(text))
        got = path.read_bytes()
        with pytest.raises(AssertionError, match="its line ends said 105"):
            _write_stretches(fd, iter(blocks), [[0, 105, 400]], 105)
    finally:
        os.close(fd)
    assert len(got) == 358
    assert got[0:40] == text[5:45] and got[100:101] == text[45:46]
    assert got[200:205] == text[0:5] and got[300:358] == text[46:104]


RECORDING = """\
version: 1
extends: meter-faults
name: meter-faults-recording
duration: 7200.5
seed: 3
session:
  start: '2025-07-14T06:00:00+00:00'
  changes:
  - {at: 61.25, action: outage, target: [roof-hvac], duration: 300.0}
  - {at: 1000.125, action: set_power, target: [kitchen], kw: 3.0}
  - {at: 1500.0, action: create_device, device: {id: rack-z, kind: server, interval: 5.0}}
  - {at: 2000.0, action: delete_device, target: [kitchen]}
"""


def test_a_recording_with_jobs_replays_in_one_process_and_writes_the_same_bytes(tmp_path: Path) -> None:
    """A recorded change reaches devices of every block and creates devices no block has: one process."""
    (tmp_path / "rec.yaml").write_text(RECORDING)
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs-{jobs}.jsonl"
        done = iot_mock("run", str(tmp_path / "rec.yaml"), "--jobs", jobs, "--out", str(out), "--no-progress")
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert "note: --jobs 2: a recording's session replays in one process" in done.stderr
    assert outputs[0] == outputs[1] and b'"rack-z"' in outputs[0]


def test_a_recording_of_an_unsharded_session_refuses_a_shard(tmp_path: Path) -> None:
    (tmp_path / "rec.yaml").write_text(RECORDING)
    done = iot_mock("run", str(tmp_path / "rec.yaml"), "--shard", "1/2", "--out", str(tmp_path / "x.jsonl"))
    assert done.returncode == 1
    assert "the recording is of an unsharded session (no session.shard): it replays whole" in done.stderr
