"""Delivery: how each partner is reached, what waits to be sent, what was refused on receipt.

* ``Partner`` (``exchange_partner``): a trusted partner's route: ``mesh`` with its MESH
  mailbox id, or ``files`` (the outbox and inbox folders, for sites without MESH), and its
  ODS code where known. A partner trusted before routes existed, or without a mailbox, is
  reached by ``files``.
* ``Delivery`` (``exchange_delivery``): one sealed message (a referral or a status update)
  for one partner, queued in the transaction that records it, then ``sent`` (with the
  transport's id: the MESH message id, or the outbox file), ``acknowledged`` once MESH
  tracking says the recipient downloaded it, or ``failed`` when MESH says it never will
  be. A send that fails stays ``queued`` with the reason and its next try (backoff). A
  status update queued while our key was locked has no token yet: it is sealed, with the
  referral's status at that moment, by the next sync.
* ``Quarantined`` (``exchange_quarantine``): a received message that failed verification
  (tampered, untrusted signer, not for us, not FHIR), kept with its reason; it is
  acknowledged so it never blocks the messages behind it.

Nothing here talks to a network or reads settings: ``screening.exchange.transport`` and
``screening.exchange.mesh`` move the bytes; ``linkwork.actions.mesh`` drives both.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from screening.models import as_utc, utcnow

MESH = "mesh"
FILES = "files"
ROUTES = (MESH, FILES)

QUEUED = "queued"
SENT = "sent"
ACKNOWLEDGED = "acknowledged"
FAILED = "failed"
CANCELLED = "cancelled"
STATES = (QUEUED, SENT, ACKNOWLEDGED, FAILED, CANCELLED)

# Seconds to wait before the next try after the 1st, 2nd, ... failed send (then the last).
BACKOFF = (60, 300, 900, 3600)

MAILBOX_LENGTH = 20
ODS_LENGTH = 10
# ODS organisation codes: 3 characters (trusts, ICBs: RXH, 00Q), 5 (sites and other
# organisations: RXH01, 8HK37), 6 (GP practices: A81001, Y01234); ASCII letters and digits.
_ODS_SHAPE = re.compile(r"[A-Z0-9]{3}|[A-Z0-9]{5,6}")


def _org() -> object:
    """``org`` as the organisation contract has it (screening.organisations): the ODS code
    of the organisation holding the row."""
    return Field(default="", max_length=10, index=True, sa_column_kwargs={"server_default": ""})


class Partner(SQLModel, table=True):
    __tablename__ = "exchange_partner"

    name: str = Field(primary_key=True, max_length=200)
    route: str = Field(default=FILES, max_length=10)
    mesh_mailbox: str = Field(default="", max_length=MAILBOX_LENGTH)
    # The partner organisation's ODS code ('' when not known): a referral to a hub partner
    # names the hub Organization by it (https://fhir.nhs.uk/Id/ods-organization-code).
    ods: str = Field(default="", max_length=ODS_LENGTH, sa_column_kwargs={"server_default": ""})
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_by: str = Field(default="", max_length=200)


class Delivery(SQLModel, table=True):
    __tablename__ = "exchange_delivery"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=100)  # the Bundle's id ('' until sealed)
    referral_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=20)  # referral | update
    partner: str = Field(max_length=200)
    route: str = Field(max_length=10)
    mailbox: str = Field(default="", max_length=MAILBOX_LENGTH)
    token: str = Field(default="", sa_type=sa.Text)  # the sealed JWE ('' until sealed)
    state: str = Field(default=QUEUED, max_length=20, index=True)
    transport_id: str = Field(default="", max_length=500)  # MESH message id or the file
    attempts: int = Field(default=0)
    next_try_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    sent_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    actor: str = Field(default="", max_length=200)
    org: str = _org()  # type: ignore[assignment]


class Quarantined(SQLModel, table=True):
    __tablename__ = "exchange_quarantine"
    __table_args__ = (sa.UniqueConstraint("source", "transport_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=10)  # mesh | files
    transport_id: str = Field(max_length=500)
    sender: str = Field(default="", max_length=200)
    reason: str = Field(max_length=50)
    detail: str = Field(default="", max_length=500)
    sha256: str = Field(default="", max_length=64)
    size: int = Field(default=0)
    content: bytes = Field(sa_type=sa.LargeBinary)
    received_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    actor: str = Field(default="", max_length=200)
    org: str = _org()  # type: ignore[assignment]


# -- routes ---------------------------------------------------------------------------------


def clean_mailbox(text: str) -> str:
    """A MESH mailbox id as typed: letters and digits (upper-cased), at most 20; ValueError
    in words otherwise."""
    value = text.strip().upper()
    if not value or not value.isascii() or not value.isalnum() or len(value) > MAILBOX_LENGTH:
        raise ValueError(
            f"{text!r} is not a MESH mailbox id: use its letters and digits, e.g. X26ABC1"
        )
    return value


def clean_ods(text: str) -> str:
    """An ODS organisation code as typed: ASCII letters and digits (upper-cased), 3, 5 or 6
    of them; '' stays ''; ValueError in words otherwise."""
    value = text.strip().upper()
    if value and (not value.isascii() or not _ODS_SHAPE.fullmatch(value)):
        shown = text.strip()[:20].encode("ascii", "backslashreplace").decode("ascii")
        raise ValueError(
            f"{shown!r} is not an ODS organisation code: 3, 5 or 6 letters and digits, "
            "e.g. Y01234 or RXH01"
        )
    return value


def set_ods(session: Session, name: str, ods: str, actor: str) -> Partner:
    """Record partner ``name``'s ODS code ('' when not known)."""
    row = session.get(Partner, name)
    if row is None:
        row = Partner(name=name, updated_at=utcnow())
    row.ods = clean_ods(ods)
    row.updated_at = utcnow()
    row.updated_by = actor
    session.add(row)
    session.flush()
    return row


