"""The audit trail: append-only and tamper-evident.

Each ``AuditEvent`` carries ``hash = sha256(canonical JSON of its fields + prev_hash)``, the
first one chaining from ``GENESIS``. ``verify_chain`` recomputes every hash in ``seq`` order
and reports the first row that does not match. Appends are serialised (a PostgreSQL
transaction-level advisory lock; SQLite allows one writer at a time), and ``seq`` is the
primary key, so two writers can never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.models import AuditEvent, as_utc, utcnow

if TYPE_CHECKING:
    from screening.audit_checkpoints import Checkpoint

GENESIS = "0" * 64
# Arbitrary constant key for pg_advisory_xact_lock: "linkwork audit".
_PG_LOCK_KEY = 0x6C6B_6175_6469_74


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
) -> str:
    body = {
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
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _event_hash(event: AuditEvent) -> str:
    return compute_hash(
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        action=event.action,
        entity=event.entity,
        entity_id=event.entity_id,
        person_id=event.person_id,
        detail=event.detail or {},
        prev_hash=event.prev_hash,
    )


def write_lock(session: Session) -> None:
    """Serialise writers until the end of the transaction: what this transaction reads
    after it includes everything another writer committed before. Every audited change
    takes it (before the last audit row is read); a change that must first look for what
    another linkwork may be writing at the same moment (a received file) takes it before
    looking. PostgreSQL: a transaction-level advisory lock. SQLite: a no-op write takes the
    database's single write lock. Both wait at most the busy timeout."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif bind.dialect.name == "sqlite":
        session.execute(sa.text("UPDATE audit_event SET seq = seq WHERE seq < 0"))


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
) -> AuditEvent:
    """Append one event (flushed, not committed: it lands with the change it records).

    ``action``: view, create, update, delete, export, import, status, ... ;
    ``entity``: person, need, screening, consent, referral, report, ... ;
    ``person_id``: whose record it concerns, for ``audit show --person``.
    """
    if not actor:
        raise ValueError("who made the change is not known: set your name with --user")
    clean = json.loads(json.dumps(detail or {}, default=str))
    write_lock(session)
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    when = as_utc(at or utcnow())
    event = AuditEvent(
        seq=seq,
        at=when,
        actor=actor,
        action=action,
        entity=entity,
        entity_id="" if entity_id is None else str(entity_id),
        person_id=person_id,
        detail=clean,
        prev_hash=prev,
        hash="",
    )
    event.hash = _event_hash(event)
    session.add(event)
    session.flush()
    return event


def chain_head(session: Session) -> tuple[int, str]:
    """The chain's last row now: (seq, hash); (0, GENESIS) when there is none."""
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    row = session.execute(
        sa.select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""
    checkpoints: int = 0  # checkpoints the chain was checked against

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "broken_seq": self.broken_seq,
            "problem": self.problem,
            "checkpoints": self.checkpoints,
        }

    @property
    def message(self) -> str:
        """One line in words: intact, or what is broken where."""
        if self.ok:
            return (
                f"audit trail intact: {self.checked} events checked against "
                f"{self.checkpoints} checkpoints"
            )
        if self.broken_seq is None:
            return f"audit trail cannot be checked: {self.problem}"
        return f"audit trail broken at row seq {self.broken_seq}: {self.problem}"


def _anchor_words(cp: Checkpoint) -> str:
    return f"the checkpoint signed at {cp.at[:19].replace('T', ' ')} (line {cp.line})"


def verify_chain(
    session: Session, batch: int = 5000, checkpoints: Iterable[Checkpoint] = ()
) -> ChainReport:
    """Walk the chain in ``seq`` order; report the first row whose hash or link is wrong,
    then check it against every checkpoint (``screening.audit_checkpoints``): a
    checkpoint's row must still hold the hash signed then (else the stretch since the
    checkpoint before was rewritten and rehashed), and no checkpoint may be beyond the
    last row (else the rows after it were cut).

    Reads rows with Core queries (not the session's identity map), so it sees what is in
    the database now, even if an ORM copy of a row is loaded in this session."""
    anchors: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        anchors.setdefault(cp.seq, []).append(cp)
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    prev = GENESIS
    expected_seq = 1
    checked = 0
    anchored = 0  # checkpoints matched so far
    stretch_start = 1  # the first row after the last checkpoint that matched
    while True:
        rows = (
            session.execute(
                sa.select(table)
                .where(table.c.seq >= expected_seq)
                .order_by(table.c.seq)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            seq = row["seq"]
            if seq != expected_seq:
                return ChainReport(
                    False, checked, seq, f"row {expected_seq} is missing (next row is {seq})"
                )
            if row["prev_hash"] != prev:
                return ChainReport(False, checked, seq, "its link to the row before does not match")
            actual = compute_hash(
                seq=seq,
                at=row["at"],
                actor=row["actor"],
                action=row["action"],
                entity=row["entity"],
                entity_id=row["entity_id"],
                person_id=row["person_id"],
                detail=row["detail"] or {},
                prev_hash=row["prev_hash"],
            )
            if actual != row["hash"]:
                return ChainReport(
                    False, checked, seq, "its contents do not match its hash (edited)"
                )
            for cp in anchors.pop(seq, []):
                if cp.head != actual:
                    return ChainReport(
                        False,
                        checked,
                        stretch_start,
                        f"rows {stretch_start} to {seq} were rewritten and rehashed: row "
                        f"{seq} no longer has the hash in {_anchor_words(cp)}",
                    )
                anchored += 1
                stretch_start = seq + 1
            prev = row["hash"]
            expected_seq += 1
            checked += 1
    if anchors:
        last = max(anchors)
        cp = anchors[last][0]
        return ChainReport(
            False,
            checked,
            expected_seq,
            f"rows {expected_seq} to {last} are missing (cut): {_anchor_words(cp)} saw the "
            f"chain reach row {last}",
        )
    return ChainReport(ok=True, checked=checked, checkpoints=anchored)


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
    }
