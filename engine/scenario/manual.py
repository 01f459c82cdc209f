"""docs/scenarios.md, the reference of the scenario format, rendered from its JSON Schema.

Every section, field, type, default and example comes from `format.json_schema()` (the models'
descriptions and `examples`, the actions' own examples), so a new field, device kind or action
appears once the file is regenerated (`python -m iot_mock.docs`); tests/engine/test_manual.py fails
while the committed file differs, and parses every example in a scenario.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import TypeAdapter

from engine.contract.topics import ID_PATTERN
from engine.model.kinds import KINDS
from engine.scenario import reference
from engine.scenario.durations import DURATION_PATTERN
from engine.scenario.fields import RATE_PATTERN, At, Duration, Rate, Target
from engine.scenario.format import json_schema

Schema = dict[str, Any]
_PATTERNS = {ID_PATTERN: "id", DURATION_PATTERN: "duration", RATE_PATTERN: "rate"}
_FORMATS: tuple[tuple[str, Any, str], ...] = (
    ("duration", Duration, "`30s`, `1h30m`, `500ms`, `7d`, or seconds: `90`"),
    ("rate", Rate, '`"3/day"`, `"1/h"`, `"10/min"`, `"1/30m"`'),
    ("time", At, '`"2025-08-05T14:00"`, `"+2d09:00"`, `"+90m"`'),
    ("target", Target, "`mock-hvac-001`, `[meter-1, meter-2]`, `{kind: hvac}`, `{tag: noisy}`, `all`"),
)


@dataclass
class Place:
    """Where objects of some definitions sit in a scenario: `devices[]`, `site.weather`, `profiles.<name>`."""

    path: str
    description: str
    defs: list[str] = field(default_factory=list)
    discriminator: str | None = None


def flow(value: object) -> str:
    """`value` in YAML flow style, on one line, as a scenario file may write it."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1_000_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def places(schema: Schema) -> list[Place]:
    """Every place that holds an object of a definition, in the order of the schema's properties."""
    found: dict[str, Place] = {}
    seen: set[str] = set()

    def walk(node: Schema, prefix: str) -> None:
        for name, prop in node.get("properties", {}).items():
            for ref, shape, discriminator in _refs(prop):
                path = f"{prefix}{'.' if prefix else ''}{name}{shape}"
                if ref in seen:
                    continue
                seen.add(ref)
                place = found.setdefault(path, Place(path, prop.get("description", ""), discriminator=discriminator))
                place.defs.append(ref)
                walk(schema["$defs"][ref], path)

    walk(schema, "")
    return list(found.values())


def _refs(prop: Schema, shape: str = "", discriminator: str | None = None) -> Iterator[tuple[str, str, str | None]]:
    """The definitions a property holds, each with its shape (`[]` a list, `.<name>` a map) and discriminator."""
    if "$ref" in prop:
        yield prop["$ref"].rsplit("/", 1)[1], shape, discriminator
    tag = prop.get("discriminator", {}).get("propertyName", discriminator)
    for branch in prop.get("anyOf", []) + prop.get("oneOf", []):
        yield from _refs(branch, shape, tag)
    if isinstance(prop.get("items"), dict):
        yield from _refs(prop["items"], shape + "[]", discriminator)
    if isinstance(prop.get("additionalProperties"), dict):
        yield from _refs(prop["additionalProperties"], shape + ".<name>", discriminator)


