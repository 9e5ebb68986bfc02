"""A half-done screening saved (status in-progress) and finished later, on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from screening import people
from screening import questionnaire as qn
from screening.models import AuditEvent, Screening


def _person(session: Session, given: str = "Ann") -> people.Person:  # type: ignore[name-defined]
    return people.create_person(
        session, given_name=given, family_name="Example", birth_date="1970-05-06", actor="w.a"
    )


def test_progress_saved_reopened_and_completed(session: Session) -> None:
    person = _person(session)
    saved = qn.save_screening_progress(
        session,
        person,
        {"housing.situation": "sofa-surfing", "food.worried": "often", "ons4.happy": "3"},
        actor="w.a",
    )
    assert saved.status == "in-progress"
    assert saved.completed_at is None
    assert saved.suggestions == []  # nothing suggested until completed
    assert saved.ons4_happy is None

    # Reopened later (another session of the same database): the answers are there.
    found = qn.in_progress_screening(session, person)
    assert found is not None and found.id == saved.id
    assert qn.screening_answers(session, found) == {
        "housing.situation": "sofa-surfing",
        "food.worried": "often",
        "ons4.happy": "3",
    }

    # More answers saved: they replace the saved set (an answer cleared is dropped).
    qn.save_screening_progress(
        session,
        person,
        {"housing.situation": "sofa-surfing", "ons4.happy": "4", "isolation.lonely": "often"},
        actor="w.a",
        screening=found,
    )
    assert qn.screening_answers(session, found) == {
        "housing.situation": "sofa-surfing",
        "ons4.happy": "4",
        "isolation.lonely": "often",
    }

    answers = qn.screening_answers(session, found)
    done, suggestions = qn.complete_screening(
        session, person, answers, actor="w.b", screening=found
    )
    assert done.id == saved.id
    assert done.status == "completed" and done.completed_at is not None
    assert done.ons4_happy == 4
    codes = {s["code"] for s in suggestions}
    assert "Z59.0" in codes  # sofa surfing -> homelessness
    assert "Z59.4" not in codes  # the food answer was cleared before completing
    assert {s["state"] for s in done.suggestions} == {"pending"}
    assert qn.in_progress_screening(session, person) is None
    assert session.execute(sa.text("SELECT count(*) FROM screening")).scalar_one() == 1

    session.commit()  # audit rows are appended to the chain as the transaction commits
    actions = [
        e.action
        for e in session.exec(
            select(AuditEvent).where(AuditEvent.entity == "screening").order_by(AuditEvent.seq)  # type: ignore[arg-type]
        ).all()
    ]
    assert actions == ["start", "save-progress", "complete"]


def test_only_one_screening_in_progress_per_person(session: Session) -> None:
    ann, bob = _person(session), _person(session, "Bob")
    first = qn.save_screening_progress(session, ann, {"food.worried": "never"}, actor="w.a")
    with pytest.raises(ValueError, match="already has a screening in progress"):
        qn.save_screening_progress(session, ann, {"food.worried": "often"}, actor="w.a")
    # Someone else may have their own.
    qn.save_screening_progress(session, bob, {"food.worried": "often"}, actor="w.a")
    # Another person's screening cannot be continued for Ann.
    bobs = qn.in_progress_screening(session, bob)
    assert bobs is not None
    with pytest.raises(ValueError, match="not this person's"):
        qn.save_screening_progress(
            session, ann, {"food.worried": "often"}, actor="w.a", screening=bobs
        )
    # Once completed, it cannot be saved as in progress or completed again.
    qn.complete_screening(session, ann, {"food.worried": "often"}, actor="w.a", screening=first)
    for call in (
        lambda: qn.save_screening_progress(
            session, ann, {"food.worried": "never"}, actor="w.a", screening=first
        ),
        lambda: qn.complete_screening(
            session, ann, {"food.worried": "never"}, actor="w.a", screening=first
        ),
    ):
        with pytest.raises(ValueError, match="already completed"):
            call()
    # With the first completed, Ann can start another.
    again = qn.save_screening_progress(session, ann, {"food.worried": "never"}, actor="w.a")
    assert again.id != first.id
    statuses = sorted(
        s.status for s in session.exec(select(Screening).where(Screening.person_id == ann.id))
    )
    assert statuses == ["completed", "in-progress"]


def test_progress_answers_checked_like_completion(session: Session) -> None:
    person = _person(session)
    for answers, message in (
        ({"no.such.question": "yes"}, "unknown question"),
        ({"food.worried": "perhaps"}, "must be one of"),
        ({"ons4.happy": 11}, "from 0 to 10"),
        ({}, "no answers given"),
    ):
        with pytest.raises(ValueError, match=message):
            qn.save_screening_progress(session, person, answers, actor="w.a")
    assert session.execute(sa.text("SELECT count(*) FROM screening")).scalar_one() == 0


def test_completing_without_a_screening_still_makes_a_new_one(session: Session) -> None:
    """The CLI's way (no in-progress screening passed) is unchanged."""
    person = _person(session)
    saved = qn.save_screening_progress(session, person, {"food.worried": "often"}, actor="w.a")
    done, _ = qn.complete_screening(session, person, {"food.worried": "often"}, actor="w.a")
    assert done.id != saved.id and done.status == "completed"
    session.commit()  # audit rows are appended to the chain as the transaction commits
    event = session.exec(select(AuditEvent).where(AuditEvent.entity_id == done.id)).one()
    assert event.action == "create"
    assert qn.in_progress_screening(session, person) is not None
