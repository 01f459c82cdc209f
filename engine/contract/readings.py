"""Readings as bytes: the JSON payload of the MQTT contract (one per line in .jsonl) and CSV.

The payload's fields are always, in this order: device_id, timestamp, power (kW, 3 decimals),
voltage (V, 1 decimal), current (A, 3 decimals), energy (kWh, 3 decimals), status, enabled, seq.
Numbers have fixed decimals (values are rounded half-to-even at that decimal), so the bytes
depend only on the values: the same run gives the same file on every machine.

Encoding is vectorised: each field becomes a block of byte columns plus a mask of the bytes in
use, the blocks are laid side by side, and the masked bytes, read row by row, are the output.
Formatting one reading at a time in Python costs ~3 us; this costs a fraction of that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from engine.model.readings import FloatArray, IntArray, ReadingBatch

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROWS_PER_BLOCK = 16384  # keeps the byte matrix of a block in cache
LP_MEASUREMENT = "meter_reading"
"""The InfluxDB measurement of a reading in line protocol; its one tag is `device_id`."""
Format = Literal["jsonl", "csv", "lp"]
CSV_HEADER = "device_id,timestamp,power,voltage,current,energy,status,enabled,seq\n"
ByteMatrix = npt.NDArray[np.uint8]
BoolMatrix = npt.NDArray[np.bool_]


def iso_timestamp(epoch_ms: int, millis: bool) -> str:
    """`2025-08-09T16:30:00Z`, or `2025-08-09T16:30:00.500Z` when `millis`."""
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_POWERS_OF_TEN = np.array([10**k for k in range(1, 19)], dtype=np.int64)
_COLUMNS = np.arange(64)
_LIMIT = 1e14  # keeps value * 1000 exact in int64 and in float64


@dataclass(frozen=True, slots=True)
class _Texts:
    """Strings chosen per row from a small table (device ids, true/false)."""

    table: ByteMatrix
    used: BoolMatrix
    which: IntArray

    @classmethod
    def of(cls, strings: Sequence[str], which: IntArray) -> _Texts:
        encoded = [s.encode() for s in strings]
        width = max(1, max((len(b) for b in encoded), default=1))
        table = np.zeros((len(encoded), width), dtype=np.uint8)
        for row, value in enumerate(encoded):
            table[row, : len(value)] = np.frombuffer(value, dtype=np.uint8)
        used = np.arange(width) < np.array([len(b) for b in encoded])[:, None]
        return cls(table, used, which)

    @property
    def width(self) -> int:
        return int(self.table.shape[1])

    def write(self, matrix: ByteMatrix, mask: BoolMatrix, rows: slice) -> None:
        """Writes the rows' strings; `mask` marks the bytes each row uses (as every field's `write`)."""
        which = self.which[rows]
        width = self.width  # the layout may be wider, if it once held longer strings
        # taken whole, then assigned: `take` into the strided columns with `out` is twice as slow
        matrix[:, :width] = self.table.take(which, axis=0, mode="clip")
        mask[:, :width] = self.used.take(which, axis=0, mode="clip")
        mask[:, width:] = False

    def lengths(self, rows: slice) -> IntArray:
        """The bytes each row's string uses (those `write` marks in `mask`), without writing them."""
        lengths: IntArray = np.count_nonzero(self.used, axis=1)[self.which[rows]]
        return lengths


