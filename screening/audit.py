"""The audit trail: append-only and tamper-evident, one hash chain per organisation.

Each ``AuditEvent`` carries ``hash = sha256(canonical JSON of its fields + prev_hash)``.
Each organisation (``org``) has its own chain: ``chain_seq`` 1, 2, ... the first chaining
from ``GENESIS``, and the organisation and place are part of the hash, so a row cannot be
moved to another chain unnoticed. ``seq`` numbers every row of the table (on PostgreSQL from
the sequence ``audit_event_seq``). Rows written before the chains (``chain_seq`` None) are
one chain in ``seq`` order, hashed without org and place, as they always were.

The chain is held last and only for the append: ``record_event`` only notes the event;
just before the transaction commits (``before_commit``, ``append_pending``) each
organisation's head is read and the events inserted after it. On PostgreSQL the unique
(org, chain_seq) index is the chain's lock: an append taking the same place as one not yet
committed waits for it (``lock_timeout``: then "the database is busy"), finds the place
taken, and goes after it; nothing else waits for the chain, and organisations never wait
for each other. SQLite has one writer. Two writers can never fork a chain.

``verify_chain`` recomputes every chain and reports the first row that does not match, and
checks each chain against the signed checkpoints (``screening.audit_checkpoints``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from screening.models import AuditEvent, Person, as_utc, utcnow

if TYPE_CHECKING:
    from screening.audit_checkpoints import Checkpoint

GENESIS = "0" * 64
# Arbitrary constant key for pg_advisory_xact_lock: "linkwork audit" (writers that must
# see each other's work: a received file, a key trusted; an NHS number has a key of its own).
_PG_LOCK_KEY = 0x6C6B_6175_6469_74
SEQUENCE = "audit_event_seq"  # PostgreSQL: every row's seq (migration scr_0004)
_PENDING = "audit_pending"  # session.info: events noted, appended just before commit


def _iso(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    person_id: str | None,
    detail: dict[str, Any],
    prev_hash: str,
    org: str | None = None,
    chain_seq: int | None = None,
) -> str:
    """The row's hash. A row of an organisation's chain (``chain_seq`` given): the link
    ``link_hash(prev_hash, content_digest(...), seq, chain_seq)``, so its organisation,
    place, number and the row before are all covered. A row from before the chains: the
    digest of all its fields with ``seq`` and ``prev_hash``, as it always was."""
    if chain_seq is not None:
        digest = content_digest(
            at=at, actor=actor, action=action, entity=entity, entity_id=entity_id,
            person_id=person_id, detail=detail, org=org or "",
        )  # fmt: skip
        return link_hash(prev_hash, digest, seq, chain_seq)
    body: dict[str, Any] = {
        "seq": seq,
        "at": _iso(at),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "person_id": person_id,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return _sha256_json(body)


def _sha256_json(body: dict[str, Any]) -> str:
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def content_digest(
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    person_id: str | None,
    detail: dict[str, Any],
    org: str,
) -> str:
    """SHA-256 of the canonical JSON of what the event says (computed by the client)."""
    return _sha256_json(
        {
            "at": _iso(at),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "person_id": person_id,
            "detail": detail,
            "org": org,
        }
    )


def link_hash(prev_hash: str, digest: str, seq: int, chain_seq: int) -> str:
    """SHA-256 of ``prev_hash|digest|seq|chain_seq``: the chain's link (on PostgreSQL made
    by the append statement itself, from the head it reads: ``_APPEND``)."""
    return hashlib.sha256(f"{prev_hash}|{digest}|{seq}|{chain_seq}".encode()).hexdigest()


def _row_hash(row: Any) -> str:
    """The hash of a row (an ``AuditEvent`` or a Core row mapping) as stored now."""
    get = row.__getitem__ if isinstance(row, sa.RowMapping) else lambda k: getattr(row, k)
    return compute_hash(
        seq=get("seq"),
        at=get("at"),
        actor=get("actor"),
        action=get("action"),
        entity=get("entity"),
        entity_id=get("entity_id"),
        person_id=get("person_id"),
        detail=get("detail") or {},
        prev_hash=get("prev_hash"),
        org=get("org"),
        chain_seq=get("chain_seq"),
    )


def _key_of(prefix: bytes, text: str) -> int:
    digest = hashlib.sha256(prefix + text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def write_lock(session: Session, key: str | None = None) -> None:
    """Serialise writers that must see each other's work until the end of the transaction
    (a received file, a partner's key, a new NHS number: each looks for what another
    linkwork may be writing at the same moment, so takes it before looking). PostgreSQL:
    a transaction-level advisory lock (the audit chains need none: ``append_pending``).
    SQLite: a no-op write takes the database's single write lock. Both wait at most the
    busy timeout. With ``key`` (e.g. the NHS number being added), only writers of the same
    key wait for each other on PostgreSQL."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        lock = _PG_LOCK_KEY if key is None else _key_of(b"linkwork write\x00", key)
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
    elif bind.dialect.name == "sqlite":
        session.execute(sa.text("UPDATE audit_event SET seq = seq WHERE seq < 0"))


