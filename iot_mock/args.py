"""The command line's arguments: the parser of every subcommand and the types that check its values.

A bad value is argparse's usage error (exit 2) with a message that says what is accepted.
"""

from __future__ import annotations

import argparse
import importlib.metadata
from datetime import datetime

from engine.model.kinds import KINDS
from engine.runtime.clock import MAX_SPEED, MIN_SPEED, check_speed
from engine.scenario.durations import parse_duration
from engine.shards import ShardFlag, parse_shard


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return seconds


def _output(text: str) -> str:
    if text != "-" and not text.lower().endswith((".jsonl", ".csv", ".lp", ".parquet")):
        raise argparse.ArgumentTypeError(
            f"must end in .jsonl, .csv, .lp or .parquet, or be '-' for stdout, got {text!r}"
        )
    return text


def _picture(text: str) -> str:
    if not text.lower().endswith((".png", ".svg", ".html")):
        raise argparse.ArgumentTypeError(f"must end in .png, .svg or .html, got {text!r}")
    return text


def _count(text: str) -> int:
    if not (text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def _points(text: str) -> int:
    if not (text.isdigit() and 10 <= int(text) <= 20_000):
        raise argparse.ArgumentTypeError(f"must be a whole number from 10 to 20000, got {text!r}")
    return int(text)


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        return check_speed(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'max' or a number from {MIN_SPEED:g} to {MAX_SPEED:g} (times real time), got {text!r}"
        ) from None


def _start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an ISO date-time like 2025-08-04T00:00, got {text!r}") from None


def _port(text: str) -> int:
    if not (text.isdigit() and 0 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"must be a TCP port from 0 to 65535, got {text!r}")
    return int(text)


def _jobs(text: str) -> int:
    """A count of processes, or `auto` (0 here): as many as this process may use cores."""
    if text == "auto":
        return 0
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a count of processes (1 or more) or auto, got {text!r}")
    return int(text)


def _shard(text: str) -> ShardFlag:
    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


SHARD_HELP = (
    "run only shard K of N: a stable subset of the devices; N shards together give the whole run; "
    "auto: K from the pod's index (JOB_COMPLETION_INDEX or the StatefulSet ordinal), N from IOT_MOCK_SHARDS "
    "(default: IOT_MOCK_SHARD)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iot-mock", description="Simulate the energy meters of a site from a scenario file."
    )
    parser.add_argument("--version", action="version", version=f"iot-mock {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a scenario in virtual time and write its readings")
    run.add_argument("scenario", nargs="?", default="default", help="a file, or the name of one in scenarios/")
    run.add_argument("--duration", type=_duration, help="simulated span, e.g. 2h or 7d (default: the scenario's)")
    run.add_argument("--seed", type=int, help="seed of every random stream (default: the scenario's)")
    run.add_argument(
        "--out", action="append", type=_output, metavar="FILE",
        help="where readings go: FILE.jsonl, FILE.csv, FILE.lp (line protocol), FILE.parquet or - (stdout); repeatable",
    )  # fmt: skip
    run.add_argument("--report", metavar="FILE", help="write the run report (JSON) to FILE")
    run.add_argument(
        "--check",
        metavar="EXPECTED",
        help="compare the run's report with EXPECTED (JSON): exit 1 listing each difference",
    )
    run.add_argument("--mqtt", metavar="URL", help="also publish to this broker, e.g. mqtt://user:pass@host:1883")
    run.add_argument("--speed", type=_speed, default=None, help="with --mqtt: 'max' (default, virtual time) or N (xN)")
    run.add_argument("--start", type=_start, help="move the scenario (events included) to start at this local time")
    run.add_argument("--shard", type=_shard, metavar="K/N|auto", help=SHARD_HELP)
    run.add_argument("--jobs", type=_jobs, default=1, metavar="N|auto",
                     help="run in N processes (auto: one per core); the same bytes and report as one")  # fmt: skip
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar on stderr (default: when stderr is a terminal)")  # fmt: skip

    serve = commands.add_parser(
        "serve", help="run a scenario live from now, publishing to MQTT, with the REST API on 127.0.0.1:8090"
    )
    serve.add_argument("scenario", nargs="?", default="default", help="a file, or the name of one in scenarios/")
    serve.add_argument("--mqtt", metavar="URL", help="broker URL (default: IOT_MOCK_MQTT_URL or mqtt://127.0.0.1:1883)")
    serve.add_argument("--speed", type=_speed, default=1.0, help="N for N times real time (default 1)")
    serve.add_argument("--seed", type=int, help="seed of every random stream (default: the scenario's)")
    serve.add_argument("--shard", type=_shard, metavar="K/N|auto", help=SHARD_HELP)
    serve.add_argument("--start", type=_start, help="sim time zero (default: now); shards of one run should share it")
    serve.add_argument("--no-embedded-broker", action="store_true", help="never start the embedded broker")
    serve.add_argument("--host", help="API address (default: IOT_MOCK_API_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="API port (default: IOT_MOCK_API_PORT or 8090)")
    serve.add_argument(
        "--record", metavar="FILE",
        help="keep FILE the recording of the session (a scenario `iot-mock run FILE` replays exactly), rewritten "
        "atomically as it goes and at the end",
    )  # fmt: skip

    preview = commands.add_parser(
        "preview", help="draw a scenario's power per device, site total and fault timeline (PNG, SVG or HTML)"
    )
    preview.add_argument("scenario", nargs="?", default="default", help="a file, or the name of one in scenarios/")
    preview.add_argument("--out", required=True, type=_picture, metavar="FILE",
                         help="FILE.png, FILE.svg, or FILE.html (one self-contained page that zooms)")  # fmt: skip
    preview.add_argument("--duration", type=_duration, help="simulated span, e.g. 2h or 7d (default: the scenario's)")
    preview.add_argument("--seed", type=int, help="seed of every random stream (default: the scenario's)")
    preview.add_argument("--start", type=_start, help="move the scenario (events included) to start at this local time")
    preview.add_argument("--devices", action="append", default=[], metavar="GLOB",
                         help="only devices whose id matches GLOB, e.g. 'rack-*'; repeatable")  # fmt: skip
    preview.add_argument("--kind", action="append", default=[], metavar="KIND", choices=sorted(KINDS),
                         help=f"only devices of this kind ({', '.join(sorted(KINDS))}); repeatable")  # fmt: skip
    preview.add_argument(
        "--detail", choices=("auto", "lines", "heatmap"), default="auto",
        help="per device: a row of lines each, or a heatmap row each (auto: lines up to 12 devices)",
    )  # fmt: skip
    preview.add_argument("--top", type=_count, metavar="N",
                         help="per device, only the N that used the most energy (the site keeps them all)")  # fmt: skip
    preview.add_argument("--points", type=_points, default=1500,
                         help="time buckets across the span (default 1500, about one per pixel)")  # fmt: skip

    validate = commands.add_parser("validate", help="check scenario files; exit 1 listing every issue")
    validate.add_argument(
        "files", nargs="+", metavar="FILE",
        help="files, folders (every *.yaml and *.yml in them), or names of scenarios in scenarios/",
    )  # fmt: skip

    render = commands.add_parser("render", help="print a scenario as YAML after its template is rendered")
    render.add_argument("scenario", help="a file, or the name of one in scenarios/")

    report = commands.add_parser("report", help="work with run reports")
    report_commands = report.add_subparsers(dest="report_command", required=True, metavar="COMMAND")
    diff = report_commands.add_parser(
        "diff", help="the differences between two run reports (exit 0: the same run, 1: different, 2: unreadable)"
    )
    diff.add_argument("expected", metavar="A", help="a run report (JSON)")
    diff.add_argument("got", metavar="B", help="another run report (JSON)")

    commands.add_parser("schema", help="print the JSON Schema of the scenario format")
    commands.add_parser("scenarios", help="list the named scenarios")
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("iot-mock")
    except importlib.metadata.PackageNotFoundError:  # a checkout run without installing
        return "unknown (not installed)"