@dataclass(frozen=True, slots=True)
class _Number:
    """Non-negative numbers with a fixed count of decimals (0 for integers), right-aligned."""

    values: FloatArray | IntArray
    decimals: int

    @property
    def width(self) -> int:
        top = float(self.values.max()) if len(self.values) else 0.0
        return len(str(int(max(top, 0.0) + 1))) + (self.decimals + 1 if self.decimals else 0)

    def _scaled(self, rows: slice) -> IntArray:
        """The rows' values as integers of their last decimal (rounded half to even), as the text gives them."""
        values = self.values[rows]
        if len(values) and not float(values.max()) < _LIMIT:
            raise ValueError(f"cannot encode {float(values.max())!r}: values must be below {_LIMIT:g}")
        if self.decimals:
            scaled: IntArray = np.rint(np.maximum(values, 0.0) * 10**self.decimals).astype(np.int64)
            return scaled
        return np.maximum(values, 0).astype(np.int64)

    def lengths(self, rows: slice) -> IntArray:
        """The bytes each row's number uses (those `write` marks in `mask`), without writing them."""
        whole = self._scaled(rows) // 10**self.decimals
        digits: IntArray = 1 + np.searchsorted(_POWERS_OF_TEN, whole, side="right")
        return digits + (self.decimals + 1 if self.decimals else 0)

    def write(self, matrix: ByteMatrix, mask: BoolMatrix, rows: slice) -> None:
        scaled = self._scaled(rows)
        scale = 10**self.decimals
        if self.decimals:
            whole = scaled // scale
            _write_digits(matrix[:, -self.decimals :], scaled - whole * scale, self.decimals)
            matrix[:, -self.decimals - 1] = ord(".")
            whole_width = matrix.shape[1] - self.decimals - 1
        else:
            whole = scaled
            whole_width = matrix.shape[1]
        _write_digits(matrix[:, :whole_width], whole, whole_width, padded=False)
        first_used = whole_width - 1 - np.searchsorted(_POWERS_OF_TEN[: whole_width - 1], whole, side="right")
        np.greater_equal(_COLUMNS[: matrix.shape[1]], first_used[:, None], out=mask)


