"""Shared fixtures: isolated settings, fresh migrated databases on SQLite and PostgreSQL,
and an in-process CLI runner.

PostgreSQL comes from the PG* variables that ``pg_virtualenv`` sets (``.ci/run`` wraps the
test run in it, starting a throwaway PostgreSQL 15 cluster), or from
``LINKWORK_TEST_PG_URL``. Without either, PostgreSQL cases skip with that reason, unless
``LINKWORK_REQUIRE_PG=1`` (set by ``.ci/run`` when the binaries exist), when they fail.
"""

from __future__ import annotations

import gc
import io
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from linkwork import db as lwdb

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"

# An app test builds and drops tens of thousands of objects (widgets, styles, strips) over a
# heap of some 200,000 long-lived ones (SQLAlchemy, Textual, the test plugins): at Python's
# default thresholds (700, 10, 10) a worker made a full collection every test or two, 0.2-0.3 s
# of CPU each (5-6 s of test_tui_counts' 26 s). Young objects are looked at every 10,000
# allocations instead of 700, so the older generations are reached 14 times less often.
gc.set_threshold(10_000, 10, 10)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish() -> None:
    """The end of a run (the last test's teardown has ended the session's fixtures): cyclic
    garbage is collected here until a collection finds none (at most pytest's own five), and
    what is left is frozen (gc.freeze) before xdist's hook reports the worker finished. Then
    pytest's unraisable-exception cleanup makes its five full collections over new objects
    only. Before, those five walked a worker's whole heap after it had reported finished
    (1.5-4 s each under load), and execnet interrupts a worker still busy 5 s after the
    controller closes it (SIGINT: a KeyboardInterrupt warning at the end of the run, and up to
    5 s of its wall). What a collection here finds is still reported: pytest's hook for
    unraisable exceptions is in place until its cleanup."""
    for _ in range(5):
        if gc.collect() == 0:
            break
    gc.freeze()


