"""`iot-mock run --jobs N`: one file run in N worker processes, with the bytes and the report of one process.

Each worker runs a contiguous block of the plan's devices with the *whole* timeline (an action applies
to the worker's own targets; every worker records every step of it, so the journals merge into the
whole run's, `merge_journals`). Blocks, not `--shard`'s round-robin deal: the readings of one instant
are in device order, so a block's readings of an instant are one stretch of lines in the output, and
the parent copies stretches, not lines. Every worker cuts its batches at the whole run's instants
(`plan_batch_span`), so batch k of the whole run is the union of the workers' batches k: the parent
takes them in turn, orders them by (send instant, worker), which is the whole run's (send instant,
device) order since blocks are in device order and each worker's own order is kept, and writes them.

Text outputs (JSON lines, CSV, line protocol) are encoded by the workers. Into a regular file they write
their lines themselves (`os.pwrite`) at the offsets the parent computes from the line ends they send
(`Encoder.line_ends`: from the values, before any line is encoded), so the bytes cross no pipe, the parent
is not the bottleneck, and a worker encodes and writes a block at a time beside its simulation; to stdout
or a pipe the parent copies them.
Parquet gets the merged columns (the parent writes each batch as one row group, as one process does).
Memory stays bounded: a worker sends one batch at a time and waits for the parent's answer. Workers
ignore Ctrl-C: the parent stops them (and a worker whose parent is gone fails on its pipe).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import queue
import signal
import threading
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.contract.readings import Encoder, Format
from engine.errors import IotMockError
from engine.model.actions import Action
from engine.model.readings import IntArray, ReadingBatch, StatusChange
from engine.model.specs import Plan
from engine.runtime.driver import Progress, rate_span, run_virtual
from engine.runtime.heap import keep_freed_memory
from engine.runtime.parquet import ParquetSink
from engine.runtime.report import DeviceFigures, RunFigures
from engine.runtime.sinks import FileSink
from engine.scenario.actions import SetInterval
from engine.scenario.isolation import main_hidden
from engine.simulation import Simulation
from engine.simulation.journal import Entry, merge_journals

_CONTEXT = multiprocessing.get_context("forkserver")  # no fork of a process that has threads
_FLOAT, _INT, _BOOL = np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_)
_COLUMNS = {"device": _INT, "t": _FLOAT, "power": _FLOAT, "voltage": _FLOAT, "current": _FLOAT, "energy": _FLOAT,
            "seq": _INT, "enabled": _BOOL, "millis": _BOOL, "sent": _FLOAT}  # fmt: skip
"""A batch's columns and their types (an empty batch's columns must concatenate with the others')."""


@dataclass(frozen=True, slots=True)
class _Job:
    plan: Plan
    """The whole plan's events, the block's devices."""
    whole: Plan
    until: float
    seed: int | None
    forms: tuple[Format, ...]
    """The text encodings to make, each batch; their line ends go to the parent."""
    piped: tuple[Format, ...]
    """Those whose bytes go to the parent too (each batch's follow it): for outputs it writes itself."""
    files: tuple[tuple[Format, str], ...]
    """Regular files the worker writes its lines to itself, at the places the parent gives (`_Places`)."""
    columns: bool
    """Whether to send the readings' columns too (for Parquet)."""


@dataclass(frozen=True, slots=True)
class _Batch:
    """A worker's batch k: send instants, each form's line ends (its bytes follow), columns if asked."""

    now: float
    sent: npt.NDArray[np.float64]
    ends: tuple[IntArray, ...]
    columns: dict[str, npt.NDArray[Any]] | None


@dataclass(frozen=True, slots=True)
class _Places:
    """Where a worker's lines of one batch go in each of its `files`: rows of (begin, end) in its bytes
    and the file offset of that stretch."""

    stretches: tuple[IntArray, ...]


@dataclass(frozen=True, slots=True)
class _Done:
    now: float
    readings: int
    devices: tuple[DeviceFigures, ...]
    journal: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class _Failed:
    message: str


