"""Reading the deployment files the way their tools do: compose.yaml with Compose's interpolation, PromQL selectors.

No container runtime is needed (none can pull images here), so the tests check the files statically
with these helpers, plus `docker compose config` where it is installed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "compose.yaml"
DEPLOY = ROOT / "deploy"
IOT_MOCK_IMAGE = "iot-mock:latest"

# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_]\w*)")


class MissingVariable(ValueError):
    """A `${NAME:?message}` whose variable is unset: Compose refuses the file with `message`."""


def load_compose() -> dict[str, Any]:
    """compose.yaml as written (anchors and `<<` merges resolved, variables not yet interpolated)."""
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """`value` with every string interpolated as Compose does, from `env` (no other source)."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: _substitute(match, env), value)
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    return value


def _substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    if match.group(0) == "$$":
        return "$"
    name = match.group("name") or match.group("bare")
    op, arg = match.group("op") or "", match.group("arg") or ""
    current = env.get(name)
    missing = current is None or (op.startswith(":") and current == "")
    if op.endswith("-"):
        return arg if missing else str(current)
    if op.endswith("?") and missing:
        raise MissingVariable(f"required variable {name} is missing a value: {arg}")
    return current or ""


def services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every service, whatever its profiles."""
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def iot_mock_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the iot-mock image (the single service and the shards)."""
    return {name: spec for name, spec in services(compose).items() if spec.get("image") == IOT_MOCK_IMAGE}


@dataclass(frozen=True)
class Port:
    """One `ports:` entry in short syntax, `HOST_IP:PUBLISHED:TARGET`."""

    host_ip: str
    published: int
    target: int


def ports(service: Mapping[str, Any]) -> list[Port]:
    """The service's published ports; an entry without a host address reads as host_ip ''."""
    found = []
    for entry in service.get("ports", []):
        parts = str(entry).rsplit(":", 2)
        host_ip, published, target = ([""] * (3 - len(parts)) + parts)[-3:]
        found.append(Port(host_ip, int(published or target), int(target)))
    return found


def mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """The service's short-syntax volumes as {container path: source} (the `:ro` flag dropped)."""
    found = {}
    for entry in service.get("volumes", []):
        source, target = str(entry).split(":")[:2]
        found[target] = source
    return found


# PromQL functions and aggregations the dashboard may use; any other word before "(" is an error.
PROMQL_FUNCTIONS = {"sum", "max", "min", "avg", "count", "rate", "irate", "increase", "delta", "clamp_min", "abs"}
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)")
_SELECTOR = re.compile(r"(?<![\w:.])(?P<name>[A-Za-z_:][\w:]*)\s*(?P<matchers>\{[^}]*\})?")
_MATCHER = re.compile(r'\s*(?P<label>[A-Za-z_]\w*)\s*=\s*"(?P<value>[^"]*)"\s*(?:,|$)')


@dataclass(frozen=True)
class Selector:
    """A metric named in a PromQL expression, with its `label="value"` matchers."""

    metric: str
    labels: tuple[tuple[str, str], ...]


def selectors(expr: str) -> list[Selector]:
    """The metric selectors in `expr`; raises ValueError on a function or matcher this parser does not know."""
    text = _GROUPING.sub("", _RANGE.sub("", expr))
    found = []
    for match in _SELECTOR.finditer(text):
        name, matchers = match.group("name"), match.group("matchers")
        if text[match.end() :].lstrip().startswith("(") and not matchers:
            if name not in PROMQL_FUNCTIONS:
                raise ValueError(f"{expr!r}: unknown PromQL function {name!r}")
            continue
        inner = (matchers or "{}")[1:-1]
        labels = tuple((m.group("label"), m.group("value")) for m in _MATCHER.finditer(inner))
        if sum(len(m.group(0)) for m in _MATCHER.finditer(inner)) != len(inner):
            raise ValueError(f'{expr!r}: only label="value" matchers are checked, got {matchers}')
        found.append(Selector(name, labels))
    return found