def _event_org(session: Session, person_id: str | None) -> str:
    """The organisation holding the person's record, else the session's."""
    if person_id:
        with session.no_autoflush:
            person = session.get(Person, person_id)
        if person is not None and person.org:
            return str(person.org)
    return str(session.info.get("org") or "")


def record_event(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None = "",
    detail: dict[str, Any] | None = None,
    *,
    person_id: str | None = None,
    at: datetime | None = None,
    org: str | None = None,
) -> AuditEvent:
    """Note one event, appended to its organisation's chain just before the transaction
    commits (it lands with the change it records, or not at all).

    ``action``: view, create, update, delete, export, import, status, ... ;
    ``entity``: person, need, screening, consent, referral, report, ... ;
    ``person_id``: whose record it concerns, for ``audit show --person``;
    ``org``: whose chain; by default the organisation holding the person's record, else
    the session's (``session.info["org"]``).
    """
    if not actor:
        raise ValueError("who made the change is not known: set your name with --user")
    clean = json.loads(json.dumps(detail or {}, default=str))
    event = AuditEvent(
        seq=0,  # given with its place in the chain, at the append
        at=as_utc(at or utcnow()),
        actor=actor,
        action=action,
        entity=entity,
        entity_id="" if entity_id is None else str(entity_id),
        person_id=person_id,
        detail=clean,
        prev_hash="",
        hash="",
        org=_event_org(session, person_id) if org is None else org,
    )
    session.connection()  # in the transaction now: a rollback forgets the event
    session.info.setdefault(_PENDING, []).append(event)
    return event


def _lock_chain(session: OrmSession) -> None:
    """SQLite: the database's single write lock (a no-op write), before reading a head."""
    session.execute(sa.text("UPDATE audit_event SET seq = seq WHERE seq < 0"))


def _next_seqs(session: OrmSession, count: int) -> list[int]:
    """SQLite, holding the write lock: the next ``count`` numbers after the last row."""
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    last = session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0))).scalar()
    return [int(last or 0) + i for i in range(1, count + 1)]


_COLUMNS = (
    "seq", "at", "actor", "action", "entity", "entity_id", "person_id", "detail",
    "prev_hash", "hash", "org", "chain_seq",
)  # fmt: skip
_MAX_TRIES = 1000  # each failed try means another append to the chain committed


def _head(session: OrmSession, org: str) -> tuple[int, str]:
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    head = session.execute(
        sa.select(table.c.chain_seq, table.c.hash)
        .where(table.c.org == org, table.c.chain_seq.is_not(None))
        .order_by(table.c.chain_seq.desc())
        .limit(1)
    ).first()
    return (int(head[0]), str(head[1])) if head else (0, GENESIS)


