"""The embedded database encrypted at rest (issue 16 point 7): the default SQLite database
is an SQLCipher file: no SQLite header, no name or NHS number in its bytes (nor in its
write-ahead log), unreadable by SQLite itself; a wrong or missing passphrase is one line
and exit 2 with nothing changed; ``db encrypt`` converts a plain database in place with
every row kept and no plain copy left; the passphrase is never printed or put on a
command line; the key is derived once per process, not once per query."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from linkwork import db as lwdb
from linkwork.dbcrypt import table_counts

PASSPHRASE = "correct horse battery"
# A distinctive synthetic person: an NHS number in the 999 test range (valid check digit),
# and a name found in no word list.
GIVEN, FAMILY = "Zebediah", "Quillfeatherstone"
NHS = "9990000018"
POSTCODE = "ZZ9 9ZQ"
SQLITE_HEADER = b"SQLite format 3\x00"


def _needles() -> list[bytes]:
    """Every way the person's identifiers could sit in the file's bytes."""
    found = []
    for text in (GIVEN, FAMILY, NHS, POSTCODE):
        found += [text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-16-be")]
    return found


def _leaks(path: Path) -> list[str]:
    """Each identifier findable in ``path`` and its -wal (as ``strings`` would find it)."""
    leaks = []
    for one in (path, Path(f"{path}-wal"), Path(f"{path}-journal")):
        if not one.exists():
            continue
        data = one.read_bytes()
        leaks += [f"{one.name}: {needle!r}" for needle in _needles() if needle in data]
    return leaks


def _add_person(cli, url: str | None = None):  # type: ignore[no-untyped-def]
    args = ["person", "add", "--given", GIVEN, "--family", FAMILY, "--birth-date",
            "1970-05-06", "--nhs-number", NHS, "--postcode", POSTCODE, "--json"]  # fmt: skip
    return cli(*args, db=url)


@pytest.fixture
def default_db(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default database (no --db): encrypted; the passphrase from the environment."""
    monkeypatch.delenv("LINKWORK_DATABASE_URL", raising=False)
    monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", PASSPHRASE)
    return isolated_home / "linkwork.db"


