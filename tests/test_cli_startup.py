"""Issue 18: the command line starts without what its command does not use.

``linkwork --help`` imports neither the database layer (SQLAlchemy, SQLModel, Alembic) nor
Textual nor fhir.resources; ``linkwork directory search`` with the index file up to date
opens the file without any of them either (the stamp read with sqlite3). Read from
``python -X importtime`` of a real process, as a user's shell starts it. Speed figures are
in bench/search.py, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from linkwork.cli import ALL_AREAS, AREAS, app, command_areas, make_app, named_only

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "textual", "fhir", "psycopg", "cryptography")


def imported(
    args: list[str], env: dict[str, str], *, whole: bool = False
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m linkwork ARGS``; the top-level packages it imported
    (``whole``: the modules, by their whole names)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "linkwork", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name if whole else name.split(".")[0])
    return done, names


def _env(home: Path, db: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKWORK_")}
    env["LINKWORK_HOME"] = str(home)
    env["LINKWORK_CONFIG"] = str(home / "no-config.toml")
    if db:
        env["LINKWORK_DATABASE_URL"] = db
    return env


def test_help_imports_no_database_layer_textual_or_fhir(tmp_path: Path) -> None:
    done, names = imported(["--help"], _env(tmp_path))
    assert done.returncode == 0, done.stderr[-500:]
    assert "directory" in done.stdout and "person" in done.stdout  # every command listed
    assert "typer" in names  # the measurement sees imports at all
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def test_search_with_a_current_index_file_imports_none_of_them(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'dir.db'}"
    assert cli("directory", "load-sample", db=url).code == 0  # writes the index file
    index_file = next(Path(os.environ["LINKWORK_HOME"]).glob("search-index/*.lwidx"))
    written = index_file.stat().st_mtime_ns
    env = _env(Path(os.environ["LINKWORK_HOME"]), url)
    done, names = imported(["directory", "search", "food bank", "--json"], env)
    assert done.returncode == 0, done.stderr[-500:]
    assert "Food Bank" in done.stdout  # it answered
    assert "numpy" in names  # the index file was opened
    assert not names & set(HEAVY), sorted(names & set(HEAVY))
    assert "pydantic" not in names  # Typer's coercion of plain values (cli.light_params)
    # built on first use: the HTML parser (directory.text), TOML (settings without a config
    # file; the codes catalogue read from its cache)
    assert not names & {"html", "tomllib"}, sorted(names & {"html", "tomllib"})
    assert index_file.stat().st_mtime_ns == written  # opened, not rebuilt


def test_a_search_on_a_directory_changed_since_still_rebuilds_the_index(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The fast stamp sees a change the database layer made (another machine's import)."""
    from sqlmodel import Session

    from directory.models import Service
    from linkwork import db as lwdb

    url = f"sqlite:///{tmp_path / 'dir.db'}"
    assert cli("directory", "load-sample", db=url).code == 0
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        session.add(Service(source="elsewhere", source_id="w-1", name="Wombat Tool Library"))
        session.commit()
    engine.dispose()
    env = _env(Path(os.environ["LINKWORK_HOME"]), url)
    done, _names = imported(["directory", "search", "wombat", "--json"], env)
    assert done.returncode == 0, done.stderr[-500:]
    assert "Wombat Tool Library" in done.stdout


def _tree(command: typer.core.TyperGroup, prefix: str = "") -> set[str]:
    found = set()
    for name, sub in command.commands.items():
        found.add(prefix + name)
        if isinstance(sub, typer.core.TyperGroup):
            found |= _tree(sub, f"{prefix}{name} ")
    return found


