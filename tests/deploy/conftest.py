from __future__ import annotations

from tests.api.conftest import client  # noqa: F401  (the real app, whose /metrics the dashboard must match)
