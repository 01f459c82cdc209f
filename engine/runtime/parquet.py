"""Readings to a Parquet file (`--out FILE.parquet`), for data tools: typed columns, one row group per batch.

pyarrow is an optional extra (`iot-mock[parquet]`), imported only when a Parquet file is asked for.
The values are the JSON lines' own (`Encoder.columns`); `timestamp` is a UTC instant in
milliseconds, `device_id` and `status` are dictionary-encoded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.contract.readings import Encoder
from engine.errors import IotMockError
from engine.model.readings import ReadingBatch, StatusChange


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise IotMockError("--out FILE.parquet needs pyarrow: pip install 'iot-mock[parquet]'") from None
    return pyarrow, pyarrow.parquet


class ParquetSink:
    """A Parquet file of readings; each batch of the run is one row group."""

    def __init__(self, target: str, encoder: Encoder) -> None:
        self.target = target
        self._encoder = encoder
        self._pa, parquet = _pyarrow()
        pa = self._pa
        self._schema = pa.schema(
            [
                ("device_id", pa.dictionary(pa.int32(), pa.string())),
                ("timestamp", pa.timestamp("ms", tz="UTC")),
                ("power", pa.float64()),
                ("voltage", pa.float64()),
                ("current", pa.float64()),
                ("energy", pa.float64()),
                ("status", pa.dictionary(pa.int8(), pa.string())),
                ("enabled", pa.bool_()),
                ("seq", pa.int64()),
            ]
        )
        # Dictionary pages only for the columns that are dictionaries: trying them on the measured values
        # (almost all distinct) and falling back cost a quarter of the writer's time.
        self._writer = parquet.ParquetWriter(
            target, self._schema, compression="zstd", use_dictionary=["device_id", "status"]
        )
        self._ids: tuple[tuple[str, ...], Any] | None = None

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        if not len(batch):
            return
        pa = self._pa
        if self._ids is None or self._ids[0] != batch.device_ids:
            self._ids = (batch.device_ids, pa.array(batch.device_ids, type=pa.string()))
        columns = self._encoder.columns(batch)
        n = len(batch)
        table = pa.Table.from_arrays(
            [
                pa.DictionaryArray.from_arrays(pa.array(batch.device.astype("int32")), self._ids[1]),
                pa.array(columns["epoch_ms"], type=pa.timestamp("ms", tz="UTC")),
                pa.array(columns["power"]),
                pa.array(columns["voltage"]),
                pa.array(columns["current"]),
                pa.array(columns["energy"]),
                pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int8)), pa.array(["online"])),
                pa.array(columns["enabled"]),
                pa.array(columns["seq"]),
            ],
            schema=self._schema,
        )
        self._writer.write_table(table, row_group_size=n)

    def close(self) -> None:
        self._writer.close()
