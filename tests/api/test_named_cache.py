"""Named scenarios loaded once and kept while the files they read keep their bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.scenarios import load_named_cached
from engine.scenario.loader import LoadedScenario
from tests.helpers import scenario_text

HISTORY = "timestamp,power\n" + "".join(f"2025-08-04T{hour:02d}:00:00Z,{10 + hour}\n" for hour in range(24))


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IOT_MOCK_SCENARIOS_DIR", str(tmp_path))
    (tmp_path / "base.yaml").write_text(
        scenario_text("devices:\n  - {id: a, kind: replay, csv: day.csv, loop: day}\n", name="base")
    )
    (tmp_path / "day.csv").write_text(HISTORY)
    (tmp_path / "child.yaml").write_text("version: 1\nname: child\nextends: base\nseed: 5\n")
    return tmp_path


def test_a_named_scenario_is_kept_while_its_files_are_unchanged(folder: Path) -> None:
    first = load_named_cached("child")
    assert load_named_cached("child") is first


@pytest.mark.parametrize("changed", ["child.yaml", "base.yaml", "day.csv"])
def test_a_change_to_any_file_it_read_loads_it_again(folder: Path, changed: str) -> None:
    first = load_named_cached("child")
    path = folder / changed
    path.write_text(
        path.read_text().replace("seed: 5", "seed: 6").replace(",33\n", ",34\n").replace("seed: 1", "seed: 2")
    )
    again = load_named_cached("child")
    assert again is not first

    def read(loaded: LoadedScenario) -> list[str]:
        return [part.sha256 for part in loaded.chain] + [sha256 for _, sha256 in loaded.plan.data_files]

    assert read(again) != read(first)
