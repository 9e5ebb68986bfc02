"""The database layer: URLs, file checks, migrations on both backends, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from linkwork import db as lwdb


def test_fresh_database_is_migrated_to_every_head(db_url: str) -> None:
    engine = lwdb.open_engine(db_url)
    status = lwdb.schema_status(engine)
    assert status["state"] == "current"
    # A head another branch depends on (dir_0001 under scr_0001) is applied but not listed.
    assert set(status["current"]) <= set(status["heads"])
    assert status["unknown"] == []
    assert "service" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_current_revisions_match_the_migration_scripts(tmp_path: Path) -> None:
    """open_engine skips Alembic when alembic_version equals CURRENT_REVISIONS: that set
    must be exactly what a full upgrade records, or a new migration would never run."""
    from alembic import command

    engine = lwdb.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    command.upgrade(lwdb._alembic_config(engine), "heads")
    assert frozenset(lwdb.schema_status(engine)["current"]) == lwdb.CURRENT_REVISIONS  # type: ignore[arg-type]
    engine.dispose()


def test_database_behind_the_newest_schema_is_upgraded_on_open(db_url: str) -> None:
    from alembic import command

    engine = lwdb.open_engine(db_url)
    command.downgrade(lwdb._alembic_config(engine), "counts@base")  # the counts branch only
    assert lwdb.schema_status(engine)["state"] == "behind"
    lwdb.open_engine(db_url).dispose()
    assert lwdb.schema_status(engine)["state"] == "current"
    engine.dispose()


def test_newer_database_is_refused_not_downgraded(db_url: str) -> None:
    engine = lwdb.open_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES ('zz_9999_future')")
    with pytest.raises(lwdb.DatabaseError, match="newer linkwork"):
        lwdb.open_engine(db_url)
    with engine.connect() as conn:
        versions = [r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]
    assert "zz_9999_future" in versions
    engine.dispose()


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = lwdb.open_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_status_and_upgrade_commands(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'b.db'}"
    before = cli("db", "status", "--json", db=url)
    assert before.code == 0, before.err
    assert before.json()["state"] == "empty"
    assert not (tmp_path / "b.db").exists()  # looking creates nothing
    after = cli("db", "upgrade", "--json", db=url)
    assert after.code == 0
    assert after.json()["state"] == "current"


@pytest.mark.parametrize(
    ("url_factory", "message"),
    [
        (lambda p: "not a url at all", "malformed database URL"),
        (lambda p: "mysql://x@y/z", "unsupported database"),
        (lambda p: f"sqlite:///{p / 'notes.txt'}", "is not an SQLite database"),
        (lambda p: "postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot use database"),
    ],
)
def test_bad_databases_are_one_line_exit_2(cli, tmp_path: Path, url_factory, message) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.txt").write_text("shopping list: milk, bread\n")
    result = cli("db", "upgrade", db=url_factory(tmp_path))
    assert result.code == 2
    assert result.err.startswith("linkwork: ")
    assert message in result.err
    assert result.err.count("\n") == 1
    assert (tmp_path / "notes.txt").read_text() == "shopping list: milk, bread\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    result = cli("db", "upgrade", db=f"sqlite:///{folder / 'x.db'}")
    folder.chmod(0o700)
    assert result.code == 2
    assert "read-only" in result.err
    assert not (folder / "x.db").exists()


def test_read_only_folder_check_without_root(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """As root the permission bits do not bite, so check the refusal path through os.access."""
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        lwdb.os, "access", lambda p, m: False if Path(p) == folder else real_access(p, m)
    )
    with pytest.raises(lwdb.DatabaseError, match="read-only"):
        lwdb.create_engine(f"sqlite:///{folder / 'x.db'}")
    assert not (folder / "x.db").exists()


def test_console_script_version_and_usage_error() -> None:
    exe = Path(sys.executable).with_name("linkwork")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    assert version.returncode == 0
    assert version.stdout.startswith("linkwork ")
    bad = subprocess.run([exe, "no-such-command"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith("linkwork: ")
    assert "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [("not a url at all", "malformed database URL"), ("mysql://x@y/z", "unsupported database")],
)
@pytest.mark.parametrize("args", [("codes", "show", "Z59.0"), ("codes", "search", "skint")])
def test_bad_db_url_refused_even_by_commands_without_a_database(  # type: ignore[no-untyped-def]
    cli, isolated_home: Path, url: str, message: str, args: tuple[str, ...]
) -> None:
    result = cli(*args, "--json", db=url)
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("linkwork: ") and message in result.err
    assert result.err.count("\n") == 1
    assert not isolated_home.exists() or list(isolated_home.iterdir()) == []


def test_bad_db_url_from_the_environment_is_refused(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LINKWORK_DATABASE_URL", "oracle://scott@db/orcl")
    result = cli("codes", "show", "Z59.0")
    assert result.code == 2 and result.err.startswith("linkwork: unsupported database")
    assert result.err.count("\n") == 1
