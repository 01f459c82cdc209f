"""The scenario loader: good files, and bad ones reported with file, line and field, all at once."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import ScenarioError, TemplateError, load_scenario, parse_scenario
from engine.scenario.actions import ACTION_NAMES
from engine.scenario.catalog import resolve
from engine.scenario.isolation import render_isolated
from engine.scenario.loader import MAX_FILE_BYTES
from engine.scenario.template import render_template
from tests.helpers import HOSTILE_TEMPLATES, hostile_scenario, messages


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_three_line_scenario_gets_every_default(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: tiny\ndevices: [{id: ac, kind: hvac}]\n")
    plan = load_scenario(path).plan
    (device,) = plan.devices
    assert (device.rated_kw, device.power_factor, device.interval, device.noise) == (25.0, 0.85, 10.0, 0.10)
    assert (device.profile.name, device.phases, device.name) == ("hvac", 3, "ac")
    assert (plan.duration, plan.seed, plan.timezone, plan.site.voltage) == (86400.0, 0, "UTC", 230.0)


def test_every_problem_is_reported_at_once_with_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
version: 1
name: bad one
devices:
  - {id: a, kind: hvac, interval: -5s}
  - {id: a, kind: toaster}
  - id: b/../c
    kind: server
    rated_kw: -3
    colour: red
  - {id: d, kind: lighting, profile: nope}
events:
  - {at: "2025-01-01T10:00", action: outage, target: zz}
  - {at: "+1d", action: brownout, factor: 2}
  - {at: "+1d", action: explode}
  - {at: "tomorrow", action: outage, target: 5}
""",
    )
    src = str(path)
    assert messages(path) == [
        f"{src}:2: name: must be 1 to 64 letters, digits, '_' or '-', got 'bad one'",
        f"{src}:4: devices[0].interval: must be a duration like '500ms', '30s', '15m', '1h30m' or '7d', got '-5s'",
        f"{src}:5: devices[1].id: duplicate device id 'a'",
        f"{src}:5: devices[1].kind: input should be 'hvac', 'lighting', 'server', 'industrial', 'appliance' "
        "or 'replay', got 'toaster'",
        f"{src}:6: devices[2].id: must be 1 to 64 letters, digits, '_' or '-', got 'b/../c'",
        f"{src}:8: devices[2].rated_kw: input should be greater than 0, got -3",
        f"{src}:9: devices[2].colour: unknown field (check the spelling; `iot-mock schema` lists the fields)",
        f"{src}:10: devices[3].profile: unknown profile 'nope'; known: appliance, hvac, industrial, "
        "industrial-1x5, industrial-1x6, industrial-1x7, industrial-2x5, industrial-2x6, industrial-2x7, "
        "industrial-3x5, industrial-3x6, industrial-3x7, lighting, server",
        f"{src}:12: events[0].at: is before the scenario start, got '2025-01-01T10:00'",
        f"{src}:12: events[0].target: unknown device id 'zz'",
        f"{src}:13: events[1].factor: input should be less than 1, got 2",
        f"{src}:14: events[2].action: unknown action 'explode'; one of: {', '.join(ACTION_NAMES)}",
        f"{src}:15: events[3].at: must be a local date-time like '2025-08-05T14:00' or relative like '+2d09:00', "
        "got 'tomorrow'",
        f"{src}:15: events[3].target: must be a device id, a list of ids, {{kind: K}}, {{tag: NAME}} or 'all', got 5",
    ]


def test_missing_fields_point_at_their_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: x\ndevices:\n  - {kind: hvac}\n")
    assert messages(path) == [f"{path}:4: devices[0].id: is required"]


def test_unsupported_version_names_the_supported_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nversion: 2\n")
    assert messages(path) == [f"{path}:2: version: unsupported version 2; this iot-mock reads version 1"]


