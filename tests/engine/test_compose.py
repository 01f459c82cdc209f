"""Scenario composition (`extends:`): real files in tmp_path through the real loader and the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from engine import ScenarioError, load_named, load_scenario, parse_scenario
from engine.scenario.compose import MAX_CHAIN
from tests.engine.test_cli import iot_mock
from tests.helpers import messages

BASE = """\
version: 1
name: base
start: 2025-08-04T00:00:00
duration: 1d
seed: 1
site: {voltage: 230}
profiles:
  flat: {weekday: {"00:00": 0.5}}
  night: {weekday: {"00:00": 0.9, "06:00": 0.1}}
devices:
  - {id: a, kind: hvac, rated_kw: 10, name: Unit A}
  - {id: b, kind: lighting, rated_kw: 5, profile: flat, interval: 1m}
  - {id: c, kind: server}
events:
  - {at: "+1h", action: outage, target: a, duration: 5m}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path, "base.yaml", BASE)


def test_an_overlay_overrides_adds_removes_and_appends(tmp_path: Path, base: Path) -> None:
    top = write(
        tmp_path,
        "top.yaml",
        "extends: ./base.yaml\nname: top\nseed: 9\nremove: [c]\n"
        "profiles:\n  flat: {weekday: {'00:00': 0.25}}\n  peak: {weekday: {'12:00': 1.0}}\n"
        "devices:\n  - {id: e, kind: appliance, profile: peak}\n  - {id: b, rated_kw: 7}\n"
        "  - {id: d, kind: industrial}\n"
        "events:\n  - {at: '+2h', action: outage, target: d, duration: 5m}\n",
    )
    loaded = load_scenario(top)
    scenario, plan = loaded.scenario, loaded.plan
    assert [d.id for d in scenario.devices] == ["a", "b", "e", "d"]  # base order, then new ids in overlay order
    b = scenario.devices[1]
    # Field by field: the overlay's rated_kw, the base's kind, profile and interval.
    assert (b.kind, b.rated_kw, b.profile, b.interval) == ("lighting", 7.0, "flat", 60.0)
    assert scenario.devices[0].name == "Unit A"
    assert (scenario.name, scenario.seed, scenario.duration) == ("top", 9, 86400.0)  # overridden / inherited
    assert sorted(scenario.profiles) == ["flat", "night", "peak"]
    assert scenario.profiles["flat"].weekday == {"00:00": 0.25}  # a profile of the same name replaces the base's
    assert [(e.at, e.targets) for e in plan.events] == [(3600.0, ("a",)), (7200.0, ("d",))]  # appended
    assert (scenario.extends, scenario.remove) == (None, [])  # consumed by the merge


def test_other_top_level_fields_replace_the_base_s_whole(tmp_path: Path, base: Path) -> None:
    top = write(tmp_path, "top.yaml", "extends: base.yaml\nsite: {phases: 1}\ntimezone: Europe/Berlin\n")
    scenario = load_scenario(top).scenario
    assert (scenario.site.phases, scenario.site.voltage, scenario.timezone) == (1, 230.0, "Europe/Berlin")
    assert scenario.name == "base"  # not given: the base's


def test_a_chain_of_three_files_and_its_report(tmp_path: Path, base: Path) -> None:
    (tmp_path / "sub").mkdir()
    middle = write(tmp_path / "sub", "middle.yaml", "extends: ../base.yaml\nname: middle\nremove: [c]\n")
    top = write(tmp_path, "top.yaml", "extends: ./sub/middle.yaml\nname: top\ndevices: [{id: b, rated_kw: 2}]\n")
    loaded = load_scenario(top)
    assert [d.id for d in loaded.scenario.devices] == ["a", "b"]
    assert (loaded.scenario.name, loaded.scenario.devices[1].rated_kw) == ("top", 2.0)
    chain = [(f.source, f.sha256) for f in loaded.chain]
    assert [Path(source).resolve() for source, _ in chain] == [top.resolve(), middle.resolve(), base.resolve()]
    assert [sha for _, sha in chain] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in (top, middle, base)]
    assert loaded.sha256 == chain[0][1] == loaded.plan.source_sha256
    report = tmp_path / "report.json"
    done = iot_mock("run", str(top), "--duration", "1m", "--out", str(tmp_path / "r.jsonl"), "--report", str(report))
    assert done.returncode == 0, done.stderr
    identity = json.loads(report.read_text())["scenario"]
    assert identity["sha256"] == chain[0][1]
    assert identity["chain"] == [{"source": source, "sha256": sha} for source, sha in chain]


