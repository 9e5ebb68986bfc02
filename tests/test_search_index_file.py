"""Issue 18, point 4: the search index lives on disk (one file per machine and database),
is written by an import, opened (memory-mapped) by a search and never rebuilt by one
unless the directory changed since (another machine's import into a shared database)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from directory.index_file import open_index, read_stamp, save_index
from directory.models import Service
from directory.search import ServiceIndex
from linkwork import db as lwdb
from linkwork.sample import load_sample_directory

TODAY = date(2026, 11, 1)
QUERIES = [
    "food bank",
    "fodbank",
    "sofa surfing",
    "bailiffs keep knocking",
    "my husband died and I never see anyone",
    "ESOL",
    "bere",
    "lonley",
]
FILTERS = [
    {},
    {"near": "ZZ1"},
    {"near": "kestonbury"},
    {"free": True, "age": 70},
    {"language": "polish"},
    {"open_now": True, "now": datetime(2026, 11, 2, 10, 0)},
    {"needs": ["Z59.0"]},
    {"current_only": True},
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[ServiceIndex, Path]:
    folder = tmp_path_factory.mktemp("indexfile")
    engine = lwdb.open_engine(f"sqlite:///{folder / 'sample.db'}")
    with Session(engine) as session:
        load_sample_directory(session)
        session.commit()
        index = ServiceIndex.build(session)
    engine.dispose()
    path = folder / "sample.lwidx"
    save_index(index, path, "stamp-1")
    return index, path


def test_the_file_answers_as_the_index_it_was_saved_from(built) -> None:  # type: ignore[no-untyped-def]
    index, path = built
    mapped = open_index(path)
    assert read_stamp(path) == "stamp-1" and mapped.size == index.size == 400

    def seen(found: list) -> list:  # type: ignore[type-arg]
        return [(m.id, m.score, m.why, m.distance_km, m.stale) for m in found]

    for query in QUERIES:
        for filters in FILTERS:
            kwargs: dict = {"today": TODAY, "limit": 15, **filters}  # type: ignore[type-arg]
            want = seen(index.search(query, **kwargs))
            assert seen(mapped.search(query, **kwargs)) == want, (query, filters)
    assert mapped.resolve_place("zz1") == index.resolve_place("zz1")
    assert mapped.town_names() == index.town_names()
    assert mapped.docs[7] == index.docs[7]


def test_a_file_that_is_not_an_index_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "x.lwidx"
    for content in (b"", b"LWIDX\x00\x01\n" + b"\xff" * 8, b"not an index at all"):
        path.write_bytes(content)
        assert read_stamp(path) is None
    with pytest.raises(ValueError, match="not a linkwork search index"):
        open_index(path)


def test_import_writes_the_index_and_search_only_opens_it(
    cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert cli("directory", "load-sample", db=db_url).code == 0
    files = list(Path(lwdb_home()).glob("search-index/*.lwidx"))
    assert len(files) == 1
    written = files[0].stat().st_mtime_ns

    def no_build(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a search rebuilt the index")

    monkeypatch.setattr(ServiceIndex, "build", classmethod(no_build))
    found = cli("directory", "search", "food bank", "--json", db=db_url)
    assert found.code == 0, found.err
    assert found.json() and files[0].stat().st_mtime_ns == written


def test_a_directory_changed_elsewhere_is_indexed_again_once(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("directory", "load-sample", db=db_url).code == 0
    path = next(Path(lwdb_home()).glob("search-index/*.lwidx"))
    before = read_stamp(path)
    engine = lwdb.open_engine(db_url)
    with Session(engine) as session:  # as another machine's import would
        session.add(Service(source="elsewhere", source_id="new-1", name="Quokka Repair Cafe"))
        session.commit()
    engine.dispose()
    found = cli("directory", "search", "quokka", "--json", db=db_url)
    assert found.code == 0, found.err
    assert [r["name"] for r in found.json()] == ["Quokka Repair Cafe"]
    after = read_stamp(path)
    assert after is not None and after != before
    written = path.stat().st_mtime_ns
    assert cli("directory", "search", "quokka", db=db_url).code == 0
    assert path.stat().st_mtime_ns == written  # opened, not rebuilt


def lwdb_home() -> str:
    import os

    return os.environ["LINKWORK_HOME"]
