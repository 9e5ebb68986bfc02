"""Files and keys as OpenSSH treats them: whatever the umask, the data folder (and the keys,
outbox and inbox folders linkwork makes) is 0700, the SQLite database and its -wal/-shm
files 0600, every key file 0600; a private key of ours that others may read is refused with
the ``chmod 600`` to run; a file that cannot be written is named as the user gave it,
never by its temporary name."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_exchange_support import counts, make_referral

from linkwork import db as lwdb


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_files_made_under_umask_022_are_private(cli, isolated_home: Path, umask_022) -> None:  # type: ignore[no-untyped-def]
    """The defaults: no --db, no folders given; everything lands in the data folder."""
    assert not isolated_home.exists()
    added = cli("person", "add", "--given", "Ada", "--family", "Lovelace",
                "--birth-date", "1984-03-02", "--json")  # fmt: skip
    assert added.code == 0, added.err
    assert _mode(isolated_home) == 0o700
    database = isolated_home / "linkwork.db"
    assert _mode(database) == 0o600
    engine = lwdb.open_engine(f"sqlite:///{database}")
    with engine.begin() as conn:  # while a connection is open, the WAL files exist
        conn.exec_driver_sql("UPDATE person SET family_name = family_name")
        for suffix in ("-wal", "-shm"):
            assert _mode(Path(f"{database}{suffix}")) == 0o600, suffix
    engine.dispose()

    made = cli("keys", "new", "ours", "--json")
    assert made.code == 0, made.err
    keys = Path(made.json()["private"]).parent
    assert keys.parent == isolated_home  # the default keys folder, in the data folder
    assert _mode(keys) == 0o700
    assert _mode(keys / "ours.private.jwk") == 0o600
    assert _mode(keys / "ours.public.jwk") == 0o600
    assert sorted(p.name for p in keys.iterdir()) == ["ours.private.jwk", "ours.public.jwk"]


def test_outbox_and_inbox_folders_are_private(cli, isolated_home: Path, umask_022) -> None:  # type: ignore[no-untyped-def]
    from linkwork.actions import exchange as ex
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace

    ws = Workspace(load_settings())
    target = ex.outbox_path(ws, "referral", "a" * 36, "b" * 36)
    assert _mode(target.parent) == 0o700 and target.parent == isolated_home / "outbox"
    assert _mode(isolated_home) == 0o700  # made on the way

    assert cli("keys", "new", "ours").code == 0
    inbox = isolated_home / "inbox"
    inbox.mkdir()
    (inbox / "junk.jwe").write_text("not a referral file\n")
    result = ex.import_inbox(ws)
    assert result["refused"] and not (inbox / "imported").exists()  # refused: stays put


def test_private_folder_makes_every_missing_folder_0700(tmp_path: Path) -> None:
    from screening.exchange.files import private_folder

    old = os.umask(0o277)  # even a umask that takes the owner's own bits
    try:
        made = private_folder(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(old)
    assert made.is_dir()
    assert [_mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", made)] == [0o700] * 3
    (tmp_path / "open").mkdir(mode=0o755)
    os.chmod(tmp_path / "open", 0o755)
    private_folder(tmp_path / "open")
    assert _mode(tmp_path / "open") == 0o755  # an existing folder is left as it is
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="file is not a folder"):
        private_folder(tmp_path / "file")


def test_an_existing_open_database_is_made_private_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    for one in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        os.chmod(one, 0o644)  # as an older linkwork left it under umask 022
    engine = lwdb.open_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        assert _mode(path) == 0o600
        for suffix in ("-wal", "-shm"):
            assert _mode(Path(f"{path}{suffix}")) == 0o600, suffix
    engine.dispose()
    raw.close()


def test_a_new_database_is_never_open_to_others_not_even_empty(tmp_path: Path) -> None:
    """``db status`` must not create the file; the first real use creates it 0600."""
    path = tmp_path / "sub" / "new.db"
    engine = lwdb.create_engine(f"sqlite:///{path}")
    assert lwdb.schema_status(engine)["state"] == "empty" and not path.exists()
    assert _mode(path.parent) == 0o700
    old = os.umask(0)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
            assert _mode(path) == 0o600
    finally:
        os.umask(old)
    engine.dispose()


# -- private keys others may read ----------------------------------------------------------


@pytest.fixture
def exchange(cli, db_url: str, tmp_path: Path) -> dict[str, Path | str]:  # type: ignore[no-untyped-def]
    folder = tmp_path / "keys"
    for name in ("practice", "hub"):
        assert cli("keys", "new", name, "--out", folder).code == 0
    assert cli("keys", "trust", folder / "hub.public.jwk", "--name", "hub", db=db_url).code == 0
    made = make_referral(db_url, hub="Northside Hub")
    return {"keys": folder, "referral": made.referral_id}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_private_key_others_may_read_is_refused_with_the_chmod(  # type: ignore[no-untyped-def]
    cli, db_url: str, tmp_path: Path, exchange, mode: int
) -> None:
    key = Path(exchange["keys"]) / "practice.private.jwk"
    os.chmod(key, mode)
    out = tmp_path / "out"
    out.mkdir()
    before = counts(db_url)
    args = ["referral", "export", exchange["referral"], "--to", "hub", "--out-dir", out]
    result = cli(*args, "--key", key, db=db_url)
    assert result.code == 2, result.err
    assert result.err == (
        f"linkwork: private key {key} is open to other users (mode {mode:04o}), so it is not "
        f"used: run `chmod 600 {key}`\n"
    )
    assert counts(db_url) == before and list(out.iterdir()) == []
    os.chmod(key, 0o600)
    again = cli(*args, "--key", key, db=db_url)
    assert again.code == 0, again.err
    assert len(list(out.iterdir())) == 1


def test_the_key_found_in_the_keys_folder_and_a_protected_key_are_checked_too(  # type: ignore[no-untyped-def]
    cli, db_url: str, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, exchange
) -> None:
    from linkwork.actions import exchange as ex
    from linkwork.errors import KeyLocked
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace

    monkeypatch.setenv("LW_PASS", "correct horse battery staple")
    made = cli("keys", "new", "ours", "--passphrase-env", "LW_PASS", "--json")
    assert made.code == 0, made.err
    key = Path(made.json()["private"])
    assert key.parent.parent == isolated_home  # the default keys folder
    ws = Workspace(load_settings(database_url=db_url))
    with pytest.raises(KeyLocked, match="protected by a passphrase"):
        ex.our_key(ws)
    os.chmod(key, 0o644)
    spaced = key.with_name("our key.private.jwk")  # the chmod to run is quoted for a shell
    key.rename(spaced)
    # refused before any passphrase is asked for, by every way the key is reached
    with pytest.raises(ValueError, match=r"run `chmod 600 '.*/our key\.private\.jwk'`$"):
        ex.our_key(ws)
    with pytest.raises(ValueError, match="is open to other users"):
        ex.unlock_key(ws, "correct horse battery staple")
    exported = cli("referral", "export", exchange["referral"], "--to", "hub",
                   "--passphrase-env", "LW_PASS", db=db_url)  # fmt: skip
    assert exported.code == 2 and "chmod 600" in exported.err
    assert exported.err.count("\n") == 1
    os.chmod(spaced, 0o600)
    assert ex.our_key(ws, passphrase="correct horse battery staple").is_private


def test_receiving_with_an_open_key_is_refused_too(cli, db_url: str, tmp_path: Path, exchange):  # type: ignore[no-untyped-def]
    key = Path(exchange["keys"]) / "hub.private.jwk"
    os.chmod(key, 0o644)
    result = cli("referral", "receive", tmp_path / "whatever.jwe", "--key", key, db=db_url)
    assert result.code == 2 and f"run `chmod 600 {key}`" in result.err


# -- a file that cannot be written is named as given -----------------------------------------


def test_a_failed_write_names_the_target_not_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screening.exchange import files

    target = tmp_path / "out.csv"
    real_replace = os.replace

    def racing(src: str, dst: Path) -> None:  # another program makes a folder there first
        Path(dst).mkdir()
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", racing)
    with pytest.raises(OSError, match="Is a directory") as raised:
        files.atomic_write(target, "a,b\n")
    assert raised.value.filename == str(target) and raised.value.errno == errno.EISDIR
    with pytest.raises(OSError, match="Is a directory") as many:
        files.atomic_write_many([(tmp_path / "two.csv", "x", 0o600)])
    assert many.value.filename == str(tmp_path / "two.csv")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    with pytest.raises(ValueError, match=r"out\.csv is a folder: give a file name"):
        files.atomic_write(target, "a,b\n")  # now a folder: said before anything is written


def test_report_out_a_folder_records_nothing_and_names_no_temp_file(  # type: ignore[no-untyped-def]
    cli, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_record_cli import snapshot

    from screening.exchange import files

    make_referral(db_url, hub="Northside Hub")  # something to count
    folder = tmp_path / "reports"
    folder.mkdir()
    before = snapshot(db_url)
    as_dir = cli("report", "needs", "--by", "sex", "--out", folder, db=db_url)
    assert as_dir.code == 2 and as_dir.err == f"linkwork: {folder} is a folder: give a file name\n"
    assert snapshot(db_url) == before and list(folder.iterdir()) == []

    target = folder / "needs.csv"  # a folder appears there between the check and the write
    real_replace = os.replace

    def racing(src: str, dst: Path) -> None:
        Path(dst).mkdir()
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", racing)
    raced = cli("report", "needs", "--by", "sex", "--format", "csv", "--out", target, db=db_url)
    assert raced.code == 2, raced.err
    assert raced.err == f"linkwork: cannot use {target}: Is a directory\n"
    assert ".part" not in raced.err
    assert snapshot(db_url) == before  # no audit row for a file never written
    assert [p.name for p in folder.iterdir()] == ["needs.csv"] and target.is_dir()