def test_missing_version(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\n")
    assert messages(path) == [f"{path}:1: version: is required; this iot-mock reads version 1"]


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: x\ndevices:\n  - &a {id: a, kind: hvac}\n  - *a\n")
    assert messages(path) == [f"{path}:5: aliases (*name) are not allowed in scenario files"]


def test_billion_laughs_is_refused_without_expanding() -> None:
    lines = ["version: 1", "name: x", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    with pytest.raises(ScenarioError, match=r"<scenario>:4: aliases \(\*name\) are not allowed"):
        parse_scenario("\n".join(lines) + "\n")


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: x\ndevices: [{id: a, kind: hvac}\n")
    (message,) = messages(path)
    assert message.startswith(f"{path}:4: invalid YAML: ")
    assert "expected ',' or ']'" in message


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: x\nname: y\ndevices: [{id: a, kind: hvac}]\n")
    assert messages(path) == [f"{path}:3: name: duplicate key"]


def test_yaml_11_oddities_stay_strings(tmp_path: Path) -> None:
    text = """\
version: 1
name: x
devices: [{id: no, kind: lighting, profile: p}]
profiles:
  p: {weekday: {08:00: 0.5, 18:00: 0.1}}
"""
    plan = load_scenario(write(tmp_path, text)).plan
    assert plan.devices[0].id == "no"
    assert plan.devices[0].profile.weekday.seconds == (8 * 3600.0, 18 * 3600.0)


def test_profile_curve_problems(tmp_path: Path) -> None:
    text = "version: 1\nname: x\ndevices: [{id: a, kind: hvac, profile: p}]\nprofiles:\n  p: {weekday: [0.5, 0.5]}\n"
    path = write(tmp_path, text)
    assert messages(path) == [f"{path}:5: profiles.p.weekday: needs 24 hourly values, got 2"]


def test_template_renders_in_a_sandbox(tmp_path: Path) -> None:
    text = """\
version: 1
name: racks
devices:
{% for i in range(1, 4) %}
  - {id: "rack-{{ '%02d' % i }}", kind: server}
{% endfor %}
"""
    plan = load_scenario(write(tmp_path, text)).plan
    assert [d.id for d in plan.devices] == ["rack-01", "rack-02", "rack-03"]


def test_template_errors_name_the_template_line(tmp_path: Path) -> None:
    text = "version: 1\nname: x\ndevices:\n{% for i in range(2) %}\n  - {id: d{{ i }}, kind: {{ nope }}}\n"
    text += "{% endfor %}\n"
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as caught:
        load_scenario(path)
    assert caught.value.line == 5
    assert str(caught.value) == f"{path}:5: template: 'nope' is undefined"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe"),
        ("{{ 'x' * 100000000 }}", "repetition longer than 1000000"),
        ("{{ 2 ** 100000 }}", "exponent above 100"),
        (
            "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
            "template output exceeds 8388608 characters",
        ),
        ("{{ range(10**9) | list }}", "Range too big"),
        ("{{ [].append(1) }}", "unsafe"),
    ],
)
def test_template_abuse_is_stopped(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        load_scenario(write(tmp_path, f"version: 1\nname: x\n# {body}\n"))


def test_slow_templates_are_stopped() -> None:
    slow = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    with pytest.raises(TemplateError, match=r"template took longer than 0.2s to render"):
        render_template(slow, "slow.yaml", max_seconds=0.2)


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "#" * (MAX_FILE_BYTES + 1))
    assert messages(path) == [f"{path}: file is {MAX_FILE_BYTES + 1} bytes; the limit is {MAX_FILE_BYTES}"]


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"<scenario>:3: (invalid YAML: exceeded maximum nesting depth|nested)"):
        parse_scenario("version: 1\nname: x\nfoo: " + "[" * 2000 + "]" * 2000 + "\n")


def test_names_cannot_escape_the_scenarios_folder() -> None:
    with pytest.raises(ScenarioError, match="no such file or named scenario"):
        resolve("../pyproject")
    assert resolve("default").name == "default.yaml"


def test_event_times_resolve_in_the_site_timezone(tmp_path: Path) -> None:
    text = """\
version: 1
name: x
start: 2025-03-29T00:00:00
timezone: Europe/Berlin
devices: [{id: a, kind: hvac}]
events:
  - {at: "2025-03-30T12:00", action: outage, duration: 1h}
  - {at: "+1d12:00", action: disable}
  - {at: 2025-03-29T06:00:00, action: enable}
"""
    plan = load_scenario(write(tmp_path, text)).plan
    # DST starts on 2025-03-30 at 02:00 in Berlin: local noon that day is 35 h after the start, not 36.
    assert [e.at for e in plan.events] == [35 * 3600.0, 36 * 3600.0, 6 * 3600.0]
    assert plan.events[0].action.lasts() == 3600.0
    assert plan.events[0].targets == ("a",)


@pytest.mark.parametrize(
    "body",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% set x = i %}{% endfor %}{% endfor %}",
    ],
)
def test_silent_loops_hit_the_time_limit(body: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"template took longer than 0.3s to render"):
        render_template(body, "slow.yaml", max_seconds=0.3)
    assert time.monotonic() - started < 2


def test_size_arguments_of_string_methods_are_capped() -> None:
    with pytest.raises(TemplateError, match="argument 100000000 above 1000000"):
        render_template("{{ 'x'.ljust(100000000) }}", "big.yaml")


