"""`.env.example` documents every setting, so a new user finds them all in one file."""

from __future__ import annotations

import re
from pathlib import Path

from engine.runtime.settings import Settings

EXAMPLE = Path(__file__).parents[2] / ".env.example"


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    listed = re.findall(r"^# (IOT_MOCK_[A-Z_]+)=", EXAMPLE.read_text(), flags=re.MULTILINE)
    assert sorted(listed) == sorted(f"IOT_MOCK_{name.upper()}" for name in Settings.model_fields)