def _chained(events: list[AuditEvent], head: tuple[int, str], seq_of: dict[int, int]) -> list[Any]:
    """The events as rows after ``head``: places, links and hashes (set on them too)."""
    place, prev = head
    rows = []
    for ev in events:
        place += 1
        ev.seq, ev.chain_seq, ev.prev_hash = seq_of[id(ev)], place, prev
        ev.hash = prev = _row_hash(ev)
        rows.append({name: getattr(ev, name) for name in _COLUMNS})
    return rows


def append_pending(session: OrmSession) -> None:
    """Append the events noted in this transaction, each to its organisation's chain, as
    the last thing before the commit.

    PostgreSQL, one statement an event and no lock of its own (``_APPEND``): it reads the
    chain's head, takes the next seq and place, makes the link from the digest the client
    computed and inserts ``ON CONFLICT (org, chain_seq) DO NOTHING``. The unique index is
    the lock, held only from that insert to the commit: another append to the same chain
    at the same moment waits there (bounded by ``lock_timeout``) for this one's commit,
    finds its place taken, and runs again after it. Appends to other organisations' chains
    never wait. SQLite: its single writer, the same links made here."""
    pending: list[AuditEvent] = session.info.pop(_PENDING, None) or []
    if not pending:
        return
    session.flush()  # the change the events record goes first
    by_org: dict[str, list[AuditEvent]] = {}
    for ev in pending:
        by_org.setdefault(ev.org, []).append(ev)
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    if session.get_bind().dialect.name != "postgresql":
        _lock_chain(session)  # the single writer, before reading max(seq) and the heads
        in_turn = [ev for org in sorted(by_org) for ev in by_org[org]]  # as on PostgreSQL
        seq_of = dict(zip(map(id, in_turn), _next_seqs(session, len(pending)), strict=True))
        for org in sorted(by_org):
            rows = _chained(by_org[org], _head(session, org), seq_of)
            session.execute(table.insert(), rows)
        return
    for org in sorted(by_org):  # always in this order: two appends never wait in a circle
        for ev in by_org[org]:
            _append_one(session, ev)


# PostgreSQL: one statement reads the chain's head (seeing this transaction's own rows),
# takes the next seq and place, links and inserts the event; ON CONFLICT: another append
# took the place first (having waited for its commit): nothing inserted, read again.
_APPEND = sa.text(
    "INSERT INTO audit_event (seq, at, actor, action, entity, entity_id, person_id, detail, "
    "org, chain_seq, prev_hash, hash) "
    "SELECT s.seq, CAST(:at AS timestamptz), :actor, :action, :entity, :entity_id, "
    "CAST(:person_id AS varchar), CAST(:detail AS json), :org, "
    "coalesce(h.chain_seq, 0) + 1, coalesce(h.hash, :genesis), "
    "encode(sha256(convert_to(concat_ws('|', coalesce(h.hash, :genesis), "
    "CAST(:digest AS text), s.seq, coalesce(h.chain_seq, 0) + 1), 'UTF8')), 'hex') "
    f"FROM (SELECT nextval('{SEQUENCE}') AS seq) AS s LEFT JOIN LATERAL ("
    "SELECT chain_seq, hash FROM audit_event WHERE org = :org AND chain_seq IS NOT NULL "
    "ORDER BY chain_seq DESC LIMIT 1) AS h ON true "
    "ON CONFLICT (org, chain_seq) DO NOTHING "
    "RETURNING seq, chain_seq, prev_hash, hash"
)


