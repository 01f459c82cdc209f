"""Virtual-run throughput, whole process: `iot-mock run` writing JSON lines to a file.

(a) the default scenario's five devices at a 1 s interval for 7 days (3,024,000 readings);
(b) 1,000 templated devices of every kind at a 10 s interval for 1 day (8,640,000 readings);
(c) the same to a Parquet file (the `parquet` extra) and (d) to InfluxDB line protocol.
Prints readings per second for each; `--quick` runs a tenth of each span.
"""

from __future__ import annotations

import argparse
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


def measure(label: str, scenario: str, duration: str, folder: Path, suffix: str = ".jsonl") -> None:
    path = folder / f"{label}.yaml"
    path.write_text(scenario)
    out = folder / f"{label}{suffix}"
    command = [sys.executable, "-m", "iot_mock", "run", str(path), "--duration", duration, "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - started
    if suffix == ".parquet":
        import pyarrow.parquet

        count = pyarrow.parquet.ParquetFile(out).metadata.num_rows
    else:
        with out.open("rb") as stream:
            count = sum(1 for _ in stream)
    size = out.stat().st_size
    rate = count / elapsed
    print(f"{label}: {count:,} readings in {elapsed:.2f} s = {rate:,.0f} readings/s ({size / elapsed / 1e6:.0f} MB/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of each span")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        measure("a-default-5-devices-1s-7d", DEFAULT_AT_1S, "16h48m" if args.quick else "7d", folder)
        measure("b-1000-devices-10s-1d", THOUSAND_DEVICES, "2h24m" if args.quick else "1d", folder)
        measure("c-1000-devices-10s-1d-parquet", THOUSAND_DEVICES, "2h24m" if args.quick else "1d", folder, ".parquet")
        measure("d-1000-devices-10s-1d-lp", THOUSAND_DEVICES, "2h24m" if args.quick else "1d", folder, ".lp")


if __name__ == "__main__":
    main()
