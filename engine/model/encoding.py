"""Readings as bytes: the JSON payload of the MQTT contract (one per line in .jsonl) and CSV.

The payload's fields are always, in this order: device_id, timestamp, power (kW, 3 decimals),
voltage (V, 1 decimal), current (A, 3 decimals), energy (kWh, 3 decimals), status, enabled, seq.
Numbers have fixed decimals, so the bytes depend only on the values: the same run gives the
same file on every machine.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from engine.model.readings import ReadingBatch

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CSV_HEADER = "device_id,timestamp,power,voltage,current,energy,status,enabled,seq\n"


def iso_timestamp(epoch_ms: int, millis: bool) -> str:
    """`2025-08-09T16:30:00Z`, or `2025-08-09T16:30:00.500Z` when `millis`."""
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Encoder:
    """Encodes batches of one run (whose sim time 0 is `start_epoch`) as JSON lines or CSV rows."""

    def __init__(self, start_epoch: float) -> None:
        self._start_ms = round(start_epoch * 1000)

    def timestamps(self, batch: ReadingBatch) -> list[str]:
        """The ISO timestamp of each reading, formatting each distinct instant once."""
        if not len(batch):
            return []
        instants, where = np.unique(batch.t, return_inverse=True)
        epoch_ms = (np.rint(instants * 1000.0).astype(np.int64) + self._start_ms).tolist()
        plain = [iso_timestamp(ms, False) for ms in epoch_ms]
        exact = [iso_timestamp(ms, True) for ms in epoch_ms] if batch.millis.any() else plain
        return [exact[w] if m else plain[w] for w, m in zip(where.tolist(), batch.millis.tolist(), strict=True)]

    def timestamp(self, t: float, *, millis: bool = False) -> str:
        """The ISO timestamp of one sim instant."""
        return iso_timestamp(self._start_ms + round(t * 1000.0), millis)

    def jsonl(self, batch: ReadingBatch) -> bytes:
        """One JSON object per reading, each ending with a newline."""
        ids = batch.device_ids
        return "".join(
            [
                f'{{"device_id":"{ids[d]}","timestamp":"{ts}","power":{p:.3f},"voltage":{v:.1f},'
                f'"current":{c:.3f},"energy":{e:.3f},"status":"online","enabled":{"true" if en else "false"},'
                f'"seq":{s}}}\n'
                for d, ts, p, v, c, e, en, s in _rows(batch, self.timestamps(batch))
            ]
        ).encode()

    def csv(self, batch: ReadingBatch) -> bytes:
        """CSV rows in the column order of CSV_HEADER (no header)."""
        ids = batch.device_ids
        return "".join(
            [
                f"{ids[d]},{ts},{p:.3f},{v:.1f},{c:.3f},{e:.3f},online,{'true' if en else 'false'},{s}\n"
                for d, ts, p, v, c, e, en, s in _rows(batch, self.timestamps(batch))
            ]
        ).encode()


def _rows(batch: ReadingBatch, timestamps: list[str]) -> zip[tuple[int, str, float, float, float, float, bool, int]]:
    return zip(
        batch.device.tolist(),
        timestamps,
        batch.power.tolist(),
        batch.voltage.tolist(),
        batch.current.tolist(),
        batch.energy.tolist(),
        batch.enabled.tolist(),
        batch.seq.tolist(),
        strict=True,
    )