def test_a_scenario_without_extends_has_no_chain_in_its_report(tmp_path: Path, base: Path) -> None:
    report = tmp_path / "report.json"
    done = iot_mock("run", str(base), "--duration", "1m", "--out", str(tmp_path / "r.jsonl"), "--report", str(report))
    assert done.returncode == 0, done.stderr
    assert set(json.loads(report.read_text())["scenario"]) == {"name", "revision", "sha256", "source"}


def test_a_cycle_is_refused_naming_the_chain(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "extends: ./b.yaml\nname: a\n")
    b = write(tmp_path, "b.yaml", "version: 1\nextends: ./a.yaml\n")
    assert messages(a) == [f"{b}:2: extends: extends a scenario already in the chain, a cycle: {a} -> {b} -> {a}"]
    itself = write(tmp_path, "self.yaml", "extends: ./self.yaml\n")
    assert messages(itself) == [
        f"{itself}:1: extends: extends a scenario already in the chain, a cycle: {itself} -> {itself}"
    ]


def test_a_chain_longer_than_the_limit_is_refused(tmp_path: Path, base: Path) -> None:
    previous = "base.yaml"
    for i in range(MAX_CHAIN):
        previous = write(tmp_path, f"level{i}.yaml", f"extends: ./{previous}\n").name
    assert messages(tmp_path / previous)[0].endswith(f"a chain of extends is at most {MAX_CHAIN} files long")


def test_problems_are_located_in_the_file_that_holds_them(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE.replace("rated_kw: 10", "rated_kw: -10"))
    top = write(
        tmp_path,
        "top.yaml",
        "extends: ./base.yaml\nname: top\nremove: [c, zz]\n"
        "devices:\n  - {id: b, interval: -5s}\n  - {id: q, kind: oven}\n",
    )
    assert messages(top) == [
        f"{top}:3: remove[1]: no device 'zz' in the base to remove",
        f"{top}:5: devices[0].interval: must be a duration like '500ms', '30s', '15m', '1h30m' or '7d', got '-5s'",
        f"{top}:6: devices[1].kind: input should be 'hvac', 'lighting', 'server', 'industrial', 'appliance' "
        "or 'replay', got 'oven'",
        f"{base}:11: devices[0].rated_kw: input should be greater than 0, got -10",
    ]


def test_a_reference_broken_by_the_overlay_is_located_in_the_base(tmp_path: Path, base: Path) -> None:
    top = write(tmp_path, "top.yaml", "extends: ./base.yaml\nremove: [a]\n")
    (message,) = messages(top)
    assert message.startswith(f"{base}:15: events[0].target: ") and "'a'" in message


def test_extends_must_name_a_known_base(tmp_path: Path) -> None:
    unknown = write(tmp_path, "u.yaml", "version: 1\nextends: nosuch\n")
    assert messages(unknown)[0].startswith(f"{unknown}:2: extends: no named scenario 'nosuch' (named scenarios: ")
    missing = write(tmp_path, "m.yaml", "extends: ./gone.yaml\n")
    assert messages(missing) == [f"{missing}:1: extends: no such file {str(tmp_path / 'gone.yaml')!r}"]
    absolute = write(tmp_path, "abs.yaml", f"extends: {tmp_path / 'm.yaml'}\n")
    assert messages(absolute) == [
        f"{absolute}:1: extends: give a path relative to this file, got {str(tmp_path / 'm.yaml')!r}"
    ]
    alone = write(tmp_path, "alone.yaml", "version: 1\nname: x\nremove: [a]\ndevices: [{id: a, kind: hvac}]\n")
    assert messages(alone) == [f"{alone}:3: remove: needs extends: it drops devices of the base"]


