"""Safe YAML parsing that remembers the line of every field, for located error messages.

Builds on PyYAML's safe loader (no Python objects can be constructed), refuses aliases (so a
"billion laughs" file cannot expand), refuses tags other than YAML's plain types (`!foo`, `!!binary`,
`!!set`: each a located issue), and reads YAML 1.1 oddities the way a person would:
`08:00` stays a string instead of the sexagesimal number 480, and `on`/`no` stay strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from engine.errors import Issue

Path = tuple[str | int, ...]
MAX_DEPTH = 40
_BOOL = "tag:yaml.org,2002:bool"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_STANDARD = "tag:yaml.org,2002:"
# The tags a plain YAML value resolves to (an explicit `!!str` is one of them too).
_PLAIN_TAGS: dict[type[yaml.Node], frozenset[str]] = {
    yaml.ScalarNode: frozenset(_STANDARD + name for name in ("str", "int", "float", "bool", "null", "timestamp")),
    yaml.MappingNode: frozenset({_STANDARD + "map"}),
    yaml.SequenceNode: frozenset({_STANDARD + "seq"}),
}


# libyaml's parser when PyYAML has it (20x faster on big templated files), else the pure one.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _first_alias_line(text: str) -> int | None:
    """The 1-based line of the first alias, if any: aliases are refused before anything is composed."""
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) and event.start_mark is not None:
            line: int = event.start_mark.line + 1
            return line
    return None


@dataclass(slots=True)
class ParsedYaml:
    """The plain data of a YAML document and the 1-based line of each path in it."""

    data: object
    lines: dict[Path, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest located parent (for a missing field)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def parse_yaml(text: str) -> ParsedYaml:
    """Parse one YAML document; syntax errors and refused constructs come back as issues."""
    try:
        alias_line = _first_alias_line(text) if "*" in text else None
        if alias_line is not None:
            return ParsedYaml(None, issues=[Issue(alias_line, "", "aliases (*name) are not allowed in scenario files")])
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return ParsedYaml(None, issues=[Issue(line, "", f"invalid YAML: {exc.problem or exc.context}")])
    except yaml.YAMLError as exc:
        return ParsedYaml(None, issues=[Issue(None, "", f"invalid YAML: {exc}")])
    except RecursionError:
        return ParsedYaml(None, issues=[Issue(None, "", f"nested deeper than {MAX_DEPTH} levels")])
    parsed = ParsedYaml(None)
    if node is None:
        parsed.issues.append(Issue(1, "", "the file is empty"))
        return parsed
    parsed.lines[()] = node.start_mark.line + 1
    parsed.data = _to_data(loader, node, (), parsed)
    return parsed


def _to_data(loader: yaml.SafeLoader, node: yaml.Node, path: Path, parsed: ParsedYaml) -> object:
    if len(path) > MAX_DEPTH:
        parsed.issues.append(Issue(node.start_mark.line + 1, _dotted(path), f"nested deeper than {MAX_DEPTH}"))
        return None
    if _tag_refused(node, path, parsed):
        return None
    if isinstance(node, yaml.MappingNode):
        mapping: dict[object, object] = {}
        for key_node, value_node in node.value:
            if _tag_refused(key_node, path, parsed):
                continue
            key = _scalar(loader, key_node) if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is None or not isinstance(key, str | int | float | bool):
                parsed.issues.append(Issue(line, _dotted(path), "mapping keys must be plain scalars"))
                continue
            if key == "<<":
                parsed.issues.append(Issue(line, _dotted(path), "merge keys (<<) are not allowed"))
                continue
            child = (*path, str(key))
            if key in mapping:
                parsed.issues.append(Issue(line, _dotted(child), "duplicate key"))
            parsed.lines.setdefault(child, line)
            if _tag_refused(value_node, child, parsed):
                continue  # left out, so validation does not add a second issue about the same field
            mapping[key] = _to_data(loader, value_node, child, parsed)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            parsed.lines[child] = item.start_mark.line + 1
            items.append(_to_data(loader, item, child, parsed))
        return items
    return _scalar(loader, node)


def _tag_refused(node: yaml.Node, path: Path, parsed: ParsedYaml) -> bool:
    """Record an issue when the node has a tag beyond plain YAML values (safe loading cannot build it)."""
    if node.tag in _PLAIN_TAGS.get(type(node), frozenset()):
        return False
    shown = "!!" + node.tag.removeprefix(_STANDARD) if node.tag.startswith(_STANDARD) else node.tag
    msg = f"YAML tag {shown!r} is not allowed in scenario files; write a plain value"
    parsed.issues.append(Issue(node.start_mark.line + 1, _dotted(path), msg))
    return True


def _scalar(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    text = node.value
    if node.tag == _BOOL and text.lower() not in ("true", "false"):
        return text
    if node.tag in _NUMBERS and ":" in text:
        return text
    try:
        return loader.construct_object(node, deep=True)
    except ValueError:  # e.g. a timestamp like 2025-02-30: the text, for validation to report
        return text


def _dotted(path: Path) -> str:
    """`devices[2].interval` for ('devices', 2, 'interval')."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
