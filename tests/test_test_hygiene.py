"""The tests themselves: every ``pytest.raises`` names the cause it expects (``match=``), so an
error raised for the wrong reason fails the test instead of passing it.

Walked with ``ast`` (every call anywhere in ``tests/*.py``: context manager, function form,
inside a helper or a loop), not with a line grep that a wrapped call would slip past."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_raises(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute):
        return (
            func.attr == "raises" and isinstance(func.value, ast.Name) and func.value.id == "pytest"
        )
    # ``from pytest import raises``
    return isinstance(func, ast.Name) and func.id == "raises"


def raises_without_match(source: str, filename: str = "<test>") -> list[int]:
    """Line numbers of ``pytest.raises(...)`` calls that give no ``match=``.

    A call that passes ``**kwargs`` is counted as missing: the walk cannot see a match."""
    tree = ast.parse(source, filename=filename)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_raises(node):
            names = {kw.arg for kw in node.keywords}
            if "match" not in names:
                lines.append(node.lineno)
    return sorted(lines)


def test_every_pytest_raises_has_a_match() -> None:
    files = sorted(TESTS.glob("*.py"))
    assert len(files) > 30  # the walk found the suite
    found: list[str] = []
    seen = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        seen += source.count("raises(")
        for line in raises_without_match(source, str(path)):
            found.append(f"tests/{path.name}:{line}")
    assert seen > 50  # the walk saw the calls it is meant to check
    assert found == [], "pytest.raises without match= (say which cause you expect):\n" + "\n".join(
        found
    )


def test_the_walk_finds_every_form() -> None:
    """The checker itself: each spelling without ``match=`` is found, each with it is not."""
    source = """
import pytest
from pytest import raises

def test_a():
    with pytest.raises(ValueError):
        pass
    with pytest.raises(
        ValueError,
    ) as caught:
        pass
    pytest.raises(KeyError, dict().__getitem__, "x")
    with raises(LookupError):
        pass
    for _ in range(2):
        with pytest.raises(ValueError, **{"match": "x"}):
            pass
    with pytest.raises(ValueError, match="bad date"):
        pass
    with pytest.raises((ValueError, OSError), match=r"cannot \\w+"):
        pass
"""
    assert raises_without_match(source) == [6, 8, 12, 13, 16]
