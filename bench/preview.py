"""`iot-mock preview` timing, whole process as a user runs it: a week of 100 devices to PNG, SVG and HTML.

100 templated devices of every kind at a 30 s interval for 7 days (2,016,000 readings), with a site
outage, a brownout of every HVAC unit, a comm loss of five racks and seeded spikes: the run, the
reduction to buckets and the drawing, each format `--repeat` times (the best time is printed, as
the machine is shared). Needs the `preview` extra.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WEEK_OF_100 = """\
version: 1
name: bench-preview-100
start: 2025-08-04T00:00:00
timezone: Europe/Berlin
duration: 7d
seed: 42
devices:
{% set kinds = ["hvac", "lighting", "server", "industrial", "appliance"] %}
{% for i in range(100) %}
  - {id: "{{ kinds[i % 5] }}-{{ '%03d' % i }}", kind: {{ kinds[i % 5] }}, interval: 30s}
{% endfor %}
events:
  - {at: "2025-08-05T14:00", action: outage, target: all, duration: 30m}
  - {at: "2025-08-07T09:15", action: brownout, target: {kind: hvac}, factor: 0.88, duration: 45m}
  - {at: "2025-08-06T03:00", action: comm_loss, target: [server-002, server-007, server-012, server-017, server-022],
     duration: 2h}
  - {rate: "1/day", action: spikes, target: industrial-003, probability: 0.2, factor: 3, duration: 20m}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(folder) / "week-of-100.yaml"
        scenario.write_text(WEEK_OF_100)
        for suffix in (".png", ".svg", ".html"):
            out = Path(folder) / f"preview{suffix}"
            best = float("inf")
            for _ in range(args.repeat):
                started = time.perf_counter()
                command = [sys.executable, "-m", "iot_mock", "preview", str(scenario), "--out", str(out)]
                subprocess.run(command, check=True, capture_output=True)
                best = min(best, time.perf_counter() - started)
            print(f"week of 100 devices to {suffix:5}: {best:5.2f} s, {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
