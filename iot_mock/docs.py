"""Regenerates the generated documentation: `python -m iot_mock.docs` (`--check` only compares).

- docs/scenario.schema.json: the scenario format's JSON Schema (`iot-mock schema`);
- docs/scenarios.md: the format's reference, rendered from that schema (`engine.scenario.manual`);
- docs/contract.md: hand-written prose around generated blocks, `<!-- generated: NAME -->` to
  `<!-- /generated -->`: the MQTT payloads as the engine writes them, the command vocabulary, the
  reading fields, and the REST reference rendered from the OpenAPI document (`api.reference`).

tests/test_docs.py fails while a committed file differs from what this writes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.app import create_app
from api.openapi import document
from api.reference import rest_reference
from engine.contract.envelope import Answer
from engine.contract.messages import compact, status_payload
from engine.contract.readings import Encoder
from engine.errors import CommandError
from engine.model.readings import StatusChange
from engine.runtime.driver import run_virtual
from engine.runtime.settings import Settings
from engine.runtime.sinks import MemorySink
from engine.scenario import manual, reference
from engine.scenario.catalog import load_named
from engine.scenario.format import json_schema
from engine.scenario.loader import parse_scenario
from engine.simulation import Simulation

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python -m iot_mock.docs"
_BLOCK = re.compile(r"(<!-- generated: ([a-z-]+) -->\n)(.*?)(<!-- /generated -->)", re.DOTALL)
_EXAMPLE = """\
version: 1
name: contract
start: 2025-08-09T16:30:00
devices: [{id: mock-hvac-001, kind: hvac, interval: 10s}]
"""


def _fenced(text: str, language: str = "json") -> str:
    return f"```{language}\n{text.rstrip()}\n```\n"


def _reading() -> str:
    """The first readings of a real run, as the MQTT payloads (and the lines of a .jsonl file) are written."""
    plan = parse_scenario(_EXAMPLE).plan
    sink = MemorySink()
    run_virtual(Simulation(plan, sink), 30.0)
    encoder = Encoder(plan.start_epoch)
    payloads = [payload for batch in sink.batches for payload in encoder.payloads(batch)]
    return _fenced("\n".join(payload.decode() for payload in payloads[:2]))


def _status() -> str:
    changes = [StatusChange(0.0, "mock-hvac-001", "online", True, "start"),
               StatusChange(7200.0, "mock-hvac-001", "offline", True, "comm_loss")]  # fmt: skip
    encoder = Encoder(parse_scenario(_EXAMPLE).plan.start_epoch)
    return _fenced("\n".join(status_payload(change, encoder.timestamp(change.t)).decode() for change in changes))


def _responses() -> str:
    ok = Answer("c-42", "set_power", None).payload("2025-08-09T16:30:10Z")
    refused = Answer("c-43", "set_interval", CommandError("mock-hvac-001", "set_interval: interval: Field required"))
    unknown = Answer(None, None, CommandError("mock-hvac-001", "payload is not JSON"))
    payloads = [ok, refused.payload("2025-08-09T16:30:10Z"), unknown.payload("2025-08-09T16:30:10Z")]
    return _fenced("\n".join(payload.decode() for payload in payloads))


def _commands() -> str:
    examples: list[dict[str, object]] = [
        {"command": "set_power", "params": {"kw": 12.5}, "id": "c-42"},
        {"command": "disable"},
        {"command": "inject_fault", "params": {"fault": "brownout", "factor": 0.8, "duration": "5m"}},
    ]
    return _fenced("\n".join(compact(example).decode() for example in examples))


def _openapi() -> dict[str, Any]:
    return document(create_app(load_named("default").plan, Settings()).routes)


def _reading_fields() -> str:
    schema = _openapi()["components"]["schemas"]["Reading"]
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for name, prop in schema["properties"].items():
        rows.append(f"| `{name}` | {manual.type_words(prop)} | {prop.get('description', '')} |")
    return "\n".join(rows) + "\n"


BLOCKS: dict[str, Callable[[], str]] = {
    "reading": _reading,
    "reading-fields": _reading_fields,
    "status": _status,
    "commands": _commands,
    "actions": reference.actions_table,
    "responses": _responses,
    "rest": lambda: rest_reference(_openapi()),
}
"""Each generated block of docs/contract.md by name."""


def contract(text: str) -> str:
    """docs/contract.md with every generated block rendered afresh; raises KeyError for an unknown block."""
    return _BLOCK.sub(lambda m: m[1] + BLOCKS[m[2]]() + m[4], text)


def generated(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file of the checkout at `root` and the text it should hold."""
    contract_md = root / "docs" / "contract.md"
    return {
        root / "docs" / "scenario.schema.json": json.dumps(json_schema(), indent=2) + "\n",
        root / "docs" / "scenarios.md": manual.render(),
        contract_md: contract(contract_md.read_text()),
    }


def main(argv: list[str] | None = None, *, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description="Regenerate docs/scenarios.md, contract.md, schema.")
    parser.add_argument("--check", action="store_true", help="only say which files are stale (exit 1 if any)")
    args = parser.parse_args(argv)
    stale = {path: text for path, text in generated(root).items() if not path.exists() or path.read_text() != text}
    for path, text in stale.items():
        if args.check:
            print(f"{path.relative_to(root)} is stale: {COMMAND}", file=sys.stderr)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(root)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
