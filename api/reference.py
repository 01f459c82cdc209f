"""The REST part of docs/contract.md, rendered from the OpenAPI document (`api.openapi.document`).

Every operation with its summary, description, parameters, request body and example, and every
answer it can give; then every schema with its fields. A route, a model or an example added to
the document shows here when the docs are regenerated (`python -m iot_mock.docs`).
"""

from __future__ import annotations

import json
from typing import Any

from engine.scenario.manual import type_words

Schema = dict[str, Any]


def _json(value: object) -> str:
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def _schema_name(schema: Schema) -> str:
    """The schema of a body in words, its components linked (`#schema-device`)."""
    return type_words(schema, anchor="schema-")


def _operation(path: str, method: str, operation: Schema) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", "", operation.get("description") or operation["summary"], ""]
    if "security" in operation:
        lines += ["Needs the bearer token when the service has one.", ""]
    for parameter in operation.get("parameters", []):
        where = "path" if parameter["in"] == "path" else "query"
        description = f": {parameter['description']}" if "description" in parameter else ""
        example = f" (e.g. `{parameter['example']}`)" if "example" in parameter else ""
        lines.append(f"- {where} `{parameter['name']}`, {_schema_name(parameter['schema'])}{description}{example}")
    if operation.get("parameters"):
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media, content in body["content"].items():
            lines.append(f"Body (`{media}`): {_schema_name(content['schema'])}")
            examples = [e["value"] for e in content.get("examples", {}).values()][:3]
            examples += [content["example"]] if "example" in content else []
            fence = "json" if media == "application/json" else "yaml"
            for example in examples:
                text = _json(example) if fence == "json" else str(example)
                lines += ["", f"```{fence}", text.rstrip(), "```"]
            lines.append("")
    lines += ["| status | meaning | body |", "|---|---|---|"]
    for status, response in operation["responses"].items():
        shown = []
        for media, content in response.get("content", {}).items():
            schema = _schema_name(content["schema"]) if content.get("schema") else ""
            shown.append(f"`{media}` {schema}".strip())
        lines.append(f"| {status} | {response['description']} | {'; '.join(shown) or '(empty)'} |")
    ok = next(iter(operation["responses"].values()))
    answer = next((c["example"] for c in ok.get("content", {}).values() if "example" in c), None)
    if answer is not None:
        lines += ["", "```json", _json(answer), "```"]
    return [*lines, ""]


def _component(name: str, schema: Schema) -> list[str]:
    lines = [f'<a id="schema-{name.lower()}"></a>', "", f"### {name}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    properties = schema.get("properties")
    if not properties:
        return [*lines, f"{type_words(schema, anchor='schema-')}", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | description |", "|---|---|---|---|"]
    for field, prop in properties.items():
        words = type_words(prop, anchor="schema-").replace("|", "\\|")
        description = " ".join(prop.get("description", "").split()).replace("|", "\\|")
        lines.append(f"| `{field}` | {words} | {'yes' if field in required else ''} | {description} |")
    return [*lines, ""]


def rest_reference(document: Schema) -> str:
    """Every operation of `document`, then every schema it names."""
    lines = ["## Operations", ""]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            lines += _operation(path, method, operation)
    schemas: dict[str, Schema] = document["components"]["schemas"]
    members = _members(schemas)
    lines += ["## Schemas", ""]
    for name, schema in schemas.items():
        if name not in members:
            lines += _component(name, schema)
    lines += ["<details><summary>The schema of each member of a union (one per action)</summary>", ""]
    for name, schema in schemas.items():
        if name in members:
            lines += _component(name, schema)
    lines += ["</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


def _members(schemas: dict[str, Schema]) -> set[str]:
    """The members of the discriminated unions (one per action), and the schemas only they name."""
    members = {
        branch["$ref"].rsplit("/", 1)[1]
        for schema in schemas.values()
        if "discriminator" in schema
        for branch in schema.get("oneOf") or schema.get("anyOf") or []
        if "$ref" in branch
    }
    named = {ref.rsplit("/", 1)[1] for member in members for ref in _refs(schemas[member])}
    elsewhere = {ref.rsplit("/", 1)[1] for name, s in schemas.items() if name not in members for ref in _refs(s)}
    return members | (named - elsewhere)


def _refs(schema: object) -> list[str]:
    if isinstance(schema, dict):
        own = [schema["$ref"]] if isinstance(schema.get("$ref"), str) else []
        return own + [ref for value in schema.values() for ref in _refs(value)]
    if isinstance(schema, list):
        return [ref for value in schema for ref in _refs(value)]
    return []
