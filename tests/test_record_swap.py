"""Confirming a screening's suggestion as a different code (the link worker swaps the
suggested code for a better one), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from screening import needs, people
from screening import questionnaire as qn
from screening.models import AuditEvent, Need


def _screened(session: Session) -> tuple[people.Person, qn.Screening]:  # type: ignore[name-defined]
    person = people.create_person(
        session, given_name="Ann", family_name="Example", birth_date="1970-05-06", actor="w.a"
    )
    # Sofa surfing suggests Z59.0 (homelessness); damp suggests Z59.1.
    screening, _ = qn.complete_screening(
        session, person, {"housing.situation": "sofa-surfing"}, actor="w.a"
    )
    return person, screening


def test_suggestion_confirmed_as_a_different_code(session: Session) -> None:
    person, screening = _screened(session)
    assert [s["code"] for s in screening.suggestions] == ["Z59.0"]
    need = needs.confirm_need(session, screening, "Z59.0", actor="w.b", use_code="z591")

    stored = session.exec(select(Need).where(Need.person_id == person.id)).all()
    assert [(n.code, n.display, n.domain) for n in stored] == [
        ("Z59.1", "Inadequate housing", "housing")
    ]
    assert need.screening_id == screening.id
    suggestion = screening.suggestions[0]
    assert suggestion["code"] == "Z59.0"  # what was suggested stays on record
    assert suggestion["state"] == "edited"
    assert suggestion["confirmed_as"] == "Z59.1"
    assert suggestion["need_id"] == need.id
    assert needs.pending_suggestions(screening) == []

    session.commit()  # audit rows are appended to the chain as the transaction commits
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "replace-suggestion")).all()
    assert len(events) == 1
    assert events[0].actor == "w.b"
    assert events[0].entity_id == screening.id
    assert events[0].person_id == person.id
    assert events[0].detail == {"suggested": "Z59.0", "confirmed_as": "Z59.1", "need_id": need.id}


def test_same_code_given_as_swap_is_a_plain_confirm(session: Session) -> None:
    _, screening = _screened(session)
    needs.confirm_need(session, screening, "Z59.0", actor="w.a", use_code="Z59.0")
    assert screening.suggestions[0]["state"] == "confirmed"
    assert "confirmed_as" not in screening.suggestions[0]
    swaps = session.exec(select(AuditEvent).where(AuditEvent.action == "replace-suggestion"))
    assert swaps.all() == []


def test_swap_to_unknown_code_records_nothing(session: Session) -> None:
    _, screening = _screened(session)
    with pytest.raises(LookupError, match="unknown need code"):
        needs.confirm_need(session, screening, "Z59.0", actor="w.a", use_code="Z99.9")
    assert session.exec(select(Need)).all() == []
    assert screening.suggestions[0]["state"] == "pending"


def test_swapped_suggestion_cannot_be_decided_again(session: Session) -> None:
    _, screening = _screened(session)
    needs.confirm_need(session, screening, "Z59.0", actor="w.a", use_code="Z59.1")
    with pytest.raises(ValueError, match="already edited"):
        needs.confirm_need(session, screening, "Z59.0", actor="w.a")
    with pytest.raises(ValueError, match="already edited"):
        needs.reject_suggestion(session, screening, "Z59.0", actor="w.a")
