"""The layers point one way: the domain core (``codes``, ``directory``, ``screening``) never
imports the application shell (``linkwork``), the app (``tui``) or a front end's library
(Textual, Typer); and no module grows past 800 lines."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ("codes", "directory", "screening")
FORBIDDEN = ("linkwork", "tui", "textual", "typer")
MAX_LINES = 800
# Folders that are not the project's modules: tools' caches, the virtual environment,
# tests (long by nature) and Alembic migrations (generated).
SKIP_DIRS = {"tests", "migrations", "node_modules", "__pycache__"}


def _domain_files() -> list[Path]:
    return sorted(p for package in DOMAIN for p in (ROOT / package).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Every module name an import statement (anywhere: top level, function body,
    ``TYPE_CHECKING`` block) or an ``importlib.import_module("...")`` call names."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                keep = len(base) - node.level + (1 if is_package else 0)
                prefix = ".".join(base[:keep])
                yield node.lineno, f"{prefix}.{node.module}" if node.module else prefix
            elif node.module:
                yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def _forbidden(name: str) -> bool:
    return name.split(".")[0] in FORBIDDEN


def test_domain_source_imports_no_shell_app_or_front_end() -> None:
    files = _domain_files()
    assert len(files) > 30  # the walk found the packages
    found = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = _module_name(path)
        for line, name in _imported(tree, module, path.name == "__init__.py"):
            if _forbidden(name):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert found == [], "the domain core must not import the shell or a front end:\n" + "\n".join(
        found
    )


_CHILD = """
import importlib, json, sys
forbidden = {forbidden!r}
def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
report = {{"before": loaded(), "by": {{}}}}
seen = set(report["before"])
for name in {modules!r}:
    importlib.import_module(name)
    new = [m for m in loaded() if m not in seen]
    if new:
        report["by"][name] = new
        seen.update(new)
print(json.dumps(report))
"""


def test_importing_the_domain_loads_no_shell_app_or_front_end() -> None:
    """Each domain module imported in turn in a fresh interpreter: none brings in
    ``linkwork``, ``tui``, Textual or Typer (directly or through anything it imports)."""
    modules = [_module_name(p) for p in _domain_files()]
    code = _CHILD.format(forbidden=FORBIDDEN, modules=modules)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["before"] == [], "a fresh interpreter already has them loaded"
    assert report["by"] == {}, f"importing these loads the shell or a front end: {report['by']}"


def _project_modules() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts[:-1]
        if any(p.startswith(".") or p in SKIP_DIRS or p.endswith(".egg-info") for p in parts):
            continue
        yield path


def test_no_module_is_over_800_lines() -> None:
    modules = list(_project_modules())
    assert any(p.name == "search.py" for p in modules)  # the walk found the source
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in modules
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"split these by job (at most {MAX_LINES} lines each): {too_long}"


@pytest.mark.parametrize(
    ("source", "module", "is_package", "expected"),
    [
        ("import linkwork.db", "screening.x", False, ["linkwork.db"]),
        ("def f():\n    from tui.app import App", "screening.x", False, ["tui.app"]),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import typer",
            "codes.y",
            False,
            ["typing", "typer"],
        ),
        ("from . import fhir", "screening.exchange.outbound", False, ["screening.exchange"]),
        ("from .fhir import x", "screening.exchange", True, ["screening.exchange.fhir"]),
        ("importlib.import_module('textual.app')", "directory.z", False, ["textual.app"]),
    ],
)
def test_the_import_walk_sees_every_kind_of_import(
    source: str, module: str, is_package: bool, expected: list[str]
) -> None:
    names = [name for _line, name in _imported(ast.parse(source), module, is_package)]
    assert names == expected