@dataclass(frozen=True, slots=True)
class _Timestamps:
    """UTC instants (epoch milliseconds) as ISO 8601 with `Z`, milliseconds where asked."""

    epoch_ms: IntArray
    millis: npt.NDArray[np.bool_]
    width = 24
    template = b"0000-00-00T00:00:00.000Z"

    def write(self, matrix: ByteMatrix, mask: BoolMatrix, rows: slice) -> None:
        """`YYYY-MM-DDTHH:MM:SS[.mmm]Z`, the civil date computed in integers (Hinnant's algorithm)."""
        epoch_ms = self.epoch_ms[rows]
        seconds = epoch_ms // 1000
        ms = epoch_ms - seconds * 1000
        days = seconds // 86400
        second_of_day = seconds - days * 86400
        z = days + 719468
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        day = doy - (153 * mp + 2) // 5 + 1
        month = np.where(mp < 10, mp + 3, mp - 9)
        year = yoe + era * 400 + (month <= 2)
        hour = second_of_day // 3600
        minute = second_of_day // 60 - hour * 60
        second = second_of_day - (second_of_day // 60) * 60
        for column, values, width in ((0, year, 4), (5, month, 2), (8, day, 2), (11, hour, 2),
                                      (14, minute, 2), (17, second, 2), (20, ms, 3)):  # fmt: skip
            _write_digits(matrix[:, column : column + width], values, width)
        mask[:, 19:23] = self.millis[rows][:, None]

    def lengths(self, rows: slice) -> IntArray:
        """The bytes each row's timestamp uses (those `write` marks in `mask`), without writing them."""
        lengths: IntArray = 20 + 4 * self.millis[rows].astype(np.int64)
        return lengths


def _write_digits(target: ByteMatrix, values: IntArray, width: int, *, padded: bool = True) -> None:
    """`values` (>= 0) as `width` zero-padded decimal digits into the columns of `target`.

    Digits come from uint32 arithmetic, several times faster than int64 division in numpy; values
    of 10**9 and more are split into 9-digit parts first. Unless `padded`, leading columns beyond
    the largest value's digits are left as they are: the caller masks them out.
    """
    top = int(values.max()) if len(values) else 0
    if top >= 10**9 and width > 9:
        high = values // 10**9
        _write_digits(target[:, width - 9 :], values - high * 10**9, 9)
        _write_digits(target[:, : width - 9], high, width - 9, padded=padded)
        return
    x = values.astype(np.uint32)
    last = -1 if padded else max(-1, width - 1 - len(str(top)))
    for column in range(width - 1, last, -1):
        quotient = x // 10
        target[:, column] = x - quotient * 10 + 48
        x = quotient


_Field = _Texts | _Number | _Timestamps
_Piece = bytes | _Field


class _Layout:
    """Column positions of every piece, with constant bytes pre-filled; reused while widths fit."""

    def __init__(self, pieces: Sequence[_Piece], widths: list[int]) -> None:
        self.widths = widths
        self.width = sum(widths)
        self.matrix = np.zeros((_ROWS_PER_BLOCK, self.width), dtype=np.uint8)
        self.mask = np.ones((_ROWS_PER_BLOCK, self.width), dtype=bool)
        column = 0
        for piece, width in zip(pieces, widths, strict=True):
            constant = piece if isinstance(piece, bytes) else getattr(piece, "template", None)
            if constant is not None:
                self.matrix[:, column : column + width] = np.frombuffer(constant, dtype=np.uint8)
            column += width

    def blocks(self, pieces: Sequence[_Piece], n: int) -> Iterator[memoryview]:
        """The rows' bytes, a block of rows at a time."""
        for start in range(0, n, _ROWS_PER_BLOCK):
            rows = slice(start, min(n, start + _ROWS_PER_BLOCK))
            count = rows.stop - rows.start
            matrix, mask = self.matrix[:count], self.mask[:count]
            column = 0
            for piece, width in zip(pieces, self.widths, strict=True):
                if not isinstance(piece, bytes):
                    piece.write(matrix[:, column : column + width], mask[:, column : column + width], rows)
                column += width
            yield matrix[mask].data  # a new array each block, its buffer as it is: no copy into bytes


class Encoder:
    """Encodes batches of one run (whose sim time 0 is `start_epoch`) as JSON lines or CSV rows."""

    def __init__(self, start_epoch: float) -> None:
        self._start_ms = round(start_epoch * 1000)
        self._ids: tuple[tuple[str, ...], _Texts] | None = None
        self._layouts: dict[Format, _Layout] = {}

    def timestamp(self, t: float, *, millis: bool = False) -> str:
        """The ISO timestamp of one sim instant."""
        return iso_timestamp(self._start_ms + round(t * 1000.0), millis)

    def _id_texts(self, batch: ReadingBatch) -> _Texts:
        if self._ids is None or self._ids[0] != batch.device_ids:
            self._ids = (batch.device_ids, _Texts.of(batch.device_ids, batch.device))
        texts = self._ids[1]
        return _Texts(texts.table, texts.used, batch.device)

    def encode(self, batch: ReadingBatch, form: Format) -> bytes:
        """The batch in `form`, all of it."""
        return b"".join(self.blocks(batch, form))

    def blocks(self, batch: ReadingBatch, form: Format) -> Iterator[memoryview]:
        """The batch in `form`, a block of readings at a time, in order: a file takes each as it comes,
        so a batch's text (160 MB for a million readings) is never all in memory at once, nor copied."""
        if not len(batch):
            return iter(())
        pieces = self._pieces(batch, form)
        widths = [len(p) if isinstance(p, bytes) else p.width for p in pieces]
        layout = self._layouts.get(form)
        if layout is None or any(w > have for w, have in zip(widths, layout.widths, strict=True)):
            if layout is not None:  # grow, never shrink, so the layout is rarely rebuilt
                widths = [max(w, have) for w, have in zip(widths, layout.widths, strict=True)]
            layout = self._layouts[form] = _Layout(pieces, widths)
        return layout.blocks(pieces, len(batch))

    def _pieces(self, batch: ReadingBatch, form: Format) -> list[_Piece]:
        ids = self._id_texts(batch)
        epoch_ms = np.rint(batch.t * 1000.0).astype(np.int64) + self._start_ms
        enabled = _Texts.of(("false", "true"), batch.enabled.astype(np.int64))
        power, voltage = _Number(batch.power, 3), _Number(batch.voltage, 1)
        current, energy, seq = _Number(batch.current, 3), _Number(batch.energy, 3), _Number(batch.seq, 0)
        if form == "lp":  # the instant in nanoseconds: milliseconds and six zeros
            return [LP_MEASUREMENT.encode() + b",device_id=", ids, b" power=", power, b",voltage=", voltage,
                    b",current=", current, b",energy=", energy, b",enabled=", enabled, b",seq=", seq, b"i ",
                    _Number(epoch_ms, 0), b"000000\n"]  # fmt: skip
        stamps = _Timestamps(epoch_ms, batch.millis)
        if form == "csv":
            return [ids, b",", stamps, b",", power, b",", voltage, b",", current, b",", energy,
                    b",online,", enabled, b",", seq, b"\n"]  # fmt: skip
        return [
            b'{"device_id":"', ids, b'","timestamp":"', stamps, b'","power":', power, b',"voltage":', voltage,
            b',"current":', current, b',"energy":', energy, b',"status":"online","enabled":', enabled,
            b',"seq":', seq, b"}\n",
        ]  # fmt: skip

    def line_ends(self, batch: ReadingBatch, form: Format) -> IntArray:
        """Where each reading's line in `form` ends in the batch's text, without encoding it: a parallel
        run's parent places each worker's lines from these before the worker encodes them."""
        pieces = self._pieces(batch, form)
        lengths = np.full(len(batch), sum(len(piece) for piece in pieces if isinstance(piece, bytes)), np.int64)
        for piece in pieces:
            if not isinstance(piece, bytes):
                lengths += piece.lengths(slice(None))
        ends: IntArray = np.cumsum(lengths)
        return ends

    def jsonl(self, batch: ReadingBatch) -> bytes:
        """One JSON object per reading, each ending with a newline."""
        return self.encode(batch, "jsonl")

    def csv(self, batch: ReadingBatch) -> bytes:
        """CSV rows in the column order of CSV_HEADER (no header)."""
        return self.encode(batch, "csv")

    def line_protocol(self, batch: ReadingBatch) -> bytes:
        """InfluxDB line protocol, one line per reading: `LP_MEASUREMENT,device_id=ID power=..,voltage=..,
        current=..,energy=..,enabled=true,seq=Ni NANOSECONDS`, the numbers exactly as the JSON lines give them."""
        return self.encode(batch, "lp")

    def columns(self, batch: ReadingBatch) -> dict[str, npt.NDArray[np.generic]]:
        """The readings as typed columns with exactly the values of the JSON lines: each number rounded
        to its decimals as the text gives it (the division by a power of ten parses back to the same
        float), the instant in UTC milliseconds."""
        return {
            "epoch_ms": np.rint(batch.t * 1000.0).astype(np.int64) + self._start_ms,
            "power": _rounded(batch.power, 3),
            "voltage": _rounded(batch.voltage, 1),
            "current": _rounded(batch.current, 3),
            "energy": _rounded(batch.energy, 3),
            "enabled": batch.enabled,
            "seq": batch.seq,
        }

    def payloads(self, batch: ReadingBatch) -> list[bytes]:
        """One JSON payload per reading (no newline), for publishing one message each."""
        return self.jsonl(batch).split(b"\n")[:-1]


def _rounded(values: FloatArray, decimals: int) -> FloatArray:
    """`values` as `_Number` writes them, as floats: the same clamp at 0 and the same rounding."""
    scale = 10**decimals
    rounded: FloatArray = np.rint(np.maximum(values, 0.0) * scale) / scale
    return rounded
