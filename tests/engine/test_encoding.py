"""The vectorised encoder gives exactly the bytes a plain per-reading formatter would."""

from __future__ import annotations

import dataclasses
import json
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from engine.contract.readings import Encoder
from engine.model.readings import ReadingBatch
from engine.runtime.sinks import FileSink

START = datetime(1999, 12, 31, 23, 59, 58, tzinfo=UTC)


def fixed(value: float, decimals: int) -> str:
    scaled = int(np.rint(value * 10**decimals))
    if not decimals:
        return str(scaled)
    return f"{scaled // 10**decimals}.{scaled % 10**decimals:0{decimals}d}"


def reference_line(batch: ReadingBatch, i: int) -> str:
    moment = START + timedelta(milliseconds=round(float(batch.t[i]) * 1000))
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond // 1000:03d}" if batch.millis[i] else "")
    return (
        f'{{"device_id":"{batch.device_ids[batch.device[i]]}","timestamp":"{stamp}Z",'
        f'"power":{fixed(batch.power[i], 3)},"voltage":{fixed(batch.voltage[i], 1)},'
        f'"current":{fixed(batch.current[i], 3)},"energy":{fixed(batch.energy[i], 3)},"status":"online",'
        f'"enabled":{"true" if batch.enabled[i] else "false"},"seq":{batch.seq[i]}}}\n'
    )


def random_batch(n: int) -> ReadingBatch:
    rng = np.random.default_rng(5)
    # Sim times spanning leap days and centuries: 2000-02-29, 2100-03-01, 2400-02-29.
    t = np.sort(rng.uniform(0, 400 * 365.25 * 86400, n)).round(3)
    t[:4] = [0.0, 0.5, 1.999, 59 * 86400.0]
    power = rng.choice([0.0, 0.0005, 0.0015, 9.9995, 123456.789, 1e-9], n) * rng.integers(0, 2, n) + rng.random(n) * 100
    ids = ("a", "device-with-a-long-name_0123456789", "x-1")
    return ReadingBatch(
        ids,
        rng.integers(0, 3, n),
        t,
        power,
        rng.random(n) * 400,
        rng.random(n) * 9999,
        rng.random(n) * 10**7,
        rng.integers(0, 10**12, n),
        rng.integers(0, 2, n).astype(bool),
        rng.integers(0, 2, n).astype(bool),
        t,
    )


def test_vectorised_json_lines_match_the_plain_formatter() -> None:
    batch = random_batch(20_000)
    encoded = Encoder(START.timestamp()).jsonl(batch).decode()
    expected = "".join(reference_line(batch, i) for i in range(len(batch)))
    assert encoded == expected
    for line in encoded.splitlines()[:100]:
        json.loads(line)


def test_csv_rows_have_the_same_values() -> None:
    batch = random_batch(500)
    encoder = Encoder(START.timestamp())
    rows = encoder.csv(batch).decode().splitlines()
    lines = encoder.jsonl(batch).decode().splitlines()
    assert len(rows) == len(lines) == 500
    for row, line in zip(rows, lines, strict=True):
        data = json.loads(line, parse_float=str)
        assert row.split(",") == [str(v).lower() if isinstance(v, bool) else str(v) for v in data.values()]


def test_payloads_are_one_json_document_each() -> None:
    batch = random_batch(50)
    payloads = Encoder(0).payloads(batch)
    assert len(payloads) == 50
    assert [json.loads(p)["seq"] for p in payloads] == batch.seq.tolist()


def test_small_values_keep_their_zero_padded_decimals() -> None:
    n = 4
    t = np.array([0.0, 0.001, 60.0, 61.0])
    batch = ReadingBatch(
        ("a",),
        np.zeros(n, dtype=np.int64),
        t,
        np.array([0.0, 0.001, 0.0049, 0.0051]),
        np.array([0.0, 0.1, 0.04, 0.06]),
        np.array([0.0, 0.0, 0.0, 0.0]),
        np.array([0.0, 0.002, 1.0, 10.0]),
        np.array([0, 1, 9, 10], dtype=np.int64),
        np.ones(n, dtype=bool),
        np.array([False, True, False, False]),
        t,
    )
    lines = Encoder(0).csv(batch).decode().splitlines()
    assert lines == [
        "a,1970-01-01T00:00:00Z,0.000,0.0,0.000,0.000,online,true,0",
        "a,1970-01-01T00:00:00.001Z,0.001,0.1,0.000,0.002,online,true,1",
        "a,1970-01-01T00:01:00Z,0.005,0.0,0.000,1.000,online,true,9",
        "a,1970-01-01T00:01:01Z,0.005,0.1,0.000,10.000,online,true,10",
    ]


def test_line_ends_computed_from_the_values_are_where_the_lines_end() -> None:
    """`line_ends` (what a parallel run's parent places lines by) counts each field's bytes without encoding:
    digits that rounding adds (9.9995 -> 10.000, 99.96 -> 100.0), zeros, negatives shown as 0, ids of three
    lengths, millisecond timestamps, twelve-digit seqs; in every form."""
    batch = random_batch(20_000)
    n = len(batch)
    edges = np.array([9.9995, 99.96, 999.9996, 0.0, -3.0, 1e13, 0.0004, 9.95])
    batch = dataclasses.replace(batch, voltage=np.resize(edges, n), current=np.resize(edges[::-1], n))
    encoder = Encoder(START.timestamp())
    for form in ("jsonl", "csv", "lp"):
        text = encoder.encode(batch, form)
        newlines = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == ord("\n")) + 1
        assert encoder.line_ends(batch, form).tolist() == newlines.tolist(), form


def test_one_encoder_follows_a_change_of_devices() -> None:
    encoder = Encoder(0)
    first = random_batch(10)
    other = dataclasses.replace(first, device_ids=("zz",), device=np.zeros(10, dtype=np.int64))
    encoder.jsonl(first)
    assert {json.loads(line)["device_id"] for line in encoder.jsonl(other).splitlines()} == {"zz"}
    assert encoder.jsonl(first) == Encoder(0).jsonl(first)


def test_values_beyond_the_encodable_range_are_refused() -> None:
    huge = dataclasses.replace(random_batch(4), power=np.full(4, 1e15))
    with pytest.raises(ValueError, match="values must be below 1e"):
        Encoder(0).jsonl(huge)


def test_a_file_takes_a_batch_a_block_at_a_time_never_its_whole_text(tmp_path: Path) -> None:
    """A million readings are 160 MB of JSON lines: joined before writing, a batch's text was in memory
    twice (its blocks and their join), which took a file run's peak from 500 MB to 830 MB."""
    batch, sizes = random_batch(40_000), []
    sink = FileSink(str(tmp_path / "out.jsonl"), Encoder(0))
    stream = sink._stream

    def write(data: bytes) -> int:
        sizes.append(len(data))
        return stream.write(data)

    sink._stream = types.SimpleNamespace(write=write)  # type: ignore[assignment] # the file, each write measured
    sink.write(batch, [])
    sink._stream = stream
    sink.close()
    whole = Encoder(0).jsonl(batch)
    assert (tmp_path / "out.jsonl").read_bytes() == whole
    assert len(sizes) > 1 and max(sizes) < len(whole) / 2
