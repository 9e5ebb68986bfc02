"""Issue 18: ``linkwork directory search`` run without Typer (``linkwork.search_command``)
answers exactly as the Typer command does: the same output, errors and exit codes, for each
of its options; anything but a plain search is left to Typer."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from linkwork import search_command
from linkwork.cli import main as typer_main


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bundled sample directory in its own database (its index file written)."""
    home = tmp_path_factory.mktemp("search-command")
    url = f"sqlite:///{home / 'dir.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKWORK_")}
    env.update(LINKWORK_HOME=str(home), LINKWORK_CONFIG=str(home / "none.toml"))
    done = subprocess.run(
        [sys.executable, "-m", "linkwork", "--db", url, "directory", "load-sample"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-500:]
    return url


def _outcome(call: object, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            assert callable(call)
            if call(argv) is False:
                return -1, "", "not run"
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


PLAIN = [
    ["food bank"],
    ["food bank", "--json"],
    ["--json", "debt advice", "--limit", "3", "--free"],
    ["--need", "Z59.0", "--json"],
    ["--need=Z59.4", "--need", "housing", "food", "--limit=2"],
    ["food bank", "--language", "polish", "--open-now", "--current-only"],
    ["food bank", "--include-stale", "--current-only", "--age", "70"],
    ["lonley old man", "--json"],  # a correction, said in the why
    # refused: the same line and exit code
    [""],
    ["food bank", "--age", "200"],
    ["food bank", "--limit", "0"],
    ["food bank", "--near", "ZZ99 9ZZ"],
    ["food bank", "--near", "Nowhereville"],
    ["xyzzyqqq zzyzx"],
    ["--need", "Z99.9"],
]


@pytest.mark.parametrize("words", PLAIN, ids=lambda w: " ".join(w) or "(empty)")
def test_a_plain_search_answers_as_the_typer_command(sample_db: str, words: list[str]) -> None:
    argv = ["--db", sample_db, "directory", "search", *words]
    assert search_command.read(argv) is not None
    fast = _outcome(search_command.run, argv)
    assert fast == _outcome(typer_main, argv)
    assert fast[0] in (0, 1, 2)
    if fast[0] == 0 and "--json" in words:
        assert isinstance(json.loads(fast[1]), list)
    elif fast[0]:
        assert fast[2].startswith("linkwork: ") and fast[2].count("\n") == 1


def test_the_root_options_and_the_environment(
    sample_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["--user", "Ann", "directory", "search", "food bank", "--json"]
    monkeypatch.setenv("LINKWORK_DATABASE_URL", sample_db)
    fast = _outcome(search_command.run, argv)
    assert fast[0] == 0 and "Food Bank" in fast[1]
    assert fast == _outcome(typer_main, argv)
    bad = ["--db", "nosuchdb://x", "directory", "search", "food"]
    refused = _outcome(search_command.run, bad)
    assert refused[0] == 2 and refused == _outcome(typer_main, bad)


@pytest.mark.parametrize(
    "argv",
    [
        ["directory", "search", "--help"],
        ["directory", "search", "food", "-h"],
        ["directory", "search", "food", "bank"],  # two texts: Typer's usage error
        ["directory", "search", "food", "--limit", "x"],
        ["directory", "search", "food", "--limit", "-1"],
        ["directory", "search", "food", "--lim", "3"],  # not written out in full
        ["directory", "search", "food", "--json=yes"],
        ["directory", "search", "food", "--near"],
        ["directory", "search", "--", "-food"],
        ["directory", "show", "x"],
        ["directory"],
        ["--version"],
        ["--db", "sqlite:///x.db", "--verbose", "directory", "search", "food"],
        [],
    ],
)
def test_anything_else_is_left_to_typer(argv: list[str]) -> None:
    assert search_command.read(argv) is None
    assert _outcome(search_command.run, argv) == (-1, "", "not run")


def test_the_console_script_searches_without_typer(sample_db: str, tmp_path: Path) -> None:
    """A real process as the console script starts it: Typer is not imported for a plain
    search (and Rich only for the table); a help request still goes to Typer."""
    code = (
        "import json, sys; from linkwork.tui_entry import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    pass\n"
        "sys.stderr.write('MODULES ' + json.dumps(sorted(sys.modules)))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKWORK_")}
    env.update(LINKWORK_HOME=str(tmp_path), LINKWORK_CONFIG=str(tmp_path / "none.toml"))

    def modules(*args: str) -> tuple[str, set[str]]:
        done = subprocess.run(
            [sys.executable, "-c", code, "--db", sample_db, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        found = done.stderr.rsplit("MODULES ", 1)[1]
        return done.stdout, {m.split(".")[0] for m in json.loads(found)}

    out, names = modules("directory", "search", "food bank", "--json")
    assert "Food Bank" in json.loads(out)[0]["name"]
    assert not names & {"typer", "rich", "click"}, sorted(names & {"typer", "rich", "click"})
    out, names = modules("directory", "search", "food bank")
    assert "Food" in out and "service" in out and "rich" in names and "typer" not in names
    out, names = modules("directory", "search", "--help")
    assert "--current-only" in out and "typer" in names