def test_bad_yaml_dates_and_numeric_times_are_issues_not_crashes(tmp_path: Path) -> None:
    text = """\
version: 1
name: x
start: 2025-02-30T00:00:00
holidays: [2025-13-01]
devices: [{id: a, kind: hvac}]
events:
  - {at: 12, action: outage}
"""
    path = write(tmp_path, text)
    assert messages(path) == [
        f"{path}:3: start: input should be a valid datetime or date, day value is outside expected range, "
        "got '2025-02-30T00:00:00'",
        f"{path}:4: holidays[0]: input should be a valid date or datetime, month value is outside expected range "
        "of 1-12, got '2025-13-01'",
        f"{path}:7: events[0].at: must be a local date-time like '2025-08-05T14:00' or relative like '+90m', got 12",
    ]


def test_an_unquoted_date_before_the_start_is_caught(tmp_path: Path) -> None:
    text = "version: 1\nname: x\nstart: 2025-08-04T00:00:00\ndevices: [{id: a, kind: hvac}]\n"
    path = write(tmp_path, text + "events:\n  - {at: 2025-08-03, action: outage}\n")
    assert messages(path) == [f"{path}:6: events[0].at: is before the scenario start, got '2025-08-03 00:00:00'"]


def test_union_branches_do_not_leak_unrelated_errors(tmp_path: Path) -> None:
    text = "version: 1\nname: x\ndevices: [{id: a, kind: hvac, profile: p}]\nprofiles:\n  p: {weekday: [0.5, 9]}\n"
    path = write(tmp_path, text)
    assert messages(path) == [f"{path}:5: profiles.p.weekday[1]: input should be less than or equal to 1.5, got 9"]


@pytest.mark.parametrize(("body", "message"), HOSTILE_TEMPLATES)
def test_hostile_templates_end_at_once_with_a_located_error(body: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        parse_scenario(hostile_scenario(body), "hostile.yaml")
    assert time.monotonic() - started < 3
    assert str(caught.value) == f"hostile.yaml:4: {message}"


def test_one_long_c_level_operation_is_killed_at_the_hard_deadline() -> None:
    # sum() of lists runs ~20 s inside C, where the sandbox's own checks never run: the worker is killed.
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        parse_scenario(hostile_scenario("{{ ([[0] * 1000] * 3000) | sum(start=[]) | length }}"), "slow.yaml")
    assert time.monotonic() - started < 3.5
    assert str(caught.value) == "slow.yaml:4: template took longer than 2s to render"


def test_templates_render_the_same_in_the_worker_and_in_process() -> None:
    text = (Path(__file__).parents[2] / "scenarios" / "datacenter-day.yaml").read_text()
    assert render_isolated(text, "datacenter-day.yaml") == render_template(text, "datacenter-day.yaml")


TAG_REFUSED = "YAML tag '!foo' is not allowed in scenario files; write a plain value"


@pytest.mark.parametrize(
    ("text", "issue"),
    [
        ("description: !foo bar\n", f"4: description: {TAG_REFUSED}"),
        ("site: !foo {voltage: 230}\n", f"4: site: {TAG_REFUSED}"),
        ("events: !foo []\n", f"4: events: {TAG_REFUSED}"),
        ("!foo description: x\n", f"4: {TAG_REFUSED}"),
        ("description: !!binary aGk=\n", f"4: description: {TAG_REFUSED.replace('!foo', '!!binary')}"),
    ],
)
def test_yaml_tags_are_located_issues(tmp_path: Path, text: str, issue: str) -> None:
    path = write(tmp_path, "version: 1\nname: x\ndevices: [{id: a, kind: hvac}]\n" + text)
    assert messages(path) == [f"{path}:{issue}"]


def test_plain_explicit_tags_are_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: !!str x\ndevices: !!seq [{id: a, kind: hvac, rated_kw: !!float 3}]\n")
    assert load_scenario(path).plan.devices[0].rated_kw == 3.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
         "template took longer than 2s to render"),
        ("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", "template output exceeds 8388608 characters"),
    ],
)  # fmt: skip
def test_limits_stopped_inside_the_sandbox_say_the_template_line(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, f"version: 1\nname: x\n#\n# {body}\n")
    assert messages(path) == [f"{path}:4: {message}"]


def test_a_script_without_a_main_guard_loads_templated_scenarios(tmp_path: Path) -> None:
    """The template worker must not run the caller's script again (multiprocessing's main re-import)."""
    script = tmp_path / "plain.py"
    script.write_text(
        'from engine import load_named\nprint("devices", len(load_named("datacenter-day").plan.devices))\n'
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "devices 27\n", "")
