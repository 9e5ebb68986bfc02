"""Issue 18 (import speed): a first import feeds the search index as it writes the
services (``directory.index_feed``) instead of reading the directory back, and saves the
very file a build from the database writes; whatever it cannot feed (a later copy of an
organisation or place that changes what services already indexed show, a re-import that
updates and withdraws services, a second feed) is built from the database as before, and
the file is still the one built from scratch. The index's descriptions are tokenised a
batch at a time (``IndexBuilder.add_many``): each counted as ``tokens`` counts it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import directory.importer as importer
import linkwork.actions.search as search_actions
from directory.index import IndexBuilder, IndexDoc
from directory.index_file import directory_stamp, open_index, write_index
from directory.text import tokens
from linkwork import db as lwdb
from linkwork.actions.directory import import_directory
from linkwork.settings import load_settings
from linkwork.workspace import Workspace

Edit = Callable[[list[dict[str, Any]]], None]


def _feed(shared_data: Path, path: Path, edit: Edit | None = None, count: int = 60) -> Path:
    doc = json.loads((shared_data / "directory-sample.oruk.json").read_text())
    services = doc["content"][:count]
    if edit is not None:
        edit(services)
    path.write_text(json.dumps({**doc, "content": services, "totalElements": len(services)}))
    return path


def _workspace(url: str) -> Workspace:
    return Workspace(load_settings(database_url=url), lwdb.open_engine(url))


def _built(ws: Workspace, folder: Path) -> bytes:
    """The index file a build of the directory as it is now writes."""
    with ws.session() as session:
        write_index(session, folder / "built.lwidx", directory_stamp(session))
    return (folder / "built.lwidx").read_bytes()


@contextmanager
def _builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the builds of the index from the database while in the block."""
    count: list[int] = []
    real = search_actions.write_index

    def counted(*args: Any, **kw: Any) -> int:
        count.append(1)
        return real(*args, **kw)

    with monkeypatch.context() as patched:  # (monkeypatch.undo would undo conftest's too)
        patched.setattr(search_actions, "write_index", counted)
        yield count


def _awkward(services: list[dict[str, Any]]) -> None:
    """Shapes the index must take as the database gives them back: a service that is not
    active, one listing the same place twice, one with no organisation or place, a place
    at whole-number coordinates."""
    services[2]["status"] = "inactive"
    services[4]["service_at_locations"] = services[4]["service_at_locations"] * 2
    services[6].pop("organization", None)
    services[6]["service_at_locations"] = []
    services[8]["description"] = "Men’s zorbleflax shed 0’x 0'X: WOODWORK, tools & tea."
    place = services[10]["service_at_locations"][0]["location"]
    place["latitude"], place["longitude"] = 52, -1  # whole numbers: read back as floats


