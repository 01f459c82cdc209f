"""Render a scenario's Jinja2 template in a sandbox with hard limits.

Scenario files may come from anyone (uploaded to the API, shared in a repo), so templates run in
Jinja's immutable sandbox with StrictUndefined, and:
- Compilation does not optimise: Jinja would otherwise fold constant expressions and filter calls
  (`{{ 'x'|center(10**9) }}`) at compile time, outside every check below.
- Rendering (compilation included) stops when the output grows past `max_output` characters or
  takes longer than `max_seconds` (a trace hook checks the clock while template code runs, even
  when a loop outputs nothing).
- One operation cannot allocate much before a check runs: string and list repetition, `%`
  formatting widths, `str.format` widths, size arguments of string methods and of the filters
  `center`, `indent`, `wordwrap`, `truncate`, `format`, `batch` and `slice`, and `lipsum` are
  capped at `_MAX_SIZE`; `**` takes exponents up to 100, and `**` and `*` on integers give at
  most `_MAX_BITS` bits; `range` is the sandbox's (100,000 items).
- A macro that calls itself ends as a located TemplateError, not a RecursionError.
Not capped here: `~` concatenation, `join` and other C-level work on large values, bounded only
by the limits of the worker process every scenario template renders in
(`engine.scenario.isolation`): a hard wall-clock deadline and a memory limit.
"""

from __future__ import annotations

import bisect
import functools
import inspect
import operator
import re
import string
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

import jinja2
from jinja2.exceptions import FilterArgumentError, SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

from engine.errors import TemplateError

if TYPE_CHECKING:
    from _typeshed import TraceFunction

MAX_OUTPUT = 8 * 1024 * 1024
MAX_SECONDS = 2.0
MAX_MEMORY = 256 * 1024 * 1024
_MAX_SIZE = 1_000_000
_MAX_BITS = 100_000
_MAX_LIPSUM_WORDS = 100_000
_MARKERS = ("{{", "{%", "{#")
# A printf conversion: optional (key), flags, width, .precision, length modifier, type.
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
# Filters whose first argument after the value is a size, and whether it applies to every line.
_SIZE_FILTERS = {
    "center": ("width", False),
    "indent": ("width", True),
    "wordwrap": ("width", False),
    "truncate": ("length", False),
    "batch": ("linecount", False),
    "slice": ("slices", False),
}


class LineSlot(Protocol):
    """Where the render records the template line it is running (a shared `ctypes` int)."""

    value: int


def is_template(text: str) -> bool:
    """True when the text uses Jinja syntax; plain YAML skips rendering (and keeps its lines)."""
    return any(marker in text for marker in _MARKERS)


def _check_size(what: str, size: int) -> None:
    if size > _MAX_SIZE:
        raise SecurityError(f"{what} {size} above {_MAX_SIZE}")


def _check_digits(what: str, digits: str) -> None:
    # int() of a long digit string is refused by Python itself; compare lengths first.
    if len(digits.lstrip("0")) > len(str(_MAX_SIZE)) or int(digits) > _MAX_SIZE:
        raise SecurityError(f"{what} {digits} above {_MAX_SIZE}")


def _check_int_args(what: str, args: tuple[Any, ...] | dict[str, Any] | Any) -> None:
    values = args.values() if isinstance(args, dict) else args if isinstance(args, tuple) else (args,)
    for value in values:
        if isinstance(value, int):
            _check_size(what, value)


def _check_printf(fmt: str, args: Any) -> None:
    """Refuse `'%1000000000d' % 1`: a width or precision above the cap (or taken from a big `*`)."""
    for match in _PRINTF.finditer(fmt):
        for part in match.groups():
            if part == "*":
                _check_int_args("format width", args)
            elif part:
                _check_digits("format width", part)