def ods_of(session: Session, name: str) -> str:
    """Partner ``name``'s ODS code, '' when none is recorded."""
    row = session.get(Partner, name) if name else None
    return row.ods if row is not None else ""


def set_route(session: Session, name: str, mailbox: str | None, actor: str) -> Partner:
    """Reach ``name`` through MESH mailbox ``mailbox``, or by files when None or ''."""
    row = session.get(Partner, name)
    if row is None:
        row = Partner(name=name, updated_at=utcnow())
    row.route = MESH if mailbox else FILES
    row.mesh_mailbox = clean_mailbox(mailbox) if mailbox else ""
    row.updated_at = utcnow()
    row.updated_by = actor
    session.add(row)
    session.flush()
    return row


def route_of(session: Session, name: str) -> tuple[str, str]:
    """``(route, mailbox)`` of partner ``name``; ``("files", "")`` when none was set."""
    row = session.get(Partner, name)
    if row is None:
        return FILES, ""
    return row.route, row.mesh_mailbox


def routes(session: Session) -> dict[str, Partner]:
    return {row.name: row for row in session.exec(select(Partner)).all()}


# -- the queue ------------------------------------------------------------------------------


def queue(
    session: Session,
    *,
    referral_id: str,
    kind: str,
    partner: str,
    message_id: str = "",
    token: str = "",
    actor: str,
    org: str = "",
    reason: str = "",
) -> Delivery:
    """Add a message for ``partner`` to the queue (in the caller's transaction), on the
    partner's route as it is now."""
    route, mailbox = route_of(session, partner)
    now = utcnow()
    row = Delivery(
        message_id=message_id,
        referral_id=referral_id,
        kind=kind,
        partner=partner,
        route=route,
        mailbox=mailbox,
        token=token,
        state=QUEUED,
        created_at=now,
        updated_at=now,
        actor=actor,
        org=org or str(session.info.get("org") or ""),
        last_reason=reason,
    )
    session.add(row)
    session.flush()
    return row


def unsealed_update(session: Session, referral_id: str) -> Delivery | None:
    """A status update for ``referral_id`` queued without its token (our key was locked):
    the next sync seals the referral's status as it is then, so one is enough."""
    return session.exec(
        select(Delivery).where(
            Delivery.referral_id == referral_id,
            Delivery.kind == "update",
            Delivery.state == QUEUED,
            Delivery.token == "",
        )
    ).first()


