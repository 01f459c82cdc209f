"""Replay throughput: a fleet of `replay` devices against the same fleet of an existing kind, side by side.

1,000 devices at a 10 s interval for 1 day (8,640,000 readings): every device `kind: replay` playing
scenarios/data/site-history.csv (its voltage and current too, linear between rows) or every device
`kind: server` (a load curve, a behaviour process and noise). Each is measured twice, alternating,
(a) in process (the simulation alone, readings counted by a sink that keeps nothing) and (b) as a
whole `iot-mock run` writing JSON lines. Prints readings per second; `--quick` runs a tenth of the span.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine import load_scenario
from engine.model.readings import ReadingBatch, StatusChange
from engine.runtime.driver import run_virtual
from engine.simulation import Simulation

HISTORY = Path(__file__).parents[1] / "scenarios" / "data" / "site-history.csv"
FLEET = """\
version: 1
name: bench-{kind}
start: 2025-03-03T00:00:00
timezone: Europe/Berlin
seed: 42
devices:
{{% for i in range(1000) %}}
  - {{id: "dev-{{{{ '%04d' % i }}}}", kind: {kind}, interval: 10s{extra}}}
{{% endfor %}}
"""
KINDS = {"replay": ", csv: site-history.csv, scale: 0.3", "server": ""}


class Counting:
    """A sink that counts readings and keeps none."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        self.count += len(batch)


def in_process(path: Path, seconds: float) -> tuple[int, float]:
    plan = load_scenario(path).plan
    sink = Counting()
    sim = Simulation(plan, sink)
    started = time.perf_counter()
    run_virtual(sim, seconds)
    return sink.count, time.perf_counter() - started


def whole_run(path: Path, duration: str) -> tuple[int, float]:
    out = path.with_suffix(".jsonl")
    command = [sys.executable, "-m", "iot_mock", "run", str(path), "--duration", duration, "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    with out.open("rb") as stream:
        count = sum(1 for _ in stream)
    out.unlink()
    return count, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the span")
    args = parser.parse_args()
    seconds, duration = (8640.0, "2h24m") if args.quick else (86400.0, "1d")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(HISTORY, folder / HISTORY.name)
        paths = {}
        for kind, extra in KINDS.items():
            paths[kind] = folder / f"{kind}.yaml"
            paths[kind].write_text(FLEET.format(kind=kind, extra=extra))
        measures: list[tuple[str, Callable[[Path], tuple[int, float]]]] = [
            ("in process", lambda path: in_process(path, seconds)),
            ("iot-mock run", lambda path: whole_run(path, duration)),
        ]
        for label, measure in measures:
            for round_ in (1, 2):
                for kind, path in paths.items():
                    count, elapsed = measure(path)
                    print(f"{label}, {kind} x1000, round {round_}: {count:,} readings in {elapsed:.2f} s = "
                          f"{count / elapsed:,.0f} readings/s")  # fmt: skip


if __name__ == "__main__":
    main()