def blocks(count: int, jobs: int) -> list[range]:
    """`count` device indexes in `jobs` contiguous blocks that differ by one device at most."""
    edges = [count * k // jobs for k in range(jobs + 1)]
    return [range(edges[k], edges[k + 1]) for k in range(jobs)]


def run_jobs(
    plan: Plan,
    until: float,
    *,
    jobs: int,
    seed: int | None,
    outputs: Sequence[FileSink | ParquetSink],
    progress: Progress | None = None,
) -> tuple[RunFigures, float]:
    """Run `plan` to `until` in `jobs` processes, writing to `outputs` exactly what one process writes.

    Returns what the report needs, and the sim time reached. Raises IotMockError when a worker fails."""
    parts = blocks(len(plan.devices), min(jobs, max(1, len(plan.devices))))
    texts = [sink for sink in outputs if isinstance(sink, FileSink)]
    placed = [sink for sink in texts if sink.regular_file]  # the workers write these at offsets: no pipe
    piped_sinks = [sink for sink in texts if not sink.regular_file]
    forms = tuple(dict.fromkeys(sink.form for sink in texts))
    piped = tuple(dict.fromkeys(sink.form for sink in piped_sinks))
    files = tuple((sink.form, sink.target) for sink in placed)
    offsets = [sink.position() for sink in placed]  # after a CSV header
    columns = any(isinstance(sink, ParquetSink) for sink in outputs)
    workers: list[_Worker] = []
    try:
        for k, part in enumerate(parts):
            devices = plan.devices[part.start : part.stop]
            job = _Job(dataclasses.replace(plan, devices=devices), plan, until, seed, forms, piped, files, columns)
            workers.append(_Worker.start(job, k, parts))
        device_ids = tuple(spec.id for spec in plan.devices)
        starts = np.array([part.start for part in parts], dtype=np.int64)
        readings = 0
        while True:
            got = [worker.receive() for worker in workers]
            if all(isinstance(g, _Done) for g in got):
                break
            if not all(isinstance(g, _Batch) for g in got):
                raise IotMockError(f"--jobs {jobs}: the workers' batches went out of step (a bug)")
            batches = [
                (g, [worker.receive_bytes() for _ in piped])
                for g, worker in zip(got, workers, strict=True)
                if isinstance(g, _Batch)
            ]
            if files:
                _place(batches, forms, placed, offsets, workers)
            readings += _write(batches, forms, piped, piped_sinks, outputs, device_ids, starts)
            if progress is not None:
                progress(batches[0][0].now, readings)  # the same instant in every worker
        done = [g for g in got if isinstance(g, _Done)]
        for worker in workers:
            worker.process.join()
    finally:
        for worker in workers:
            worker.stop()
    rank = {device_id: index for index, device_id in enumerate(device_ids)}
    figures = RunFigures(
        plan,
        plan.seed if seed is None else seed,
        sum(d.readings for d in done),
        tuple(device for d in done for device in d.devices),
        tuple(merge_journals([d.journal for d in done], rank)),
    )
    return figures, max(d.now for d in done)


@dataclass(frozen=True, slots=True)
class _Worker:
    """The parent's side of one worker: its process and its pipe. A pipe that fails (EOF, or a reset when
    the worker died with the parent's message unread) is the worker having ended: one clear error."""

    who: str
    process: Any  # the context's Process
    conn: Connection

    @classmethod
    def start(cls, job: _Job, k: int, parts: list[range]) -> _Worker:
        who = f"--jobs {len(parts)}: worker {k + 1} (devices {parts[k].start + 1} to {parts[k].stop})"
        conn, theirs = _CONTEXT.Pipe(duplex=True)
        process = _CONTEXT.Process(target=_work, args=(theirs, job), name="iot-mock-job", daemon=True)
        try:
            with main_hidden():
                process.start()
        finally:
            theirs.close()
        return cls(who, process, conn)

    @contextlib.contextmanager
    def _talking(self) -> Iterator[None]:
        try:
            yield
        except (EOFError, ConnectionError):
            self.process.join(1.0)
            raise IotMockError(f"{self.who} ended unexpectedly (exit code {self.process.exitcode})") from None

    def receive(self) -> object:
        with self._talking():
            message = self.conn.recv()
        if isinstance(message, _Failed):
            raise IotMockError(f"{self.who} failed: {message.message}")
        return message

    def receive_bytes(self) -> bytes:
        with self._talking():
            return self.conn.recv_bytes()

    def send(self, message: _Places) -> None:
        with self._talking():
            self.conn.send(message)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.conn.close()


def _order(sents: list[npt.NDArray[np.float64]]) -> tuple[IntArray, IntArray, IntArray]:
    """The whole run's order of a batch's lines (by send instant, then worker), with each line's worker
    and each worker's count."""
    counts = np.array([len(sent) for sent in sents], dtype=np.int64)
    who = np.repeat(np.arange(len(sents)), counts)
    return np.lexsort((who, np.concatenate(sents))), who, counts  # stable: each worker's own order is kept


def _runs(order: IntArray, who: IntArray, counts: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """The stretches of one worker's lines in `order`: each one's worker and first and last line + 1 in
    that worker's batch."""
    firsts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    sorted_who = who[order]
    cuts = np.flatnonzero(sorted_who[1:] != sorted_who[:-1]) + 1
    run_start = np.concatenate(([0], cuts))
    run_stop = np.concatenate((cuts, [len(order)]))
    k = sorted_who[run_start]
    first = order[run_start] - firsts[k]
    return k, first, first + (run_stop - run_start)


def _place(
    batches: list[tuple[_Batch, list[bytes]]],
    forms: tuple[Format, ...],
    placed: list[FileSink],
    offsets: list[int],
    workers: list[_Worker],
) -> None:
    """Tell each worker where its lines of this batch go in each file it writes; move the files' ends on."""
    order, who, counts = _order([batch.sent for batch, _ in batches])
    if not len(order):
        for worker in workers:
            worker.send(_Places(tuple(np.empty((0, 3), np.int64) for _ in placed)))
        return
    k, first, last = _runs(order, who, counts)
    per_form = {}
    for form in dict.fromkeys(sink.form for sink in placed):
        index = forms.index(form)
        ends = [batch.ends[index] for batch, _ in batches]
        begin = np.array([int(ends[w][f - 1]) if f else 0 for w, f in zip(k.tolist(), first.tolist(), strict=True)])
        end = np.array([int(ends[w][stop - 1]) for w, stop in zip(k.tolist(), last.tolist(), strict=True)])
        per_form[form] = (begin, end, np.concatenate(([0], np.cumsum(end - begin)[:-1])), int((end - begin).sum()))
    places: list[list[IntArray]] = [[] for _ in workers]
    for j, sink in enumerate(placed):
        begin, end, at, size = per_form[sink.form]
        for w in range(len(workers)):
            mine = k == w
            places[w].append(np.stack((begin[mine], end[mine], at[mine] + offsets[j]), axis=1))
        offsets[j] += size
    for worker, mine in zip(workers, places, strict=True):
        worker.send(_Places(tuple(mine)))


def _write(
    batches: list[tuple[_Batch, list[bytes]]],
    forms: tuple[Format, ...],
    piped: tuple[Format, ...],
    texts: list[FileSink],
    outputs: Sequence[FileSink | ParquetSink],
    device_ids: tuple[str, ...],
    starts: IntArray,
) -> int:
    """Batch k of the whole run from the workers' batches k, to every output; returns its reading count."""
    order, who, counts = _order([batch.sent for batch, _ in batches])
    total = len(order)
    if not total:
        return 0
    for text in texts:
        index, sent = forms.index(text.form), piped.index(text.form)
        text.write_encoded(_stretches(order, who, counts, [(b.ends[index], data[sent]) for b, data in batches]))
    if any(isinstance(sink, ParquetSink) for sink in outputs):
        merged = _merged(batches, order, device_ids, starts)
        for sink in outputs:
            if isinstance(sink, ParquetSink):
                sink.write(merged, [])
    return total


def _stretches(
    order: IntArray, who: IntArray, counts: IntArray, encoded: list[tuple[IntArray, bytes]]
) -> list[memoryview]:
    """The lines in `order`, as slices of the workers' bytes: one per stretch of one worker's lines."""
    views = [memoryview(data) for _, data in encoded]
    pieces: list[memoryview] = []
    for k, first, last in zip(*(part.tolist() for part in _runs(order, who, counts)), strict=True):
        ends = encoded[k][0]
        pieces.append(views[k][int(ends[first - 1]) if first else 0 : int(ends[last - 1])])
    return pieces


def _merged(
    batches: list[tuple[_Batch, list[bytes]]], order: IntArray, device_ids: tuple[str, ...], starts: IntArray
) -> ReadingBatch:
    parts = [batch.columns for batch, _ in batches if batch.columns is not None]
    merged = {
        name: np.concatenate(
            [part[name] + starts[k] if name == "device" else part[name] for k, part in enumerate(parts)]
        )[order]
        for name in _COLUMNS
    }
    return ReadingBatch(device_ids, **merged)


class _Intervals:
    """Every device's interval in the whole run, followed through its `set_interval` actions: the whole
    run's batch span (`batch_span`), for a worker that simulates only some of the devices."""

    def __init__(self, plan: Plan) -> None:
        self._intervals = {spec.id: spec.interval for spec in plan.devices}  # in device order: the same sum
        self._span = rate_span(sum(1.0 / interval for interval in self._intervals.values()))

    def started(self, action: Action, targets: tuple[str, ...]) -> None:
        if isinstance(action, SetInterval):
            self._intervals.update((target, action.interval) for target in targets)
            self._span = rate_span(sum(1.0 / interval for interval in self._intervals.values()))

    def span(self) -> float:
        return self._span


class _Collector:
    """The sink of a worker's simulation: keeps the batch of the current advance."""

    def __init__(self) -> None:
        self.batches: list[ReadingBatch] = []

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        if len(batch):
            self.batches.append(batch)

    def take(self) -> ReadingBatch | None:
        batches, self.batches = self.batches, []
        if len(batches) > 1:
            raise AssertionError("one batch per advance")
        return batches[0] if batches else None


class _Stop:
    """The end of a worker's batches, to its placer."""


class _Placer:
    """A worker's lines into its files, where the parent places them, on a thread of its own: waiting for
    the parent's answer, encoding the lines and copying them into the file (much of it with the GIL
    released) overlap the next batch's simulation, as the writer thread of one process overlaps its
    writes. It encodes with an encoder of its own, a block at a time, and writes each block's part of the
    stretches as the block comes (no copy of the whole batch's text). One batch waits at most."""

    def __init__(self, conn: Connection, job: _Job) -> None:
        self._conn = conn
        self._files = [(form, os.open(path, os.O_WRONLY)) for form, path in job.files]
        self._encoder = Encoder(job.plan.start_epoch)
        self._queue: queue.Queue[tuple[ReadingBatch, tuple[IntArray, ...]] | _Stop | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="iot-mock-placer", daemon=True)

    def __enter__(self) -> _Placer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(_Stop())
        self._thread.join()
        for _, fd in self._files:
            os.close(fd)
        if self._error is not None and exc[0] is None:
            raise self._error

    def put(self, batch: ReadingBatch | None, ends: tuple[IntArray, ...]) -> None:
        """A batch and its line ends in each file's form (None for an empty batch: its answer places nothing)."""
        if self._error is not None:
            raise self._error
        self._queue.put(None if batch is None else (batch, ends))

    def _work(self) -> None:
        while not isinstance(item := self._queue.get(), _Stop):
            if self._error is not None:
                continue
            try:
                places: _Places = self._conn.recv()
                if item is None:
                    continue
                batch, ends = item
                for (form, fd), size, rows in zip(self._files, ends, places.stretches, strict=True):
                    _write_stretches(fd, self._encoder.blocks(batch, form), rows.tolist(), int(size[-1]))
            except BaseException as exc:  # handed to the simulating thread, which re-raises it
                self._error = exc


def _write_stretches(fd: int, blocks: Iterator[memoryview], stretches: list[list[int]], size: int) -> None:
    """Each stretch [begin, end) of a text of `size` bytes at its file offset, the text coming as `blocks`:
    each block's part of each stretch is written as the block comes (stretches are in text order)."""
    pending = iter(stretches)
    stretch = next(pending, None)
    at = 0  # where the block starts in the text
    for block in blocks:
        stop = at + len(block)
        while stretch is not None and stretch[0] < stop:
            begin, end, offset = stretch
            first, last = max(begin, at), min(end, stop)
            os.pwrite(fd, block[first - at : last - at], offset + first - begin)
            if end > stop:
                break  # the rest is in the next block
            stretch = next(pending, None)
        at = stop
    if at != size or stretch is not None:
        raise AssertionError(f"a batch's text is {at} bytes, its line ends said {size} (a bug)")


def _work(conn: Connection, job: _Job) -> None:
    """A worker: run the job's devices, send each batch as the whole run cuts them, then the figures."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us
    keep_freed_memory()
    try:
        stack = contextlib.ExitStack()
        collector = _Collector()
        sim = Simulation(job.plan, collector, seed=job.seed)
        intervals = _Intervals(job.whole)
        sim.on_start = intervals.started
        encoder = Encoder(job.plan.start_epoch)
        nothing = {name: np.empty(0, dtype) for name, dtype in _COLUMNS.items()}
        no_ends = tuple(nothing["device"] for _ in job.forms)
        placer = stack.enter_context(_Placer(conn, job)) if job.files else None

        def send(now: float, readings: int) -> None:
            batch = collector.take()
            if batch is None:
                conn.send(_Batch(now, nothing["sent"], no_ends, nothing if job.columns else None))
                for _ in job.piped:
                    conn.send_bytes(b"")
                if placer is not None:
                    placer.put(None, ())  # no places
                return
            ends = tuple(encoder.line_ends(batch, form) for form in job.forms)
            columns = {name: getattr(batch, name) for name in _COLUMNS} if job.columns else None
            conn.send(_Batch(now, batch.sent, ends, columns))
            for form in job.piped:
                conn.send_bytes(encoder.encode(batch, form))
            if placer is not None:
                placer.put(batch, tuple(ends[job.forms.index(form)] for form, _ in job.files))

        run_virtual(sim, job.until, progress=send, span=intervals.span)
        stack.close()  # every line is in its file before the parent hears we are done
        figures = RunFigures.of(sim)
        conn.send(_Done(sim.now, sim.readings_emitted, figures.devices, figures.journal))
    except (ConnectionError, EOFError):
        pass  # the parent is gone
    except BaseException as exc:  # told to the parent, which stops the run
        message = str(exc) if isinstance(exc, IotMockError) else "".join(traceback.format_exception(exc)).strip()
        with contextlib.suppress(OSError):
            conn.send(_Failed(message))
    finally:
        conn.close()
