"""Coded needs: add (from the codes catalogue, or a need domain alone where no code fits),
confirm or reject a screening's suggestions, list and resolve.

A need's ``code``/``system``/``display`` come from the codes catalogue (ICD-10 Z55-Z65 or
SNOMED CT). For a domain with no fitting code (digital, transport, fuel, ...), the need is
recorded against the domain alone: ``system`` = ``DOMAIN_SYSTEM``, ``code`` = the domain key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from directory.untrusted import ascii_identifier, clean_text
from screening.audit import record_event
from screening.counts import count_new_need
from screening.counts.tables import CountNeed
from screening.lookup import by_id
from screening.models import Need, Person, Screening, as_utc, utcnow
from screening.naming import need_words, person_name, person_named, screening_words

DOMAIN_SYSTEM = "urn:linkwork:need-domain"
PRIORITIES = ("high", "medium", "low")
# withdrawn: recorded but not (or no longer) a need of theirs; corrected: recorded under the
# wrong code, replaced by another need (issue 20 point 9). Neither is ever deleted.
NEED_STATUSES = ("active", "resolved", "withdrawn", "corrected")


@dataclass(frozen=True)
class NeedCode:
    code: str
    system: str
    display: str
    domain: str


def _catalogue() -> Any:
    from codes.catalogue import load_catalogue

    return load_catalogue()


@cache
def domain_labels() -> dict[str, str]:
    """Need-domain key -> label, from the codes catalogue."""
    return {d.key: d.label for d in _catalogue().domains()}


def resolve_code(code_or_domain: str) -> NeedCode:
    """The catalogue entry for a code (ICD-10 like ``Z59.0``/``z590``, or a SNOMED id), or
    a need domain key for a domain-only need. LookupError if neither."""
    text = ascii_identifier(code_or_domain, "need code", allowed=" .-_")
    if not text:
        raise ValueError("no need code given")
    labels = domain_labels()
    key = text.lower().replace(" ", "_").replace("-", "_")
    if key in labels:
        return NeedCode(key, DOMAIN_SYSTEM, labels[key], key)
    try:
        entry = _catalogue().get(text)
    except LookupError:
        raise LookupError(f"unknown need code {text!r} (not in the codes catalogue)") from None
    return NeedCode(entry.code, entry.system, entry.display, entry.domain)


def _priority(value: str) -> str:
    text = (value or "medium").strip().lower()
    if text not in PRIORITIES:
        raise ValueError(f"priority {value!r} is not one of: {', '.join(PRIORITIES)}")
    return text


def add_need(
    session: Session,
    person: Person,
    code: str,
    *,
    actor: str,
    words: str = "",
    priority: str = "medium",
    screening_id: str | None = None,
    recorded_at: datetime | None = None,
    id: str | None = None,
    audit: bool = True,
    count: bool = True,
) -> Need:
    """Record a confirmed need. Refuses a second active need with the same code. Without
    ``count``, no counting copy is written (a correction moves the old need's copy)."""
    resolved = resolve_code(code)
    duplicate = session.exec(
        select(Need).where(
            Need.person_id == person.id,
            Need.code == resolved.code,
            Need.system == resolved.system,
            Need.status == "active",
        )
    ).first()
    if duplicate is not None:
        raise ValueError(
            f"{resolved.display} ({resolved.code}) is already an active need of "
            f"{person_name(person)}"
        )
    need = Need(
        person_id=person.id,
        code=resolved.code,
        system=resolved.system,
        display=resolved.display,
        domain=resolved.domain,
        words=clean_text(words or "", "the person's words", multiline=True, max_length=2000),
        priority=_priority(priority),
        recorded_at=as_utc(recorded_at) if recorded_at else utcnow(),
        recorded_by=actor,
        screening_id=screening_id,
    )
    if id:
        need.id = id
    session.add(need)
    session.flush()
    if count:
        count_new_need(session, need, person)  # the counting copy, in the same transaction
    if audit:
        record_event(
            session,
            actor,
            "create",
            "need",
            need.id,
            {"code": need.code, "domain": need.domain},
            person_id=person.id,
        )
    return need


def get_need(session: Session, ref: str) -> Need:
    return by_id(session, Need, ref, "need")


def list_needs(
    session: Session,
    person: Person | None = None,
    *,
    status: str | None = None,
    limit: int | None = None,
) -> list[Need]:
    query = select(Need)
    if person is not None:
        query = query.where(Need.person_id == person.id)
    if status:
        if status not in NEED_STATUSES:
            raise ValueError(f"need status {status!r} is not one of: {', '.join(NEED_STATUSES)}")
        query = query.where(Need.status == status)
    query = query.order_by(col(Need.recorded_at).desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def _need_of(session: Session, need: Need) -> str:
    """'the need Homelessness (Z59.0) of Ann Example'."""
    return f"the need {need_words(need)} of {person_named(session, need.person_id)}"


def resolve_need(
    session: Session, need: Need, *, actor: str, at: datetime | None = None, note: str = ""
) -> Need:
    note = clean_text(note or "", "note", multiline=True, max_length=2000)
    if need.status == "resolved":
        raise ValueError(f"{_need_of(session, need)} is already resolved")
    need.status = "resolved"
    need.resolved_at = as_utc(at) if at else utcnow()
    need.resolved_by = actor
    session.add(need)
    session.flush()
    record_event(
        session,
        actor,
        "resolve",
        "need",
        need.id,
        {"note": note} if note else None,
        person_id=need.person_id,
    )
    return need


def _reason(reason: str) -> str:
    text = clean_text(reason or "", "reason", multiline=False, max_length=500)
    if not text:
        raise ValueError("give a reason (it is kept in the audit trail)")
    return text


def withdraw_need(session: Session, need: Need, *, actor: str, reason: str) -> Need:
    """Withdraw a need recorded in error (or that the person says is not theirs): status
    ``withdrawn``, kept, audited with the reason."""
    why = _reason(reason)
    if need.status not in ("active", "resolved"):
        raise ValueError(f"{_need_of(session, need)} is {need.status} already")
    before = need.status
    need.status = "withdrawn"
    session.add(need)
    # Not a need of theirs: no longer counted (its counting copy goes; the need is kept).
    session.execute(sa.delete(CountNeed).where(CountNeed.need_id == need.id))  # type: ignore[arg-type]
    session.flush()
    record_event(
        session,
        actor,
        "withdraw",
        "need",
        need.id,
        {"from": before, "reason": why, "code": need.code},
        person_id=need.person_id,
    )
    return need


def correct_need(session: Session, need: Need, code: str, *, actor: str, reason: str = "") -> Need:
    """Correct a need recorded under the wrong code: a new need with ``code`` (the same
    words, priority, screening and date recorded), the old one kept with status
    ``corrected``; the counting copy moves to the new need (so the need is counted once,
    under its right code). Audited on both. Returns the new need."""
    why = clean_text(reason or "", "reason", multiline=False, max_length=500)
    if need.status != "active":
        raise ValueError(
            f"{_need_of(session, need)} is {need.status}: only an active need is corrected"
        )
    wanted = resolve_code(code)
    if (wanted.system, wanted.code) == (need.system, need.code):
        raise ValueError(f"{_need_of(session, need)} is {need.code} already")
    person = session.get(Person, need.person_id)
    if person is None:
        raise LookupError(f"unknown person {need.person_id!r}")
    need.status = "corrected"
    session.add(need)
    session.flush()
    new = add_need(
        session,
        person,
        code,
        actor=actor,
        words=need.words,
        priority=need.priority,
        screening_id=need.screening_id,
        recorded_at=need.recorded_at,
        audit=False,
        count=False,
    )
    session.execute(
        sa.update(CountNeed)
        .where(CountNeed.need_id == need.id)  # type: ignore[arg-type]
        .values(need_id=new.id, code=new.code, domain=new.domain)
    )
    detail = {"from": need.code, "to": new.code, "old_need": need.id, "new_need": new.id}
    if why:
        detail["reason"] = why
    record_event(session, actor, "correct", "need", need.id, detail, person_id=need.person_id)
    record_event(
        session,
        actor,
        "create",
        "need",
        new.id,
        {"code": new.code, "domain": new.domain, "corrects": need.id},
        person_id=need.person_id,
    )
    return new


# --- suggestions from a screening ---------------------------------------------------------


def pending_suggestions(screening: Screening) -> list[dict[str, Any]]:
    return [s for s in screening.suggestions or [] if s.get("state") == "pending"]


def _find_suggestion(
    session: Session, screening: Screening, code: str
) -> tuple[int, dict[str, Any]]:
    wanted = resolve_code(code)
    for index, suggestion in enumerate(screening.suggestions or []):
        if suggestion["code"] == wanted.code and suggestion["system"] == wanted.system:
            return index, suggestion
    raise LookupError(f"{wanted.code} was not suggested by {screening_words(session, screening)}")


def _set_suggestion(screening: Screening, index: int, **changes: Any) -> None:
    suggestions = [dict(s) for s in screening.suggestions or []]
    suggestions[index].update(changes)
    screening.suggestions = suggestions  # a new list, so the JSON column is saved


def confirm_need(
    session: Session,
    screening: Screening,
    code: str,
    *,
    actor: str,
    words: str = "",
    priority: str = "medium",
    use_code: str | None = None,
) -> Need:
    """Confirm a suggested need (``use_code`` to record a different code instead: an edit).
    Nothing is coded from a screening until this is called.

    When ``use_code`` differs from the suggested code, the suggestion is marked ``edited``
    with ``confirmed_as`` (the code recorded) and a ``replace-suggestion`` audit event says
    which code was suggested and which was recorded."""
    index, suggestion = _find_suggestion(session, screening, code)
    if suggestion.get("state") != "pending":
        raise ValueError(f"suggestion {suggestion['code']} is already {suggestion.get('state')}")
    person = session.get(Person, screening.person_id)
    if person is None:
        raise LookupError(f"unknown person {screening.person_id!r}")
    need = add_need(
        session,
        person,
        use_code or suggestion["code"],
        actor=actor,
        words=words,
        priority=priority,
        screening_id=screening.id,
    )
    swapped = (need.system, need.code) != (suggestion["system"], suggestion["code"])
    if swapped:
        _set_suggestion(screening, index, state="edited", need_id=need.id, confirmed_as=need.code)
    else:
        _set_suggestion(screening, index, state="confirmed", need_id=need.id)
    session.add(screening)
    session.flush()
    if swapped:
        record_event(
            session,
            actor,
            "replace-suggestion",
            "screening",
            screening.id,
            {"suggested": suggestion["code"], "confirmed_as": need.code, "need_id": need.id},
            person_id=screening.person_id,
        )
    return need


def reject_suggestion(session: Session, screening: Screening, code: str, *, actor: str) -> None:
    index, suggestion = _find_suggestion(session, screening, code)
    if suggestion.get("state") != "pending":
        raise ValueError(f"suggestion {suggestion['code']} is already {suggestion.get('state')}")
    _set_suggestion(screening, index, state="rejected")
    session.add(screening)
    session.flush()
    record_event(
        session,
        actor,
        "reject-suggestion",
        "screening",
        screening.id,
        {"code": suggestion["code"]},
        person_id=screening.person_id,
    )


def need_dict(need: Need) -> dict[str, Any]:
    return {
        "id": need.id,
        "person_id": need.person_id,
        "code": need.code,
        "system": need.system,
        "display": need.display,
        "domain": need.domain,
        "status": need.status,
        "words": need.words,
        "priority": need.priority,
        "recorded_at": as_utc(need.recorded_at).isoformat(),
        "recorded_by": need.recorded_by,
        "screening_id": need.screening_id,
        "resolved_at": as_utc(need.resolved_at).isoformat() if need.resolved_at else None,
    }
