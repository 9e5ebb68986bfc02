"""Referrals and the closed loop.

Statuses follow the referral Task workflow of the HL7 Gravity SDOH Clinical Care guide
(FHIR TaskStatus without ``ready`` and ``received``): draft -> requested -> accepted |
rejected -> in-progress (<-> on-hold) -> completed | failed, and cancelled. A reason is
required for rejected, cancelled, on-hold and failed. "Received, awaiting triage" and the
like are a free ``business_status`` beside ``requested``. Every change is a
``ReferralEvent`` and an audit event. Remote updates (from the exchange) go through
``apply_status``, which is idempotent and never moves a referral backwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from directory.untrusted import clean_text
from screening.audit import record_event
from screening.consent import require_active_consent
from screening.lookup import by_id
from screening.models import (
    Need,
    Outcome,
    OutcomeNeed,
    Person,
    Referral,
    ReferralEvent,
    ReferralNeed,
    as_utc,
    utcnow,
)
from screening.naming import need_words, person_name, person_named, referral_words

STATUSES = (
    "draft",
    "requested",
    "accepted",
    "rejected",
    "in-progress",
    "on-hold",
    "completed",
    "failed",
    "cancelled",
)
# Allowed next statuses (the Gravity SDOHCC referral Task state machine).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("requested", "cancelled"),
    "requested": ("accepted", "rejected", "cancelled"),
    "accepted": ("in-progress", "cancelled"),
    "in-progress": ("on-hold", "completed", "failed", "cancelled"),
    "on-hold": ("in-progress", "failed", "cancelled"),
    "rejected": (),
    "completed": (),
    "failed": (),
    "cancelled": (),
}
REASON_REQUIRED = frozenset({"rejected", "cancelled", "on-hold", "failed"})
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
OPEN = tuple(s for s in STATUSES if s not in FINAL)
ONS4_FIELDS = ("satisfied", "worthwhile", "happy", "anxious")


def _check_status(status: str) -> str:
    text = str(status).strip().lower()
    if text == "in progress":
        text = "in-progress"
    if text == "on hold":
        text = "on-hold"
    if text not in STATUSES:
        raise ValueError(f"unknown referral status {status!r}: use one of {', '.join(STATUSES)}")
    return text


def reachable(current: str, target: str) -> bool:
    """Whether ``target`` lies ahead of ``current`` (one or more allowed steps)."""
    seen, frontier = {current}, [current]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt == target:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


def _target_label(referral: Referral) -> str:
    return f"service {referral.service_id}" if referral.service_id else f"hub {referral.hub!r}"


def create_referral(
    session: Session,
    person: Person,
    needs: Sequence[Need],
    *,
    actor: str,
    service_id: int | None = None,
    hub: str | None = None,
    reason: str = "",
    send: bool = True,
    followup_days: int = 14,
    at: datetime | None = None,
    screening_id: str | None = None,
    direction: str = "outgoing",
    origin: str = "",
    business_status: str = "",
    require_consent: bool = True,
    id: str | None = None,
    audit: bool = True,
) -> Referral:
    """Refer ``person`` for ``needs`` to a directory service or a named hub.

    ``send=True`` makes it ``requested`` at once, which needs active consent for that
    service or hub (ValueError otherwise); ``send=False`` keeps a ``draft``.
    ``direction="incoming"`` with ``require_consent=False`` is how a hub records a
    referral it has received (the exchange)."""
    from directory.models import Service
    from directory.notfound import NotFound

    hub_name = " ".join(clean_text(hub or "", "hub name", max_length=200).split())
    if (service_id is None) == (not hub_name):
        raise ValueError("refer to either a service or a named hub (one of them)")
    if service_id is not None and session.get(Service, service_id) is None:
        raise NotFound(f"unknown service {service_id}")
    if not needs:
        raise ValueError("a referral needs at least one need")
    for need in needs:
        if need.person_id != person.id:
            raise ValueError(
                f"{need_words(need)} is a need of {person_named(session, need.person_id)}, "
                f"not of {person_name(person)}"
            )
        if need.status != "active" and direction == "outgoing":
            raise ValueError(f"{need_words(need)} is resolved: nothing to refer")
    if direction not in ("outgoing", "incoming"):
        raise ValueError("direction must be outgoing or incoming")
    if followup_days < 0:
        raise ValueError("follow-up days must not be negative")
    when = as_utc(at) if at else utcnow()
    status = "requested" if send else "draft"
    referral = Referral(
        person_id=person.id,
        service_id=service_id,
        hub=hub_name,
        reason=clean_text(reason or "", "reason", multiline=True),
        status=status,
        business_status=business_status,
        status_at=when,
        direction=direction,
        origin=origin,
        created_at=when,
        created_by=actor,
        updated_at=when,
        screening_id=screening_id,
        followup_due=(when + timedelta(days=followup_days)).date(),
    )
    if id:
        referral.id = id
    if send and require_consent:
        consent = require_active_consent(session, referral)
        referral.consent_id = consent.id
    session.add(referral)
    session.flush()
    for need in needs:
        session.add(ReferralNeed(referral_id=referral.id, need_id=need.id))
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            from_status=None,
            to_status=status,
            business_status=business_status,
            by=actor,
            at=when,
            source="local" if direction == "outgoing" else f"remote:{origin}",
        )
    )
    session.flush()
    if audit:
        record_event(
            session,
            actor,
            "create",
            "referral",
            referral.id,
            {
                "status": status,
                "target": _target_label(referral),
                "needs": [n.code for n in needs],
                "direction": direction,
            },
            person_id=person.id,
        )
    return referral


def _change(
    session: Session,
    referral: Referral,
    status: str,
    *,
    by: str,
    reason: str,
    business_status: str | None,
    at: datetime,
    source: str,
) -> ReferralEvent:
    old = referral.status
    event = ReferralEvent(
        referral_id=referral.id,
        from_status=old,
        to_status=status,
        reason=reason,
        business_status=business_status if business_status is not None else "",
        by=by,
        at=at,
        source=source,
    )
    referral.status = status
    if status != old or reason:
        referral.status_reason = reason
    if business_status is not None:
        referral.business_status = business_status
    elif status != old:
        referral.business_status = ""  # the detail belonged to the previous status
    referral.status_at = at
    referral.updated_at = utcnow()
    session.add(referral)
    session.add(event)
    session.flush()
    detail: dict[str, Any] = {"from": old, "to": status, "source": source}
    if reason:
        detail["reason"] = reason
    if business_status:
        detail["business_status"] = business_status
    record_event(
        session, by, "status", "referral", referral.id, detail, person_id=referral.person_id
    )
    return event


def _business(value: str | None) -> str | None:
    """The business status (detail beside the status) as text from outside: one line, no
    control characters, spaces collapsed; ``None`` stays ``None`` (not given)."""
    if value is None:
        return None
    return " ".join(clean_text(value, "business status", max_length=200).split())


def set_status(
    session: Session,
    referral: Referral,
    status: str,
    *,
    actor: str,
    reason: str = "",
    business_status: str | None = None,
    at: datetime | None = None,
) -> ReferralEvent:
    """A local status change; ValueError if the workflow forbids it or a needed reason is
    missing. Moving to ``requested`` (sending) needs active consent."""
    new = _check_status(status)
    why = clean_text(reason or "", "reason", multiline=True)
    business_status = _business(business_status)
    current = referral.status
    if new == current:
        raise ValueError(f"{referral_words(session, referral)} is already {current}")
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(TRANSITIONS[current]) or "nothing (it is closed)"
        raise ValueError(
            f"{referral_words(session, referral)} cannot go from {current} to {new}: "
            f"allowed next: {allowed}"
        )
    if new in REASON_REQUIRED and not why:
        raise ValueError(f"a reason is required to mark a referral {new} (use --reason)")
    if new == "requested" and referral.direction == "outgoing":
        referral.consent_id = require_active_consent(session, referral).id
    when = as_utc(at) if at else utcnow()
    return _change(
        session,
        referral,
        new,
        by=actor,
        reason=why,
        business_status=business_status,
        at=when,
        source="local",
    )


def set_business_status(
    session: Session, referral: Referral, text: str, *, actor: str, at: datetime | None = None
) -> ReferralEvent:
    """Detail beside the status, e.g. "received, awaiting triage"."""
    value = _business(text or "") or ""
    if not value:
        raise ValueError("business status is empty")
    when = as_utc(at) if at else utcnow()
    return _change(
        session,
        referral,
        referral.status,
        by=actor,
        reason="",
        business_status=value,
        at=when,
        source="local",
    )


def apply_status(
    session: Session,
    referral: Referral,
    status: str,
    *,
    by: str,
    at: datetime,
    reason: str = "",
    business_status: str | None = None,
    source: str = "remote",
) -> bool:
    """Apply a status update from elsewhere (the exchange): idempotent and never backwards.

    Ignored (returns False) if ``at`` is not later than the referral's current
    ``status_at``, or if ``status`` is not ahead of the current one (a replay or an
    out-of-order update); a same-status update may still refresh the business status.
    ValueError for an unknown status, or a missing reason where one is required."""
    new = _check_status(status)
    why = clean_text(reason or "", "reason", multiline=True)
    business_status = _business(business_status)
    when = as_utc(at)
    if when <= as_utc(referral.status_at):
        return False
    if new == referral.status:
        if business_status is None or business_status == referral.business_status:
            return False
    elif not reachable(referral.status, new):
        return False
    if new in REASON_REQUIRED and not why and new != referral.status:
        raise ValueError(f"status update to {new} has no reason")
    _change(
        session,
        referral,
        new,
        by=by,
        reason=why,
        business_status=business_status,
        at=when,
        source=source,
    )
    return True


def _ons4(values: Mapping[str, int | None] | None) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for key, value in (values or {}).items():
        name = key.removeprefix("ons4_")
        if name not in ONS4_FIELDS:
            raise ValueError(f"unknown ONS4 item {key!r}: use {', '.join(ONS4_FIELDS)}")
        if value is None:
            out[f"ons4_{name}"] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise ValueError(f"ONS4 {name} must be a whole number from 0 to 10")
        out[f"ons4_{name}"] = value
    return out


def referral_needs(session: Session, referral: Referral) -> list[Need]:
    return list(
        session.exec(
            select(Need)
            .join(ReferralNeed, col(ReferralNeed.need_id) == col(Need.id))
            .where(ReferralNeed.referral_id == referral.id)
            .order_by(Need.code)
        ).all()
    )


def record_outcome(
    session: Session,
    referral: Referral,
    *,
    actor: str,
    resolved: Iterable[str] | Mapping[str, bool] = (),
    ons4: Mapping[str, int | None] | None = None,
    note: str = "",
    at: datetime | None = None,
    resolve_needs: bool = True,
    id: str | None = None,
    audit: bool = True,
) -> Outcome:
    """The outcome of a completed (or failed) referral: per need resolved or not
    (``resolved`` = ids or codes of resolved needs, or a mapping id/code -> bool), ONS4
    repeated, a note. Resolved needs are marked resolved on the record."""
    if referral.status not in ("completed", "failed"):
        raise ValueError(
            f"{referral_words(session, referral)} is {referral.status}: record an outcome "
            "when it is "
            "completed or failed"
        )
    existing = session.exec(select(Outcome).where(Outcome.referral_id == referral.id)).first()
    if existing is not None:
        raise ValueError(f"{referral_words(session, referral)} already has an outcome")
    needs = referral_needs(session, referral)
    wanted = dict(resolved) if isinstance(resolved, Mapping) else dict.fromkeys(resolved, True)
    flags: dict[str, bool] = {}
    for key, value in wanted.items():
        matches = [n for n in needs if n.id == key or n.code.lower() == str(key).lower()]
        if not matches:
            raise LookupError(f"need {key!r} is not part of {referral_words(session, referral)}")
        for need in matches:
            flags[need.id] = bool(value)
    when = as_utc(at) if at else utcnow()
    outcome = Outcome(
        referral_id=referral.id,
        person_id=referral.person_id,
        recorded_at=when,
        recorded_by=actor,
        note=clean_text(note or "", "outcome note", multiline=True),
    )
    for name, number in _ons4(ons4).items():
        setattr(outcome, name, number)
    if id:
        outcome.id = id
    session.add(outcome)
    session.flush()
    for need in needs:
        done = flags.get(need.id, False)
        session.add(OutcomeNeed(outcome_id=outcome.id, need_id=need.id, resolved=done))
        if done and resolve_needs and need.status == "active":
            need.status = "resolved"
            need.resolved_at = when
            need.resolved_by = actor
            session.add(need)
    session.flush()
    if audit:
        record_event(
            session,
            actor,
            "create",
            "outcome",
            outcome.id,
            {"referral_id": referral.id, "resolved": sorted(k for k, v in flags.items() if v)},
            person_id=referral.person_id,
        )
    return outcome


def complete_referral(
    session: Session,
    referral: Referral,
    *,
    actor: str,
    resolved: Iterable[str] | Mapping[str, bool] = (),
    ons4: Mapping[str, int | None] | None = None,
    note: str = "",
    at: datetime | None = None,
    reason: str = "",
    business_status: str | None = None,
) -> Outcome:
    """Mark completed and record the outcome in one go."""
    set_status(
        session,
        referral,
        "completed",
        actor=actor,
        reason=reason,
        business_status=business_status,
        at=at,
    )
    return record_outcome(
        session, referral, actor=actor, resolved=resolved, ons4=ons4, note=note, at=at
    )


def get_referral(session: Session, ref: str) -> Referral:
    return by_id(session, Referral, ref, "referral")


def list_referrals(
    session: Session,
    *,
    person: Person | None = None,
    status: str | None = None,
    service_id: int | None = None,
    direction: str | None = None,
    limit: int = 100,
) -> list[Referral]:
    query = select(Referral)
    if person is not None:
        query = query.where(Referral.person_id == person.id)
    if status:
        query = query.where(Referral.status == _check_status(status))
    if service_id is not None:
        query = query.where(Referral.service_id == service_id)
    if direction:
        query = query.where(Referral.direction == direction)
    query = query.order_by(col(Referral.created_at).desc()).limit(limit)
    return list(session.exec(query).all())


def referral_events(session: Session, referral: Referral) -> list[ReferralEvent]:
    return list(
        session.exec(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral.id)
            .order_by(col(ReferralEvent.at), col(ReferralEvent.id))
        ).all()
    )


def get_outcome(session: Session, referral: Referral) -> Outcome | None:
    return session.exec(select(Outcome).where(Outcome.referral_id == referral.id)).first()


@dataclass(frozen=True)
class FollowUp:
    referral: Referral
    state: str  # overdue | due-soon
    days: int  # days overdue (positive) or until due (negative or zero)


def followups(
    session: Session, *, today: date | None = None, soon_days: int = 3, limit: int = 500
) -> list[FollowUp]:
    """Open outgoing referrals whose follow-up date has passed (overdue) or falls within
    ``soon_days`` (due soon), most overdue first."""
    day = today or date.today()
    horizon = day + timedelta(days=max(soon_days, 0))
    rows = session.exec(
        select(Referral)
        .where(
            col(Referral.status).in_(OPEN),
            col(Referral.followup_due).is_not(None),
            col(Referral.followup_due) <= horizon,
            Referral.direction == "outgoing",
        )
        .order_by(col(Referral.followup_due))
        .limit(limit)
    ).all()
    out = []
    for referral in rows:
        assert referral.followup_due is not None
        overdue = (day - referral.followup_due).days
        out.append(FollowUp(referral, "overdue" if overdue > 0 else "due-soon", overdue))
    return out


def set_followup(session: Session, referral: Referral, due: date, *, actor: str) -> Referral:
    referral.followup_due = due
    referral.updated_at = utcnow()
    session.add(referral)
    session.flush()
    record_event(
        session,
        actor,
        "update",
        "referral",
        referral.id,
        {"followup_due": due.isoformat()},
        person_id=referral.person_id,
    )
    return referral


def referral_dict(session: Session, referral: Referral, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": referral.id,
        "person_id": referral.person_id,
        "service_id": referral.service_id,
        "hub": referral.hub,
        "consent_id": referral.consent_id,
        "reason": referral.reason,
        "status": referral.status,
        "status_reason": referral.status_reason,
        "business_status": referral.business_status,
        "status_at": as_utc(referral.status_at).isoformat(),
        "direction": referral.direction,
        "origin": referral.origin,
        "created_at": as_utc(referral.created_at).isoformat(),
        "created_by": referral.created_by,
        "followup_due": referral.followup_due.isoformat() if referral.followup_due else None,
    }
    if referral.service_id is not None:
        from directory.models import Service

        service = session.get(Service, referral.service_id)
        data["service_name"] = service.name if service else None
        data["service_source_id"] = service.source_id if service else None
    if full:
        data["needs"] = [
            {"id": n.id, "code": n.code, "display": n.display, "domain": n.domain}
            for n in referral_needs(session, referral)
        ]
        data["events"] = [
            {
                "from": e.from_status,
                "to": e.to_status,
                "reason": e.reason,
                "business_status": e.business_status,
                "by": e.by,
                "at": as_utc(e.at).isoformat(),
                "source": e.source,
            }
            for e in referral_events(session, referral)
        ]
        outcome = get_outcome(session, referral)
        if outcome is None:
            data["outcome"] = None
        else:
            flags = session.exec(
                select(OutcomeNeed)
                .join(Need, col(Need.id) == col(OutcomeNeed.need_id))
                .where(OutcomeNeed.outcome_id == outcome.id)
                .order_by(col(Need.code))
            ).all()  # in the needs' order, so the same outcome always reads the same
            data["outcome"] = {
                "id": outcome.id,
                "recorded_at": as_utc(outcome.recorded_at).isoformat(),
                "recorded_by": outcome.recorded_by,
                "note": outcome.note,
                "ons4": {f: getattr(outcome, f"ons4_{f}") for f in ONS4_FIELDS},
                "needs": {f.need_id: f.resolved for f in flags},
            }
    return data
