"""The last reading of every device, kept by a sink so the API can answer without the broker.

Readings are served as the MQTT payload, encoded by the run's `Encoder` format: the REST route and
the demo stream give the very bytes that were published for that reading, not a second formatting.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from engine.contract.readings import Encoder
from engine.model.readings import Reading, ReadingBatch, StatusChange


class LatestReadings:
    """Sink that remembers each device's most recent reading."""

    def __init__(self, start_epoch: float = 0.0) -> None:
        self.readings: dict[str, Reading] = {}
        self.millis: dict[str, bool] = {}  # whether the device's timestamps carry milliseconds
        self._encoder = Encoder(start_epoch)  # its own: the bridge's keeps a table of every device id

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        self._remember(batch)
        for change in statuses:
            if change.removed:
                for table in (self.readings, self.millis):
                    table.pop(change.device_id, None)

    def payload(self, device_id: str) -> bytes | None:
        """The device's latest reading as its MQTT payload; None before its first reading."""
        return self.payloads([device_id]).get(device_id)

    def payloads(self, device_ids: Iterable[str]) -> dict[str, bytes]:
        """The latest MQTT payload of each of `device_ids` that has a reading, encoded in one batch."""
        readings = [self.readings[i] for i in device_ids if i in self.readings]
        if not readings:
            return {}
        times = np.array([r.t for r in readings], dtype=np.float64)
        batch = ReadingBatch(
            tuple(r.device_id for r in readings),
            np.arange(len(readings), dtype=np.int64),
            times,
            np.array([r.power for r in readings], dtype=np.float64),
            np.array([r.voltage for r in readings], dtype=np.float64),
            np.array([r.current for r in readings], dtype=np.float64),
            np.array([r.energy for r in readings], dtype=np.float64),
            np.array([r.seq for r in readings], dtype=np.int64),
            np.array([r.enabled for r in readings], dtype=np.bool_),
            np.array([self.millis[r.device_id] for r in readings], dtype=np.bool_),
            times,
        )
        return dict(zip(batch.device_ids, self._encoder.payloads(batch), strict=True))

    def _remember(self, batch: ReadingBatch) -> None:
        """Keep each device's newest reading: its last row, unless readings sent late (out of order,
        forwarded from a buffer) are in the batch, whose last row may be older than one already kept."""
        if not len(batch):
            return
        if batch.late:
            order = np.lexsort((batch.t, batch.device))  # by device, then own time: a device's newest last
            devices, first_from_end = np.unique(batch.device[order][::-1], return_index=True)
            rows = order[len(batch) - 1 - first_from_end]
        else:  # the last row of each device: first occurrence in the reversed batch
            devices, first_from_end = np.unique(batch.device[::-1], return_index=True)
            rows = len(batch) - 1 - first_from_end
        for device, row in zip(devices.tolist(), rows.tolist(), strict=True):
            device_id = batch.device_ids[device]
            kept = self.readings.get(device_id)
            if batch.late and kept is not None and kept.t > batch.t[row]:
                continue
            self.millis[device_id] = bool(batch.millis[row])
            self.readings[device_id] = Reading(
                device_id,
                float(batch.t[row]),
                float(batch.power[row]),
                float(batch.voltage[row]),
                float(batch.current[row]),
                float(batch.energy[row]),
                bool(batch.enabled[row]),
                int(batch.seq[row]),
            )
