"""Issue 18 (import speed): a re-import does not read again a service whose bytes, and
the code and category map that read them, are as at the last import (``service.raw_hash``);
what it writes is what reading every service would write.

Each import here is checked against the same feeds imported with nothing known (every
service read whole), table by table."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from test_exchange_support import second_db

import directory.importer as importer
import directory.sources as sources
from directory.feeds import KnownPlaces, service_from_oruk
from directory.importer import import_source
from linkwork import db as lwdb

TABLES = {
    "service": "source_id, name, description, organisation_id, domains, z_codes, withdrawn, "
    "content_hash, last_verified, opening_hours, raw_hash != ''",
    "organisation": "source_id, name, description, url, email",
    "location": "source_id, name, town, postcode, latitude, longitude",
    "service_location": "service_id, location_id",
}


def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {
            t: [tuple(r) for r in conn.execute(sa.text(f"SELECT {c} FROM {t} ORDER BY 1, 2"))]
            for t, c in TABLES.items()
        }
    engine.dispose()
    return out


def _service(n: int, org: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": f"svc-{n}",
        "name": f"Service {n}",
        "description": f"<p>Help number {n} with food &amp; money.</p>",
        "assured_date": "2026-01-05",
        "organization": org,
        "service_at_locations": [
            {"location": {"id": f"loc-{n % 3}", "name": f"Hall {n % 3}", "latitude": 52.1}}
        ],
        "regular_schedules": [{"weekday": "Monday", "opens_at": "09:00", "closes_at": "17:00"}],
        **extra,
    }


@pytest.fixture
def other_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    yield from second_db(request, db_url, tmp_path)


FULL = {"id": "org-1", "name": "Vale Trust", "description": "A long description of it."}
SHORT = {"id": "org-1", "name": "Vale Trust"}


def _write(path: Path, services: list[dict[str, Any]], indent: int | None = None) -> Path:
    doc = {"totalElements": len(services), "totalPages": 1, "number": 1, "content": services}
    path.write_text(json.dumps(doc, indent=indent))
    return path


class Reads:
    """Counts the services read whole."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real: Callable[..., Any] = importer.service_from_oruk

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(importer, "service_from_oruk", counted)


SNAPSHOTS: list[dict[str, list[tuple[object, ...]]]] = []


def _imports(url: str, feeds: list[Path], strict: bool = False) -> list[tuple[int, ...]]:
    """Each feed imported in turn: the summaries' counts (the tables after each import
    are kept in SNAPSHOTS)."""
    engine = lwdb.open_engine(url)
    out = []
    SNAPSHOTS.clear()
    with Session(engine) as session:
        for feed in feeds:
            s = import_source(session, feed, source_name="council", strict=strict)
            session.commit()
            out.append((s.added, s.updated, s.unchanged, s.withdrawn, len(s.notes)))
            SNAPSHOTS.append(_rows(url))
    engine.dispose()
    return out


def _versions(tmp_path: Path) -> list[Path]:
    """v1; v2: one service changed, one gone, the fuller copy of the organisation only in
    a service that has not changed; v3: v1 again; v4: v1 in other whitespace."""
    base = [_service(n, FULL if n == 0 else SHORT) for n in range(12)]
    v2 = json.loads(json.dumps(base[:11]))
    v2[5]["description"] += " Now on Saturdays."
    v2[6]["organization"] = {**SHORT, "url": "https://vale.example"}
    return [
        _write(tmp_path / "v1.json", base),
        _write(tmp_path / "v2.json", v2),
        _write(tmp_path / "v3.json", base),
        _write(tmp_path / "v4.json", base, indent=2),
    ]