def test_each_file_is_rendered_on_its_own(tmp_path: Path) -> None:
    templated = BASE.replace(
        "  - {id: c, kind: server}\n", '{% for i in range(2) %}\n  - {id: "rack-{{ i }}", kind: server}\n{% endfor %}\n'
    )
    base = write(tmp_path, "base.yaml", templated)
    top = write(
        tmp_path,
        "top.yaml",
        "extends: ./base.yaml\ndevices:\n"
        '{% for i in range(2) %}\n  - {id: "rack-{{ i }}", rated_kw: 3}\n{% endfor %}\n',
    )
    devices = load_scenario(top).scenario.devices
    assert [(d.id, d.rated_kw) for d in devices[2:]] == [("rack-0", 3.0), ("rack-1", 3.0)]
    bad = write(tmp_path, "bad.yaml", "extends: ./base.yaml\ndevices: [{id: rack-1, rated_kw: 0}]\n")
    assert messages(bad) == [f"{bad}:2: devices[0].rated_kw: input should be greater than 0, got 0"]
    assert base.exists()


def test_an_upload_extends_named_scenarios_only(tmp_path: Path) -> None:
    loaded = parse_scenario("extends: office-week\nname: up\nremove: [office-kitchen]\n", "upload.yaml")
    assert loaded.scenario.name == "up" and len(loaded.scenario.devices) == 5
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("extends: ./x.yaml\n", "upload.yaml")
    assert str(caught.value) == (
        "upload.yaml:1: extends: an uploaded scenario can extend a named scenario only, not a path, got './x.yaml'"
    )


def test_render_shows_the_merged_scenario_which_loads_the_same(tmp_path: Path, base: Path) -> None:
    top = write(tmp_path, "top.yaml", "extends: ./base.yaml\nname: top\ndevices: [{id: b, rated_kw: 7}]\n")
    done = iot_mock("render", str(top))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"# merged: {top} (sha256 {hashlib.sha256(top.read_bytes()).hexdigest()})\n")
    assert f"# from: {base} (sha256 " in done.stdout and "extends" not in done.stdout
    assert "'00:00': 0.5" in done.stdout  # quoted: a string for any YAML reader
    rendered = write(tmp_path, "rendered.yaml", done.stdout)
    assert load_scenario(rendered).scenario == load_scenario(top).scenario
    plain = iot_mock("render", str(base))
    assert plain.stdout == BASE  # a file without extends: its text, as before
    bad = write(tmp_path, "bad.yaml", "extends: ./base.yaml\nremove: [zz]\n")
    refused = iot_mock("render", str(bad))
    assert (refused.returncode, refused.stderr) == (
        1,
        f"error: {bad}:2: remove[0]: no device 'zz' in the base to remove\n",
    )


def test_office_week_ci_is_office_week_made_shorter() -> None:
    ci, week = load_named("office-week-ci"), load_named("office-week")
    assert [f.sha256 for f in ci.chain] == [ci.sha256, week.sha256]
    assert (ci.plan.duration, ci.plan.seed) == (2 * 86400.0, 11)
    assert [d.id for d in ci.plan.devices] == [d.id for d in week.plan.devices if d.id != "office-kitchen"]
    assert [e.action.action for e in ci.plan.events] == [e.action.action for e in week.plan.events] + ["comm_loss"]


def test_a_file_named_by_a_base_is_read_from_the_base_s_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "weather.csv").write_text("time,temperature_c\n2025-08-04T00:00,30\n2025-08-05T00:00,30\n")
    write(tmp_path / "sub", "base.yaml", BASE.replace("site: {voltage: 230}", "site: {weather: {csv: weather.csv}}"))
    top = write(tmp_path, "top.yaml", "extends: ./sub/base.yaml\nname: top\n")
    weather = load_scenario(top).plan.site.weather
    assert weather is not None and weather.table  # read from sub/, where the base is