def _check_format_string(fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse `'{:1000000000}'.format(1)`: the same cap for `str.format` widths."""
    try:
        fields = [spec for _, _, spec, _ in string.Formatter().parse(fmt) if spec]
    except ValueError:
        return  # a malformed format string fails in str.format itself, with its own message
    for spec in fields:
        if "{" in spec:
            _check_int_args("format width", args)
            _check_int_args("format width", kwargs)
        for digits in re.findall(r"\d+", spec):
            _check_digits("format width", digits)


def _size_guarded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The filter `name`, refusing a size argument above the cap before it allocates."""
    parameter, per_line = _SIZE_FILTERS[name]
    offset = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        size = kwargs.get(parameter, args[offset + 1] if len(args) > offset + 1 else None)
        if isinstance(size, str) and per_line:
            size = len(size)
        if isinstance(size, int):
            value = args[offset] if len(args) > offset else ""
            lines = str(value).count("\n") + 1 if per_line else 1
            _check_size(f"{name}: {parameter}" + (f" x {lines} lines" if lines > 1 else ""), size * lines)
        return func(*args, **kwargs)

    return guarded


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    """Jinja's `format` filter (printf style), with the width cap."""
    if args and kwargs:
        raise FilterArgumentError("can't handle positional and keyword arguments at the same time")
    values = kwargs or args
    _check_printf(str(value), values)
    return str(value) % values


_LIPSUM = inspect.signature(generate_lorem_ipsum)


def _lipsum(*args: Any, **kwargs: Any) -> str:
    """Jinja's `lipsum`, refusing more than _MAX_LIPSUM_WORDS words."""
    bound = _LIPSUM.bind(*args, **kwargs)
    bound.apply_defaults()
    n, low, high = (bound.arguments[name] for name in ("n", "min", "max"))
    if all(isinstance(value, int) for value in (n, low, high)) and n * max(low, high) > _MAX_LIPSUM_WORDS:
        raise SecurityError(f"lipsum: {n} paragraphs of up to {max(low, high)} words above {_MAX_LIPSUM_WORDS}")
    return generate_lorem_ipsum(*args, **kwargs)


class _Overrun(BaseException):
    """Raised inside template code when the render deadline passes (not catchable by Jinja)."""


class _LimitedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self) -> None:
        # optimized=False: no constant folding at compile time, where no check below would run.
        super().__init__(
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False, optimized=False
        )
        for name in _SIZE_FILTERS:
            self.filters[name] = _size_guarded(name, self.filters[name])
        self.filters["format"] = _format_filter
        self.globals["lipsum"] = _lipsum

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # Methods like 'x'.ljust(10**10) allocate before any check could run: refuse big sizes.
        # The sandbox hands out str.format wrapped (its __wrapped__ is the bound method).
        method = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str | list | tuple | bytes):
            for value in (*args, *kwargs.values()):
                if isinstance(value, int) and value > _MAX_SIZE:
                    raise SecurityError(f"argument {value} above {_MAX_SIZE}")
            if isinstance(owner, str) and getattr(method, "__name__", "") in ("format", "format_map"):
                _check_format_string(owner, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: jinja2.runtime.Context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "%":
            if isinstance(left, str):
                _check_printf(left, right)
            return operator.mod(left, right)
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise SecurityError("exponent above 100")
            if isinstance(left, int) and isinstance(right, int) and abs(left).bit_length() * right > _MAX_BITS:
                raise SecurityError(f"result of ** longer than {_MAX_BITS} bits")
            return operator.pow(left, right)
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > _MAX_BITS:
            raise SecurityError(f"result of * longer than {_MAX_BITS} bits")
        for sized, count in ((left, right), (right, left)):
            if isinstance(sized, str | list | tuple) and isinstance(count, int) and len(sized) * count > _MAX_SIZE:
                raise SecurityError(f"repetition longer than {_MAX_SIZE}")
        return operator.mul(left, right)


def render_template(
    text: str,
    source: str,
    *,
    max_output: int = MAX_OUTPUT,
    max_seconds: float = MAX_SECONDS,
    line_slot: LineSlot | None = None,
) -> str:
    """The rendered text; raises TemplateError with the template line when it fails or overruns.

    With `line_slot`, the template line being run is kept there, so a process that kills this
    render from outside can still say where it was.
    """
    deadline = time.monotonic() + max_seconds
    env = _LimitedSandbox()
    try:
        template = env.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(source, f"template syntax: {exc.message}", line=exc.lineno) from exc
    except RecursionError as exc:
        raise TemplateError(source, "template nested too deeply to compile") from exc
    code_lines = [code for _, code in template.debug_info]
    template_lines = [line for line, _ in template.debug_info]
    parts: list[str] = []
    size = 0
    ticks = 0

    def in_template(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
        # Template code checks the deadline every 1000 lines it runs, output or not.
        nonlocal ticks
        ticks += 1
        if line_slot is not None and event == "line":
            at = bisect.bisect_right(code_lines, frame.f_lineno) - 1
            line_slot.value = template_lines[at] if at >= 0 else 1
        if ticks % 1000 == 0 and time.monotonic() > deadline:
            raise _Overrun
        return in_template

    def on_call(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
        return in_template if frame.f_code.co_filename == "<template>" else None

    def current() -> int | None:
        """The template line being run, where it is tracked (in the worker)."""
        return (line_slot.value or None) if line_slot is not None else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        for chunk in template.generate():
            parts.append(chunk)
            size += len(chunk)
            if size > max_output:
                raise TemplateError(source, f"template output exceeds {max_output} characters", line=current())
            if time.monotonic() > deadline:
                raise _Overrun
    except _Overrun:
        raise overrun(source, max_seconds, current()) from None
    except TemplateError:
        raise
    except RecursionError as exc:
        msg = "template: recursion too deep (does a macro call itself?)"
        raise TemplateError(source, msg, line=_template_line(exc)) from None
    except MemoryError as exc:
        msg = f"template needs more than {MAX_MEMORY // 2**20} MiB of memory"
        raise TemplateError(source, msg, line=_template_line(exc)) from None
    except Exception as exc:
        raise TemplateError(source, f"template: {exc}", line=_template_line(exc)) from exc
    finally:
        sys.settrace(previous)
    return "".join(parts)


def overrun(source: str, max_seconds: float, line: int | None = None) -> TemplateError:
    """The error of a render that passed its deadline (stopped here or killed in its worker)."""
    return TemplateError(source, f"template took longer than {max_seconds:g}s to render", line=line)


def _template_line(exc: BaseException) -> int | None:
    """The template line a render error came from, read from Jinja's rewritten traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