def test_each_command_is_registered_by_the_areas_named_for_it() -> None:
    full = typer.main.get_command(app)
    assert isinstance(full, typer.core.TyperGroup)
    everything = _tree(full)
    assert set(AREAS) == set(full.commands), "AREAS must name every top-level command"
    assert {a for areas in AREAS.values() for a in areas} == set(ALL_AREAS)
    for name, areas in AREAS.items():
        partial = typer.main.get_command(make_app(areas))
        assert isinstance(partial, typer.core.TyperGroup)
        mine = {c for c in everything if c == name or c.startswith(name + " ")}
        assert mine <= _tree(partial), (name, sorted(mine - _tree(partial)))


@pytest.mark.parametrize(
    ("args", "areas"),
    [
        (["directory", "search", "x"], ("directory",)),
        (["--db", "sqlite:///x.db", "--user", "sam", "directory", "show", "1"], ("directory",)),
        (["--db=sqlite:///x.db", "person", "list"], ("people",)),
        (["referral", "list"], AREAS["referral"]),
        (["db", "status"], ("db",)),
        (["--help"], ALL_AREAS),
        (["--version"], ALL_AREAS),
        (["dirctory", "search"], ALL_AREAS),  # a typo: Click's suggestion needs every name
        ([], ALL_AREAS),
    ],
)
def test_the_command_line_names_the_areas_to_load(args: list[str], areas: tuple[str, ...]) -> None:
    assert command_areas(args) == areas


