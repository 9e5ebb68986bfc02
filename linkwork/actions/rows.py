"""Referrals as rows and lines of words, over a session: shared by the referral, people
and home actions (kept apart from the exchange so the home screen loads no crypto)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from directory.models import Service
from screening.models import OutcomeNeed, Person, Referral, Screening, as_utc
from screening.referrals import ONS4_FIELDS, OPEN, TRANSITIONS, get_outcome, referral_needs

# How the four ONS4 questions are named in lists and forms.
ONS4_LABELS = {
    "satisfied": "Life satisfaction",
    "worthwhile": "Worthwhile",
    "happy": "Happiness",
    "anxious": "Anxiety",
}


def _day(value: datetime | date) -> date:
    return as_utc(value).date() if isinstance(value, datetime) else value


def service_name(session: Session, referral: Referral) -> str:
    """Where a referral goes, in words: the service's name, or the hub."""
    if referral.service_id is None:
        return referral.hub or "-"
    service = session.get(Service, referral.service_id)
    return service.name if service is not None else f"service {referral.service_id}"


def referral_row(session: Session, referral: Referral, today: date) -> dict[str, Any]:
    """One referral as a row for a list or board.

    The person is plain data: ``person_id``, ``person_name`` and ``person`` (the fields
    ``tui.state.person_ref`` needs: id, given_name, family_name, birth_date, nhs_number;
    None if the person is not on the record). ``due_state`` is OVERDUE or "due today"
    for an open referral whose follow-up date has come (as of ``today``)."""
    person = session.get(Person, referral.person_id)
    name = f"{person.given_name} {person.family_name}" if person else referral.person_id
    due = referral.followup_due
    due_state = ""
    if due is not None and referral.status in OPEN:
        days = (today - due).days
        due_state = "OVERDUE" if days > 0 else ("due today" if days == 0 else "")
    followup = "-"
    if due is not None:
        followup = due.strftime("%d %b") + (f" {due_state}" if due_state else "")
    created = _day(referral.created_at)
    return {
        "id": referral.id,
        "person_id": referral.person_id,
        "person_name": name,
        "person": (
            {
                "id": person.id,
                "given_name": person.given_name,
                "family_name": person.family_name,
                "birth_date": person.birth_date,
                "nhs_number": person.nhs_number,
            }
            if person
            else None
        ),
        "service": service_name(session, referral),
        "status": referral.status,
        "business_status": referral.business_status,
        "direction": referral.direction,
        "allowed": list(TRANSITIONS.get(referral.status, ())),
        "sent": created.strftime("%d %b %Y"),
        "sent_sort": created,
        "followup_due": due,
        "followup": followup,
        "due_state": due_state,
        "note": referral.status_reason or referral.reason,
    }


def ons4_before(session: Session, person_id: str, at: datetime) -> dict[str, Any]:
    """The person's latest screening ONS4 answers on or before ``at`` (the "before"
    beside an outcome's "after"): ``values`` by ONS4 field (None where never asked) and
    ``when`` ("" when never asked)."""
    rows = session.exec(
        select(Screening)
        .where(Screening.person_id == person_id)
        .order_by(col(Screening.started_at).desc())
    ).all()
    for scr in rows:
        if as_utc(scr.started_at) > as_utc(at):
            continue
        values = {f: getattr(scr, f"ons4_{f}") for f in ONS4_FIELDS}
        if any(v is not None for v in values.values()):
            return {"values": values, "when": _day(scr.started_at).strftime("%d %b %Y")}
    return {"values": dict.fromkeys(ONS4_FIELDS), "when": ""}


def outcome_items(session: Session, referral: Referral, service: str) -> list[dict[str, Any]]:
    """The person's timeline entry for a referral's outcome (empty when none yet): ONS4
    before -> after, needs resolved, and the note, in words."""
    outcome = get_outcome(session, referral)
    if outcome is None:
        return []
    before = ons4_before(session, referral.person_id, outcome.recorded_at)["values"]
    scores = []
    for name in ONS4_FIELDS:
        after, was = getattr(outcome, f"ons4_{name}"), before[name]
        if after is None and was is None:
            continue
        shown = "-" if after is None else str(after)
        label = ONS4_LABELS[name].lower()
        scores.append(f"{label} {shown}" if was is None else f"{label} {was}->{shown}")
    flags = {
        f.need_id: f.resolved
        for f in session.exec(select(OutcomeNeed).where(OutcomeNeed.outcome_id == outcome.id))
    }
    done = [n.code for n in referral_needs(session, referral) if flags.get(n.id)]
    parts = ["ONS4 " + ", ".join(scores) if scores else "ONS4 not asked"]
    parts.append(f"resolved {', '.join(done)}" if done else "no need resolved")
    if outcome.note:
        parts.append(f"note: {outcome.note}")
    return [
        {
            "at": as_utc(outcome.recorded_at),
            "what": f"Outcome of referral {referral.id[:8]} to {service}",
            "status": f"OUTCOME ({referral.status.upper()})",
            "detail": "; ".join(parts),
            "referral_id": referral.id,
        }
    ]