def waiting(
    session: Session, *, route: str, now: datetime | None = None, all_due: bool = False
) -> list[Delivery]:
    """Sealed messages still queued on ``route``, oldest first: those whose next try has
    come (every one with ``all_due``)."""
    rows = session.exec(
        select(Delivery)
        .where(Delivery.state == QUEUED, Delivery.route == route, Delivery.token != "")
        .order_by(col(Delivery.id))
    ).all()
    at = now or utcnow()
    return [r for r in rows if all_due or r.next_try_at is None or as_utc(r.next_try_at) <= at]


def local_id(row: Delivery, attempt: int) -> str:
    """The MESH local id try number ``attempt`` of a delivery carries: the delivery's id
    (with the Bundle's id, so that a rebuilt database's delivery 1 never matches an older
    message) and the try. Before the next try we ask MESH for the last one by this id:
    whether it got through although we never recorded it. One id per try, so a message
    sent again on purpose (MESH said the last one expired) is never mistaken for it."""
    return f"linkwork-{row.id}-{row.message_id}-{attempt}"


def start_attempt(row: Delivery, *, now: datetime | None = None) -> None:
    """A try begins (committed before the bytes go): a delivery with ``attempts`` > 0 may
    have reached MESH even though we never recorded it (a crash between MESH accepting it
    and our commit), so the next try looks it up by its local id first."""
    row.attempts += 1
    row.updated_at = now or utcnow()


def mark_sent(
    row: Delivery, transport_id: str, *, now: datetime | None = None, counted: bool = False
) -> None:
    """Sent, with the transport's id; ``counted`` when ``start_attempt`` counted the try."""
    at = now or utcnow()
    row.state = SENT
    row.transport_id = transport_id
    if not counted:
        row.attempts += 1
    row.sent_at = at
    row.updated_at = at
    row.next_try_at = None
    row.last_reason = ""


def mark_retry(
    row: Delivery, reason: str, *, now: datetime | None = None, counted: bool = False
) -> None:
    """A failed try: still queued, with the reason and the time of the next try
    (``counted`` when ``start_attempt`` counted the try)."""
    at = now or utcnow()
    if not counted:
        row.attempts += 1
    wait = BACKOFF[max(1, min(row.attempts, len(BACKOFF))) - 1]
    row.next_try_at = at + timedelta(seconds=wait)
    row.last_reason = reason[:500]
    row.updated_at = at


def mark_tracked(row: Delivery, state: str, reason: str = "") -> None:
    row.state = state
    row.last_reason = reason[:500]
    row.updated_at = utcnow()


def deliveries(session: Session, referral_id: str) -> list[Delivery]:
    return list(
        session.exec(
            select(Delivery).where(Delivery.referral_id == referral_id).order_by(col(Delivery.id))
        ).all()
    )


def delivery_dict(row: Delivery) -> dict[str, object]:
    return {
        "id": row.id,
        "kind": row.kind,
        "to": row.partner,
        "route": row.route,
        "mailbox": row.mailbox,
        "state": row.state,
        "message_id": row.message_id,
        "transport_id": row.transport_id,
        "attempts": row.attempts,
        "next_try_at": as_utc(row.next_try_at).isoformat() if row.next_try_at else None,
        "last_reason": row.last_reason,
        "queued_at": as_utc(row.created_at).isoformat(),
        "sent_at": as_utc(row.sent_at).isoformat() if row.sent_at else None,
    }


# -- quarantine -----------------------------------------------------------------------------


def quarantine(
    session: Session,
    *,
    source: str,
    transport_id: str,
    sender: str,
    content: bytes,
    sha256: str,
    reason: str,
    detail: str,
    actor: str,
) -> tuple[Quarantined, bool]:
    """Keep a refused message with its reason; the same message again adds nothing.
    The row and whether it is new."""
    found = session.exec(
        select(Quarantined).where(
            Quarantined.source == source, Quarantined.transport_id == transport_id
        )
    ).first()
    if found is not None:
        return found, False
    row = Quarantined(
        source=source,
        transport_id=transport_id,
        sender=sender,
        reason=reason[:50],
        detail=detail[:500],
        sha256=sha256,
        size=len(content),
        content=content,
        received_at=utcnow(),
        actor=actor,
        org=str(session.info.get("org") or ""),
    )
    session.add(row)
    session.flush()
    return row, True


def quarantined(session: Session) -> list[Quarantined]:
    return list(session.exec(select(Quarantined).order_by(col(Quarantined.id))).all())
