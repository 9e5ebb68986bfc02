"""Case notes: free text on a person, dated, with its author; audited; never deleted.

A correction is a new note (``corrects`` the old one's id) and the old one is marked
``corrected_by`` the new one: both stay, the old one shown as corrected. Notes never leave
the organisation: nothing in ``screening.exchange`` or ``screening.counts`` reads this
table (tests/test_casework.py checks that).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from directory.untrusted import clean_text
from screening.audit import record_event
from screening.casework.common import open_episode
from screening.casework.models import CaseNote
from screening.lookup import by_id
from screening.models import Person, utcnow

NOTE_MAX = 20_000


def _text(text: str) -> str:
    words = clean_text(text, "note", multiline=True, max_length=NOTE_MAX)
    if not words:
        raise ValueError("the note is empty")
    return words


def add_note(
    session: Session, person: Person, text: str, *, actor: str, now: datetime | None = None
) -> CaseNote:
    """A new note on the person (on their open episode, if they have one)."""
    words = _text(text)
    episode = open_episode(session, person)
    note = CaseNote(
        person_id=person.id,
        episode_id=episode.id if episode else None,
        text=words,
        written_at=now or utcnow(),
        created_by=actor,
    )
    session.add(note)
    session.flush()
    record_event(
        session,
        actor,
        "create",
        "case-note",
        note.id,
        {"characters": len(words)},
        person_id=person.id,
    )
    return note


def get_note(session: Session, ref: str) -> CaseNote:
    return by_id(session, CaseNote, ref, "note")


def correct_note(
    session: Session, old: CaseNote, text: str, *, actor: str, now: datetime | None = None
) -> CaseNote:
    """Correct a note: a new note with the right text, the old one marked as corrected by
    it (and kept)."""
    words = _text(text)
    if old.corrected_by:
        raise ValueError(
            f"note {old.id[:8]} was corrected already (by note {old.corrected_by[:8]}): "
            "correct that one instead"
        )
    note = CaseNote(
        person_id=old.person_id,
        episode_id=old.episode_id,
        text=words,
        written_at=now or utcnow(),
        created_by=actor,
        corrects=old.id,
    )
    session.add(note)
    session.flush()
    old.corrected_by = note.id
    session.add(old)
    session.flush()
    record_event(
        session,
        actor,
        "correct",
        "case-note",
        old.id,
        {"corrected_by": note.id, "characters": len(words)},
        person_id=old.person_id,
    )
    return note


def list_notes(session: Session, person: Person) -> list[CaseNote]:
    """A person's notes, newest first (corrected ones included, marked)."""
    return list(
        session.exec(
            select(CaseNote)
            .where(CaseNote.person_id == person.id)
            .order_by(col(CaseNote.written_at).desc())
        ).all()
    )
