"""Render a scenario's Jinja2 template in a sandbox with hard limits.

Scenario files may come from anyone (uploaded to the API, shared in a repo), so templates run in
Jinja's immutable sandbox with StrictUndefined, and rendering is stopped when the output grows
past `max_output` characters or takes longer than `max_seconds`. String and list repetition and
powers are capped too, since one `'x' * 10**10` would exhaust memory before any check could run.
"""

from __future__ import annotations

import operator
import time
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import TemplateError

MAX_OUTPUT = 8 * 1024 * 1024
MAX_SECONDS = 2.0
_MAX_REPEAT = 1_000_000
_MARKERS = ("{{", "{%", "{#")


def is_template(text: str) -> bool:
    """True when the text uses Jinja syntax; plain YAML skips rendering (and keeps its lines)."""
    return any(marker in text for marker in _MARKERS)


class _LimitedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise SecurityError("exponent above 100")
            return operator.pow(left, right)
        for sized, count in ((left, right), (right, left)):
            if isinstance(sized, str | list | tuple) and isinstance(count, int) and len(sized) * count > _MAX_REPEAT:
                raise SecurityError(f"repetition longer than {_MAX_REPEAT}")
        return operator.mul(left, right)


def render_template(text: str, source: str, *, max_output: int = MAX_OUTPUT, max_seconds: float = MAX_SECONDS) -> str:
    """The rendered text; raises TemplateError with the template line when it fails or overruns."""
    env = _LimitedSandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    try:
        template = env.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(source, f"template syntax: {exc.message}", line=exc.lineno) from exc
    deadline = time.monotonic() + max_seconds
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.generate():
            parts.append(chunk)
            size += len(chunk)
            if size > max_output:
                raise TemplateError(source, f"template output exceeds {max_output} characters")
            if time.monotonic() > deadline:
                raise TemplateError(source, f"template took longer than {max_seconds:g}s to render")
    except TemplateError:
        raise
    except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, OverflowError) as exc:
        raise TemplateError(source, f"template: {exc}", line=_template_line(exc)) from exc
    return "".join(parts)


def _template_line(exc: BaseException) -> int | None:
    """The template line a render error came from, read from Jinja's rewritten traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
