"""Typer's parameter coercion without Pydantic for the plain values the CLI mostly gets.

Typer (0.29) coerces every command-line value through a Pydantic ``TypeAdapter``: importing
Pydantic and building the adapters costs a search from the command line a tenth of a second
or more (issue 18: ``linkwork directory search`` in under 0.3 s). ``install`` replaces
the builder Typer's parameters call with one that answers the common cases itself, as
Pydantic's lax mode would: a ``str`` given as text, an ``int`` given as plain decimal
digits, a ``list[str]`` given as texts, and a missing value. Anything else (a value that
is not plainly valid, a ``Path``, a choice, a number with limits, a custom parser, a file)
goes to Typer's own coercion, built only then: so a refused value is refused with Typer's
own words, and help and errors are the same (tests/test_cli_light_params.py compares the
two on valid and invalid values).

If Typer's internals are not the ones this was written for, ``install`` does nothing and
Typer coerces as it always has.
"""

from __future__ import annotations

import re
from typing import Any

_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")  # what int() and Pydantic read alike
_UNANSWERED = object()


def plain_value(annotation: Any, info: Any, value: Any) -> Any:
    """The coerced value when it is plain enough to answer without Pydantic, else
    ``_UNANSWERED``. ``info``: the parameter's Typer ``ParameterInfo``."""
    if getattr(info, "parser", None) is not None:
        return _UNANSWERED
    if annotation is str:
        return value if type(value) is str else _UNANSWERED
    if annotation is int:
        if getattr(info, "min", None) is not None or getattr(info, "max", None) is not None:
            return _UNANSWERED
        if type(value) is int:
            return value
        if type(value) is str and _DECIMAL.fullmatch(value):
            return int(value)
        return _UNANSWERED
    is_texts = getattr(annotation, "__origin__", None) is list and annotation.__args__ == (str,)
    if is_texts and type(value) in (list, tuple) and all(type(v) is str for v in value):
        return list(value)
    return _UNANSWERED


class LightParam:
    """Coerces one parameter's values: plain ones here, the rest through Typer's own
    runtime parameter (``build``), made the first time one is needed."""

    def __init__(self, descriptor: Any, build: Any) -> None:
        self._descriptor = descriptor
        self._build = build
        self._full: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if self._descriptor.file_annotation is None:
            if value is None:  # as Typer's RuntimeParam.coerce answers a missing value
                return () if (param.multiple or param.nargs == -1) else None
            found = plain_value(self._descriptor.annotation, self._descriptor.parameter_info, value)
            if found is not _UNANSWERED:
                return found
        if self._full is None:
            self._full = self._build(self._descriptor)
        return self._full.coerce(value, param=param, ctx=ctx)


def install() -> bool:
    """Make Typer's parameters coerce through ``LightParam``; False (nothing changed)
    when this Typer does not build its coercion where this expects."""
    try:
        import typer.core as core
    except ImportError:  # pragma: no cover - Typer is a dependency
        return False
    original = getattr(core, "build_runtime_param", None)
    parameter = getattr(core, "_TyperParameter", None)
    if original is None or parameter is None or not hasattr(parameter, "get_runtime_param"):
        return False
    if getattr(original, "light", False):
        return True

    def build_runtime_param(descriptor: Any) -> Any:
        return LightParam(descriptor, original)

    build_runtime_param.light = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param
    return True
