"""`--out FILE.parquet`: typed columns with exactly the values of the JSON lines, one row group per batch."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from engine import load_named
from engine.contract.readings import Encoder
from engine.runtime.parquet import ParquetSink
from engine.runtime.sinks import FanOut, FileSink
from engine.simulation import Simulation
from tests.engine.test_cli import iot_mock


def test_parquet_holds_the_json_lines_values_typed(tmp_path: Path) -> None:
    """meter-faults over 10 hours (duplicates, late and forwarded readings): the same rows, value for value."""
    parquet, jsonl = tmp_path / "r.parquet", tmp_path / "r.jsonl"
    done = iot_mock("run", "meter-faults", "--duration", "10h", "--out", str(parquet), "--out", str(jsonl))
    assert done.returncode == 0, done.stderr
    table = pq.read_table(parquet)
    assert table.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("device_id").type == pa.dictionary(pa.int32(), pa.string())
    assert (table.schema.field("seq").type, table.schema.field("enabled").type) == (pa.int64(), pa.bool_())
    rows = table.to_pylist()
    readings = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) == len(readings) > 20_000
    for row, reading in zip(rows, readings, strict=True):
        instant = datetime.fromisoformat(reading.pop("timestamp").replace("Z", "+00:00"))
        assert row.pop("timestamp") == instant, reading
        assert row == reading  # floats parsed from the JSON text equal the column's: no rounding apart


def test_each_batch_is_a_row_group(tmp_path: Path) -> None:
    loaded = load_named("meter-faults")
    encoder = Encoder(loaded.plan.start_epoch)
    sink, text = ParquetSink(str(tmp_path / "r.parquet"), encoder), FileSink(str(tmp_path / "r.jsonl"), encoder)
    sim = Simulation(loaded.plan, FanOut([sink, text]))
    for until in (600.0, 1200.0, 7200.0):
        sim.advance(until)
    sink.close()
    text.close()
    meta = pq.ParquetFile(tmp_path / "r.parquet").metadata
    assert meta.num_row_groups == 3
    assert meta.num_rows == len((tmp_path / "r.jsonl").read_text().splitlines())