def type_words(prop: Schema, *, anchor: str = "") -> str:
    """A property's type in words: `duration`, `number, 0 < x <= 1`, `list of id`, a link to a definition
    (at `#{anchor}{name}`, lower case)."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{anchor}{name.lower()})"
    if "discriminator" in prop:
        tag = prop["discriminator"]["propertyName"]
        count = len(prop.get("oneOf") or prop.get("anyOf") or [])
        return f"one of {count}, by `{tag}`" if anchor else f"[one of {count}, by `{tag}`](#by-{tag})"
    branches = prop.get("anyOf") or prop.get("oneOf")
    if branches:
        words = [type_words(branch, anchor=anchor) for branch in branches if branch.get("type") != "null"]
        return " or ".join(dict.fromkeys(words))
    if "const" in prop:
        return f"`{flow(prop['const'])}`"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{value}`" for value in prop["enum"])
    kind = prop.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(k for k in kind if k != "null")
    if prop.get("pattern") in _PATTERNS:
        kind = _PATTERNS[prop["pattern"]]
    elif "format" in prop:
        kind = prop["format"]
    elif kind == "array":
        kind = f"list of {type_words(prop.get('items', {}), anchor=anchor)}"
    elif kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        kind = f"map of name to {type_words(prop['additionalProperties'], anchor=anchor)}"
    return ", ".join([kind, *_bounds(prop)])


def _bounds(prop: Schema) -> list[str]:
    low = (">=", prop["minimum"]) if "minimum" in prop else (">", prop.get("exclusiveMinimum"))
    high = ("<=", prop["maximum"]) if "maximum" in prop else ("<", prop.get("exclusiveMaximum"))
    out = []
    if low[1] is not None and high[1] is not None:
        out.append(f"{_number(low[1])} {low[0].replace('>', '<')} x {high[0]} {_number(high[1])}")
    elif low[1] is not None:
        out.append(f"{low[0]} {_number(low[1])}")
    elif high[1] is not None:
        out.append(f"{high[0]} {_number(high[1])}")
    if "maxLength" in prop:
        out.append(f"at most {prop['maxLength']} characters")
    if "minItems" in prop or "maxItems" in prop:
        out.append(f"{prop.get('minItems', 0)} to {prop['maxItems']} items" if "maxItems" in prop
                   else f"at least {prop['minItems']}")  # fmt: skip
    return out


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _example(name: str, examples: list[Any]) -> str:
    """The first example that sets field `name`, as `name: value`."""
    value = next((example[name] for example in examples if isinstance(example, dict) and name in example), None)
    return "" if value is None else f"`{name}: {flow(value)}`"


def _table(props: dict[str, Schema], required: set[str], examples: list[Any]) -> list[str]:
    rows = ["| field | type | default | description | example |", "|---|---|---|---|---|"]
    for name, prop in props.items():
        default = "**required**" if name in required else f"`{flow(prop['default'])}`" if "default" in prop else ""
        description = _cell(prop.get("description", ""))
        rows.append(
            f"| `{name}` | {_cell(type_words(prop))} | {default} | {description} | {_cell(_example(name, examples))} |"
        )
    return rows


def _heading(level: str, path: str, name: str) -> list[str]:
    return [f'<a id="{name.lower()}"></a>', "", f"{level} {f'`{path}`' if path else 'Top level'}: {name}", ""]


def _object(schema: Schema, path: str, name: str) -> list[str]:
    node = schema if name == "Scenario" else schema["$defs"][name]
    examples = node.get("examples", [])
    lines = [*_heading("##", path, name), _cell(node.get("description", "")), ""]
    lines += _table(node.get("properties", {}), set(node.get("required", [])), examples)
    if {"id", "kind"} <= node.get("properties", {}).keys():  # a device
        lines += ["", *_kinds(node["properties"]["kind"], examples)]
    if examples and not path:  # whole scenarios: one YAML document each
        documents = (yaml.safe_dump(e, sort_keys=False, width=110, default_flow_style=None) for e in examples)
        lines += ["", "Examples:", "", "```yaml", "---\n".join(documents).strip(), "```"]
    elif examples:
        lines += ["", "Examples:", "", "```yaml"]
        lines += [f"{'- ' if path.endswith('[]') else ''}{flow(example)}" for example in examples] + ["```"]
    return [*lines, ""]


def _kinds(prop: Schema, examples: list[Any]) -> list[str]:
    """The device kinds, with their defaults and behaviour, and an example of each."""
    rows = [
        "| kind | rated kW | power factor | profile | noise | behaviour | example |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in prop.get("enum", [prop.get("const")]):
        spec = KINDS.get(kind)
        example = next((e for e in examples if e.get("kind") == kind), None)
        shown = f"`{flow(example)}`" if example else ""
        if spec is None:
            rows.append(f"| `{kind}` | | | | | | {_cell(shown)} |")
            continue
        behaviour = _cell(spec.behaviour.__doc__ or "")
        rows.append(f"| `{kind}` | {spec.rated_kw:g} | {spec.power_factor:g} | `{spec.profile}` | {spec.noise:g} | "
                    f"{behaviour} | {_cell(shown)} |")  # fmt: skip
    return rows


def _variants(schema: Schema, place: Place) -> list[str]:
    """Objects told apart by a discriminator (the events' `action`): the fields they share once, then each one."""
    nodes = [schema["$defs"][name] for name in place.defs]
    tag = place.discriminator or ""
    common = [name for name in nodes[0]["properties"] if all(name in node["properties"] for node in nodes)]
    shared = {name: dict(nodes[0]["properties"][name]) for name in common}
    shared[tag] = {"type": "string", "description": "Which one (below)."}
    every = [example for node in nodes for example in node.get("examples", [])]
    lines = [f'<a id="by-{tag}"></a>', "", f"## `{place.path}`: one of {len(nodes)}, by `{tag}`", "",
             f"{place.description} The fields every one has:", ""]  # fmt: skip
    lines += _table(shared, {tag}, every)
    if tag == "action":
        lines += [
            "",
            "Every action at a glance (the same table as in README.md):",
            "",
            reference.actions_table().strip(),
        ]
    for name, node in zip(place.defs, nodes, strict=True):
        value = node["properties"][tag].get("const", name)
        own = {key: prop for key, prop in node["properties"].items() if key not in common and key != tag}
        lines += ["", f"### `{tag}: {value}`", "", _cell(node.get("description", "")), ""]
        if own:
            lines += [*_table(own, set(node.get("required", [])), node.get("examples", [])), ""]
        lines += ["```yaml", *(f"- {flow(example)}" for example in node.get("examples", [])), "```"]
    return [*lines, ""]


def _formats() -> list[str]:
    rows = ["| form | meaning | examples |", "|---|---|---|"]
    for name, annotation, shown in _FORMATS:
        description = TypeAdapter(annotation).json_schema().get("description", "")
        rows.append(f"| {name} | {_cell(description)} | {shown} |")
    return rows


def render() -> str:
    """The whole of docs/scenarios.md."""
    schema = json_schema()
    lines = [
        "# Scenario format reference (version 1)",
        "",
        "<!-- Generated from docs/scenario.schema.json by `python -m iot_mock.docs`; do not edit. -->",
        "",
        "A scenario is a YAML file (Jinja2 templates allowed, see README.md). Every field below, its type, default",
        "and example comes from the schema that `iot-mock schema` prints, so this page and the validator agree.",
        "Each example is parsed in a scenario by the tests. Units: kW, kWh, V, A, C; times are local to `timezone`.",
        "A whole scenario is at the end of the [top level](#scenario) section.",
        "",
        "## Value formats",
        "",
        *_formats(),
        "",
        *_object(schema, "", "Scenario"),
    ]
    for place in places(schema):
        if place.discriminator and len(place.defs) > 1:
            lines += _variants(schema, place)
        else:
            for name in place.defs:
                lines += _object(schema, place.path, name)
    return "\n".join(lines).rstrip() + "\n"