def _append_one(session: OrmSession, ev: AuditEvent) -> None:
    digest = content_digest(
        at=ev.at, actor=ev.actor, action=ev.action, entity=ev.entity, entity_id=ev.entity_id,
        person_id=ev.person_id, detail=ev.detail or {}, org=ev.org,
    )  # fmt: skip
    values = {
        "at": ev.at, "actor": ev.actor, "action": ev.action, "entity": ev.entity,
        "entity_id": ev.entity_id, "person_id": ev.person_id, "org": ev.org,
        "detail": json.dumps(ev.detail or {}, ensure_ascii=False), "digest": digest,
        "genesis": GENESIS,
    }  # fmt: skip
    for _ in range(_MAX_TRIES):
        row = session.execute(_APPEND, values).first()
        if row is not None:
            ev.seq, ev.chain_seq, ev.prev_hash, ev.hash = int(row[0]), int(row[1]), row[2], row[3]
            return
    raise RuntimeError(f"the audit chain of {ev.org!r} moved on {_MAX_TRIES} times")


def _forget_pending(session: OrmSession, *_: Any) -> None:
    session.info.pop(_PENDING, None)


orm_event.listen(OrmSession, "before_commit", append_pending)
orm_event.listen(OrmSession, "after_soft_rollback", _forget_pending)


@dataclass(frozen=True)
class Head:
    """A chain's last row: ``org`` None for the rows from before the chains (whose place
    is their ``seq``)."""

    org: str | None
    place: int
    hash: str


def chain_heads(session: Session) -> list[Head]:
    """The head of every chain this session can read (each organisation's, and the rows
    from before the chains if there are any)."""
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    heads: list[Head] = []
    legacy = session.execute(
        sa.select(table.c.seq, table.c.hash)
        .where(table.c.chain_seq.is_(None))
        .order_by(table.c.seq.desc())
        .limit(1)
    ).first()
    if legacy is not None:
        heads.append(Head(None, int(legacy[0]), str(legacy[1])))
    last = (
        sa.select(table.c.org, sa.func.max(table.c.chain_seq).label("place"))
        .where(table.c.chain_seq.is_not(None))
        .group_by(table.c.org)
        .subquery()
    )
    rows = session.execute(
        sa.select(table.c.org, table.c.chain_seq, table.c.hash)
        .join(last, sa.and_(table.c.org == last.c.org, table.c.chain_seq == last.c.place))
        .order_by(table.c.org)
    )
    heads += [Head(str(org), int(place), str(digest)) for org, place, digest in rows]
    return heads


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""
    checkpoints: int = 0  # checkpoints the chains were checked against
    org: str | None = None  # whose chain is broken (None: the rows from before the chains)
    chains: int = 0  # chains checked
    unreadable: bool = False  # the checkpoints themselves cannot be trusted

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "broken_seq": self.broken_seq,
            "problem": self.problem,
            "checkpoints": self.checkpoints,
            "org": self.org,
        }

    @property
    def message(self) -> str:
        """One line in words: intact, or what is broken where."""
        if self.ok:
            return (
                f"audit trail intact: {self.checked} events in {self.chains} chains checked "
                f"against {self.checkpoints} checkpoints"
            )
        if self.unreadable:
            return f"audit trail cannot be checked: {self.problem}"
        where = f" at row seq {self.broken_seq}" if self.broken_seq is not None else ""
        return f"audit trail broken{where}: {self.problem}"


def _anchor_words(cp: Checkpoint) -> str:
    return f"the checkpoint signed at {cp.at[:19].replace('T', ' ')} (line {cp.line})"


def _who(org: str | None) -> str:
    if org is None:
        return ""
    return f"organisation {org or '(none)'}: "


class _Broken(Exception):
    def __init__(self, seq: int | None, problem: str) -> None:
        self.seq, self.problem = seq, problem