def test_what_is_skipped_writes_what_reading_it_writes(
    db_url: str, other_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = _versions(tmp_path)
    reads = Reads(monkeypatch)
    skipping = _imports(db_url, feeds)
    skipped_reads, after_skipping = reads.count, list(SNAPSHOTS)
    with monkeypatch.context() as nothing_known:
        nothing_known.setattr(importer, "_known", lambda _session, _source: {})
        whole = _imports(other_url, feeds)
    # the same rows after every import; the fuller organisation kept through v2
    assert after_skipping == SNAPSHOTS
    assert [r[2] for r in SNAPSHOTS[1]["organisation"]] == ["A long description of it."]
    assert (
        skipping
        == whole
        == [
            (12, 0, 0, 0, 0),
            (0, 2, 9, 1, 0),
            (0, 3, 9, 0, 0),  # svc-11 back (withdrawn in v2), svc-5 and svc-6 as they were
            (0, 0, 12, 0, 0),  # the same services in other whitespace
        ]
    )
    # read whole: v1 all 12; v2 the 2 changed; v3 the 3 not as last imported; v4 all 12
    # (other bytes), which are then known in their new bytes
    assert skipped_reads == 12 + 2 + 3 + 12
    reads.count = 0
    assert _imports(db_url, feeds[3:]) == [(0, 0, 12, 0, 0)]
    assert reads.count == 0


def test_a_service_read_with_a_note_is_read_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = [_service(1, SHORT), _service(2, SHORT, assured_date="last spring")]
    services.append({k: v for k, v in _service(3, SHORT).items() if k != "organization"})
    feed = _write(tmp_path / "feed.json", services)
    reads = Reads(monkeypatch)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    # the date left out and the missing organisation are said again at each import
    assert _imports(url, [feed, feed]) == [(3, 0, 0, 0, 2), (0, 0, 3, 0, 2)]
    assert reads.count == 3 + 2


def test_strict_reads_every_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = _write(tmp_path / "feed.json", [_service(n, SHORT) for n in range(4)])
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert _imports(url, [feed]) == [(4, 0, 0, 0, 0)]
    reads = Reads(monkeypatch)
    assert _imports(url, [feed], strict=True) == [(0, 0, 4, 0, 0)]
    assert reads.count == 4


def test_new_reading_code_reads_everything_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = _write(tmp_path / "feed.json", [_service(n, SHORT) for n in range(4)])
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert _imports(url, [feed]) == [(4, 0, 0, 0, 0)]
    reads = Reads(monkeypatch)
    monkeypatch.setattr(sources, "reader_fingerprint", lambda: b"another release")
    assert _imports(url, [feed, feed]) == [(0, 0, 4, 0, 0), (0, 0, 4, 0, 0)]
    assert reads.count == 4  # once, then known in the new code's digest


def test_a_duplicate_id_is_rejected_even_when_its_bytes_are_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _service(1, SHORT)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    _imports(url, [_write(tmp_path / "a.json", [one])])
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        summary = import_source(
            session, _write(tmp_path / "b.json", [one, one]), source_name="council"
        )
    engine.dispose()
    assert [r.reason for r in summary.rejected] == ["duplicate id (first seen at record 1)"]
    assert (summary.unchanged, summary.added) == (1, 0)


def test_known_places_are_what_reading_the_whole_service_gives(shared_data: Path) -> None:
    """The organisation and locations read again of a known service (each distinct JSON
    text once) are those of reading it whole: the sample's 400 services, and shapes it
    lacks (no location id, locations null, an organisation by its id alone)."""
    services = json.loads((shared_data / "directory-sample.oruk.json").read_text())["content"]
    services += [
        _service(1, SHORT, service_at_locations=[{"location_id": "L9", "location": {"name": "x"}}]),
        _service(2, SHORT, service_at_locations=None),
        {**_service(3, SHORT), "organization": None, "organization_id": 77},
        {"id": "svc-4", "name": "Four"},
    ]
    places = KnownPlaces()
    for _ in range(2):  # the second time from what it remembers
        for raw in services:
            light = sources._LIGHT.decode(json.dumps(raw).encode())
            got = places.read(
                bytes(light.organization),
                bytes(light.organization_id),
                bytes(light.service_at_locations),
            )
            record = service_from_oruk(raw)
            assert got == (record.organisation, record.locations), raw["id"]
