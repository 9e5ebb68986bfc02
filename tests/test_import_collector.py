"""An import pauses Python's cyclic garbage collector while it reads and writes (its records
and rows hold no cycles; collections walking the whole heap cost a fifth of the writer's
CPU at 100k services) and always puts it back as it found it, an error included."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

import directory.importer as importer
from directory.importer import import_source
from linkwork import db as lwdb


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = lwdb.open_engine(f"sqlite:///{tmp_path / 'dir.db'}")
    with Session(engine) as s:
        yield s
    engine.dispose()


@pytest.fixture
def collector_state() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def _feed(tmp_path: Path, shared_data: Path, n: int) -> Path:
    sample = json.loads((shared_data / "directory-sample.oruk.json").read_text())
    content = sample["content"][:n]
    path = tmp_path / f"feed-{n}.json"
    path.write_text(json.dumps({**sample, "content": content, "totalElements": len(content)}))
    return path


def test_the_collector_is_paused_while_writing_and_back_after(
    tmp_path: Path,
    shared_data: Path,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    collector_state: None,
) -> None:
    seen: list[bool] = []
    write = importer._Writer.write

    def watched(self: importer._Writer, batch: list) -> None:  # type: ignore[type-arg]
        seen.append(gc.isenabled())
        write(self, batch)

    monkeypatch.setattr(importer._Writer, "write", watched)
    gc.enable()
    summary = import_source(session, _feed(tmp_path, shared_data, 40), source_name="council")
    assert summary.added == 40
    assert seen and not any(seen)
    assert gc.isenabled()


def test_an_import_that_fails_still_puts_the_collector_back(
    tmp_path: Path, shared_data: Path, session: Session, collector_state: None
) -> None:
    empty = tmp_path / "empty.json"
    sample = json.loads((shared_data / "directory-sample.oruk.json").read_text())
    empty.write_text(json.dumps({**sample, "content": [], "totalElements": 0}))
    gc.enable()
    with pytest.raises(ValueError, match="no services"):
        import_source(session, empty, source_name="council")
    assert gc.isenabled()


def test_a_collector_already_off_is_left_off(
    tmp_path: Path, shared_data: Path, session: Session, collector_state: None
) -> None:
    gc.disable()
    import_source(session, _feed(tmp_path, shared_data, 5), source_name="council")
    assert not gc.isenabled()
