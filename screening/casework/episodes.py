"""Social prescribing episodes: start (the referral to the link worker, or the person's
own), decline, close with a reason, and "what matters to me" in the person's words.

At most one episode of a person is open. Starting records the SNOMED CT concept
``concepts.STARTED`` on the episode, once per episode (never per contact); declining
records ``concepts.DECLINED`` when a checked concept exists (none yet: see
``screening.casework.concepts``). Every change is audited; nothing is deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from directory.untrusted import clean_text
from screening.audit import record_event, write_lock
from screening.casework import concepts
from screening.casework.common import need_open_episode, open_episode, parse_when
from screening.casework.models import Episode
from screening.models import Person, as_utc, utcnow

SOURCES = ("gp", "self", "other")
CLOSE_REASONS = ("goals-met", "moved-away", "declined", "no-contact", "other")
WHAT_MATTERS_MAX = 4000
END_NOTE_MAX = 2000


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    text = str(value or "").strip().lower()
    if text not in allowed:
        raise ValueError(f"{what} {value!r} is not one of: {', '.join(allowed)}")
    return text


def _when(at: datetime | str | None, now: datetime, what: str) -> datetime:
    when = parse_when(at, what) if at is not None else now
    if when > now:
        raise ValueError(f"the {what} cannot be in the future")
    return when


def start_episode(
    session: Session,
    person: Person,
    *,
    actor: str,
    source: str = "gp",
    at: datetime | str | None = None,
    now: datetime | None = None,
) -> Episode:
    """Open an episode; ValueError if one is open already."""
    source = _choice(source, SOURCES, "referral source")
    now = now or utcnow()
    when = _when(at, now, "start")
    write_lock(session, f"episode:{person.id}")  # two starts at once: the second is refused
    existing = open_episode(session, person)
    if existing is not None:
        started = as_utc(existing.started_at).strftime("%d %b %Y")
        raise ValueError(
            f"{person.given_name} {person.family_name} already has an open episode "
            f"(started {started}: {existing.id[:8]})"
        )
    concept = concepts.STARTED
    episode = Episode(
        person_id=person.id,
        source=source,
        started_at=when,
        created_by=actor,
        code=concept.code,
        code_display=concept.display,
    )
    session.add(episode)
    session.flush()
    record_event(
        session,
        actor,
        "create",
        "episode",
        episode.id,
        {"source": source, "code": episode.code},
        person_id=person.id,
    )
    return episode


def decline_episode(
    session: Session,
    person: Person,
    *,
    actor: str,
    note: str = "",
    now: datetime | None = None,
) -> Episode:
    """The person declines social prescribing: their open episode ends as declined, or,
    with none open, a declined episode is recorded (the referral came, the person said no)."""
    note = clean_text(note or "", "note", multiline=True, max_length=END_NOTE_MAX)
    now = now or utcnow()
    write_lock(session, f"episode:{person.id}")
    episode = open_episode(session, person)
    if episode is None:
        episode = Episode(person_id=person.id, started_at=now, created_by=actor)
    declined = concepts.DECLINED
    episode.status = "declined"
    episode.ended_at = now
    episode.ended_by = actor
    episode.end_reason = "declined"
    episode.end_note = note
    if declined is not None:
        episode.code, episode.code_display = declined.code, declined.display
    session.add(episode)
    session.flush()
    record_event(
        session,
        actor,
        "decline",
        "episode",
        episode.id,
        {"code": declined.code if declined else ""},
        person_id=person.id,
    )
    return episode


def close_episode(
    session: Session,
    person: Person,
    *,
    actor: str,
    reason: str,
    note: str = "",
    now: datetime | None = None,
) -> Episode:
    """End the open episode with a reason (``CLOSE_REASONS``)."""
    reason = _choice(reason, CLOSE_REASONS, "reason")
    note = clean_text(note or "", "note", multiline=True, max_length=END_NOTE_MAX)
    episode = need_open_episode(session, person, "closing it")
    episode.status = "closed"
    episode.ended_at = now or utcnow()
    episode.ended_by = actor
    episode.end_reason = reason
    episode.end_note = note
    session.add(episode)
    session.flush()
    record_event(
        session, actor, "close", "episode", episode.id, {"reason": reason}, person_id=person.id
    )
    return episode


def set_what_matters(
    session: Session, person: Person, text: str, *, actor: str, now: datetime | None = None
) -> Episode:
    """ "What matters to me", in the person's words, on their open episode (replacing what
    was written before; the audit trail keeps that it changed)."""
    words = clean_text(text, "what matters", multiline=True, max_length=WHAT_MATTERS_MAX)
    if not words:
        raise ValueError("what matters to the person is empty: write it in their words")
    episode = need_open_episode(session, person, "writing what matters to them")
    first = not episode.what_matters
    episode.what_matters = words
    episode.what_matters_at = now or utcnow()
    session.add(episode)
    session.flush()
    record_event(
        session,
        actor,
        "what-matters",
        "episode",
        episode.id,
        {"first": first, "characters": len(words)},
        person_id=person.id,
    )
    return episode
