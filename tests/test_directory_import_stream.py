"""Issue 18, point 5: the import writes a batch of records at a time, so memory stays flat
with the feed's size; batches change nothing about what is written (organisations shared
across batches keep their fullest copy, links, re-imports, withdrawals)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

import directory.importer as importer
from directory.importer import import_source
from linkwork import db as lwdb

TABLES = {
    "service": "source_id, name, description, organisation_id, domains, z_codes, withdrawn, "
    "content_hash, last_verified",
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


def _import_all(url: str, feeds: list[Path]) -> list[tuple[int, int, int, int]]:
    engine = lwdb.open_engine(url)
    counts = []
    with Session(engine) as session:
        for feed in feeds:
            s = import_source(session, feed, source_name="council")
            session.commit()
            counts.append((s.added, s.updated, s.unchanged, s.withdrawn))
    engine.dispose()
    return counts


def test_batches_write_what_one_batch_writes(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = json.loads((shared_data / "directory-sample.oruk.json").read_text())
    services = sample["content"]
    # a second version of the feed: some services changed, some gone, an organisation's
    # copy emptied in a later service (the fullest copy must win whatever the batch)
    changed = json.loads(json.dumps(services[:350]))
    for s in changed[::7]:
        s["description"] += " Now also on Saturdays."
    changed[-1]["organization"] = {**changed[0]["organization"], "description": ""}
    feeds = []
    for name, content in (("v1", services), ("v2", changed), ("v3", services)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({**sample, "content": content, "totalElements": len(content)}))
        feeds.append(path)
    whole = _import_all(f"sqlite:///{tmp_path / 'whole.db'}", feeds)
    monkeypatch.setattr(importer, "BATCH", 7)
    batched = _import_all(f"sqlite:///{tmp_path / 'batched.db'}", feeds)
    assert whole == batched
    assert whole[0] == (400, 0, 0, 0) and whole[1][3] == 50 and whole[2][1] > 50
    assert _rows(f"sqlite:///{tmp_path / 'whole.db'}") == _rows(
        f"sqlite:///{tmp_path / 'batched.db'}"
    )
