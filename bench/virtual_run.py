"""Virtual-run throughput, whole process: `iot-mock run` writing JSON lines to a file.

(a) the default scenario's five devices at a 1 s interval for 7 days (3,024,000 readings);
(b) 1,000 templated devices of every kind at a 10 s interval for 1 day (8,640,000 readings);
(c) the same to a Parquet file (the `parquet` extra) and (d) to InfluxDB line protocol.
Prints readings per second for each; (b) with `--jobs 1` and `--jobs 2` and (c) run side by side in
alternating rounds, with the median and spread of each and of their ratios. `--quick` runs a tenth of each span.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_AT_1S = """\
version: 1
name: bench-default-1s
start: 2025-08-04T00:00:00
timezone: Europe/Berlin
seed: 42
devices:
  - {id: mock-hvac-001, kind: hvac, rated_kw: 25, interval: 1s}
  - {id: mock-lighting-001, kind: lighting, rated_kw: 8.5, interval: 1s}
  - {id: mock-server-001, kind: server, rated_kw: 45, interval: 1s}
  - {id: mock-industrial-001, kind: industrial, rated_kw: 120, interval: 1s}
  - {id: mock-kitchen-001, kind: appliance, rated_kw: 15, interval: 1s}
"""

THOUSAND_DEVICES = """\
version: 1
name: bench-1000
start: 2025-08-04T00:00:00
timezone: Europe/Berlin
seed: 42
devices:
{% set kinds = ["hvac", "lighting", "server", "industrial", "appliance"] %}
{% for i in range(1000) %}
  - {id: "dev-{{ '%04d' % i }}", kind: {{ kinds[i % 5] }}, interval: 10s}
{% endfor %}
events:
  - {at: "+12:00", action: outage, target: {kind: hvac}, duration: 30m}
  - {at: "+15:00", action: comm_loss, target: {kind: server}, duration: 10m}
"""


@dataclass
class Figures:
    rate: float
    """Readings per wall second."""
    cpu: float
    """CPU seconds of every thread of every process of the run."""
    busiest: float
    """CPU seconds of its busiest thread: with idle cores, the wall time is at least max(busiest, cpu / cores)."""

    @property
    def on_idle_cores(self) -> float:
        """The least wall time two idle cores could take: no thread runs on two cores, and two cores give
        at most two CPU seconds a second."""
        return max(self.busiest, self.cpu / 2)


def _cpu_seconds(stat: Path) -> float | None:
    """utime + stime of a process or thread, from its `stat`."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _threads(pid: int) -> list[Path]:
    try:
        return list(Path(f"/proc/{pid}/task").glob("*/stat"))
    except OSError:
        return []


def _tree(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = {root}, {root}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def measure(label: str, scenario: str, duration: str, folder: Path, suffix: str = ".jsonl", jobs: int = 1) -> Figures:
    """Readings per second of one whole `iot-mock run` (start-up included) and the CPU time of its processes
    (sampled from /proc every 50 ms: a shared machine's wall time says little about two idle cores)."""
    path = folder / f"{label}.yaml"
    path.write_text(scenario)
    out = folder / f"{label}{suffix}"
    command = [sys.executable, "-m", "iot_mock", "run", str(path), "--duration", duration, "--out", str(out)]
    started = time.perf_counter()
    child = subprocess.Popen([*command, "--jobs", str(jobs)])
    cpu: dict[Path, float] = {}  # by thread
    while child.poll() is None:
        for pid in _tree(child.pid):
            for stat in _threads(pid):
                if (seconds := _cpu_seconds(stat)) is not None:
                    cpu[stat] = max(cpu.get(stat, 0.0), seconds)
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"{label}: exit code {child.returncode}")
    if suffix == ".parquet":
        import pyarrow.parquet

        count = pyarrow.parquet.ParquetFile(out).metadata.num_rows
    else:
        with out.open("rb") as stream:
            count = sum(1 for _ in stream)
    size = out.stat().st_size
    out.unlink()
    rate: float = count / elapsed
    busy = sorted(cpu.values(), reverse=True)
    print(f"{label}: {count:,} readings in {elapsed:.2f} s = {rate:,.0f} readings/s ({size / elapsed / 1e6:.0f} MB/s); "
          f"CPU {sum(busy):.2f} s, busiest thread {busy[0] if busy else 0:.2f} s")  # fmt: skip
    return Figures(rate, sum(busy), busy[0] if busy else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of each span")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the side-by-side figures")
    args = parser.parse_args()
    day = "2h24m" if args.quick else "1d"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        measure("a-default-5-devices-1s-7d", DEFAULT_AT_1S, "16h48m" if args.quick else "7d", folder)
        measure("d-1000-devices-10s-1d-lp", THOUSAND_DEVICES, day, folder, ".lp")
        rounds: dict[str, list[Figures]] = {"b-jsonl-jobs-1": [], "b-jsonl-jobs-2": [], "c-parquet": []}
        for _ in range(args.rounds):  # alternating, so a noisy neighbour hits every figure alike
            rounds["b-jsonl-jobs-1"].append(measure("b-1000-devices-10s-1d", THOUSAND_DEVICES, day, folder))
            rounds["b-jsonl-jobs-2"].append(
                measure("b-1000-devices-10s-1d-jobs-2", THOUSAND_DEVICES, day, folder, jobs=2)
            )
            rounds["c-parquet"].append(
                measure("c-1000-devices-10s-1d-parquet", THOUSAND_DEVICES, day, folder, ".parquet")
            )
    print(f"\nside by side, {args.rounds} alternating rounds (readings/s: median, min to max):")
    for label, figures in rounds.items():
        rates = [f.rate for f in figures]
        print(f"  {label:<16} {statistics.median(rates):>12,.0f}   {min(rates):>12,.0f} to {max(rates):,.0f}")
    one, two, parquet = rounds.values()
    _ratio("jobs 2 / jobs 1", [b.rate / a.rate for a, b in zip(one, two, strict=True)])
    _ratio("parquet / jsonl", [c.rate / a.rate for a, c in zip(one, parquet, strict=True)])
    # On two idle cores a run takes at least the larger of its busiest thread's CPU time and half of all of it
    # (one process's writer thread runs beside its simulating thread, so one process too may use both cores).
    _ratio("jobs 2 / jobs 1 on two idle cores (from CPU times)",
           [a.on_idle_cores / b.on_idle_cores for a, b in zip(one, two, strict=True)])  # fmt: skip
    _ratio("parquet / jsonl on two idle cores (from CPU times)",
           [a.on_idle_cores / c.on_idle_cores for a, c in zip(one, parquet, strict=True)])  # fmt: skip


def _ratio(label: str, values: list[float]) -> None:
    ordered = sorted(values)
    print(f"  {label}: median {statistics.median(ordered):.2f}x ({ordered[0]:.2f}x to {ordered[-1]:.2f}x), per round")


if __name__ == "__main__":
    main()
