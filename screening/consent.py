"""Consent to share: recorded before a referral is sent, withdrawable. A referral can only
be sent or exported while the consent for its service (or hub) is active; the exchange
calls ``require_active_consent`` before every export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from directory.models import Service
from directory.untrusted import clean_text
from screening.audit import record_event
from screening.lookup import by_id
from screening.models import Consent, Person, Referral, as_utc, utcnow
from screening.naming import consent_words

SHARES = ("needs", "contact", "equality")
METHODS = ("verbal", "written")
DEFAULT_SHARES = ("needs", "contact")


def parse_shares(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return list(DEFAULT_SHARES)
    items = value.split(",") if isinstance(value, str) else list(value)
    shares = []
    for item in items:
        text = item.strip().lower()
        if not text:
            continue
        if text not in SHARES:
            raise ValueError(f"cannot share {item!r}: choose from {', '.join(SHARES)}")
        if text not in shares:
            shares.append(text)
    if "needs" not in shares:
        raise ValueError("consent must at least cover sharing the needs being referred")
    return [s for s in SHARES if s in shares]


def _target(session: Session, service_id: int | None, hub: str | None) -> tuple[int | None, str]:
    hub_name = " ".join(clean_text(hub or "", "hub name", max_length=200).split())
    if (service_id is None) == (not hub_name):
        raise ValueError("give either a service or a named hub (one of them)")
    if service_id is not None:
        from directory.models import Service
        from directory.notfound import NotFound

        if session.get(Service, service_id) is None:
            raise NotFound(f"unknown service {service_id}")
    return service_id, hub_name


def record_consent(
    session: Session,
    person: Person,
    *,
    actor: str,
    service_id: int | None = None,
    hub: str | None = None,
    shares: str | list[str] | tuple[str, ...] | None = None,
    method: str = "verbal",
    given_at: datetime | None = None,
    id: str | None = None,
    audit: bool = True,
) -> Consent:
    """Record consent to share with a directory service (``service.id``) or a named hub."""
    target_service, target_hub = _target(session, service_id, hub)
    how = (method or "").strip().lower()
    if how not in METHODS:
        raise ValueError(f"consent method {method!r} is not one of: {', '.join(METHODS)}")
    when = as_utc(given_at) if given_at else utcnow()
    if when > utcnow():
        raise ValueError("consent cannot be given in the future")
    consent = Consent(
        person_id=person.id,
        service_id=target_service,
        hub=target_hub,
        shares=parse_shares(shares),
        method=how,
        given_at=when,
        recorded_by=actor,
    )
    if id:
        consent.id = id
    session.add(consent)
    session.flush()
    if audit:
        record_event(
            session,
            actor,
            "create",
            "consent",
            consent.id,
            {"service_id": target_service, "hub": target_hub, "shares": consent.shares},
            person_id=person.id,
        )
    return consent


def get_consent(session: Session, ref: str) -> Consent:
    return by_id(session, Consent, ref, "consent")


def withdraw_consent(
    session: Session,
    consent: Consent,
    *,
    actor: str,
    reason: str = "",
    at: datetime | None = None,
) -> Consent:
    """Withdraw consent: nothing more is shared under it (exports are refused)."""
    if consent.withdrawn_at is not None:
        raise ValueError(f"{consent_words(session, consent)} was already withdrawn")
    consent.withdrawn_at = as_utc(at) if at else utcnow()
    consent.withdrawn_by = actor
    consent.withdrawn_reason = clean_text(reason or "", "reason", multiline=True)
    session.add(consent)
    session.flush()
    record_event(
        session,
        actor,
        "withdraw",
        "consent",
        consent.id,
        {"reason": consent.withdrawn_reason} if consent.withdrawn_reason else None,
        person_id=consent.person_id,
    )
    return consent


def active_consent(
    session: Session, person_id: str, *, service_id: int | None = None, hub: str = ""
) -> Consent | None:
    """The latest active (not withdrawn) consent of the person for that service or hub."""
    query = _consents_for(person_id, service_id, hub).where(col(Consent.withdrawn_at).is_(None))
    return session.exec(query.order_by(col(Consent.given_at).desc()).limit(1)).first()


def _consents_for(person_id: str, service_id: int | None, hub: str) -> Any:
    query = select(Consent).where(Consent.person_id == person_id)
    if service_id is not None:
        return query.where(Consent.service_id == service_id)
    return query.where(Consent.hub == hub, col(Consent.service_id).is_(None))


def list_consents(session: Session, person: Person) -> list[Consent]:
    return list(
        session.exec(
            select(Consent)
            .where(Consent.person_id == person.id)
            .order_by(col(Consent.given_at).desc())
        ).all()
    )


def _target_name(session: Session, service_id: int | None, hub: str | None) -> str:
    """The service as the user knows it (name and the feed's id), or the hub."""
    if service_id is None:
        return f"hub {hub!r}"
    service = session.get(Service, service_id)
    if service is None:
        return f"service {service_id}"
    return f"service {service.name!r} ({service.source_id})"


def require_active_consent(session: Session, referral: Referral) -> Consent:
    """The active consent covering ``referral``, or ValueError saying why it cannot be
    sent. The exchange calls this before exporting or sending anything."""
    target = _target_name(session, referral.service_id, referral.hub)
    if referral.consent_id:
        consent = session.get(Consent, referral.consent_id)
        if consent is not None and consent.withdrawn_at is None:
            return consent
    consent = active_consent(
        session, referral.person_id, service_id=referral.service_id, hub=referral.hub
    )
    if consent is None:
        withdrawn = _consents_for(referral.person_id, referral.service_id, referral.hub).where(
            col(Consent.withdrawn_at).is_not(None)
        )
        if referral.consent_id or session.exec(withdrawn.limit(1)).first() is not None:
            raise ValueError(
                f"consent to share with {target} has been withdrawn: the referral cannot be sent"
            )
        raise ValueError(
            f"no consent recorded to share with {target}: a referral cannot be sent without it"
        )
    return consent


def consent_dict(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.id,
        "person_id": consent.person_id,
        "service_id": consent.service_id,
        "hub": consent.hub,
        "shares": list(consent.shares or []),
        "method": consent.method,
        "given_at": as_utc(consent.given_at).isoformat(),
        "recorded_by": consent.recorded_by,
        "active": consent.withdrawn_at is None,
        "withdrawn_at": as_utc(consent.withdrawn_at).isoformat() if consent.withdrawn_at else None,
        "withdrawn_by": consent.withdrawn_by,
        "withdrawn_reason": consent.withdrawn_reason,
    }
