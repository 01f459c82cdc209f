"""Sinks: where a run's readings go. JSON lines, CSV and line-protocol files (or stdout), memory, fan-out."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from engine.contract.readings import CSV_HEADER, Encoder, Format
from engine.model.readings import Reading, ReadingBatch, Sink, StatusChange


class FileSink:
    """Readings to a `.jsonl`, `.csv` or `.lp` (InfluxDB line protocol) file, or JSON lines to stdout for `-`."""

    def __init__(self, target: str, encoder: Encoder) -> None:
        self.target = target
        self._encoder = encoder
        self._csv = target.lower().endswith(".csv")
        self.form: Format = "csv" if self._csv else "lp" if target.lower().endswith(".lp") else "jsonl"
        if target == "-":
            self._stream: BinaryIO = sys.stdout.buffer
            self._owned = False
        else:
            self._stream = Path(target).open("wb", buffering=1024 * 1024)  # noqa: SIM115 - closed by close()
            self._owned = True
        if self._csv:
            self._stream.write(CSV_HEADER.encode())

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        for block in self._encoder.blocks(batch, self.form):  # as they come: no copy of the whole batch's bytes
            self._stream.write(block)

    @property
    def regular_file(self) -> bool:
        """A file of our own on disk: parallel workers may write their lines into it at offsets."""
        return self._owned and Path(self.target).is_file()

    def position(self) -> int:
        """The bytes written so far (all on disk): where lines written at offsets begin."""
        self._stream.flush()
        return self._stream.tell()

    def write_encoded(self, pieces: Iterable[bytes | memoryview]) -> None:
        """Readings encoded already (in `form`): a parallel run's parts, in order."""
        for piece in pieces:
            self._stream.write(piece)

    def close(self) -> None:
        if self._owned:
            self._stream.close()
        else:
            self._stream.flush()


class MemorySink:
    """Keeps everything in memory: for tests and small runs."""

    def __init__(self) -> None:
        self.batches: list[ReadingBatch] = []
        self.statuses: list[StatusChange] = []

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        if len(batch):
            self.batches.append(batch)
        self.statuses.extend(statuses)

    def readings(self) -> list[Reading]:
        return [reading for batch in self.batches for reading in batch.readings()]


class FanOut:
    """Writes to several sinks in order."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        for sink in self.sinks:
            sink.write(batch, statuses)
