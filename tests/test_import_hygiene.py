"""The import boundary: the app paints before the heavy libraries load, and the CLI's help
never loads crypto or FHIR (as harlequin's test_import_hygiene does, in a fresh process).

The heavy parts (SQLAlchemy, cryptography, fhir.resources) are reached only through the
application layer: the app imports it once, from a worker (``LinkworkApp.actions``); each
CLI command imports its action module when it runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sqlalchemy", "sqlmodel", "cryptography", "joserfc", "fhir.resources", "alembic")


def loaded_after(code: str) -> set[str]:
    """The heavy top-level modules loaded in a new interpreter after running ``code``."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        heavy = {HEAVY!r}
        print("\\nLOADED " + json.dumps(sorted(
            h for h in heavy if h in sys.modules or any(m.startswith(h + ".") for m in sys.modules)
        )))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED "))
    return set(json.loads(line.removeprefix("LOADED ")))


def test_the_app_imports_no_database_crypto_or_fhir_before_its_first_paint() -> None:
    loaded = loaded_after(
        """
        import tui.app, tui.state, tui.views, tui.search_process
        from tui.app import css_files
        import importlib, pathlib
        for path in sorted(pathlib.Path("tui/screens").glob("*.py")):
            importlib.import_module(f"tui.screens.{path.stem}")
        """
    )
    assert loaded == set()


def test_the_app_entry_point_is_light() -> None:
    assert loaded_after("import linkwork.tui_entry, linkwork.workspace, linkwork.errors") == set()


HELP_COMMANDS = [
    [],
    ["person"],
    ["refer"],
    ["referral"],
    ["referral", "export"],
    ["referral", "receive"],
    ["keys"],
    ["report"],
    ["report", "needs"],
    ["need"],
    ["screen"],
    ["directory"],
    ["demo"],
]


def test_cli_help_loads_no_crypto_or_fhir() -> None:
    """Every help screen in one process (each one only adds modules), then what loaded."""
    loaded = loaded_after(
        f"""
        import io, contextlib
        from linkwork.cli import main
        for command in {HELP_COMMANDS!r}:
            with contextlib.redirect_stdout(io.StringIO()) as out:
                try:
                    main([*command, "--help"])
                except SystemExit as exc:
                    assert exc.code in (0, None), (command, exc.code)
            assert "Usage" in out.getvalue(), (command, out.getvalue())
        """
    )
    assert not loaded & {"cryptography", "joserfc", "fhir.resources"}, loaded


def test_actions_are_the_heavy_side_of_the_boundary() -> None:
    """The other side of the line: reaching the actions does load the database layer (so the
    test above would notice if the boundary were crossed early)."""
    assert loaded_after("import linkwork.actions") == set()  # the areas load on first use
    assert "sqlalchemy" in loaded_after("import linkwork.actions as a; a.people")


def test_the_home_screen_actions_load_no_crypto_fhir_or_search_index() -> None:
    """The first screen's work (open the database, count services, the day's summary)
    does not wait for the exchange's crypto or the search index's numpy."""
    loaded = loaded_after(
        """
        import sys
        import linkwork.actions as actions
        actions.directory, actions.today, actions.people
        assert "numpy" not in sys.modules and "rapidfuzz" not in sys.modules
        """
    )
    assert not loaded & {"cryptography", "joserfc", "fhir.resources"}, loaded
