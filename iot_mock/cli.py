"""The `iot-mock` command. Only here do errors become exit codes (`EXIT_*`, listed in the README)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import SettingsError

from engine.contract.readings import Encoder
from engine.errors import IotMockError, ScenarioError
from engine.model.readings import Sink
from engine.model.specs import Plan, shard
from engine.runtime.broker import is_loopback
from engine.runtime.driver import run_virtual
from engine.runtime.heap import keep_freed_memory
from engine.runtime.jobs import run_jobs
from engine.runtime.parquet import ParquetSink
from engine.runtime.pipeline import BackgroundSink
from engine.runtime.progress import ProgressBar
from engine.runtime.report import LivePart, RunFigures, build_report, write_report
from engine.runtime.report_check import differences
from engine.runtime.service import run_live
from engine.runtime.settings import Settings
from engine.runtime.sinks import FanOut, FileSink
from engine.scenario.catalog import load_named, resolve, scenario_names, scenarios_dir
from engine.scenario.compile import moved_to
from engine.scenario.compose import compose
from engine.scenario.format import json_schema
from engine.scenario.recording import Base
from engine.scenario.source import read_source
from engine.shards import Shard, chosen_shard
from engine.simulation import Simulation
from iot_mock.args import build_parser

T = TypeVar("T")
EXIT_OK = 0
EXIT_BAD_INPUT = 1
"""A bad scenario file, setting (environment, `.env`) or output path: one `error:` line per problem."""
EXIT_USAGE = 2
"""Bad command-line arguments (argparse's own code)."""
EXIT_CANNOT_START = 3
"""`serve` cannot start: the API address cannot be listened on, or the device store cannot be opened.

Checked before anything starts, so a failure starts no broker and publishes nothing."""
EXIT_UNDELIVERED = 4
"""A `run --mqtt` ended with readings the broker never got (dropped, or still buffered when stopped)."""
EXIT_INTERRUPTED = 130


class CannotStart(Exception):
    """A resource the service needs is unavailable; raised before anything is started or published."""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "run": _run,
        "serve": _serve,
        "preview": _preview,
        "validate": _validate,
        "render": _render,
        "report": _report_diff,
        "schema": _schema,
        "scenarios": _scenarios,
    }
    try:
        return handlers[args.command](args)
    except ScenarioError as exc:
        _print_issues(exc)
        return EXIT_BAD_INPUT
    except IotMockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CannotStart as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _print_issues(exc: ScenarioError) -> None:
    for issue in exc.issues:
        print(f"error: {issue.render(exc.source)}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    part = chosen_shard(args.shard, os.environ)
    expected = _read_report(args.check) if args.check else None  # unreadable: refused before the run
    loaded = load_named(args.scenario)
    plan = _sharded(moved_to(loaded.plan, args.start) if args.start else loaded.plan, part)
    until = args.duration if args.duration is not None else plan.duration
    jobs = args.jobs or _cores()
    if jobs > 1 and args.mqtt:
        raise IotMockError("--jobs: a run that publishes to MQTT (--mqtt) runs in one process; leave --jobs out")
    if jobs > 1 and plan.session:
        # A recorded change applies to devices of every block, and creates devices no block holds yet.
        print(f"note: --jobs {jobs}: a recording's session replays in one process", file=sys.stderr)
        jobs = 1
    outputs: list[str] = args.out or ([] if args.mqtt else ["-"])
    if not args.mqtt:
        keep_freed_memory()  # a file run's batches reuse the memory of the ones before
    encoder = Encoder(plan.start_epoch)
    files: list[FileSink | ParquetSink] = [
        ParquetSink(target, encoder) if target.lower().endswith(".parquet") else FileSink(target, encoder)
        for target in outputs
    ]
    sinks: list[Sink] = list(files)
    show = (
        args.progress
        if args.progress is not None
        else sys.stderr.isatty() and not ("-" in outputs and sys.stdout.isatty())
    )
    bar = ProgressBar(until, force=show) if show else None
    started = time.monotonic()
    live_part: LivePart | None = None
    undelivered = 0
    run: Simulation | RunFigures
    try:
        if jobs > 1:
            run, now = run_jobs(
                plan, until, jobs=jobs, seed=args.seed, outputs=files, progress=bar.update if bar else None
            )
        elif args.mqtt:
            settings = _settings(args.mqtt)
            live = _run_async(
                lambda stop: run_live(
                    plan, settings, speed=args.speed, until=until, seed=args.seed, sinks=tuple(sinks), stop=stop,
                    set_up=frozen_heap,
                )
            )  # fmt: skip
            run, now = live.sim, live.sim.now
            undelivered = live.undelivered
            counters = live.counters()
            live_part = {"clock": live.clock.mode, "speed": args.speed, "mqtt": counters.to_json()}
        else:
            with BackgroundSink(FanOut(sinks) if len(sinks) > 1 else sinks[0]) as writer:
                sim = Simulation(plan, writer, seed=args.seed)
                run_virtual(sim, until, progress=bar.update if bar else None)
            run, now = sim, sim.now
    finally:
        for sink in files:
            sink.close()
    wall = time.monotonic() - started
    if bar:
        bar.update(until, run.readings_emitted if isinstance(run, Simulation) else run.readings, final=True)
    if args.report or expected is not None:
        report = build_report(
            run, run_id=uuid.uuid4().hex, source=loaded.source, until=now, wall_seconds=wall, chain=loaded.chain
        )
        if live_part is not None:
            report["clock"], report["speed"], report["mqtt"] = live_part["clock"], live_part["speed"], live_part["mqtt"]
        if args.report:
            write_report(report, args.report)
        if expected is not None:
            found = differences(expected, json.loads(json.dumps(report)))  # as a file would hold it
            for difference in found:
                print(f"error: report differs: {difference}", file=sys.stderr)
            if found:
                print(f"error: {len(found)} differences from {args.check}", file=sys.stderr)
                return EXIT_BAD_INPUT
    if undelivered:
        print(
            f"error: {undelivered} of {counters.generated} readings did not reach the broker "
            f"({counters.dropped} dropped, {counters.buffered} still buffered when the run was stopped)",
            file=sys.stderr,
        )
        return EXIT_UNDELIVERED
    return 0


def _preview(args: argparse.Namespace) -> int:
    """A picture of the run, drawn from memory (no broker, no file of readings); the plotting libraries,
    an optional extra, are imported only here."""
    from iot_mock.preview import require, write
    from iot_mock.preview.series import chosen, collect

    out = Path(args.out)
    require(out)  # before the run: a missing extra fails at once
    loaded = load_named(args.scenario)
    plan = chosen(
        moved_to(loaded.plan, args.start) if args.start else loaded.plan, patterns=args.devices, kinds=args.kind
    )
    until = args.duration if args.duration is not None else plan.duration
    write(collect(plan, until=until, seed=args.seed, points=args.points), out, detail=args.detail, top=args.top)
    print(f"preview: {out}", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    # The one place the engine reaches the API: the command that serves it (imported lazily).
    from api.app import create_app
    from api.server import serve

    # Everything that can be checked is, before a broker starts or `online` is published.
    settings = _settings(args.mqtt, embedded=not args.no_embedded_broker, host=args.host, port=args.port)
    part = chosen_shard(args.shard, os.environ)
    if not is_loopback(settings.api_host) and not settings.api_token:
        raise IotMockError(f"serving the API on {settings.api_host} needs IOT_MOCK_API_TOKEN (16+ characters)")
    loaded = load_named(args.scenario)
    record = Path(args.record) if args.record else None
    if record is not None and not record.parent.is_dir():
        raise IotMockError(f"--record {args.record}: no folder {str(record.parent)!r} to write it in")
    sockets = _preflight(settings)
    try:
        start = args.start or datetime.now(UTC).replace(microsecond=0)
        plan = _sharded(moved_to(loaded.plan, start), part)
        base = Base(path=Path(args.scenario)) if Path(args.scenario).is_file() else Base(name=args.scenario)
        app = create_app(plan, settings, speed=args.speed, seed=args.seed, set_up=frozen_heap, base=base, record=record)
        _configure_logging()
        port = sockets[0].getsockname()[1]
        logging.getLogger("iot_mock").info("API and demo page on http://%s:%d/", settings.api_host, port)
        _run_async(lambda stop: serve(app, settings, stop, sockets=sockets))
    finally:
        for listening in sockets:
            listening.close()
    return 0


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """For the time of a live run: the objects built so far (thousands of long-lived devices) are set
    aside from the garbage collector, whose every full collection would otherwise walk them all, a
    pause of a tenth of a second in a real-time run. Process-wide, so chosen here, at the program's entry."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()  # a later run (the API can start another) gets them back


def _preflight(settings: Settings) -> list[socket.socket]:
    """Check the files `serve` needs and bind the API's address, before it starts a broker or publishes.

    The bound sockets go to uvicorn, so nothing can take the address between the check and the serving.
    """
    from api.server import CannotListen, listen
    from api.store import DeviceStore

    for name in ("mqtt_tls_ca", "mqtt_tls_cert", "mqtt_tls_key"):
        path = getattr(settings, name)
        if path is not None and not path.is_file():
            raise IotMockError(f"IOT_MOCK_{name.upper()}: no such file: {path}")
    try:
        DeviceStore(settings.state_db).close()
    except (OSError, sqlite3.Error) as exc:
        reason = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f"cannot open the device store {settings.state_db}"
        raise CannotStart(f"{where}: {reason} (set IOT_MOCK_STATE_DB)") from None
    try:
        return listen(settings.api_host, settings.api_port)
    except CannotListen as exc:
        raise CannotStart(str(exc)) from None


def _settings(
    mqtt_url: str | None, *, embedded: bool = True, host: str | None = None, port: int | None = None
) -> Settings:
    overrides: dict[str, object] = {"mqtt_url": mqtt_url} if mqtt_url else {}
    if not embedded:
        overrides["mqtt_embedded"] = False
    if host is not None:
        overrides["api_host"] = host
    if port is not None:
        overrides["api_port"] = port
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            where = _FLAGS[field] if field in overrides and field in _FLAGS else f"IOT_MOCK_{field.upper()}"
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" + ("" if "got " in message else f", got {error['input']!r}"))
        raise IotMockError(f"bad settings: {'; '.join(problems)}") from None
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        raise IotMockError(f"bad settings: {exc}") from None


_FLAGS = {"mqtt_url": "--mqtt", "api_host": "--host", "api_port": "--port"}
"""Settings fields that command-line flags set: an error names the flag when it was given."""


def _cores() -> int:
    """`--jobs auto`: the cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _sharded(plan: Plan, part: Shard | None) -> Plan:
    if part is not None and plan.shard is not None:  # a recording of a sharded session
        if part == plan.shard:
            return plan
        raise IotMockError(f"the scenario is shard {plan.shard[0]}/{plan.shard[1]} already (its session.shard)")
    if part is None:
        return plan
    if plan.session:
        raise IotMockError(
            "the recording is of an unsharded session (no session.shard): it replays whole; leave --shard out"
        )
    sharded = shard(plan, *part)
    print(f"shard {part[0]}/{part[1]}: {len(sharded.devices)} of {len(plan.devices)} devices", file=sys.stderr)
    return sharded


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _run_async(main: Callable[[asyncio.Event], Coroutine[Any, Any, T]]) -> T:
    """Run a live coroutine; SIGINT/SIGTERM set its stop event (drain, `offline`, counters)."""
    _configure_logging()

    async def guarded() -> T:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await main(stop)

    return asyncio.run(guarded())


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for given in args.files:
        names = _scenario_files(given)
        if not names:
            print(f"error: {given}: no scenario files (*.yaml, *.yml) in this folder", file=sys.stderr)
            failed += 1
        for name in names:
            try:
                loaded = load_named(name)
            except ScenarioError as exc:
                failed += 1
                _print_issues(exc)
                continue
            plan = loaded.plan
            devices, events = len(plan.devices), len(plan.events)
            print(f"{name}: ok ({plan.name} revision {plan.revision}, {devices} devices, {events} events)")
    return EXIT_BAD_INPUT if failed else EXIT_OK


def _scenario_files(name: str) -> list[str]:
    """A file or scenario name as given; a folder stands for its scenario files, sorted."""
    folder = Path(name)
    if not folder.is_dir():
        return [name]
    return sorted(str(path) for pattern in ("*.yaml", "*.yml") for path in folder.glob(pattern))


def _read_report(path: str) -> dict[str, object]:
    """A run report from its JSON file; IotMockError naming the file when it is not one."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IotMockError(f"{path}: not a readable run report: {exc}") from None
    if not isinstance(report, dict):
        raise IotMockError(f"{path}: not a run report (a JSON object)")
    return report


def _report_diff(args: argparse.Namespace) -> int:
    """`report diff A B`, with diff(1)'s exit codes: 0 the same run, 1 different, 2 trouble."""
    try:
        expected, got = _read_report(args.expected), _read_report(args.got)
    except IotMockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    found = differences(expected, got)
    for difference in found:
        print(difference)
    return EXIT_BAD_INPUT if found else EXIT_OK


def _render(args: argparse.Namespace) -> int:
    """The scenario's text after its template; for one that `extends:` a base, the merged scenario."""
    path = resolve(args.scenario)
    composed = compose(read_source(path), str(path), folder=path.parent)
    if composed.issues and composed.origins is not None:
        raise ScenarioError(composed.where, composed.issues)
    sys.stdout.write(composed.rendered if composed.origins is None else composed.merged_yaml())
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
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
