"""Time zones from the pinned `tzdata` package, not the machine's own database.

The system's zoneinfo files differ between machines (and change with OS updates), which would
make local-time load curves, and so readings, differ; reading the rules from the `tzdata`
package the project pins makes them the same everywhere.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_NAME = re.compile(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")


@functools.lru_cache(maxsize=64)
def site_zone(name: str) -> ZoneInfo:
    """The IANA zone `name` (e.g. Europe/Berlin); raises ZoneInfoNotFoundError if unknown."""
    if name == "UTC":
        name = "Etc/UTC"
    if not _NAME.match(name):
        raise ZoneInfoNotFoundError(name)
    try:
        resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        with resource.open("rb") as data:
            return ZoneInfo.from_file(data, key=name)
    except (OSError, ValueError) as exc:
        raise ZoneInfoNotFoundError(name) from exc
