"""Issue 18 (import speed): a re-import that finds every service as it was changes
nothing, says so, and gives this machine's index file the directory's new stamp instead
of building it again (the same bytes a build would write); a re-import that changes a
service, or one with another import committed in between, builds it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

import linkwork.actions.search as search_actions
from directory.index_file import (
    directory_stamp,
    open_index,
    read_stamp,
    restamp_index,
    stamp_after_one_import,
    write_index,
)
from directory.models import ImportRun
from linkwork import db as lwdb
from linkwork.actions.directory import import_directory
from linkwork.settings import load_settings
from linkwork.workspace import Workspace


def _feed(shared_data: Path, folder: Path, edit: bool = False) -> Path:
    doc = json.loads((shared_data / "directory-sample.oruk.json").read_text())
    services = doc["content"][:60]
    if edit:
        services[3]["description"] += " Now also a zorbleflax clinic."
    path = folder / ("edited.json" if edit else "feed.json")
    path.write_text(json.dumps({**doc, "content": services, "totalElements": 60}))
    return path


def _built(ws: Workspace, folder: Path) -> bytes:
    """The index file a build of the directory as it is now writes."""
    with ws.session() as session:
        write_index(session, folder / "built.lwidx", directory_stamp(session))
    return (folder / "built.lwidx").read_bytes()


def test_an_unchanged_reimport_restamps_the_index_it_does_not_build_it(
    db_url: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(load_settings(database_url=db_url), lwdb.open_engine(db_url))
    feed = _feed(shared_data, tmp_path)
    first = import_directory(ws, str(feed), source_name="council")
    assert (first.added, first.changed_nothing) == (60, False)
    path = search_actions.index_path(ws)
    stamp_before = read_stamp(path)

    def no_build(*_args: Any, **_kw: Any) -> None:
        raise AssertionError("the index was built again")

    with monkeypatch.context() as patched:  # (monkeypatch.undo would undo conftest's too)
        patched.setattr(search_actions, "write_index", no_build)
        again = import_directory(ws, str(feed), source_name="council")
    assert (again.added, again.updated, again.unchanged, again.withdrawn) == (0, 0, 60, 0)
    assert again.changed_nothing
    with ws.session() as session:
        now = directory_stamp(session)
        assert len(session.exec(select(ImportRun)).all()) == 2  # the run is still recorded
    assert read_stamp(path) == now != stamp_before
    assert path.read_bytes() == _built(ws, tmp_path)
    assert not list(path.parent.glob("*.tmp"))

    # a changed service: the index is built, with the new text
    edit = _feed(shared_data, tmp_path, edit=True)
    edited = import_directory(ws, str(edit), source_name="council")
    assert (edited.updated, edited.unchanged, edited.changed_nothing) == (1, 59, False)
    edited_id = json.loads(feed.read_text())["content"][3]["id"]
    index = open_index(path)
    assert next(d.description for d in index.docs if d.source_id == edited_id).endswith(
        "Now also a zorbleflax clinic."
    )
    assert read_stamp(path) != now
    ws.engine.dispose()


def test_another_import_in_between_means_a_build(
    db_url: str, shared_data: Path, tmp_path: Path
) -> None:
    ws = Workspace(load_settings(database_url=db_url), lwdb.open_engine(db_url))
    import_directory(ws, str(_feed(shared_data, tmp_path)), source_name="council")
    with ws.session() as session:
        was = directory_stamp(session)
        session.add(ImportRun(source="council", location="x"))
        session.commit()
        assert stamp_after_one_import(session, was) == directory_stamp(session)
        session.add(ImportRun(source="other", location="y"))
        session.commit()
        assert stamp_after_one_import(session, was) is None  # two runs since: not ours alone
    ws.engine.dispose()


def test_restamp_only_the_index_of_that_stamp(tmp_path: Path, shared_data: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    ws = Workspace(load_settings(database_url=url), lwdb.open_engine(url))
    import_directory(ws, str(_feed(shared_data, tmp_path)), source_name="council")
    path = search_actions.index_path(ws)
    stamp = read_stamp(path)
    assert stamp is not None
    before = path.read_bytes()
    assert not restamp_index(path, "v1:0:0", "v1:9:9")  # built for another state
    assert path.read_bytes() == before
    assert not restamp_index(tmp_path / "none.lwidx", stamp, "v1:9:9")
    (tmp_path / "junk.lwidx").write_bytes(b"not an index")
    assert not restamp_index(tmp_path / "junk.lwidx", stamp, "v1:9:9")
    # a longer stamp moves the arrays along: the file still opens and answers the same
    long = stamp + "0" * 70
    assert restamp_index(path, stamp, long)
    assert read_stamp(path) == long
    index = open_index(path)
    assert index.size == 60
    assert index.search("food bank", today=date(2026, 11, 1))
    ws.engine.dispose()
