"""The contract's topics: `{prefix}/devices/{id}/data|status|commands|responses` and `{prefix}/simulator/status`.

Device ids match `DEVICE_ID` (letters, digits, `_` and `-`, at most 64), so no id can contain a
`/`, `+` or `#` and reach another device's topic or a wildcard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""Device ids and scenario names: topic segments and URL path segments, so never a `/`, `+` or `#`."""
DEVICE_ID = re.compile(ID_PATTERN)
"""What a device id may be, in every topic and route."""
DeviceTopic = Literal["data", "status", "commands", "responses"]


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic names of one prefix (default `energy`)."""

    prefix: str

    @property
    def simulator(self) -> str:
        """The simulator's own retained `online`/`offline` (and the will message)."""
        return f"{self.prefix}/simulator/status"

    @property
    def commands(self) -> str:
        """The filter a bridge subscribes to for every device's commands."""
        return f"{self.prefix}/devices/+/commands"

    def device(self, device_id: str, kind: DeviceTopic) -> str:
        """The one spelling of a device topic: `{prefix}/devices/{id}/{kind}`."""
        return f"{self.prefix}/devices/{device_id}/{kind}"

    def data(self, device_id: str) -> str:
        return self.device(device_id, "data")

    def status(self, device_id: str) -> str:
        return self.device(device_id, "status")

    def responses(self, device_id: str) -> str:
        return self.device(device_id, "responses")

    def commanded_device(self, topic: str) -> str | None:
        """The device id of a topic `{prefix}/devices/{id}/commands`; None unless it is a valid id."""
        head, tail = f"{self.prefix}/devices/", "/commands"
        if not (topic.startswith(head) and topic.endswith(tail)):
            return None
        device_id = topic[len(head) : -len(tail)]
        return device_id if DEVICE_ID.match(device_id) else None
