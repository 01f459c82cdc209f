"""Virtual-run throughput, whole process: `iot-mock run` writing JSON lines to a file.

(a) the default scenario's five devices at a 1 s interval for 7 days (3,024,000 readings);
(b) 1,000 templated devices of every kind at a 10 s interval for 1 day (8,640,000 readings);
(c) the same to a Parquet file (the `parquet` extra) and (d) to InfluxDB line protocol.
Prints readings per second for each; (b) with `--jobs 1` and `--jobs 2` and (c) run side by side in
alternating rounds, with the median and spread of each and of their ratios. `--quick` runs a tenth of each span.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
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


def measure(label: str, scenario: str, duration: str, folder: Path, suffix: str = ".jsonl", jobs: int = 1) -> float:
    """Readings per second of one whole `iot-mock run` (start-up included), printed and returned."""
    path = folder / f"{label}.yaml"
    path.write_text(scenario)
    out = folder / f"{label}{suffix}"
    command = [sys.executable, "-m", "iot_mock", "run", str(path), "--duration", duration, "--out", str(out)]
    started = time.perf_counter()
    subprocess.run([*command, "--jobs", str(jobs)], check=True)
    elapsed = time.perf_counter() - started
    if suffix == ".parquet":
        import pyarrow.parquet

        count = pyarrow.parquet.ParquetFile(out).metadata.num_rows
    else:
        with out.open("rb") as stream:
            count = sum(1 for _ in stream)
    size = out.stat().st_size
    out.unlink()
    rate: float = count / elapsed
    print(f"{label}: {count:,} readings in {elapsed:.2f} s = {rate:,.0f} readings/s ({size / elapsed / 1e6:.0f} MB/s)")
    return rate


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
        rounds: dict[str, list[float]] = {"b-jsonl-jobs-1": [], "b-jsonl-jobs-2": [], "c-parquet": []}
        for _ in range(args.rounds):  # alternating, so a noisy neighbour hits every figure alike
            rounds["b-jsonl-jobs-1"].append(measure("b-1000-devices-10s-1d", THOUSAND_DEVICES, day, folder))
            rounds["b-jsonl-jobs-2"].append(
                measure("b-1000-devices-10s-1d-jobs-2", THOUSAND_DEVICES, day, folder, jobs=2)
            )
            rounds["c-parquet"].append(
                measure("c-1000-devices-10s-1d-parquet", THOUSAND_DEVICES, day, folder, ".parquet")
            )
    print(f"\nside by side, {args.rounds} alternating rounds (readings/s: median, min to max):")
    for label, rates in rounds.items():
        print(f"  {label:<16} {statistics.median(rates):>12,.0f}   {min(rates):>12,.0f} to {max(rates):,.0f}")
    one, two, parquet = rounds.values()
    jobs = sorted(b / a for a, b in zip(one, two, strict=True))
    ratio = sorted(c / a for a, c in zip(one, parquet, strict=True))
    print(f"  jobs 2 / jobs 1: median {statistics.median(jobs):.2f}x ({jobs[0]:.2f}x to {jobs[-1]:.2f}x), per round")
    print(f"  parquet / jsonl: median {statistics.median(ratio):.2f}x ({ratio[0]:.2f}x to {ratio[-1]:.2f}x), per round")


if __name__ == "__main__":
    main()