def _pg_admin_url() -> str | None:
    url = os.environ.get("LINKWORK_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("PGHOST") and os.environ.get("PGUSER"):
        user = os.environ["PGUSER"]
        password = os.environ.get("PGPASSWORD", "")
        host = os.environ["PGHOST"]
        port = os.environ.get("PGPORT", "5432")
        auth = f"{user}:{password}" if password else user
        return f"postgresql+psycopg://{auth}@{host}:{port}/postgres"
    return None


PG_ADMIN_URL = _pg_admin_url()
TEMPLATE_LOCK = 220_22  # a PostgreSQL advisory lock: one worker at a time makes its template
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repository (sample directory, dev query sets)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is not present")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data folder and no user config or database URL from outside."""
    home = tmp_path / "linkwork-home"
    keep = {
        "LINKWORK_REQUIRE_PG",
        "LINKWORK_TEST_PG_URL",
        "LINKWORK_DEBUG",
        "LINKWORK_SHOW_BAD_INPUT",
    }
    for name in [n for n in os.environ if n.startswith("LINKWORK_") and n not in keep]:
        monkeypatch.delenv(name)  # no setting from the machine running the tests
    monkeypatch.setenv("LINKWORK_HOME", str(home))
    # The default database is encrypted (SQLCipher); tests use a plain file in its place
    # (tests/test_encrypted_db.py covers the encrypted default).
    monkeypatch.setenv("LINKWORK_DATABASE_URL", f"sqlite:///{home / 'linkwork.db'}")
    monkeypatch.setenv("LINKWORK_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("LINKWORK_USER", "test.worker")
    return home


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The search index of the bundled 400-service sample, built once per test module
    (a module's searches may warm its caches; none changes a result)."""
    from directory.search import ServiceIndex
    from linkwork.sample import load_sample_directory

    path = tmp_path_factory.mktemp("sample-index") / "sample.db"
    engine = lwdb.open_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        load_sample_directory(session)
        session.commit()
        index = ServiceIndex.build(session)
    engine.dispose()
    return index


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = lwdb.open_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def tui_practice_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed practice of the app's tests (tests/tui_seed.py: the sample directory, three
    people, their needs and referrals), made once per worker; tests take a copy of it
    (``tui_practice_url``) rather than migrating and seeding a database each."""
    sys.path.insert(0, str(Path(__file__).parent))
    import tui_seed

    path = tmp_path_factory.mktemp("tui-practice") / "practice.db"
    tui_seed.seed(f"sqlite:///{path}")
    return path


@pytest.fixture(autouse=True)
def _pilot_waits_on_events(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In every test, Textual's Pilot waits (after each key, in ``pause()``) for the app's
    own events to be handled (tests/tui_seed.py ``wait_on_events``) instead of sleeping
    until the process's clock is quiet, which slept at least 40 ms a key and up to 1 s
    under load (bench/out/app-tests-time.txt). A module about timing itself sets
    ``PILOT_WAITS_ON_THE_CLOCK = True``."""
    if getattr(request.module, "PILOT_WAITS_ON_THE_CLOCK", False):
        return
    import tui_seed

    tui_seed.wait_on_events(monkeypatch)


@pytest.fixture
def tui_practice_url(tui_practice_template: Path, tmp_path: Path) -> str:
    """A fresh copy of the fixed practice (tests/tui_seed.py) for one test."""
    target = tmp_path / "practice.db"
    shutil.copy(tui_practice_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    if PG_ADMIN_URL is None:
        yield None
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lw_template_{_worker()}_{uuid.uuid4().hex[:6]}"
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    # One worker at a time migrates its template: the migrations create the cluster's roles,
    # and two workers creating the same role at once fail on pg_authid's unique index.
    with admin.connect() as lock:
        lock.exec_driver_sql(f"SELECT pg_advisory_lock({TEMPLATE_LOCK})")
        try:
            lock.exec_driver_sql(f'CREATE DATABASE "{name}"')
            engine = lwdb.open_engine(url)
            engine.dispose()
        finally:
            lock.exec_driver_sql(f"SELECT pg_advisory_unlock({TEMPLATE_LOCK})")
    yield name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def pg_pool(pg_template: str | None) -> Iterator[Any]:
    """This worker's PostgreSQL databases (tests/pg_pool.py): each test is given one exactly
    as a fresh copy of the template would be, put back after it rather than copied anew (a
    test that changed its schema, grants or alembic history leaves it to be dropped)."""
    if pg_template is None or PG_ADMIN_URL is None:
        yield None
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from pg_pool import PgPool

    pool = PgPool(PG_ADMIN_URL, pg_template, f"lw_{_worker()}")
    yield pool
    stats = os.environ.get("LINKWORK_TEST_PG_STATS")
    if stats:
        with open(stats, "a", encoding="utf-8") as handle:
            handle.write(pool.stats() + "\n")
    pool.close()


def _require_pg() -> None:
    if PG_ADMIN_URL is None:
        if os.environ.get("LINKWORK_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL required (LINKWORK_REQUIRE_PG=1) but no PG* variables set")
        pytest.skip("no PostgreSQL: run the suite under pg_virtualenv (see .ci/run)")


def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, fully migrated, empty PostgreSQL database for one test (its URL), put back
    after it (for a fixture wanting one more database beside ``db_url``)."""
    _require_pg()
    pool = request.getfixturevalue("pg_pool")
    name = pool.acquire()
    yield pool.url(name)
    pool.release(name)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A fresh, fully migrated, empty database on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "linkwork.db"
        shutil.copy(sqlite_template, target)
        yield f"sqlite:///{target}"
        return
    yield from pg_database(request)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = lwdb.open_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self):  # type: ignore[no-untyped-def]
        import json

        return json.loads(self.out)


CliRunner = Callable[..., CliResult]


_BUILT: dict[int, Any] = {}


def _built_once(build: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Typer builds the Click command tree from the functions' signatures on every call of
    the app (about 0.3 s of an in-process run); it is the same tree each time, so the
    tests build it once per process. A real ``linkwork`` process builds it once anyway."""

    def get_command(typer_instance: Any) -> Any:
        key = id(typer_instance)
        if key not in _BUILT:
            _BUILT[key] = build(typer_instance)
        return _BUILT[key]

    return get_command


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Run ``linkwork ARGS`` in-process through ``main`` (the real exit-code mapping)."""
    import typer.main

    from linkwork.cli import main

    if not getattr(typer.main.get_command, "_built_once", False):
        cached = _built_once(typer.main.get_command)
        cached._built_once = True  # type: ignore[attr-defined]
        monkeypatch.setattr(typer.main, "get_command", cached)

    def run(*args: str, db: str | None = None, stdin: str | bytes | None = None) -> CliResult:
        argv = [str(a) for a in args]
        if db is not None:
            argv = ["--db", db, *argv]
        out, err = io.StringIO(), io.StringIO()
        old_stdin = sys.stdin
        if stdin is not None:
            raw = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
            sys.stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
        try:
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    main(argv)
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.stdin = old_stdin
        return CliResult(code, out.getvalue(), err.getvalue())

    return run
