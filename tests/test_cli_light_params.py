"""linkwork.cli.light_params: plain command-line values coerced without Pydantic give what
Typer's Pydantic coercion gives, and anything else still goes to Typer's own coercion
(its words for a refused value)."""

from __future__ import annotations

from typing import Any

import pytest
from typer._coercion import build_runtime_param as typer_builds  # Typer's own, unpatched
from typer._coercion import resolve_type_descriptor
from typer.models import ArgumentInfo, OptionInfo

from linkwork.cli import light_params

PLAIN = [
    (str, OptionInfo(), "food bank"),
    (str, OptionInfo(), ""),
    (str, OptionInfo(), "  spaces kept  "),
    (str, OptionInfo(), "caf\u00e9 \udcff"),  # a lone surrogate from undecodable argv bytes
    (str, ArgumentInfo(), "LS6 1AA"),
    (int, OptionInfo(), "0"),
    (int, OptionInfo(), "40"),
    (int, OptionInfo(), "-5"),
    (int, OptionInfo(), 10),  # a default
    (list[str], OptionInfo(), ("Z59.0", "housing")),
    (list[str], OptionInfo(), ()),
]

NOT_PLAIN = [
    (int, OptionInfo(), " 5"),  # Pydantic reads it: left to Pydantic
    (int, OptionInfo(), "007"),
    (int, OptionInfo(), "+5"),
    (int, OptionInfo(), "1_000"),
    (int, OptionInfo(), "5.0"),
    (int, OptionInfo(), "abc"),
    (int, OptionInfo(), "\u0663"),  # an Arabic-Indic digit
    (int, OptionInfo(), True),
    (int, OptionInfo(min=1), "5"),  # limits: Typer checks them
    (str, OptionInfo(), b"bytes"),
    (str, OptionInfo(parser=str.upper), "x"),
    (bool, OptionInfo(), "yes"),
    (list[str], OptionInfo(), "not a list"),
    (list[int], OptionInfo(), ("1",)),
]


class _Param:
    multiple = False
    nargs = 1


def _typer(annotation: Any, info: Any, value: Any) -> Any:
    descriptor = resolve_type_descriptor(annotation, info)
    return typer_builds(descriptor).coerce(value, param=_Param(), ctx=None)


@pytest.mark.parametrize(("annotation", "info", "value"), PLAIN)
def test_a_plain_value_is_what_typer_makes_of_it(annotation: Any, info: Any, value: Any) -> None:
    mine = light_params.plain_value(annotation, info, value)
    assert mine is not light_params._UNANSWERED
    expected = _typer(annotation, info, value)
    assert mine == expected and type(mine) is type(expected)


@pytest.mark.parametrize(("annotation", "info", "value"), NOT_PLAIN)
def test_anything_else_is_left_to_typer(annotation: Any, info: Any, value: Any) -> None:
    assert light_params.plain_value(annotation, info, value) is light_params._UNANSWERED


def test_a_light_parameter_hands_what_it_cannot_answer_to_typer() -> None:
    built: list[Any] = []

    def build(descriptor: Any) -> Any:
        built.append(descriptor)
        return typer_builds(descriptor)

    light = light_params.LightParam(resolve_type_descriptor(int, OptionInfo()), build)
    assert light.coerce("12", _Param(), None) == 12
    assert light.coerce(None, _Param(), None) is None
    assert built == []  # Pydantic's coercion not even built
    assert light.coerce(" 12", _Param(), None) == 12
    assert len(built) == 1


def test_the_command_line_refuses_a_bad_number_in_typers_words(cli) -> None:  # type: ignore[no-untyped-def]
    assert light_params.install()  # installed by linkwork.cli, and this Typer has the hook
    done = cli("directory", "search", "food", "--age", "abc")
    assert done.code == 2
    assert done.err.strip() == (
        "linkwork: Invalid value for '--age': Input should be a valid integer, "
        "unable to parse string as an integer"
    )
    missing = cli("directory", "search", "food", "--need")
    assert (missing.code, missing.err.strip()) == (
        2,
        "linkwork: Option '--need' requires an argument.",
    )
