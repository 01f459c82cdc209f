"""Devices created, changed or deleted through the API, kept in SQLite so they survive a restart.

One row per (scenario, device): the device as the API last set it (JSON), or NULL when it was
deleted. When a scenario starts, its rows are laid over the scenario file's devices.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from engine.model.specs import Plan
from engine.scenario.compile import device_spec
from engine.scenario.device_format import Device

log = logging.getLogger("iot_mock.store")
SCHEMA = """CREATE TABLE IF NOT EXISTS devices (
    scenario TEXT NOT NULL,
    device_id TEXT NOT NULL,
    body TEXT,
    changed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (scenario, device_id)
)"""


class DeviceStore:
    """The API's device changes per scenario; `path` None keeps them in memory only."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if path is None else path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL" if path is not None else "PRAGMA journal_mode=MEMORY")
        self._db.execute(SCHEMA)

    def save(self, scenario: str, device_id: str, body: dict[str, Any] | None) -> None:
        """Record a device as created or updated (`body`), or deleted (None)."""
        text = None if body is None else json.dumps(body, separators=(",", ":"))
        self._db.execute(
            "INSERT INTO devices (scenario, device_id, body) VALUES (?, ?, ?) "
            "ON CONFLICT (scenario, device_id) DO UPDATE SET body = excluded.body, changed_at = CURRENT_TIMESTAMP",
            (scenario, device_id, text),
        )

    def changes(self, scenario: str) -> list[tuple[str, dict[str, Any] | None]]:
        rows = self._db.execute(
            "SELECT device_id, body FROM devices WHERE scenario = ? ORDER BY rowid", (scenario,)
        ).fetchall()
        return [(device_id, None if body is None else json.loads(body)) for device_id, body in rows]

    def apply(self, plan: Plan) -> Plan:
        """`plan` with this store's changes for its scenario; a row that no longer fits is skipped."""
        devices = {device.id: device for device in plan.devices}
        for device_id, body in self.changes(plan.name):
            if body is None:
                devices.pop(device_id, None)
                continue
            try:
                device = Device.model_validate(body)
                before = devices.get(device_id)
                replay = before.replay if before is not None else None  # a replay keeps the history the plan read
                history = replay.history if replay is not None and replay.csv == device.csv else None
                devices[device_id] = device_spec(device, plan.profiles, plan.site, history=history)
            except (ValueError, KeyError) as exc:  # e.g. a profile the scenario file no longer has
                log.warning(
                    "stored device %s of %s skipped: it no longer fits the scenario (%s)", device_id, plan.name, exc
                )
        events = tuple(
            dataclasses.replace(event, targets=tuple(t for t in event.targets if t in devices)) for event in plan.events
        )
        return dataclasses.replace(plan, devices=tuple(devices.values()), events=events)

    def close(self) -> None:
        self._db.close()
