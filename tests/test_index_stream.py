"""Issue 18, point 5: the search index file is built straight from the database, the
services streaming past a chunk at a time (``directory.index_file.write_index``), and is
the same file, byte for byte, as the index built in memory and saved: the streamed build
changes how much memory an import takes, never what a search finds. Memory itself is
measured in bench/search.py (peak RSS of 'linkwork directory import' at 100k)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from directory.index import load_docs, stream_docs
from directory.index_file import open_index, save_index, write_index
from directory.models import Service
from directory.search import ServiceIndex
from linkwork import db as lwdb
from linkwork.sample import load_sample_directory


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("stream")
    url = f"sqlite:///{folder / 'sample.db'}"
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        load_sample_directory(session)
        # one withdrawn and one inactive service: neither is indexed, streamed or not
        services = list(session.exec(select(Service).order_by(col(Service.id)).limit(2)))
        services[0].withdrawn = True
        services[1].status = "inactive"
        session.commit()
    engine.dispose()
    return url


@pytest.mark.parametrize("chunk", [1, 7, 2000])
def test_the_streamed_file_is_the_file_built_in_memory(
    sample_db: str, tmp_path: Path, chunk: int
) -> None:
    engine = lwdb.open_engine(sample_db)
    with Session(engine) as session:
        saved = tmp_path / "saved.lwidx"
        save_index(ServiceIndex.build(session), saved, "stamp")
        streamed = tmp_path / "streamed.lwidx"
        assert write_index(session, streamed, "stamp", chunk=chunk) == 398
    engine.dispose()
    assert streamed.read_bytes() == saved.read_bytes()
    index = open_index(streamed)
    found = index.search("food bank", today=date(2026, 11, 1))
    assert found and "food" in found[0].name.lower()
    assert not list(tmp_path.glob("*.tmp")) and sorted(p.name for p in tmp_path.iterdir()) == [
        "saved.lwidx",
        "streamed.lwidx",
    ]


def test_streamed_services_are_those_loaded_in_order(sample_db: str) -> None:
    engine = lwdb.open_engine(sample_db)
    with Session(engine) as session:
        whole = load_docs(session)
        streamed = list(stream_docs(session, chunk=3))
        withdrawn = session.exec(select(Service).where(col(Service.withdrawn))).one()
    engine.dispose()
    assert streamed == whole and len(whole) == 398
    assert [d.service_id for d in whole] == sorted(d.service_id for d in whole)
    assert withdrawn.id not in {d.service_id for d in whole}
    assert any(d.locations for d in whole) and any(d.opening_hours for d in whole)


def test_an_empty_directory_streams_an_empty_index(tmp_path: Path) -> None:
    engine = lwdb.open_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with Session(engine) as session:
        assert write_index(session, tmp_path / "empty.lwidx", "s") == 0
        save_index(ServiceIndex.build(session), tmp_path / "saved.lwidx", "s")
    engine.dispose()
    assert (tmp_path / "empty.lwidx").read_bytes() == (tmp_path / "saved.lwidx").read_bytes()
    assert open_index(tmp_path / "empty.lwidx").size == 0
