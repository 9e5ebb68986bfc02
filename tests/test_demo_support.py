"""tests/demo_support.py: a database built once and copied into a test's fresh database holds
exactly what the build made (SQLite: the same dump; PostgreSQL: the same ``pg_dump`` lines,
schema, grants, sequences and rows, a table's rows perhaps in another physical order), and a
build that changes the template's own rows runs for every test."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from demo_support import built_copy
from sqlmodel import Session

from linkwork import db as lwdb
from linkwork.demo import make_demo

TODAY = date(2026, 11, 24)
built_urls: list[str] = []


def _demo(url: str) -> None:
    built_urls.append(url)
    engine = lwdb.open_engine(url)
    with lwdb.session_scope(engine) as session:
        make_demo(session, people=40, seed=6, today=TODAY)
    engine.dispose()


def _touches_the_template(url: str) -> None:
    built_urls.append(url)
    engine = lwdb.open_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))
        conn.execute(sa.text("CREATE TEMPORARY TABLE scratch (x int)"))
        # a new row in the template's own table: the build's result is not kept
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('demo_support_test')"))
    engine.dispose()


@pytest.fixture
def second_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    """Another fresh database on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        target = tmp_path / "second.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    import conftest

    yield from conftest.pg_database(request)


def _dump(url: str) -> str:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sa.make_url(url).database or "")
        try:
            return "\n".join(conn.iterdump())
        finally:
            conn.close()
    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(False)
    text = subprocess.run(
        ["pg_dump", "-d", conninfo], check=True, capture_output=True, text=True
    ).stdout
    # pg_dump 15.14+ fences its output with a random key: \restrict KEY ... \unrestrict KEY
    return "\n".join(line for line in text.splitlines() if "restrict " not in line[:12])


def test_a_copy_holds_exactly_what_was_built(
    request: pytest.FixtureRequest, db_url: str, second_url: str
) -> None:
    key = ("test_demo_support", "demo", db_url.split(":")[0])
    built_urls.clear()
    built_copy(request, db_url, _demo, key)
    built = _dump(db_url)
    built_copy(request, second_url, _demo, key)
    assert built_urls == [db_url]  # built once, copied the second time
    copied = _dump(second_url)
    assert "INSERT INTO" in built or "COPY public.person" in built  # rows to compare
    if db_url.startswith("sqlite"):
        assert copied == built
    else:
        # the same schema, grants, sequences and rows; rows the build updated in place
        # (each row's org filled after the bulk insert) lie elsewhere in the original's
        # pages, so pg_dump may list a table's rows in another order
        assert sorted(copied.splitlines()) == sorted(built.splitlines())
    engine = lwdb.open_engine(second_url)
    with Session(engine) as session:
        people = session.execute(sa.text("SELECT count(*) FROM person")).scalar_one()
        chain = session.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one()
    engine.dispose()
    assert people == 40 and chain >= 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite copies the file
def test_a_build_changing_the_templates_rows_runs_every_time(
    request: pytest.FixtureRequest, db_url: str, second_url: str
) -> None:
    built_urls.clear()
    built_copy(request, db_url, _touches_the_template)
    built_copy(request, second_url, _touches_the_template)
    assert built_urls == [db_url, second_url]
