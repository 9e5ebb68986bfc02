"""Issue 18 (import speed): an import into a database not made yet starts reading its
(large, local) feed in the second process before the database is made, so the reading
overlaps the migrations; the records, rows and words are those of the import read after
the database was opened, and the reading is stopped if the import goes no further."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from db_rows_support import table_rows
from process_support import children

import linkwork.db as lwdb
from directory import read_worker
from linkwork.actions.directory import import_directory
from linkwork.settings import load_settings
from linkwork.workspace import Workspace

DATA = Path(__file__).parent / "data" / "directory"


CLOCK = ("imported_at", "updated_at", "withdrawn_at")


def _directory(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """The directory's rows, leaving out the clock's columns."""
    tables = ("service", "organisation", "location", "service_location")
    found = table_rows(f"sqlite:///{path}", tables)
    conn = sqlite3.connect(path)
    names = [row[1] for row in conn.execute("PRAGMA table_info(service)")]
    conn.close()
    keep = [i for i, name in enumerate(names) if name not in CLOCK]
    found["service"] = [tuple(row[i] for i in keep) for row in found["service"]]
    return found


def _workspace(path: Path) -> Workspace:
    return Workspace(load_settings(database_url=f"sqlite:///{path}"))


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[set[int]]:
    """Every feed read in a second process (as a large one is); for each database opened,
    the child processes alive as it was opened."""
    monkeypatch.setattr(read_worker, "wanted", lambda feed: True)
    seen: list[set[int]] = []
    real = lwdb.open_engine

    def watched(*args: object, **kw: object) -> object:
        seen.append(children())
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(lwdb, "open_engine", watched)
    return seen


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="children counted in /proc")
def test_a_database_not_made_yet_is_made_while_the_feed_is_read(
    tmp_path: Path, opened: list[set[int]]
) -> None:
    before = children()
    ahead = _workspace(tmp_path / "new.db")
    summary = import_directory(ahead, str(DATA / "council-v1-pages"), source_name="council")
    assert len(opened) == 1 and opened[0] - before  # the reader already running
    assert children() <= before  # and waited for
    # an import into a database made before reads the feed after opening it: the same
    made = _workspace(tmp_path / "made.db")
    with made.session():
        pass  # made (migrated), no service yet
    opened.clear()
    again = import_directory(made, str(DATA / "council-v1-pages"), source_name="council")
    assert opened == []  # opened before the import began
    assert summary == again and summary.added == 236
    ahead.close()
    made.close()
    assert _directory(tmp_path / "new.db") == _directory(tmp_path / "made.db")


def test_a_feed_whose_first_page_cannot_be_read_makes_no_database(
    tmp_path: Path, opened: list[set[int]]
) -> None:
    """The feed's error is the one an import read later gives; the database is not made
    (nothing changed: not even an empty file) and no reader is left."""
    before = children()
    path = tmp_path / "new.db"
    with pytest.raises(ValueError, match="nested more than 64 levels deep"):
        import_directory(_workspace(path), str(DATA / "hostile" / "deep-nesting.json"))
    assert opened == [] and not path.exists()
    assert children() <= before


def test_a_database_that_cannot_be_made_stops_the_reading(
    tmp_path: Path, opened: list[set[int]]
) -> None:
    """Reading began, then the database could not be made (its folder is a file): the
    database's error is raised and the reader is stopped and waited for."""
    (tmp_path / "folder").write_text("a file where the database's folder goes")
    before = children()
    with pytest.raises(lwdb.DatabaseError, match="unable to open database file"):
        import_directory(_workspace(tmp_path / "folder" / "new.db"), str(DATA / "council-v1-pages"))
    assert len(opened) == 1 and opened[0] - before  # it was reading
    assert children() <= before


def test_an_existing_database_is_opened_before_the_feed_is_read(
    tmp_path: Path, opened: list[set[int]]
) -> None:
    """A database that exists may know the feed's services (read then as unchanged): it
    is opened first, as before."""
    path = tmp_path / "old.db"
    ws = _workspace(path)
    feed = json.loads((DATA / "council-v1-array.json").read_text())
    (tmp_path / "feed.json").write_text(json.dumps(feed))
    import_directory(ws, str(tmp_path / "feed.json"), source_name="council")
    ws.close()
    opened.clear()
    before = children()
    again = import_directory(_workspace(path), str(tmp_path / "feed.json"), source_name="council")
    assert len(opened) == 1 and not (opened[0] - before)  # no reader before the database
    assert again.unchanged == again.added + again.unchanged and again.added == 0
