"""Issue 18 (import speed): a large local feed is read in a second process while this one
writes (directory.read_worker). Reading there must change nothing a user sees: the same
records, notes, rejections, errors and rows as reading here, and no process left behind."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from process_support import children
from sqlmodel import Session

from directory import importer, read_worker
from directory.bounded import FeedTooLarge, Limits
from directory.importer import ImportSummary, import_source
from directory.records import ServiceRecord
from directory.sources import read_source
from linkwork import db as lwdb

DATA = Path(__file__).parent / "data" / "directory"
FEEDS = sorted(
    [p for p in DATA.iterdir() if p.suffix in (".json", ".csv") or p.is_dir()]
    + list((DATA / "hostile").iterdir())
)
FEEDS = [p for p in FEEDS if p.name != "hostile"]


def _read(
    path: Path,
    in_child: bool,
    monkeypatch: pytest.MonkeyPatch,
    *,
    strict: bool = False,
    known: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> tuple[Any, ...]:
    """Everything reading ``path`` leaves: records (with their digests), the summary, the
    error (type and message), the feed's own totals."""
    monkeypatch.setattr(read_worker, "wanted", lambda feed: in_child)
    feed = read_source(path, limits=limits)
    summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
    records: list[Any] = []
    error = None
    try:
        for record in importer._read(feed, summary, strict, dict(known or {})):
            records.append(record)
    except Exception as exc:  # compared below: the same type and message both ways
        error = (type(exc), str(exc))
    budget = {k: v for k, v in vars(feed.budget).items() if k != "limits"}
    hashes = [getattr(r, "raw_hash", None) for r in records]
    return records, hashes, summary, error, budget, feed.full, feed.format


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: p.name)
@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_a_second_process_reads_what_this_one_reads(
    path: Path, strict: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = _read(path, False, monkeypatch, strict=strict)
    before = children()
    there = _read(path, True, monkeypatch, strict=strict)
    assert there == here
    assert children() <= before  # the child was waited for
    # each service's content digest worked out there is the one worked out here
    services_here = [r for r in here[0] if isinstance(r, ServiceRecord)]
    services_there = [r for r in there[0] if isinstance(r, ServiceRecord)]
    assert not any(hasattr(r, "known_hash") for r in services_here)
    assert all(r.known_hash for r in services_there)
    assert [r.content_hash() for r in services_there] == [r.content_hash() for r in services_here]


def test_the_cases_compared_include_records_notes_rejections_and_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The comparison above is not of empty reads: these feeds give each kind of outcome."""
    outcomes = {p.name: _read(p, True, monkeypatch) for p in FEEDS}
    assert len(outcomes["council-v1-pages"][0]) == 236
    assert outcomes["unreadable-values.json"][2].notes
    assert outcomes["wrong-types.json"][2].rejected
    assert outcomes["deep-nesting.json"][3] == (
        ValueError,
        f"{DATA / 'hostile' / 'deep-nesting.json'}: JSON nested more than 64 levels deep",
    )
    strict = _read(DATA / "hostile" / "wrong-types.json", True, monkeypatch, strict=True)
    assert strict[3] is not None and strict[3][1].endswith("nothing imported (--strict)")


def test_a_limit_reached_in_the_second_process_is_the_same_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = DATA / "council-v1-pages"
    small = Limits(services=100)
    here = _read(path, False, monkeypatch, limits=small)
    there = _read(path, True, monkeypatch, limits=small)
    assert there == here
    assert there[3] is not None and there[3][0] is FeedTooLarge
    # the services before the limit came first (read or rejected), as here
    assert len(there[0]) + len(there[2].rejected) == 100 and len(there[0]) > 90


def test_services_known_unchanged_come_back_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    path = DATA / "council-v1-pages"
    first = _read(path, False, monkeypatch)[0]
    known = {r.raw_hash: r.source_id for r in first if r.raw_hash}
    assert len(known) > 200
    here = _read(path, False, monkeypatch, known=known)
    there = _read(path, True, monkeypatch, known=known)
    assert there == here
    unchanged = [r for r in there[0] if type(r).__name__ == "UnchangedRecord"]
    assert len(unchanged) == len(known)


def test_a_read_given_up_half_way_leaves_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read_worker, "wanted", lambda feed: True)
    monkeypatch.setattr(read_worker, "BATCH", 5)
    feed = read_source(DATA / "council-v1-pages")
    summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
    before = children()
    reading = importer._read(feed, summary, False, {})
    first = next(reading)
    assert first.source_id
    assert children() - before  # being read in a child
    assert "import-reader" in _threads()  # the pipe drained into a bounded queue
    reading.close()  # type: ignore[attr-defined]
    assert children() <= before
    assert "import-reader" not in _threads()


def _threads() -> list[str]:
    return [t.name for t in threading.enumerate()]


def test_the_child_reads_on_while_this_process_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipe is drained by a thread into a queue of at most _Drain.QUEUED frames: while
    this process is held (writing rows), the child sends more than a pipe holds, and no
    more than the queue bounds."""
    monkeypatch.setattr(read_worker, "wanted", lambda feed: True)
    monkeypatch.setattr(read_worker, "BATCH", 1)
    monkeypatch.setattr(read_worker._Drain, "QUEUED", 3)
    got: list[read_worker._Drain] = []
    start = read_worker._Drain.__init__

    def remember(self: read_worker._Drain, stream: object) -> None:
        start(self, stream)
        got.append(self)

    monkeypatch.setattr(read_worker._Drain, "__init__", remember)
    feed = read_source(DATA / "council-v1-pages")
    summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
    reading = importer._read(feed, summary, False, {})
    first = next(reading)
    deadline = time.monotonic() + 10
    while got[0]._frames.qsize() < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got[0]._frames.qsize() == 3  # read ahead while this process did nothing, to the bound
    time.sleep(0.1)
    assert got[0]._frames.qsize() == 3  # and no further
    ids = [first.source_id, *(r.source_id for r in reading)]
    monkeypatch.setattr(read_worker, "wanted", lambda feed: False)
    feed = read_source(DATA / "council-v1-pages")
    summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
    assert ids == [r.source_id for r in importer._read(feed, summary, False, {})]
    assert "import-reader" not in _threads()


def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = sa.create_engine(url)
    tables = ("service", "organisation", "location", "service_location", "directory_import")
    skip = {"imported_at", "updated_at", "started_at", "withdrawn_at", "finished_at"}
    out = {}
    with engine.connect() as conn:
        for table in tables:
            columns = [
                c["name"] for c in sa.inspect(conn).get_columns(table) if c["name"] not in skip
            ]
            query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1"
            out[table] = [tuple(r) for r in conn.execute(sa.text(query))]
    engine.dispose()
    return out


def test_an_import_read_in_a_second_process_writes_the_same_rows(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = json.loads((shared_data / "directory-sample.oruk.json").read_text())
    services = sample["content"]
    changed = json.loads(json.dumps(services[:350]))
    for s in changed[::7]:
        s["description"] += " Now also on Saturdays."
    feeds = []
    for name, content in (("v1", services), ("v2", changed), ("v3", services)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({**sample, "content": content, "totalElements": len(content)}))
        feeds.append(path)
    counts = {}
    for in_child in (False, True):
        monkeypatch.setattr(read_worker, "wanted", lambda feed, yes=in_child: yes)
        url = f"sqlite:///{tmp_path / f'{in_child}.db'}"
        engine = lwdb.open_engine(url)
        with Session(engine) as session:
            counts[in_child] = []
            for feed in feeds:
                s = import_source(session, feed, source_name="council")
                session.commit()
                counts[in_child].append((s.added, s.updated, s.unchanged, s.withdrawn))
        engine.dispose()
    assert counts[True] == counts[False]
    assert counts[True][0] == (400, 0, 0, 0) and counts[True][1][3] == 50
    assert _rows(f"sqlite:///{tmp_path / 'True.db'}") == _rows(f"sqlite:///{tmp_path / 'False.db'}")


def test_only_a_large_local_feed_read_by_one_thread_is_forked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "page.json"
    page.write_bytes(b" " * 100 + b"[]")
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    monkeypatch.setattr(read_worker, "MIN_BYTES", 100)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert read_source(page).local_bytes == 102
    assert read_worker.wanted(read_source(page))
    assert read_worker.wanted(read_source(tmp_path))  # a folder: its files' sizes summed
    assert not read_worker.wanted(read_source(fifo))  # a pipe: size unknown
    monkeypatch.setattr(read_worker, "MIN_BYTES", 103)
    assert not read_worker.wanted(read_source(page))
    monkeypatch.setattr(read_worker, "MIN_BYTES", 100)
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # another thread: never fork
    assert not read_worker.wanted(read_source(page))


def test_a_feed_is_read_here_when_no_process_can_be_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = DATA / "council-v1-pages"
    here = _read(path, False, monkeypatch)

    def no_fork() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    before = children()
    assert _read(path, True, monkeypatch) == here
    assert children() == before


def test_a_failure_of_the_reader_itself_says_where_it_happened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not a fault of the feed (a bug): the same exception, with the child's traceback."""

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("broken reader")

    monkeypatch.setattr(importer, "service_from_oruk", broken)
    monkeypatch.setattr(read_worker, "wanted", lambda feed: True)
    feed = read_source(DATA / "council-v1-pages")
    summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
    with pytest.raises(KeyError, match="broken reader") as raised:
        list(importer._read(feed, summary, False, {}))
    assert "in broken" in "\n".join(getattr(raised.value, "__notes__", []))


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_GETPIPE_SZ"), reason="Linux pipes")
def test_the_pipe_is_widened_to_hold_several_frames() -> None:
    """A pipe holds 64 KiB by default, a fraction of one frame of records: the reading
    child is given one of ``PIPE_BYTES`` so it does not wait for the drain thread to have
    the interpreter's lock every 64 KiB."""
    import fcntl

    readable, writable = os.pipe()
    try:
        assert fcntl.fcntl(writable, fcntl.F_GETPIPE_SZ) < read_worker.PIPE_BYTES
        read_worker._widen(writable)
        assert fcntl.fcntl(writable, fcntl.F_GETPIPE_SZ) >= read_worker.PIPE_BYTES
    finally:
        os.close(readable)
        os.close(writable)


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_SETPIPE_SZ"), reason="Linux pipes")
def test_a_pipe_that_cannot_be_widened_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused (a lower limit set by the administrator, another system): the pipe stays as
    it is and the feed is read the same."""
    import fcntl

    path = DATA / "council-v1-pages"
    here = _read(path, False, monkeypatch)
    asked: list[int] = []

    def refused(fd: int, cmd: int, arg: int = 0) -> int:
        asked.append(cmd)
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(fcntl, "fcntl", refused)
    assert _read(path, True, monkeypatch) == here
    assert asked == [fcntl.F_SETPIPE_SZ]  # asked, refused, read on
