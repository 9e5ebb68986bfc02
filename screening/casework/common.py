"""What the casework modules share: dates and times as typed, ONS4 answers, the person's
open episode, and each row as a plain dict."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import Session, col, select

from directory.untrusted import shown
from screening.casework.models import CaseNote, Contact, Episode, Goal
from screening.models import Person, as_utc, utcnow

ONS4_FIELDS = ("satisfied", "worthwhile", "happy", "anxious")


def _numbers(text: str, sep: str) -> list[int] | None:
    parts = text.split(sep)
    if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
        return None
    return [int(p) for p in parts]


def parse_day(value: date | str, what: str = "date") -> date:
    """A date as typed: YYYY-MM-DD, or DD/MM/YYYY (also with - or .)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    found: list[int] | None = None
    for sep in ("-", "/", "."):
        if text.count(sep) == 2:
            found = _numbers(text, sep)
            break
    if not found:
        raise ValueError(f"{what} {shown(text)} is not a date: use DD/MM/YYYY or YYYY-MM-DD")
    first, second, third = found
    year, month, day = (first, second, third) if first > 31 else (third, second, first)
    if year < 1000:
        raise ValueError(f"{what} {shown(text)}: give the year in full, for example 2026")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{what} {shown(text)} is not a real date") from None


def parse_when(value: datetime | str, what: str = "time") -> datetime:
    """A date and time as typed, in local time: ``YYYY-MM-DD HH:MM`` (or with a T), or
    ``DD/MM/YYYY HH:MM``; a date alone is taken as 09:00. Returned in UTC. A datetime
    without a zone is local time (the link worker's clock)."""
    if isinstance(value, datetime):
        return as_utc(value) if value.tzinfo else value.astimezone(UTC)
    text = " ".join(str(value).replace("T", " ").split())
    day_text, _, time_text = text.partition(" ")
    day = parse_day(day_text, what)
    at = time(9, 0)
    if time_text:
        hm = _numbers(time_text, ":") if time_text.count(":") in (1, 2) else None
        if not hm or not (0 <= hm[0] <= 23 and all(0 <= v <= 59 for v in hm[1:])):
            raise ValueError(f"{what} {shown(text)}: give the time as HH:MM, like 14:30")
        at = time(hm[0], hm[1], hm[2] if len(hm) > 2 else 0)
    return datetime.combine(day, at).astimezone(UTC)


def check_ons4(values: Mapping[str, int | None] | None) -> dict[str, int | None]:
    """``ons4_<item>`` -> 0..10 or None, from a mapping of the four items (with or without
    the ``ons4_`` prefix). Empty when nothing was asked."""
    out: dict[str, int | None] = {}
    for key, value in (values or {}).items():
        name = key.removeprefix("ons4_")
        if name not in ONS4_FIELDS:
            raise ValueError(f"unknown ONS4 item {key!r}: use {', '.join(ONS4_FIELDS)}")
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10
        ):
            raise ValueError(f"ONS4 {name} must be a whole number from 0 to 10, not {value!r}")
        out[f"ons4_{name}"] = value
    return out if any(v is not None for v in out.values()) else {}


def open_episode(session: Session, person: Person) -> Episode | None:
    return session.exec(
        select(Episode).where(Episode.person_id == person.id, Episode.status == "open")
    ).first()


def need_open_episode(session: Session, person: Person, doing: str) -> Episode:
    """The person's open episode; ValueError (in words, with the command) if none."""
    episode = open_episode(session, person)
    if episode is None:
        raise ValueError(
            f"{person.given_name} {person.family_name} has no open social prescribing "
            f"episode: start one before {doing} (linkwork episode start {person.id[:8]})"
        )
    return episode


def episodes_of(session: Session, person: Person) -> list[Episode]:
    return list(
        session.exec(
            select(Episode)
            .where(Episode.person_id == person.id)
            .order_by(col(Episode.started_at).desc())
        ).all()
    )


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def episode_dict(episode: Episode) -> dict[str, Any]:
    return {
        "id": episode.id,
        "person_id": episode.person_id,
        "status": episode.status,
        "source": episode.source,
        "started_at": _iso(episode.started_at),
        "started_by": episode.created_by,
        "what_matters": episode.what_matters,
        "what_matters_at": _iso(episode.what_matters_at),
        "code": episode.code,
        "code_display": episode.code_display,
        "ended_at": _iso(episode.ended_at),
        "ended_by": episode.ended_by,
        "end_reason": episode.end_reason,
        "end_note": episode.end_note,
    }


def ons4_of(row: Any) -> dict[str, int | None]:
    return {name: getattr(row, f"ons4_{name}") for name in ONS4_FIELDS}


def contact_dict(contact: Contact, now: datetime | None = None) -> dict[str, Any]:
    ons4 = ons4_of(contact)
    now = now or utcnow()
    return {
        "id": contact.id,
        "person_id": contact.person_id,
        "episode_id": contact.episode_id,
        "at": _iso(contact.at),
        "kind": contact.kind,
        "status": contact.status,
        "minutes": contact.minutes,
        "note": contact.note,
        "ons4": ons4 if any(v is not None for v in ons4.values()) else None,
        "recorded_at": _iso(contact.recorded_at),
        "recorded_by": contact.recorded_by,
        # a booked contact whose time has passed: it needs its outcome recording
        "needs_outcome": contact.status == "booked" and as_utc(contact.at) < now,
    }


def note_dict(note: CaseNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "person_id": note.person_id,
        "episode_id": note.episode_id,
        "text": note.text,
        "written_at": _iso(note.written_at),
        "written_by": note.created_by,
        "corrects": note.corrects,
        "corrected_by": note.corrected_by,
        "current": note.corrected_by is None,
    }


def goal_dict(goal: Goal) -> dict[str, Any]:
    return {
        "id": goal.id,
        "person_id": goal.person_id,
        "episode_id": goal.episode_id,
        "text": goal.text,
        "need_id": goal.need_id,
        "target": goal.target.isoformat() if goal.target else None,
        "progress": goal.progress,
        "progress_on": goal.progress_on.isoformat() if goal.progress_on else None,
        "created_at": _iso(goal.created_at),
        "created_by": goal.created_by,
    }
