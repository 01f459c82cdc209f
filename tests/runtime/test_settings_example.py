"""`.env.example` documents every setting, so a new user finds them all in one file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.runtime.settings import Settings

EXAMPLE = Path(__file__).parents[2] / ".env.example"
LISTED = re.findall(r"^# (IOT_MOCK_[A-Z_]+)=(.*)$", EXAMPLE.read_text(), flags=re.MULTILINE)


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    assert sorted(name for name, _ in LISTED) == sorted(f"IOT_MOCK_{name.upper()}" for name in Settings.model_fields)


@pytest.mark.parametrize(("name", "value"), LISTED, ids=[name for name, _ in LISTED])
def test_env_example_shows_each_setting_at_its_default(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Uncommenting a line changes nothing: the value shown is the default (it once read PydanticUndefined)."""
    field = name.removeprefix("IOT_MOCK_").lower()
    default = Settings.model_fields[field].get_default(call_default_factory=True)
    if value == "" or "<" in value:  # unset, or a placeholder such as iot-mock-<random>
        assert default in (None, []) or "<" in value, (name, default)
        return
    monkeypatch.setenv(name, value)
    actual = getattr(Settings(_env_file=None), field)
    assert (actual.expanduser() if isinstance(actual, Path) else actual) == default


def test_cors_origins_are_comma_separated_or_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOT_MOCK_CORS_ORIGINS", " http://localhost:3000, https://dash.example.com:8443 ")
    assert Settings(_env_file=None).cors_origins == ["http://localhost:3000", "https://dash.example.com:8443"]
    monkeypatch.setenv("IOT_MOCK_CORS_ORIGINS", '["http://localhost:3000"]')
    assert Settings(_env_file=None).cors_origins == ["http://localhost:3000"]


def test_a_developers_env_file_does_not_reach_the_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README's compose step writes the token to .env; the tests' apps must not start requiring it."""
    (tmp_path / ".env").write_text("IOT_MOCK_API_TOKEN=abcdefghijklmnopqrstuvwxyz\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().api_token is None
    assert Settings(_env_file=tmp_path / ".env").api_token == "abcdefghijklmnopqrstuvwxyz"  # read when asked
