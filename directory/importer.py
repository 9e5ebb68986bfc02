"""Importing a feed into the directory: idempotent, one transaction, reasons for rejects.

``import_source`` reads the feed page by page (every read bounded: ``directory.bounded``),
turning each service into a record (or a rejection with its reason) as it arrives, and
writes the records a batch at a time (``BATCH``), so memory stays flat however large the
feed; services missing from a full feed are withdrawn at the end. Everything happens in
the caller's transaction, which it flushes but does not commit: the caller commits on
success and rolls back on error, so an unreadable page (or any error) changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col

from directory import read_worker
from directory.bounded import Limits
from directory.csvfeed import service_from_csv
from directory.feeds import KnownPlaces
from directory.models import ImportRun, Location, Organisation, Service, ServiceLocation
from directory.oruk_structs import UNPARSED, service_from_oruk
from directory.records import (
    OrganisationRecord,
    RecordError,
    Rejected,
    ServiceRecord,
    UnchangedRecord,
)
from directory.rows import Inserter, import_cache, insert_rows
from directory.sources import Feed, Progress, read_source
from directory.taxonomy import load_taxonomy_map
from directory.untrusted import strip_controls

if TYPE_CHECKING:
    from directory.index_feed import ImportIndex

NO_ORGANISATION = "no organisation in the feed: imported without one"
BATCH = 2000  # records written at a time


@dataclass
class ImportSummary:
    source: str
    location: str
    format: str
    full: bool
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    # organisations and locations inserted or changed (not shown: services are counted)
    other_writes: int = field(default=0, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["other_writes"]
        data["rejected"] = [asdict(r) for r in self.rejected]
        return data

    @property
    def changed_nothing(self) -> bool:
        """Whether the import left every service, organisation and location as it was
        (its run is still recorded)."""
        return not (self.added or self.updated or self.withdrawn or self.other_writes)


def read_records(
    feed: Feed, summary: ImportSummary, strict: bool = False
) -> Iterator[ServiceRecord]:
    """The feed's records as they are read (no database), rejections noted in ``summary``.
    With ``strict`` the first rejection raises ValueError naming the record."""
    for record in _read(feed, summary, strict, {}):
        assert isinstance(record, ServiceRecord)  # nothing is known unchanged
        yield record


def _read(
    feed: Feed, summary: ImportSummary, strict: bool, known: dict[str, str]
) -> Iterator[ServiceRecord | UnchangedRecord]:
    """``_read_here``, in a second process when the feed is large enough to gain
    (``directory.read_worker``: the same records, notes, rejections and errors)."""
    if read_worker.wanted(feed):
        return read_worker.read_in_child(
            feed, summary, lambda: _read_here(feed, summary, strict, known)
        )
    return _read_here(feed, summary, strict, known)


def _read_here(
    feed: Feed, summary: ImportSummary, strict: bool, known: dict[str, str]
) -> Iterator[ServiceRecord | UnchangedRecord]:
    """``read_records``, where a service whose digest is in ``known`` (digest -> feed id:
    its bytes, the code reading them and the category map as at the last import, which
    read it with no note) is read only for its organisation and locations (never under
    ``strict``, which may reject what was imported with its faults left out)."""
    taxonomy = load_taxonomy_map()
    # the categories a service is given are part of reading it: a revised map reads again
    feed.salt = hashlib.sha256(repr(taxonomy).encode("utf-8")).digest()
    known = {} if strict else known
    feed.known = known
    places = KnownPlaces()
    first_seen: dict[str, str] = {}
    entries = feed.entries
    try:
        for entry in entries:
            feed.budget.service()
            sid = known.get(entry.digest) if entry.light else None
            if sid is not None and sid not in first_seen:
                try:
                    light = entry.raw
                    organisation, locations = places.read(
                        bytes(light.organization),
                        bytes(light.organization_id),
                        bytes(light.service_at_locations),
                    )
                except RecordError:
                    pass  # (cannot be: the same bytes were read whole) read it whole
                else:
                    first_seen[sid] = entry.where
                    feed.budget.keep(len(locations))
                    yield UnchangedRecord(sid, organisation, locations)
                    continue
            # a service still in its bytes is read from them (directory.oruk_structs)
            raw = UNPARSED if entry.unparsed else entry.whole()
            left_out: list[str] = []
            try:
                record = (
                    service_from_csv(raw, strict, left_out)
                    if entry.kind == "csv"
                    else service_from_oruk(
                        raw, strict, left_out, (places, entry.data) if entry.data else None
                    )
                )
                if record.source_id in first_seen:
                    raise RecordError(
                        f"duplicate id (first seen at {first_seen[record.source_id]})"
                    )
            except RecordError as exc:
                raw_id, raw_name = _peek(entry.whole())
                if strict:
                    label = f"{feed.location}, {entry.where}" + (
                        f" (id {raw_id})" if raw_id else ""
                    )
                    raise ValueError(f"{label}: {exc}; nothing imported (--strict)") from None
                summary.rejected.append(Rejected(entry.where, raw_id, raw_name, str(exc)))
                continue
            first_seen[record.source_id] = entry.where
            feed.budget.keep(_entries(record))
            record.domains, record.z_codes = taxonomy.classify(
                record.taxonomy_terms, record.name, record.description
            )
            if record.organisation is None:
                left_out.append(NO_ORGANISATION)
            record.raw_hash = "" if left_out else entry.digest
            summary.notes.extend(
                {"where": entry.where, "id": record.source_id, "name": record.name, "note": note}
                for note in left_out
            )
            yield record
    finally:
        close = getattr(entries, "close", None)
        if close is not None:
            close()  # a feed left half-read lets go of its file or connection now
    summary.format, summary.full = feed.format, feed.full


def parse_feed(feed: Feed, strict: bool = False) -> tuple[list[ServiceRecord], ImportSummary]:
    """Records and rejections of a whole feed, in memory (no database)."""
    summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
    records = list(read_records(feed, summary, strict))
    return records, summary


def _entries(record: ServiceRecord) -> int:
    """What a record holds besides its text: the memory it takes grows with these."""
    return (
        len(record.locations)
        + len(record.opening_hours)
        + len(record.languages)
        + len(record.taxonomy_terms)
        + len(record.contacts)
        + sum(len(c["phones"]) for c in record.contacts)
    )


def _peek(raw: Any) -> tuple[str, str]:
    """A rejected record's id and name as far as they can be shown: text without control
    characters, cut short; anything else (a number as a name, a list) left out."""
    if not isinstance(raw, dict):
        return "", ""
    sid, name = raw.get("id"), raw.get("name")
    shown_id = ""
    if isinstance(sid, int) and not isinstance(sid, bool):
        shown_id = str(sid)
    elif isinstance(sid, str):
        shown_id = " ".join(strip_controls(sid[:200], multiline=False)[0].split())[:100]
    shown_name = ""
    if isinstance(name, str):
        shown_name = " ".join(strip_controls(name[:400], multiline=False)[0].split())
        if len(shown_name) > 100:
            shown_name = shown_name[:100] + "…"
    return shown_id, shown_name


def import_source(
    session: Session,
    source: str | Path,
    fmt: str = "auto",
    strict: bool = False,
    progress: Progress | None = None,
    source_name: str | None = None,
    limits: Limits | None = None,
    index: ImportIndex | None = None,
) -> ImportSummary:
    """Import a feed (file, folder of pages, or http(s) base URL) into ``session``."""
    feed = open_feed(source, fmt, progress, source_name, limits)
    return import_feed(session, feed, strict=strict, index=index)


def open_feed(
    source: str | Path,
    fmt: str = "auto",
    progress: Progress | None = None,
    source_name: str | None = None,
    limits: Limits | None = None,
) -> Feed:
    """The feed at ``source`` (file, folder of pages, or http(s) base URL), not read yet,
    filed under ``source_name`` if given."""
    feed = read_source(source, fmt, progress, limits)
    if source_name:
        feed.source = source_name
    return feed


class ReadAhead:
    """A feed's reading started before the database is opened, in its second process
    (``directory.read_worker``): for a database not made yet, whose making (its
    migrations) the reading then overlaps; such a database knows no service of any feed,
    so nothing is read as unchanged. ``close`` stops the reading if the import goes no
    further (always called: read to the end or not)."""

    def __init__(self, feed: Feed, strict: bool) -> None:
        self.feed = feed
        self.summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
        self._records = read_worker.read_in_child(
            feed, self.summary, lambda: _read_here(feed, self.summary, strict, {})
        )
        # forked now (the first record back: a few milliseconds; a first page the feed
        # cannot give is its error, raised here, before any database is made)
        self._first = next(self._records, None)

    def __iter__(self) -> Iterator[ServiceRecord | UnchangedRecord]:
        first, self._first = self._first, None
        if first is not None:
            yield first
        yield from self._records

    def close(self) -> None:
        self._records.close()


def read_ahead(feed: Feed, strict: bool = False) -> ReadAhead | None:
    """The feed's reading started now if it is read in a second process at all (a large
    local feed: ``read_worker.wanted``); None if not (it is then read as it is written)."""
    return ReadAhead(feed, strict) if read_worker.wanted(feed) else None


def import_feed(
    session: Session,
    feed: Feed,
    strict: bool = False,
    index: ImportIndex | None = None,
    ahead: ReadAhead | None = None,
) -> ImportSummary:
    """Read and write the feed a batch of records at a time (memory stays flat with the
    feed's size), all in the caller's transaction: an error anywhere raises, and the
    caller's rollback leaves the directory as it was. ``index``, if given, is fed the
    services as they are written (``directory.index_feed``: used when it can be).
    ``ahead``: the feed's reading, started before the (new, empty) database was opened."""
    with read_worker.collector_paused(), import_cache(session.connection()):
        return _import_feed(session, feed, strict, index, ahead)


def _import_feed(
    session: Session,
    feed: Feed,
    strict: bool,
    index: ImportIndex | None,
    ahead: ReadAhead | None = None,
) -> ImportSummary:
    records: Iterable[ServiceRecord | UnchangedRecord]
    if ahead is not None:
        assert ahead.feed is feed
        summary, records = ahead.summary, ahead
    else:
        summary = ImportSummary(feed.source, feed.location, feed.format, feed.full)
        records = _read(feed, summary, strict, {} if strict else _known(session, feed.source))
    writer = _Writer(session, feed.source, summary, index)
    batch: list[ServiceRecord | UnchangedRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            writer.write(batch)
            batch = []
    if not feed.budget.services:
        # An empty answer (an outage, a wrong filter) is never taken as "every service of
        # this feed has gone": nothing is withdrawn.
        raise ValueError(f"{feed.location}: the feed has no services; nothing imported")
    if batch:
        writer.write(batch)
    if not writer.present:
        first = summary.rejected[0] if summary.rejected else None
        reason = f" (first: {first.where}: {first.reason})" if first else ""
        raise ValueError(f"{feed.location}: no usable services in the feed{reason}")
    writer.finish(feed)
    if index is not None:
        index.finish(session)
    return summary


def _known(session: Session, source: str) -> dict[str, str]:
    """The feed's services as last imported whole and with no note: digest -> feed id."""
    table = _table(Service)
    rows = session.connection().execute(
        sa.select(table.c.raw_hash, table.c.source_id).where(
            table.c.source == source,
            table.c.withdrawn == sa.false(),
            table.c.raw_hash != "",
        )
    )
    return {digest: sid for digest, sid in rows}


class _Writer:
    """Writes a feed's records batch by batch; remembers only the ids it has seen."""

    def __init__(
        self, session: Session, source: str, summary: ImportSummary, index: ImportIndex | None
    ) -> None:
        self.session = session
        self.source = source
        self.summary = summary
        self.index = index
        if index is not None:
            index.begin(session, source)
        self.now = datetime.now(UTC)
        self.present: set[str] = set()
        self.org_size: dict[str, int] = {}  # organisations written by this import: fullness
        self.org_ids: dict[str, int] = {}  # and their ids
        self.services: Inserter | None = None  # new services' rows (made at the first)
        self.links: Inserter | None = None
        # a feed with no services yet (its first import) has none to compare with: each
        # of its services is new (a repeated id is rejected as it is read)
        table = _table(Service)
        self.first = (
            session.connection()
            .execute(sa.select(table.c.id).where(table.c.source == source).limit(1))
            .first()
            is None
        )

    def write(self, batch: list[ServiceRecord | UnchangedRecord]) -> None:
        session, source, summary, now = self.session, self.source, self.summary, self.now
        org_ids = self._organisations(batch)
        loc_ids = _upsert_locations(session, source, batch, summary, self.index)
        records: list[ServiceRecord] = []
        for item in batch:
            if isinstance(item, UnchangedRecord):
                self.present.add(item.source_id)
                summary.unchanged += 1
            else:
                records.append(item)
        index = self.index
        if index is not None and len(records) < len(batch):
            index.give_up()  # a service not written: the index needs its stored row
        conn = session.connection()
        existing = {
            row.source_id: row
            for chunk in _chunks([] if self.first else [r.source_id for r in records], 1000)
            for row in conn.execute(
                sa.select(
                    col(Service.id),
                    col(Service.source_id),
                    col(Service.content_hash),
                    col(Service.raw_hash),
                    col(Service.withdrawn),
                ).where(col(Service.source) == source, col(Service.source_id).in_(chunk))
            )
        }
        raw_only: list[dict[str, Any]] = []
        new_rows: list[tuple[Any, ...]] = []
        new_records: list[ServiceRecord] = []
        changed_rows: list[dict[str, Any]] = []
        changed_records: list[ServiceRecord] = []
        present, record_values = self.present, _record_values
        for record in records:
            present.add(record.source_id)
            digest = record.content_hash()
            old = existing.get(record.source_id) if existing else None
            if old is None:
                org = record.organisation
                org_id = None if org is None else org_ids.get(org.source_id)
                new_rows.append((source, org_id, digest, False, now, now, *record_values(record)))
                new_records.append(record)
            elif old.content_hash == digest and not old.withdrawn:
                summary.unchanged += 1
                if old.raw_hash != record.raw_hash:  # the same service in other bytes
                    raw_only.append({"b_id": old.id, "v_raw_hash": record.raw_hash})
            else:
                changed_rows.append(
                    {
                        "id": old.id,
                        **_service_values(record, org_ids, digest),
                        "withdrawn": False,
                        "withdrawn_at": None,
                        "updated_at": now,
                    }
                )
                changed_records.append(record)
        links: list[tuple[int, int]] = []
        if new_rows:
            if self.services is None:
                self.services = Inserter(conn, _table(Service), _NEW_SERVICE)
            drawn = self.services.insert_ids(conn, new_rows)
            del new_rows[:]  # (let go of the rows as soon as written)
            table = _table(Service)
            ids = (
                dict(zip([r.source_id for r in new_records], drawn, strict=True))
                if drawn is not None
                else {
                    sid: pk
                    for chunk in _chunks([r.source_id for r in new_records], 1000)
                    for sid, pk in conn.execute(
                        sa.select(table.c.source_id, table.c.id).where(
                            table.c.source == source, table.c.source_id.in_(chunk)
                        )
                    )
                }
            )
            for record in new_records:
                pk = ids[record.source_id]
                links.extend((pk, loc_ids[loc.source_id]) for loc in record.locations)
            summary.added += len(new_records)
            if index is not None:
                index.services(new_records, ids, org_ids, loc_ids)
        if index is not None and len(new_records) < len(records):
            index.give_up()  # a service updated or unchanged
        if changed_rows:
            table = _table(Service)
            stmt = (
                sa.update(table)
                .where(table.c.id == sa.bindparam("b_id"))
                .values({k: sa.bindparam("v_" + k) for k in changed_rows[0] if k != "id"})
            )
            session.connection().execute(
                stmt,
                [{"b_id": r["id"], **{"v_" + k: v for k, v in r.items()}} for r in changed_rows],
            )
            changed_ids = [r["id"] for r in changed_rows]
            for chunk in _chunks(changed_ids, 1000):
                session.execute(
                    sa.delete(ServiceLocation).where(col(ServiceLocation.service_id).in_(chunk))
                )
            for pk, record in zip(changed_ids, changed_records, strict=True):
                links.extend((pk, loc_ids[loc.source_id]) for loc in record.locations)
            summary.updated += len(changed_rows)
        if raw_only:
            table = _table(Service)
            session.connection().execute(
                sa.update(table)
                .where(table.c.id == sa.bindparam("b_id"))
                .values(raw_hash=sa.bindparam("v_raw_hash")),
                raw_only,
            )
        if links and self.links is None:
            self.links = Inserter(conn, _table(ServiceLocation), ("service_id", "location_id"))
        for chunk in _chunks(list(dict.fromkeys(links)), 5000):
            assert self.links is not None
            self.links.insert(conn, chunk)

    def _organisations(self, records: list[ServiceRecord | UnchangedRecord]) -> dict[str, int]:
        """This batch's organisations written (an earlier copy in this import is replaced
        only by a fuller one: several services may carry the same organisation)."""
        fullest: dict[str, OrganisationRecord] = {}
        sizes: dict[str, int] = {}
        org_size = self.org_size
        for record in records:
            org = record.organisation
            if org is None:
                continue
            sid = org.source_id
            size = len(org.name) + len(org.description) + len(org.url) + len(org.email)
            if size > max(org_size.get(sid, -1), sizes.get(sid, -1)):
                fullest[sid], sizes[sid] = org, size
        org_size.update(sizes)
        wanted = {
            sid: {"name": o.name, "description": o.description, "url": o.url, "email": o.email}
            for sid, o in fullest.items()
        }
        written = _upsert_by_source_id(
            self.session, Organisation, self.source, wanted, self.summary
        )
        self.org_ids.update(written)
        # the others were written by this import, in an earlier batch
        org_ids = self.org_ids
        ids = {
            r.organisation.source_id: org_ids[r.organisation.source_id]
            for r in records
            if r.organisation is not None and r.organisation.source_id not in wanted
        }
        ids.update(written)
        if self.index is not None:
            self.index.organisations(wanted, ids)
        return ids

    def finish(self, feed: Feed) -> None:
        session, summary, now = self.session, self.summary, self.now
        if feed.full:
            gone: list[int] = []
            if not self.first:  # (a first import wrote every service the feed now has)
                gone = [
                    pk
                    for pk, sid in session.execute(
                        sa.select(col(Service.id), col(Service.source_id)).where(
                            col(Service.source) == self.source,
                            col(Service.withdrawn) == sa.false(),
                        )
                    )
                    if sid not in self.present
                ]
            for chunk in _chunks(gone, 1000):
                session.execute(
                    sa.update(Service)
                    .where(col(Service.id).in_(chunk))
                    .values(withdrawn=True, withdrawn_at=now, updated_at=now)
                )
            summary.withdrawn = len(gone)
            if gone and self.index is not None:
                self.index.give_up()
        session.add(
            ImportRun(
                source=self.source,
                location=feed.location,
                format=feed.format,
                full=feed.full,
                started_at=now,
                added=summary.added,
                updated=summary.updated,
                unchanged=summary.unchanged,
                withdrawn=summary.withdrawn,
                rejected=len(summary.rejected),
            )
        )
        session.flush()
        session.expire_all()  # rows were written with Core: reload any objects the caller holds


def _table(model: Any) -> sa.Table:
    table: sa.Table = model.__table__
    return table


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


_RECORD_COLUMNS = (
    "source_id",
    "name",
    "description",
    "url",
    "email",
    "phone",
    "status",
    "fees",
    "is_free",
    "min_age",
    "max_age",
    "eligibility",
    "service_area",
    "attending",
    "languages",
    "taxonomy_terms",
    "domains",
    "z_codes",
    "opening_hours",
    "contacts",
    "last_verified",
    "raw_hash",
)
# a new service's row: these columns, then the record's own
_NEW_SERVICE = (
    "source",
    "organisation_id",
    "content_hash",
    "withdrawn",
    "imported_at",
    "updated_at",
    *_RECORD_COLUMNS,
)
_record_values = attrgetter(*_RECORD_COLUMNS)  # a record's as a tuple (in C)


def _service_values(record: ServiceRecord, org_ids: dict[str, int], digest: str) -> dict[str, Any]:
    org = record.organisation
    return {
        **dict(zip(_RECORD_COLUMNS, _record_values(record), strict=True)),
        "organisation_id": None if org is None else org_ids.get(org.source_id),
        "withdrawn": False,
        "content_hash": digest,
    }


def _upsert_locations(
    session: Session,
    source: str,
    records: list[ServiceRecord | UnchangedRecord],
    summary: ImportSummary,
    index: ImportIndex | None = None,
) -> dict[str, int]:
    # each place as the last service carrying it has it (in the order first seen)
    last = {loc.source_id: loc for record in records for loc in record.locations}
    wanted = {
        sid: {
            "name": loc.name,
            "address": loc.address,
            "town": loc.town,
            "postcode": loc.postcode,
            "latitude": loc.latitude,
            "longitude": loc.longitude,
        }
        for sid, loc in last.items()
    }
    ids = _upsert_by_source_id(session, Location, source, wanted, summary)
    if index is not None:
        index.locations(wanted, ids)
    return ids


def _lookup_ids(session: Session, model: Any, source: str, wanted: list[str]) -> dict[str, int]:
    """source id -> row id for the given source ids of ``model`` from this feed."""
    table = _table(model)
    out: dict[str, int] = {}
    for chunk in _chunks(sorted(set(wanted)), 1000):
        rows = session.connection().execute(
            sa.select(table.c.source_id, table.c.id).where(
                table.c.source == source, table.c.source_id.in_(chunk)
            )
        )
        for sid, pk in rows:
            out[sid] = pk
    return out


def _upsert_by_source_id(
    session: Session,
    model: Any,  # Organisation or Location
    source: str,
    wanted: dict[str, dict[str, Any]],
    summary: ImportSummary,
) -> dict[str, int]:
    """Insert or update the feed's rows of ``model`` keyed by source id (only those
    wanted are read: a batch at a time); their row ids (the rows written are counted in
    ``summary.other_writes``)."""
    if not wanted:
        return {}
    table = _table(model)
    columns = [
        table.c.id,
        table.c.source_id,
        *(table.c[k] for k in next(iter(wanted.values()))),
    ]
    existing = {
        row.source_id: row
        for chunk in _chunks(list(wanted), 1000)
        for row in session.connection().execute(
            sa.select(*columns).where(table.c.source == source, table.c.source_id.in_(chunk))
        )
    }
    ids: dict[str, int] = {}
    to_insert = []
    for sid, values in wanted.items():
        row = existing.get(sid)
        if row is None:
            to_insert.append({"source": source, "source_id": sid, **values})
            continue
        assert row.id is not None
        ids[sid] = row.id
        if any(getattr(row, k) != v for k, v in values.items()):
            summary.other_writes += 1
            session.execute(sa.update(model).where(col(model.id) == row.id).values(**values))
    summary.other_writes += len(to_insert)
    for chunk in _chunks(to_insert, 5000):
        drawn = insert_rows(session, _table(model), chunk)
        sids = [r["source_id"] for r in chunk]
        if drawn is None:
            ids.update(_lookup_ids(session, model, source, sids))
        else:
            ids.update(zip(sids, drawn, strict=True))
    return ids
