"""The reference table of every action, generated from the vocabulary (README.md shows it verbatim).

A test checks that the README holds exactly this table, so the documentation of the actions is
never a copy that drifts: add an action class and regenerate with `pytest --update-golden`.
"""

from __future__ import annotations

from typing import get_args

from pydantic_core import PydanticUndefined

from engine.scenario.actions import ACTIONS

BEGIN = "<!-- actions: generated from engine/scenario/actions.py by engine/scenario/reference.py -->"
END = "<!-- /actions -->"


def actions_table() -> str:
    """A Markdown table: each action, its parameters (with defaults), what it does, and an example event."""
    rows = ["| action | parameters | what it does | example |", "|---|---|---|---|"]
    for cls in ACTIONS:
        name = get_args(cls.model_fields["action"].annotation)[0]
        params = []
        for field, info in cls.model_fields.items():
            if field == "action":
                continue
            default = "" if info.default in (PydanticUndefined, None) else f", default {info.default:g}"
            required = " (required)" if info.is_required() else ""
            params.append(f"`{field}`{required}: {(info.description or '').rstrip('.')}{default}")
        doc = " ".join((cls.__doc__ or "").split())
        example = cls.example.replace("|", "\\|")
        rows.append(f"| `{name}` | {'; '.join(params) or '(none)'} | {doc} | `{example}` |")
    return "\n".join(rows) + "\n"


def section() -> str:
    """The table between its markers, as README.md holds it."""
    return f"{BEGIN}\n{actions_table()}{END}"
