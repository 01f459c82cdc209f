"""The `iot-mock` command. Only here do errors become exit codes: 0 ok, 1 bad input, 2 usage."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence

from engine.errors import IotMockError, ScenarioError
from engine.model.encoding import Encoder
from engine.model.readings import Sink
from engine.runtime.pipeline import BackgroundSink
from engine.runtime.progress import ProgressBar
from engine.runtime.report import build_report, write_report
from engine.runtime.sinks import FanOut, FileSink
from engine.runtime.virtual import run_virtual
from engine.scenario.catalog import load_named, resolve, scenario_names, scenarios_dir
from engine.scenario.durations import parse_duration
from engine.scenario.format import Scenario
from engine.scenario.template import is_template, render_template
from engine.simulation import Simulation


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return seconds


def _output(text: str) -> str:
    if text != "-" and not text.lower().endswith((".jsonl", ".csv")):
        raise argparse.ArgumentTypeError(f"must end in .jsonl or .csv, or be '-' for stdout, got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iot-mock", description="Simulate the energy meters of a site from a scenario file."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a scenario in virtual time and write its readings")
    run.add_argument("scenario", nargs="?", default="default", help="a file, or the name of one in scenarios/")
    run.add_argument("--duration", type=_duration, help="simulated span, e.g. 2h or 7d (default: the scenario's)")
    run.add_argument("--seed", type=int, help="seed of every random stream (default: the scenario's)")
    run.add_argument(
        "--out", action="append", type=_output, metavar="FILE",
        help="where readings go: FILE.jsonl, FILE.csv or - (stdout); repeatable (default: -)",
    )  # fmt: skip
    run.add_argument("--report", metavar="FILE", help="write the run report (JSON) to FILE")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar on stderr (default: when stderr is a terminal)")  # fmt: skip

    validate = commands.add_parser("validate", help="check scenario files; exit 1 listing every issue")
    validate.add_argument("files", nargs="+", metavar="FILE", help="files, or names of scenarios in scenarios/")

    render = commands.add_parser("render", help="print a scenario as YAML after its template is rendered")
    render.add_argument("scenario", help="a file, or the name of one in scenarios/")

    commands.add_parser("schema", help="print the JSON Schema of the scenario format")
    commands.add_parser("scenarios", help="list the named scenarios")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "run": _run,
        "validate": _validate,
        "render": _render,
        "schema": _schema,
        "scenarios": _scenarios,
    }
    try:
        return handlers[args.command](args)
    except ScenarioError as exc:
        for issue in exc.issues:
            print(f"error: {issue.render(exc.source)}", file=sys.stderr)
        return 1
    except IotMockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    loaded = load_named(args.scenario)
    plan = loaded.plan
    until = args.duration if args.duration is not None else plan.duration
    outputs: list[str] = args.out or ["-"]
    encoder = Encoder(plan.start_epoch)
    files = [FileSink(target, encoder) for target in outputs]
    sinks: list[Sink] = list(files)
    show = (
        args.progress
        if args.progress is not None
        else sys.stderr.isatty() and not ("-" in outputs and sys.stdout.isatty())
    )
    bar = ProgressBar(until, force=show) if show else None
    started = time.monotonic()
    try:
        with BackgroundSink(FanOut(sinks) if len(sinks) > 1 else sinks[0]) as writer:
            sim = Simulation(plan, writer, seed=args.seed)
            run_virtual(sim, until, progress=bar.update if bar else None)
    finally:
        for sink in files:
            sink.close()
    wall = time.monotonic() - started
    if bar:
        bar.update(until, sim.readings_emitted, final=True)
    if args.report:
        report = build_report(sim, run_id=uuid.uuid4().hex, source=loaded.source, until=until, wall_seconds=wall)
        write_report(report, args.report)
    return 0


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        try:
            loaded = load_named(name)
        except ScenarioError as exc:
            failed += 1
            for issue in exc.issues:
                print(f"{issue.render(exc.source)}", file=sys.stderr)
            continue
        plan = loaded.plan
        print(
            f"{name}: ok ({plan.name} revision {plan.revision}, {len(plan.devices)} devices, {len(plan.events)} events)"
        )
    return 1 if failed else 0


def _render(args: argparse.Namespace) -> int:
    path = resolve(args.scenario)
    text = path.read_text()
    sys.stdout.write(render_template(text, str(path)) if is_template(text) else text)
    return 0


def _schema(args: argparse.Namespace) -> int:
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "iot-mock scenario, version 1"
    print(json.dumps(schema, indent=2))
    return 0


def _scenarios(args: argparse.Namespace) -> int:
    names = scenario_names()
    if not names:
        print(f"no scenarios in {scenarios_dir()}", file=sys.stderr)
        return 1
    for name in names:
        try:
            loaded = load_named(name)
        except ScenarioError as exc:
            print(f"{name:<20} INVALID  {exc.issues[0].render(exc.source)}")
            continue
        plan = loaded.plan
        print(f"{plan.name:<20} r{plan.revision:<3} {len(plan.devices):>5} devices  {plan.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
