"""The last reading of every device, kept by a sink so the API can answer without the broker."""

from __future__ import annotations

import numpy as np

from engine.model.readings import Reading, ReadingBatch, StatusChange


class LatestReadings:
    """Sink that remembers each device's most recent reading and status."""

    def __init__(self) -> None:
        self.readings: dict[str, Reading] = {}
        self.millis: dict[str, bool] = {}  # whether the device's timestamps carry milliseconds
        self.statuses: dict[str, StatusChange] = {}

    def write(self, batch: ReadingBatch, statuses: list[StatusChange]) -> None:
        self._remember(batch)
        for change in statuses:
            if change.removed:
                for table in (self.readings, self.millis, self.statuses):
                    table.pop(change.device_id, None)
            else:
                self.statuses[change.device_id] = change

    def _remember(self, batch: ReadingBatch) -> None:
        if not len(batch):
            return
        # The last row of each device: first occurrence in the reversed batch.
        devices, first_from_end = np.unique(batch.device[::-1], return_index=True)
        rows = len(batch) - 1 - first_from_end
        for device, row in zip(devices.tolist(), rows.tolist(), strict=True):
            self.millis[batch.device_ids[device]] = bool(batch.millis[row])
            self.readings[batch.device_ids[device]] = Reading(
                batch.device_ids[device],
                float(batch.t[row]),
                float(batch.power[row]),
                float(batch.voltage[row]),
                float(batch.current[row]),
                float(batch.energy[row]),
                bool(batch.enabled[row]),
                int(batch.seq[row]),
            )