def test_search_on_the_encrypted_default_database_keys_it_without_sqlalchemy(
    tmp_path: Path,
) -> None:
    """The default database is an encrypted SQLite file: its stamp is read through
    sqlcipher3 with the passphrase (a quote in it keyed as SQLAlchemy keys it), and a
    wrong passphrase still gets linkwork's one line, exit 2."""
    env = _env(tmp_path)
    env["LINKWORK_DB_PASSPHRASE"] = 'a "quoted" passphrase'
    loaded = subprocess.run(
        [sys.executable, "-m", "linkwork", "directory", "load-sample"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stderr[-500:]
    index_file = next(tmp_path.glob("search-index/*.lwidx"))
    written = index_file.stat().st_mtime_ns
    done, names = imported(["directory", "search", "food bank", "--json"], env)
    assert done.returncode == 0, done.stderr[-500:]
    assert "Food Bank" in done.stdout
    assert "sqlcipher3" in names and not names & set(HEAVY), sorted(names & set(HEAVY))
    assert index_file.stat().st_mtime_ns == written
    env["LINKWORK_DB_PASSPHRASE"] = "not the passphrase"
    wrong, _names = imported(["directory", "search", "food bank"], env)
    assert wrong.returncode == 2
    lines = [x for x in wrong.stderr.splitlines() if not x.startswith("import time:")]
    database = tmp_path / "linkwork.db"
    assert lines == [f"linkwork: wrong passphrase for the database {database}: nothing was changed"]


def test_a_search_that_rebuilds_the_index_leaves_no_file_when_refused(
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A search on a changed directory builds the index streaming into a file beside the
    index file (never the whole index in memory) and makes it the index file only once
    the search is accepted."""
    from directory.search import ServiceIndex

    url = f"sqlite:///{tmp_path / 'dir.db'}"
    assert cli("directory", "load-sample", db=url).code == 0

    def in_memory(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the index was built in memory")

    monkeypatch.setattr(ServiceIndex, "build", classmethod(in_memory))
    folder = Path(os.environ["LINKWORK_HOME"]) / "search-index"
    (index_file,) = folder.glob("*.lwidx")
    index_file.unlink()  # as if the directory had changed on another machine
    refused = cli("directory", "search", "food bank", "--near", "ZZ9 9ZZ", db=url)
    assert refused.code == 2 and "ZZ9 9ZZ" in refused.err
    assert list(folder.iterdir()) == []  # nothing left behind, not even the new build
    done = cli("directory", "search", "food bank", "--json", db=url)
    assert done.code == 0 and "Food Bank" in done.out
    assert [p.name for p in folder.iterdir()] == [index_file.name]
    written = index_file.stat().st_mtime_ns
    assert cli("directory", "search", "debt", db=url).code == 0
    assert index_file.stat().st_mtime_ns == written  # current now: opened, not rebuilt


ENTRY = """
import json, os, sys
entry, sys.argv = sys.argv[1], ["linkwork", *sys.argv[2:]]
try:
    if entry == "console script":
        from linkwork.tui_entry import main
        main()
    else:
        import runpy
        runpy.run_module("linkwork", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
task = "/proc/self/task"
threads = len(os.listdir(task)) if os.path.isdir(task) else None
import gc
frozen = gc.get_freeze_count()
report = {"code": code, "threads": threads, "modules": sorted(sys.modules), "frozen": frozen}
sys.stderr.write("REPORT " + json.dumps(report) + "\\n")
"""


def run_entry(
    args: list[str], env: dict[str, str], entry: str = "console script"
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """``linkwork ARGS`` in a new process as the console script (or ``python -m linkwork``)
    runs it; with its exit code, its threads at the end and the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, entry, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    reports = [x for x in done.stderr.splitlines() if x.startswith("REPORT ")]
    assert reports, done.stderr[-500:]
    return done, json.loads(reports[-1].removeprefix("REPORT "))


def test_search_as_json_imports_no_rich_nor_the_other_commands_areas(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """JSON needs no console: Rich is imported by the commands that print words; a plain
    search runs without Typer (linkwork.search_command), and read by Typer it imports
    neither the other areas' commands nor the ``db`` area (once registered for every
    command)."""
    url = f"sqlite:///{tmp_path / 'dir.db'}"
    assert cli("directory", "load-sample", db=url).code == 0
    env = _env(Path(os.environ["LINKWORK_HOME"]), url)
    done, report = run_entry(["directory", "search", "food bank", "--json"], env)
    assert report["code"] == 0, done.stderr[-500:]
    assert "Food Bank" in json.loads(done.stdout)[0]["name"]
    modules = set(report["modules"])
    assert not {m for m in modules if m.split(".")[0] in ("rich", "typer")}, "Rich or Typer"
    assert not {m for m in modules if m.startswith("linkwork.cli.")}
    # the same search as Typer reads it ("--" is Typer's): the same answer
    typer_done, report = run_entry(["directory", "search", "--json", "--", "food bank"], env)
    assert report["code"] == 0 and typer_done.stdout == done.stdout
    modules = set(report["modules"])
    assert "linkwork.cli.directory" in modules and "typer" in modules
    assert not {m for m in modules if m.split(".")[0] == "rich"}, "Rich imported"
    assert "linkwork.cli.db" not in modules
    # the words still go through Rich, escaped (tests/test_untrusted_output.py)
    table, report = run_entry(["directory", "search", "food bank"], env)
    assert report["code"] == 0 and "Food" in table.stdout and "service" in table.stdout
    assert {"rich.table", "linkwork.consoles"} <= set(report["modules"])


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads counted in /proc")
@pytest.mark.parametrize("entry", ["console script", "python -m linkwork"])
def test_a_search_starts_no_thread_for_numpy(cli, tmp_path: Path, entry: str) -> None:  # type: ignore[no-untyped-def]
    """OpenBLAS starts a thread per core with numpy (a tenth of a second of a search's wall
    time on a busy machine); linkwork's entries ask it for none, unless the user set
    OPENBLAS_NUM_THREADS. The query is one the vocabulary reads: no meaning model either."""
    url = f"sqlite:///{tmp_path / 'dir.db'}"
    assert cli("directory", "load-sample", db=url).code == 0
    env = _env(Path(os.environ["LINKWORK_HOME"]), url)
    env.pop("OPENBLAS_NUM_THREADS", None)
    args = ["directory", "search", "food bank", "--json"]
    done, report = run_entry(args, env, entry)
    assert "Food Bank" in done.stdout, done.stderr[-500:]
    assert (report["code"], report["threads"]) == (0, 1)
    assert "numpy" in report["modules"] and "onnxruntime" not in report["modules"]
    if (os.cpu_count() or 1) > 1:  # the user's own setting is kept, the answer the same
        again, report = run_entry(args, {**env, "OPENBLAS_NUM_THREADS": "2"}, entry)
        assert (report["threads"], again.stdout) == (2, done.stdout)


def _commands(command: object) -> dict[str, object]:
    assert isinstance(command, typer.core.TyperGroup)
    return dict(command.commands)


def test_only_the_command_that_runs_is_built() -> None:
    """Typer inspects the parameters of every command it builds: a search builds the
    search command alone. A level whose word names nothing is built whole (Click's
    suggestion for a typo needs every name), and the apps themselves are not changed."""
    whole = make_app(AREAS["directory"])
    everything = _tree(typer.main.get_command(whole))  # type: ignore[arg-type]
    pruned = named_only(whole, ["directory", "search", "food bank"])
    assert pruned is named_only(whole, ["directory", "search", "debt"])  # made once
    root = _commands(typer.main.get_command(pruned))
    assert set(root) == {"directory"}
    assert set(_commands(root["directory"])) == {"search"}
    typo = _commands(typer.main.get_command(named_only(whole, ["directory", "serch"])))
    assert {"search", "show", "import", "list"} <= set(_commands(typo["directory"]))
    assert named_only(whole, ["dirctory", "search"]) is whole
    assert named_only(whole, []) is whole
    assert _tree(typer.main.get_command(whole)) == everything  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["directory", "serch", "food"], 2, "No such command 'serch'. Did you mean 'search'?"),
        (["directory", "search", "x", "--age", "old"], 2, "Invalid value for '--age'"),
        (["directory", "search", "--no-such"], 2, "No such option: --no-such"),
    ],
)
def test_a_pruned_command_line_refuses_as_the_whole_one(
    cli, tmp_path: Path, args: list[str], code: int, says: str
) -> None:  # type: ignore[no-untyped-def]
    done = cli(*args, db=f"sqlite:///{tmp_path / 'dir.db'}")
    assert (done.code, done.out) == (code, "")
    assert done.err.startswith("linkwork: ") and says in done.err


def test_help_of_a_group_lists_all_its_commands_and_of_a_command_its_options(cli) -> None:  # type: ignore[no-untyped-def]
    group = cli("directory", "--help")
    assert group.code == 0
    for name in ("import", "load-sample", "search", "show", "stats", "list"):
        assert f" {name} " in group.out, name
    command = cli("directory", "search", "--help")
    assert command.code == 0 and "linkwork directory search [OPTIONS] [TEXT]" in command.out
    assert "--near" in command.out and "--current-only" in command.out
    assert "load-sample" not in command.out


@pytest.mark.parametrize("entry", ["console script", "python -m linkwork"])
def test_a_command_closes_its_database_and_leaves_the_rest_to_the_exit(
    tmp_path: Path, shared_data: Path, entry: str
) -> None:
    """A command that wrote to an SQLite file closes it when done (its log folded in and
    deleted: nothing but the database file is left beside it), and what is still alive is
    set aside from the collection the interpreter makes as it exits (gc.freeze: after a
    large import it walked every object held, for nothing)."""
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder / 'dir.db'}"
    env = _env(tmp_path, url)
    feed = shared_data / "directory-sample.oruk.json"
    done, report = run_entry(["directory", "import", str(feed), "--source", "council"], env, entry)
    assert report["code"] == 0, done.stderr[-500:]
    assert "400 added" in done.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["dir.db"]  # no -wal, no -shm
    assert report["frozen"] > 10_000  # the modules' and the import's objects set aside
    again, report = run_entry(["directory", "stats", "--json"], env, entry)
    assert report["code"] == 0 and json.loads(again.stdout)["services"] == 400
    assert sorted(p.name for p in folder.iterdir()) == ["dir.db"]
