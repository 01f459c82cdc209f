"""Render a scenario's Jinja2 template in a sandbox with hard limits.

Scenario files may come from anyone (uploaded to the API, shared in a repo), so templates run in
Jinja's immutable sandbox with StrictUndefined, and rendering is stopped when the output grows
past `max_output` characters or takes longer than `max_seconds` (a trace hook checks the clock
while template code runs, even when a loop outputs nothing). String and list repetition, powers
and size arguments of string methods are capped too, since one `'x' * 10**10` would exhaust
memory before any check could run. Not capped: `~` concatenation, bounded only by the time limit.
"""

from __future__ import annotations

import operator
import sys
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import TemplateError

if TYPE_CHECKING:
    from _typeshed import TraceFunction

MAX_OUTPUT = 8 * 1024 * 1024
MAX_SECONDS = 2.0
_MAX_REPEAT = 1_000_000
_MARKERS = ("{{", "{%", "{#")


def is_template(text: str) -> bool:
    """True when the text uses Jinja syntax; plain YAML skips rendering (and keeps its lines)."""
    return any(marker in text for marker in _MARKERS)


class _Overrun(BaseException):
    """Raised inside template code when the render deadline passes (not catchable by Jinja)."""


class _LimitedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # Methods like 'x'.ljust(10**10) allocate before any check could run: refuse big sizes.
        if isinstance(getattr(__obj, "__self__", None), str | list | tuple | bytes):
            for value in (*args, *kwargs.values()):
                if isinstance(value, int) and value > _MAX_REPEAT:
                    raise SecurityError(f"argument {value} above {_MAX_REPEAT}")
        return super().call(__context, __obj, *args, **kwargs)

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
    ticks = 0

    def in_template(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
        # Template code checks the deadline every 1000 lines it runs, output or not.
        nonlocal ticks
        ticks += 1
        if ticks % 1000 == 0 and time.monotonic() > deadline:
            raise _Overrun
        return in_template

    def on_call(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
        return in_template if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        for chunk in template.generate():
            parts.append(chunk)
            size += len(chunk)
            if size > max_output:
                raise TemplateError(source, f"template output exceeds {max_output} characters")
            if time.monotonic() > deadline:
                raise _Overrun
    except _Overrun:
        raise TemplateError(source, f"template took longer than {max_seconds:g}s to render") from None
    except TemplateError:
        raise
    except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, OverflowError, MemoryError) as exc:
        raise TemplateError(source, f"template: {exc}", line=_template_line(exc)) from exc
    finally:
        sys.settrace(previous)
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