def _digest(folder: Path) -> dict[str, str]:
    """The folder's files and their contents (not ``-shm``: SQLite's shared-memory index of
    the -wal, which holds no record and changes whenever anyone reads)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.endswith("-shm")
    }


def test_the_default_database_holds_no_readable_identifier(cli, default_db: Path) -> None:  # type: ignore[no-untyped-def]
    added = _add_person(cli)
    assert added.code == 0, added.err
    assert default_db.read_bytes()[:16] != SQLITE_HEADER
    assert _leaks(default_db) == []
    # and while a connection is open, the write-ahead log holds the newest pages (the
    # command closed its own, folding its log in): write some and search it
    engine = lwdb.open_engine(f"sqlite+pysqlcipher:///{default_db}", passphrase=PASSPHRASE)
    with engine.connect() as conn:
        with conn.begin():  # the person's page written again, every identifier in it
            conn.exec_driver_sql("UPDATE person SET postcode = postcode || ' '")
        assert Path(f"{default_db}-wal").stat().st_size > 0
        assert _leaks(default_db) == []
        assert conn.exec_driver_sql("SELECT family_name FROM person").scalar() == FAMILY
    engine.dispose()


def test_the_same_person_in_a_plain_database_is_findable(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The control for the byte search above: it finds the identifiers in a plain file."""
    plain = tmp_path / "plain.db"
    assert _add_person(cli, f"sqlite:///{plain}").code == 0
    engine = lwdb.open_engine(f"sqlite:///{plain}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    assert plain.read_bytes()[:16] == SQLITE_HEADER
    leaks = _leaks(plain)
    assert any(FAMILY in leak for leak in leaks) and any(NHS in leak for leak in leaks)


def test_sqlite_itself_cannot_read_the_encrypted_file(cli, default_db: Path) -> None:  # type: ignore[no-untyped-def]
    assert _add_person(cli).code == 0
    conn = sqlite3.connect(default_db)
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        conn.execute("SELECT * FROM person").fetchall()
    conn.close()
    tool = shutil.which("sqlite3")
    if tool:  # the sqlite3 command line, where installed
        done = subprocess.run(
            [tool, str(default_db), "SELECT family_name FROM person;"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode != 0
        assert "not a database" in done.stderr
        assert FAMILY not in done.stdout


def test_a_wrong_passphrase_is_one_line_exit_2_and_changes_nothing(  # type: ignore[no-untyped-def]
    cli, default_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _add_person(cli).code == 0
    before = _digest(default_db.parent)
    monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", "not the passphrase")
    for args in (["person", "list"], ["person", "add", "--given", "A", "--family", "B",
                                      "--birth-date", "1980-01-01"], ["db", "status"]):  # fmt: skip
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert result.err == f"linkwork: wrong passphrase for the database {default_db}: " \
            "nothing was changed\n"  # fmt: skip
        assert result.out == ""
    assert _digest(default_db.parent) == before
    monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", PASSPHRASE)
    listed = cli("person", "list", "--json")
    assert listed.code == 0 and [p["family_name"] for p in listed.json()] == [FAMILY]


def test_no_passphrase_and_no_terminal_is_one_line_exit_2(  # type: ignore[no-untyped-def]
    cli, default_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _add_person(cli).code == 0
    before = _digest(default_db.parent)
    monkeypatch.delenv("LINKWORK_DB_PASSPHRASE")
    result = cli("person", "list", stdin="")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "is encrypted: set LINKWORK_DB_PASSPHRASE" in result.err
    assert _digest(default_db.parent) == before


def test_a_first_passphrase_too_short_makes_no_database(  # type: ignore[no-untyped-def]
    cli, default_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", "short")
    result = _add_person(cli)
    assert (result.code, result.err) == (
        2,
        "linkwork: choose a passphrase of at least 8 characters\n",
    )
    assert not default_db.exists()


def test_the_passphrase_is_never_printed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret = "Zz-unprintable-passphrase-42"
    url = f"sqlite+pysqlcipher://:{secret}@/{tmp_path / 'given.db'}"
    assert _add_person(cli, url).code == 0
    status = cli("db", "status", "--json", db=url)
    assert status.code == 0, status.err
    assert status.json()["protection"] == "encrypted"
    assert secret not in status.out + status.err
    assert str(tmp_path / "given.db") in status.json()["url"]
    engine = lwdb.create_engine(url)
    assert secret not in repr(engine) + str(engine.url) + lwdb.describe(engine)
    engine.dispose()


def test_the_search_process_gets_the_passphrase_over_its_pipe_not_its_command_line(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    from linkwork.settings import Settings
    from linkwork.workspace import Workspace
    from tui.search_process import ServiceSearch

    url = f"sqlite+pysqlcipher:///{tmp_path / 'search.db'}"
    ws = Workspace(Settings(database_url=url))
    ws.set_passphrase(PASSPHRASE)
    assert ws.engine is not None
    search = ServiceSearch(ws)
    try:
        assert search.build() is not None
        process = search._index._process
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"tui.search_process" in cmdline
        assert PASSPHRASE.encode() not in cmdline and b"search.db" not in cmdline
    finally:
        search.close()


def test_the_key_is_derived_once_for_many_sessions_and_threads(tmp_path: Path) -> None:
    engine = lwdb.open_engine(
        f"sqlite+pysqlcipher:///{tmp_path / 'pool.db'}", passphrase=PASSPHRASE
    )
    connects: list[int] = []
    sa.event.listen(engine, "connect", lambda *_: connects.append(1))
    engine.dispose()  # forget the connection used to migrate: count from here

    def work() -> None:
        with lwdb.session_scope(engine) as session:
            session.exec(sa.text("SELECT count(*) FROM person")).one()  # type: ignore[call-overload]

    for _ in range(5):  # the app's workers: a new thread each time
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    assert connects == [1]
    engine.dispose()


# --- linkwork db encrypt ---------------------------------------------------------------


def _plain_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return table_counts(conn)
    finally:
        conn.close()


def _encrypted_counts(path: Path, passphrase: str) -> dict[str, int]:
    import sqlcipher3

    conn = sqlcipher3.connect(str(path))
    try:
        conn.execute(f"PRAGMA key = '{passphrase}'")
        return table_counts(conn)
    finally:
        conn.close()


@pytest.fixture
def demo_db(cli, tmp_path: Path, sqlite_template: Path) -> Path:  # type: ignore[no-untyped-def]
    """A plain database filled by ``linkwork demo``, in a folder of its own."""
    folder = tmp_path / "practice"
    folder.mkdir()
    path = folder / "demo.db"
    shutil.copy(sqlite_template, path)
    made = cli("demo", "--people", "40", "--seed", "7", db=f"sqlite:///{path}")
    assert made.code == 0, made.err
    return path


def test_db_encrypt_converts_a_demo_database_keeping_every_row(  # type: ignore[no-untyped-def]
    cli, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{demo_db}"
    people = cli("person", "list", "--limit", "1000", "--json", db=url).json()
    family = people[0]["family_name"].encode()
    wal = Path(f"{demo_db}-wal")  # (gone once the command closed the database)
    assert family in demo_db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    before = _plain_counts(demo_db)
    assert before["person"] == 40 and before["referral"] > 0 and before["service"] > 0

    monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", PASSPHRASE)
    done = cli("db", "encrypt", "--json", db=url)
    assert done.code == 0, done.err
    result = done.json()
    assert result["rows"] == sum(before.values()) and result["tables"] == len(before)
    assert result["url"] == f"sqlite+pysqlcipher:///{demo_db}"

    assert sorted(p.name for p in demo_db.parent.iterdir()) == ["demo.db"]  # no plain copy
    assert (demo_db.stat().st_mode & 0o777) == 0o600
    assert demo_db.read_bytes()[:16] != SQLITE_HEADER
    assert family not in demo_db.read_bytes()
    assert _encrypted_counts(demo_db, PASSPHRASE) == before
    again = cli("person", "list", "--limit", "1000", "--json", db=result["url"])
    assert again.code == 0, again.err
    assert again.json() == people

    # the old plain URL now finds an encrypted file: told how to open it, in one line
    plain = cli("person", "list", db=url)
    assert plain.code == 2 and plain.err.count("\n") == 1
    assert f"is not an SQLite database (if it is an encrypted one, open it with --db " \
        f"sqlite+pysqlcipher:///{demo_db} and its passphrase)" in plain.err  # fmt: skip


def test_db_encrypt_refuses_an_encrypted_file_before_asking(  # type: ignore[no-untyped-def]
    cli, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", PASSPHRASE)
    assert cli("db", "encrypt", db=f"sqlite:///{demo_db}").code == 0
    before = _digest(demo_db.parent)
    monkeypatch.delenv("LINKWORK_DB_PASSPHRASE")  # not asked for: refused first
    for url in (f"sqlite:///{demo_db}", f"sqlite+pysqlcipher:///{demo_db}"):
        again = cli("db", "encrypt", db=url, stdin="")
        assert (again.code, again.err) == (
            2,
            f"linkwork: {demo_db} is already encrypted (or is not an SQLite database)\n",
        )
    assert _digest(demo_db.parent) == before


def test_db_encrypt_of_the_default_database_is_found_encrypted_afterwards(  # type: ignore[no-untyped-def]
    cli, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older linkwork's plain default database keeps working (said to be not encrypted)
    until ``db encrypt``; then the default opens it encrypted, with no --db."""
    assert _add_person(cli).code == 0  # the tests' plain default (conftest)
    monkeypatch.delenv("LINKWORK_DATABASE_URL")
    status = cli("db", "status", "--json")
    assert status.json()["protection"] == "not encrypted"
    monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", PASSPHRASE)
    done = cli("db", "encrypt", "--json")
    assert done.code == 0, done.err and done.json()["url"] == ""
    status = cli("db", "status", "--json")
    assert status.json()["protection"] == "encrypted"
    assert status.json()["url"].startswith("sqlite+pysqlcipher:///")
    listed = cli("person", "list", "--json")
    assert [p["nhs_number"] for p in listed.json()] == [NHS]
    assert _leaks(isolated_home / "linkwork.db") == []


def test_db_encrypt_refuses_a_database_another_linkwork_has_open(  # type: ignore[no-untyped-def]
    cli, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
         "c.execute('PRAGMA journal_mode=WAL'); c.execute('SELECT 1 FROM person').fetchall(); "
         "print('open', flush=True); sys.stdin.readline()", str(demo_db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        before = _plain_counts(demo_db)
        monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", PASSPHRASE)
        refused = cli("db", "encrypt", db=f"sqlite:///{demo_db}")
        assert (refused.code, refused.err) == (
            2,
            f"linkwork: {demo_db} is in use by another linkwork: close it, then try again\n",
        )
    finally:
        holder.communicate("\n", timeout=30)
    assert demo_db.read_bytes()[:16] == SQLITE_HEADER
    assert not list(demo_db.parent.glob("*.encrypting*"))
    assert _plain_counts(demo_db) == before


def test_db_encrypt_refuses_postgresql_and_memory(cli) -> None:  # type: ignore[no-untyped-def]
    memory = cli("db", "encrypt", db="sqlite:///:memory:")
    assert (memory.code, memory.err) == (
        2,
        "linkwork: an in-memory database cannot be encrypted\n",
    )
    server = cli("db", "encrypt", db="postgresql+psycopg://someone@localhost/nowhere")
    assert server.code == 2 and "protected by its server" in server.err


def test_the_settings_file_cannot_hold_the_passphrase(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    url = f"sqlite+pysqlcipher://:{PASSPHRASE}@/{tmp_path / 'kept.db'}"
    config.write_text(f'database_url = "{url}"\n', encoding="utf-8")
    monkeypatch.setenv("LINKWORK_CONFIG", str(config))
    monkeypatch.delenv("LINKWORK_DATABASE_URL")
    result = cli("person", "list")
    assert result.code == 2
    assert result.err == (
        f"linkwork: config file {config}: the database passphrase is not kept in a file; "
        "remove it from database_url (it is asked for, or read from LINKWORK_DB_PASSPHRASE)\n"
    )
    assert PASSPHRASE not in result.err and not (tmp_path / "kept.db").exists()
    config.write_text(f'database_url = "sqlite+pysqlcipher:///{tmp_path / "kept.db"}"\n')
    monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", PASSPHRASE)
    assert _add_person(cli).code == 0
    assert (tmp_path / "kept.db").read_bytes()[:16] != SQLITE_HEADER


# --- typed on a terminal ----------------------------------------------------------------


def _on_a_terminal(args: list[str], answers: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``linkwork ARGS`` on a pseudo-terminal, typing each answer when a prompt
    ending in ": " appears; its exit code and everything it showed."""
    import os
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: linkwork on the terminal
        os.execve(sys.executable, [sys.executable, "-m", "linkwork", *args], env)
    shown = b""
    pending = list(answers)
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child has gone
            break
        if not chunk:
            break
        shown += chunk
        if pending and shown.rstrip(b" ").endswith(b":"):
            os.write(fd, pending.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX pseudo-terminal")
def test_on_a_terminal_the_passphrase_is_typed_twice_then_once(
    isolated_home: Path, tmp_path: Path
) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKWORK_")}
    env |= {"LINKWORK_HOME": str(isolated_home), "LINKWORK_CONFIG": str(tmp_path / "none"),
            "LINKWORK_USER": "test.worker", "TERM": "dumb"}  # fmt: skip
    database = isolated_home / "linkwork.db"
    add = ["person", "add", "--given", GIVEN, "--family", FAMILY, "--birth-date", "1970-05-06"]

    code, shown = _on_a_terminal(add, [PASSPHRASE, PASSPHRASE + "x"], env)
    assert code == 2
    assert "New passphrase:" in shown and "The same passphrase again:" in shown
    assert "linkwork: the two passphrases differ: type the same one twice" in shown
    assert PASSPHRASE not in shown  # typed, never shown
    assert not database.exists()

    code, shown = _on_a_terminal(add, [PASSPHRASE, PASSPHRASE], env)
    assert code == 0, shown
    assert FAMILY in shown
    assert database.read_bytes()[:16] != SQLITE_HEADER

    code, shown = _on_a_terminal(["person", "list"], ["not the passphrase"], env)
    assert code == 2
    assert f"Passphrase for the database {database}:" in shown
    assert f"linkwork: wrong passphrase for the database {database}: nothing was changed" in shown
    assert FAMILY not in shown

    code, shown = _on_a_terminal(["person", "list"], [PASSPHRASE], env)
    assert code == 0 and FAMILY.upper() in shown.upper()


# --- linkwork db passphrase -------------------------------------------------------------


def _linkwork(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkwork", *args], capture_output=True, text=True, timeout=120
    )


def test_db_passphrase_gives_the_database_a_new_one(  # type: ignore[no-untyped-def]
    cli, default_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each command in a process of its own, as they are run: a database still open in
    # another process (or this one) is refused as "in use".
    args = ["person", "add", "--given", GIVEN, "--family", FAMILY, "--birth-date", "1970-05-06"]
    assert _linkwork(*args).returncode == 0
    new = "a new passphrase for the practice"
    monkeypatch.setenv("LINKWORK_DB_NEW_PASSPHRASE", new)
    done = _linkwork("db", "passphrase", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["database"] == str(default_db)
    assert sorted(p.name for p in default_db.parent.iterdir()) == ["linkwork.db"]
    assert _leaks(default_db) == []

    old = cli("person", "list")  # LINKWORK_DB_PASSPHRASE still holds the old one
    assert (old.code, old.err) == (
        2,
        f"linkwork: wrong passphrase for the database {default_db}: nothing was changed\n",
    )
    monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", new)
    listed = cli("person", "list", "--json")
    assert listed.code == 0 and [p["family_name"] for p in listed.json()] == [FAMILY]
    trail = cli("audit", "show", "--json")
    assert trail.code == 0, trail.err
    assert sorted((e["action"], e["entity"]) for e in trail.json()) == [
        ("create", "person"),
        ("rekey", "database"),
        ("view", "people"),  # the person list above
    ]
    verified = cli("audit", "verify")
    assert verified.code == 0, verified.out + verified.err


def test_db_passphrase_refuses_a_wrong_old_one_and_a_plain_database(  # type: ignore[no-untyped-def]
    cli, default_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert _add_person(cli).code == 0
    before = _digest(default_db.parent)
    monkeypatch.setenv("LINKWORK_DB_PASSPHRASE", "not the passphrase")
    monkeypatch.setenv("LINKWORK_DB_NEW_PASSPHRASE", "a new passphrase for the practice")
    wrong = cli("db", "passphrase")
    assert (wrong.code, wrong.err) == (
        2,
        f"linkwork: wrong passphrase for the database {default_db}: nothing was changed\n",
    )
    assert _digest(default_db.parent) == before

    plain = tmp_path / "plain.db"
    assert _add_person(cli, f"sqlite:///{plain}").code == 0
    refused = cli("db", "passphrase", db=f"sqlite:///{plain}")
    assert (refused.code, refused.err) == (
        2,
        f"linkwork: {plain} is not encrypted: encrypt it with 'linkwork db encrypt'\n",
    )