def _walk(
    session: Session,
    org: str | None,
    anchors: dict[int, list[Checkpoint]],
    batch: int,
) -> tuple[int, int]:
    """Check one chain (``org`` None: the rows from before the chains, by ``seq``) and its
    checkpoints (by place); (rows checked, checkpoints matched), else ``_Broken``."""
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    place_col = table.c.seq if org is None else table.c.chain_seq
    chain = (
        table.c.chain_seq.is_(None)
        if org is None
        else sa.and_(table.c.org == org, table.c.chain_seq.is_not(None))
    )
    who = _who(org)
    prev, expected, checked, anchored = GENESIS, 1, 0, 0
    stretch = (1, None)  # (place, seq) of the first row after the last checkpoint matched
    while True:
        rows = (
            session.execute(
                sa.select(table)
                .where(chain, place_col >= expected)
                .order_by(place_col)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            seq = row["seq"]
            place = seq if org is None else row["chain_seq"]
            if place != expected:
                what = f"row {expected}" if org is None else f"row {expected} of its chain"
                raise _Broken(seq, f"{who}{what} is missing (next row is {place})")
            if stretch[1] is None:
                stretch = (place, seq)
            if row["prev_hash"] != prev:
                raise _Broken(seq, f"{who}its link to the row before does not match")
            actual = _row_hash(row)
            if actual != row["hash"]:
                raise _Broken(seq, f"{who}its contents do not match its hash (edited)")
            for cp in anchors.pop(place, []):
                if cp.head != actual:
                    raise _Broken(
                        stretch[1],
                        f"{who}rows {stretch[0]} to {place} were rewritten and rehashed: row "
                        f"{place} no longer has the hash in {_anchor_words(cp)}",
                    )
                anchored += 1
                stretch = (place + 1, None)
            prev = row["hash"]
            expected += 1
            checked += 1
    if anchors:
        last = max(anchors)
        cp = anchors[last][0]
        what = "" if org is None else " of its chain"
        raise _Broken(
            None,
            f"{who}rows {expected} to {last}{what} are missing (cut): {_anchor_words(cp)} "
            f"saw the chain reach row {last}",
        )
    return checked, anchored


def verify_chain(
    session: Session, batch: int = 5000, checkpoints: Iterable[Checkpoint] = ()
) -> ChainReport:
    """Walk every chain (the rows from before the chains in ``seq`` order, then each
    organisation's in ``chain_seq`` order); report the first row whose hash or link is
    wrong, then check each chain against its checkpoints (``screening.audit_checkpoints``):
    a checkpoint's row must still hold the hash signed then (else the stretch since the
    checkpoint before was rewritten and rehashed), and no checkpoint may be beyond the
    chain's last row (else the rows after it were cut).

    Reads rows with Core queries (not the session's identity map), so it sees what is in
    the database now, even if an ORM copy of a row is loaded in this session."""
    anchors: dict[str | None, dict[int, list[Checkpoint]]] = {}
    for cp in checkpoints:
        anchors.setdefault(cp.chain, {}).setdefault(cp.seq, []).append(cp)
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    orgs = session.execute(
        sa.select(table.c.org).where(table.c.chain_seq.is_not(None)).distinct()
    ).scalars()
    anchored_orgs = {org for org in anchors if org is not None}
    chains: list[str | None] = [None, *sorted({str(o) for o in orgs} | anchored_orgs)]
    checked = anchored = 0
    for org in chains:
        try:
            n, m = _walk(session, org, anchors.get(org, {}), batch)
        except _Broken as broken:
            return ChainReport(False, checked, broken.seq, broken.problem, anchored, org)
        checked, anchored = checked + n, anchored + m
    walked = sum(1 for org in chains if org is not None) + (1 if _has_legacy(session) else 0)
    return ChainReport(ok=True, checked=checked, checkpoints=anchored, chains=walked)


def _has_legacy(session: Session) -> bool:
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    found = session.execute(sa.select(table.c.seq).where(table.c.chain_seq.is_(None)).limit(1))
    return found.first() is not None


def list_events(
    session: Session,
    *,
    person_id: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """The latest events, newest first."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    query = select(AuditEvent)
    if person_id:
        query = query.where(AuditEvent.person_id == person_id)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    return list(session.exec(query.order_by(col(AuditEvent.seq).desc()).limit(limit)).all())


def event_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": _iso(event.at),
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "person_id": event.person_id,
        "detail": event.detail,
        "hash": event.hash,
        "org": event.org,
        "chain_seq": event.chain_seq,
    }