def test_a_first_import_feeds_the_index_the_file_a_build_writes(
    db_url: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _workspace(db_url)
    feed = _feed(shared_data, tmp_path / "feed.json", _awkward)
    with _builds(monkeypatch) as builds:
        summary = import_directory(ws, str(feed), source_name="council")
    assert summary.added == 60 and not builds  # fed, not built
    path = search_actions.index_path(ws)
    assert path.read_bytes() == _built(ws, tmp_path)
    index = open_index(path)
    assert index.size == 59  # the inactive service is not indexed
    found = index.search("zorbleflax", today=date(2026, 11, 1))
    assert found and found[0].name == json.loads(feed.read_text())["content"][8]["name"]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file
    ws.engine.dispose()


def _later_copy(what: str) -> Edit:
    """Service 40 carries service 0's organisation or place again, changed."""

    def edit(services: list[dict[str, Any]]) -> None:
        first, later = services[0], services[40]
        if what == "organisation name":
            later["organization"] = {
                **first["organization"],
                "name": "The Housing Solutions Hub Network of North Vale Trust",
            }
        elif what == "organisation description":  # fuller, but services show only names
            org = first["organization"]
            later["organization"] = {**org, "description": org["description"] + " And more."}
        else:
            place = json.loads(json.dumps(first["service_at_locations"][0]))
            place["location"]["physical_addresses"][0]["city"] = "Zedford"
            later["service_at_locations"] = [place]

    return edit


@pytest.mark.parametrize(
    ("what", "fed"),
    [("organisation name", False), ("place's town", False), ("organisation description", True)],
)
def test_a_later_copy_of_a_place_gives_the_built_file(
    what: str, fed: bool, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _workspace(f"sqlite:///{tmp_path / 'd.db'}")
    feed = _feed(shared_data, tmp_path / "feed.json", _later_copy(what))
    monkeypatch.setattr(importer, "BATCH", 7)  # the later copy comes in a later batch
    with _builds(monkeypatch) as builds:
        import_directory(ws, str(feed), source_name="council")
    assert bool(builds) is not fed
    path = search_actions.index_path(ws)
    assert path.read_bytes() == _built(ws, tmp_path)
    first_id = json.loads(feed.read_text())["content"][0]["id"]
    doc = next(d for d in open_index(path).docs if d.source_id == first_id)
    if what == "organisation name":
        assert doc.organisation == "The Housing Solutions Hub Network of North Vale Trust"
    elif what == "place's town":
        assert doc.locations[0][0] == "Zedford"
    ws.engine.dispose()


def test_a_reimport_that_updates_and_withdraws_gives_the_index_built_from_scratch(
    db_url: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _workspace(db_url)
    import_directory(ws, str(_feed(shared_data, tmp_path / "feed.json")), source_name="council")

    def changed(services: list[dict[str, Any]]) -> None:
        for service in services[:5]:
            service["description"] += " Now also a zorbleflax clinic."
        del services[10:13]  # withdrawn

    again = _feed(shared_data, tmp_path / "again.json", changed)
    with _builds(monkeypatch) as builds:
        summary = import_directory(ws, str(again), source_name="council")
        assert (summary.updated, summary.withdrawn) == (5, 3) and builds
        path = search_actions.index_path(ws)
        assert path.read_bytes() == _built(ws, tmp_path)
        assert open_index(path).size == 57
        # a second feed beside the first: built too, the same file as from scratch
        builds.clear()
        other = _feed(shared_data, tmp_path / "other.json", count=20)
        import_directory(ws, str(other), source_name="neighbours")
        assert builds
    assert path.read_bytes() == _built(ws, tmp_path)
    assert open_index(path).size == 77
    ws.engine.dispose()


def test_a_batch_of_descriptions_counts_each_as_tokens_does() -> None:
    texts = [
        "Men’s shed: WOODWORK and woodworking, tools & tea",
        "",
        "0’x 0'x 0’X 0'X x’0 the and of",  # the separator's own spelling, inside a text
        "Café crèche — 24/7 help; help, HELP! children's children’s",
        "the a an",  # stopwords only
        "0’x",
    ]
    docs = [
        IndexDoc(service_id=i + 1, source_id=str(i), name="", description=t)
        for i, t in enumerate(texts)
    ]
    builder = IndexBuilder()
    builder.add_many(docs[:2])
    builder.add_many(docs[2:])
    names = builder._names
    tok = np.frombuffer(builder._tok, dtype=np.int32)
    val = np.frombuffer(builder._val, dtype=np.float32)
    at = 0
    for i, text in enumerate(texts):
        at += builder._f_len[i]
        run = builder._d_len[i]
        counted = {  # a description word's count is held negative until weighted
            names[t]: -float(v) for t, v in zip(tok[at : at + run], val[at : at + run], strict=True)
        }
        at += run
        expected = Counter(tokens(text))
        assert counted == {k: float(v) for k, v in expected.items()}, text
        assert builder._lengths[i] == sum(expected.values())
    assert at == tok.size
    # the separator is never a token: "0'x" from a text is one like any other word
    assert "0’x" not in names and Counter(tokens(texts[2]))["0x"] == 4


def test_an_index_folder_it_cannot_write_leaves_the_import_as_before(
    shared_data: Path, tmp_path: Path
) -> None:
    """The fed index is never why an import fails: with no folder to write it in, the
    import commits and the index build after it reports the folder, as it did before."""
    ws = _workspace(f"sqlite:///{tmp_path / 'd.db'}")
    folder = search_actions.index_path(ws).parent
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the index folder goes")
    feed = _feed(shared_data, tmp_path / "feed.json", count=5)
    with pytest.raises(OSError, match="search-index"):
        import_directory(ws, str(feed), source_name="council")
    with ws.session() as session:
        assert directory_stamp(session).startswith("v1:5:")  # the five services committed
    ws.engine.dispose()


def _index_folder_files(ws: Workspace) -> list[str]:
    folder = search_actions.index_path(ws).parent
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_commit_that_fails_leaves_no_index_and_no_half_saved_file(
    db_url: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fed index is written while the import commits: when the commit fails, the
    import's error is the one raised, nothing is imported, and the file being written
    beside it is deleted, never put in the index's place."""
    from sqlalchemy import func
    from sqlalchemy.orm import Session as OrmSession
    from sqlmodel import select

    from directory.models import Service

    ws = _workspace(db_url)
    feed = _feed(shared_data, tmp_path / "feed.json", count=20)
    real_commit = OrmSession.commit
    commits: list[int] = []

    def failing_commit(self: OrmSession) -> None:
        commits.append(1)
        if len(commits) == 1:  # the import's own transaction
            raise RuntimeError("the disk went away during the commit")
        real_commit(self)

    with monkeypatch.context() as patched:
        patched.setattr(OrmSession, "commit", failing_commit)
        with pytest.raises(RuntimeError, match="disk went away"):
            import_directory(ws, str(feed), source_name="council")
    assert _index_folder_files(ws) == []  # neither the index nor the file written beside
    with ws.session() as session:
        assert session.exec(select(func.count()).select_from(Service)).one() == 0
    ws.engine.dispose()


def test_another_import_before_the_index_is_published_gives_the_built_file(
    db_url: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the directory is not as the import left it when its index would be put in place
    (another run recorded since), the file written beside the commit is deleted and the
    index is built from the database as it now is."""
    import directory.index_file as index_file

    ws = _workspace(db_url)
    feed = _feed(shared_data, tmp_path / "feed.json", count=30)
    with monkeypatch.context() as patched, _builds(monkeypatch) as builds:
        patched.setattr(index_file, "only_run_since", lambda session, was: None)
        summary = import_directory(ws, str(feed), source_name="council")
    assert summary.added == 30 and builds == [1]  # built from the database, not the fed one
    path = search_actions.index_path(ws)
    assert _index_folder_files(ws) == [path.name]  # the file written beside: deleted
    assert path.read_bytes() == _built(ws, tmp_path)
    ws.engine.dispose()


def test_an_index_save_that_fails_is_reported_after_the_import_commits(
    db_url: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread writing the fed index fails (a full disk): the import has committed,
    the error is raised where the import's caller sees it (as when the save came after the
    commit), and no file is left half-written in the index folder."""
    from directory.index_feed import ImportIndex

    ws = _workspace(db_url)
    feed = _feed(shared_data, tmp_path / "feed.json", count=10)

    def full_disk(self: ImportIndex, path: Path, stamp: str) -> int:
        path.write_bytes(b"half an index")
        raise OSError(28, "No space left on device", str(path))

    with monkeypatch.context() as patched:
        patched.setattr(ImportIndex, "save", full_disk)
        with pytest.raises(OSError, match="No space left"):
            import_directory(ws, str(feed), source_name="council")
    assert _index_folder_files(ws) == []
    with ws.session() as session:
        assert directory_stamp(session).startswith("v1:10:")  # the ten services committed
    ws.engine.dispose()
