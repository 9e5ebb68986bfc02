"""Casework (issue 20): episodes, contacts, case notes, goals and the caseload; one
function per user action, called by the CLI (``linkwork/cli/casework.py``) and the app.

Each returns plain data (dicts of text, numbers, None; times as ISO 8601 UTC strings,
dates as ISO dates) that a screen can show as it is; mistakes are ValueError/LookupError
in words (``linkwork.errors``). Every change is audited in the domain
(``screening.casework``), in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from linkwork.actions import audit
from linkwork.actions.rows import ONS4_LABELS, service_name
from linkwork.workspace import Workspace
from screening.casework import caseload as caseload_in
from screening.casework import contacts, episodes, goals, notes
from screening.casework.common import (
    ONS4_FIELDS,
    contact_dict,
    episode_dict,
    episodes_of,
    note_dict,
    open_episode,
    parse_day,
    parse_when,
)
from screening.models import Referral
from screening.people import get_person, show_person

# --- input as typed -----------------------------------------------------------------------


def ons4_score(value: str | int | None, label: str) -> int | None:
    """One ONS4 answer: empty is None (not asked), else a whole number from 0 to 10."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 2 or not 0 <= int(text) <= 10:
        raise ValueError(f"ONS4 {label.lower()}: use a whole number from 0 to 10, not {text!r}")
    return int(text)


def parse_ons4(value: str | Mapping[str, str | int | None] | None) -> dict[str, int | None]:
    """The four ONS4 answers from ``"7,8,6,3"`` (satisfied, worthwhile, happy, anxious;
    an empty place for one not asked) or from a mapping of item -> text or number (the
    app's form). Empty when none was given."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != len(ONS4_FIELDS):
            raise ValueError("ONS4 takes four numbers: satisfied,worthwhile,happy,anxious")
        value = dict(zip(ONS4_FIELDS, parts, strict=True))
    unknown = sorted(set(value) - set(ONS4_FIELDS))
    if unknown:
        raise ValueError(f"unknown ONS4 item {unknown[0]!r}: use {', '.join(ONS4_FIELDS)}")
    scores = {name: ons4_score(value.get(name), ONS4_LABELS[name]) for name in ONS4_FIELDS}
    return scores if any(v is not None for v in scores.values()) else {}


# The app's casework form fields, checked as they are typed (issue 22, point 3): the same
# rules the actions apply on save, so a form says what is wrong while the field is open.
# Each: (rule, the most characters the field holds).
FIELD_RULES: dict[str, tuple[str, int]] = {
    "source": ("choice:" + ",".join(episodes.SOURCES), 20),
    "what_matters": ("text", episodes.WHAT_MATTERS_MAX),
    "goal": ("needed", goals.GOAL_MAX),
    "need": ("text", 20),
    "by": ("date", 20),
    "on": ("date", 20),
    "progress": ("choice:" + ",".join(goals.PROGRESS), 30),
    "when": ("when", 30),
    "kind": ("choice:" + ",".join(contacts.KINDS), 30),
    "status": ("choice:" + ",".join(s for s in contacts.STATUSES if s != "booked"), 30),
    "minutes": ("minutes", 5),
    "ons4": ("ons4", 30),
    "contact_note": ("text", contacts.NOTE_MAX),
    "case_note": ("needed", notes.NOTE_MAX),
    "reason": ("choice:" + ",".join(episodes.CLOSE_REASONS), 30),
    "end_note": ("text", episodes.END_NOTE_MAX),
    "yes_no": ("choice:y,n,yes,no", 3),
}


def field_limit(name: str) -> int:
    """The most characters the app's casework field ``name`` holds (0: no rule)."""
    return FIELD_RULES.get(name, ("", 0))[1]


def check_field(name: str, text: str, *, saving: bool = False) -> str:
    """A casework form field checked as it is typed: '' when fine (or empty and optional),
    else the reason in words, as a sentence. A needed field left empty is only said on
    save (``saving``), not while the form is being filled."""
    rule, limit = FIELD_RULES.get(name, ("text", 0))
    value = text.strip()
    if limit and len(text) > limit:
        return f"Too long ({len(text):,} characters; at most {limit:,})."
    if not value:
        needed = rule in ("needed", "when")
        return "This is needed." if needed and saving else ""
    try:
        if rule.startswith("choice:"):
            choices = rule.removeprefix("choice:").split(",")
            if value.lower().replace(" ", "-") not in choices:
                return f"Use one of: {', '.join(choices)}."
        elif rule == "date":
            parse_day(value, "date")
        elif rule == "when":
            parse_when(value, "date")
        elif rule == "minutes":
            most = contacts.MAX_MINUTES
            if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= most:
                return f"Minutes: a whole number from 1 to {most}."
        elif rule == "ons4":
            parse_ons4(value)
    except ValueError as exc:
        words = str(exc)
        return words[:1].upper() + words[1:] + "."
    return ""


# --- episodes -----------------------------------------------------------------------------


def start_episode(
    ws: Workspace, person_ref: str, *, source: str = "gp", at: datetime | str | None = None
) -> dict[str, Any]:
    """Start a person's social prescribing episode (records SNOMED CT 871731000000106
    once). Returns ``episode_dict``: id, person_id, status ("open"), source, started_at,
    started_by, what_matters, code, code_display, ended_at, ended_by, end_reason,
    end_note."""
    with ws.session() as session:
        person = get_person(session, person_ref)
        return episode_dict(
            episodes.start_episode(session, person, actor=ws.user, source=source, at=at)
        )


def decline_episode(ws: Workspace, person_ref: str, *, note: str = "") -> dict[str, Any]:
    """The person declines social prescribing (their open episode, or a new one, ends as
    declined). Returns ``episode_dict`` (status "declined")."""
    with ws.session() as session:
        person = get_person(session, person_ref)
        return episode_dict(episodes.decline_episode(session, person, actor=ws.user, note=note))


def close_episode(
    ws: Workspace,
    person_ref: str,
    *,
    reason: str,
    note: str = "",
    gp_summary: str | Path | None = None,
) -> dict[str, Any]:
    """Close the person's open episode with a reason (goals-met, moved-away, declined,
    no-contact, other). Returns ``episode_dict`` (status "closed") plus ``contacts`` (how
    many happened or were tried) and ``gp_summary``: None, or with ``gp_summary=FILE``
    what ``careplan.write_gp_summary`` returns (file, needs, goals, referrals,
    observations): the FHIR document Bundle for the GP, written atomically in the same
    transaction as the close (a file that cannot be written leaves the episode open)."""
    from linkwork.actions import careplan

    target = careplan.target_file(gp_summary, "GP summary", ".json") if gp_summary else None
    with ws.session() as session:
        person = get_person(session, person_ref)
        episode = episodes.close_episode(session, person, actor=ws.user, reason=reason, note=note)
        data = episode_dict(episode)
        tried = [
            c
            for c in contacts.list_contacts(session, person, episode_id=episode.id)
            if c.status in ("attended", "did-not-attend", "no-answer")
        ]
        data["contacts"] = len(tried)
        data["gp_summary"] = (
            careplan.write_gp_summary(session, ws, episode, target) if target else None
        )
        return data


def set_what_matters(ws: Workspace, person_ref: str, text: str) -> dict[str, Any]:
    """ "What matters to me" on the open episode. Returns ``episode_dict``."""
    with ws.session() as session:
        person = get_person(session, person_ref)
        return episode_dict(episodes.set_what_matters(session, person, text, actor=ws.user))


def list_episodes(ws: Workspace, person_ref: str) -> list[dict[str, Any]]:
    """A person's episodes, newest first (``episode_dict`` each); not audited as a view
    (the person's record is: ``casework_record``)."""
    with ws.session() as session:
        person = get_person(session, person_ref)
        return [episode_dict(e) for e in episodes_of(session, person)]


# --- contacts -----------------------------------------------------------------------------


def add_contact(
    ws: Workspace,
    person_ref: str,
    *,
    at: datetime | str,
    kind: str,
    status: str | None = None,
    minutes: int | None = None,
    note: str = "",
    ons4: str | Mapping[str, str | int | None] | None = None,
) -> dict[str, Any]:
    """Book or record a contact on the open episode (status by default: booked for a
    time to come, attended for one past). Returns ``contact_dict``: id, person_id,
    episode_id, at, kind, status, minutes, note, ons4 (dict of the four or None),
    recorded_at, recorded_by, needs_outcome (booked and its time passed)."""
    answers = parse_ons4(ons4)
    with ws.session() as session:
        person = get_person(session, person_ref)
        contact = contacts.add_contact(
            session,
            person,
            actor=ws.user,
            at=at,
            kind=kind,
            status=status,
            minutes=minutes,
            note=note,
            ons4=answers,
        )
        return contact_dict(contact)


def set_contact_status(
    ws: Workspace,
    contact_ref: str,
    status: str,
    *,
    minutes: int | None = None,
    note: str = "",
    ons4: str | Mapping[str, str | int | None] | None = None,
) -> dict[str, Any]:
    """What happened to a booked contact (attended, did-not-attend, cancelled, no-answer;
    the app's did-not-attend key calls this with "did-not-attend"). Returns
    ``contact_dict``."""
    answers = parse_ons4(ons4)
    with ws.session() as session:
        contact = contacts.get_contact(session, contact_ref)
        changed = contacts.set_contact_status(
            session, contact, status, actor=ws.user, minutes=minutes, note=note, ons4=answers
        )
        return contact_dict(changed)


def list_contacts(ws: Workspace, person_ref: str) -> list[dict[str, Any]]:
    """A person's contacts, oldest first (``contact_dict`` each); audited as a view of
    their record."""
    with ws.session() as session:
        person = show_person(session, person_ref, actor=ws.user)
        return [contact_dict(c) for c in contacts.list_contacts(session, person)]


# --- notes --------------------------------------------------------------------------------


def add_note(ws: Workspace, person_ref: str, text: str) -> dict[str, Any]:
    """A case note on the person. Returns ``note_dict``: id, person_id, episode_id, text,
    written_at, written_by, corrects, corrected_by, current."""
    with ws.session() as session:
        person = get_person(session, person_ref)
        return note_dict(notes.add_note(session, person, text, actor=ws.user))


def correct_note(ws: Workspace, note_ref: str, text: str) -> dict[str, Any]:
    """Correct a note: the new note (``note_dict``, ``corrects`` = the old one's id)."""
    with ws.session() as session:
        old = notes.get_note(session, note_ref)
        return note_dict(notes.correct_note(session, old, text, actor=ws.user))


def list_notes(ws: Workspace, person_ref: str) -> list[dict[str, Any]]:
    """A person's notes, newest first, corrected ones included (``current`` False);
    audited as a view of their record."""
    with ws.session() as session:
        person = show_person(session, person_ref, actor=ws.user)
        return [note_dict(n) for n in notes.list_notes(session, person)]


# --- goals --------------------------------------------------------------------------------


def add_goal(
    ws: Workspace,
    person_ref: str,
    text: str,
    *,
    need: str | None = None,
    by: date | str | None = None,
) -> dict[str, Any]:
    """A goal on the open episode, optionally for one of the person's active needs (a
    code like Z59.0, a domain key or a need id) and with a target date. Returns
    ``goal_detail``: ``goal_dict`` (id, person_id, episode_id, text, need_id, target,
    progress, progress_on, created_at, created_by) plus need, referrals, history."""
    with ws.session() as session:
        person = get_person(session, person_ref)
        goal = goals.add_goal(session, person, text, actor=ws.user, need=need, by=by)
        return _goal_detail(session, goal)


def goal_progress(
    ws: Workspace, goal_ref: str, progress: str, *, on: date | str | None = None
) -> dict[str, Any]:
    """Record a goal's progress (not-started, some, mostly, achieved, no-longer-wanted) as
    it was on a date (default today). Returns ``goal_detail``."""
    with ws.session() as session:
        goal = goals.get_goal(session, goal_ref)
        return _goal_detail(
            session, goals.set_progress(session, goal, progress, actor=ws.user, on=on)
        )


def list_goals(ws: Workspace, person_ref: str) -> list[dict[str, Any]]:
    """A person's goals, oldest first (``goal_detail`` each: with the need, the referrals
    made for it and the progress history); audited as a view of their record."""
    with ws.session() as session:
        person = show_person(session, person_ref, actor=ws.user)
        return [_goal_detail(session, g) for g in goals.list_goals(session, person)]


def _goal_detail(session: Any, goal: Any) -> dict[str, Any]:
    data = goals.goal_detail(session, goal)
    for referral in data["referrals"]:
        row = session.get(Referral, referral["id"])
        referral["to"] = service_name(session, row) if row is not None else "-"
    return data


# --- the person's casework at a glance, and the caseload ----------------------------------


def casework_record(
    ws: Workspace, person_ref: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """What the person's screen shows of their casework (audited as a view): ``person_id``,
    ``episode`` (the open one, or the latest; ``episode_dict`` or None), ``episodes``
    (all, newest first), ``goals`` (``goal_detail`` each), ``contacts`` (oldest first),
    ``notes`` (newest first) and ``ons4_trend`` (see ``ons4_trend``). ``now``: the clock
    a booked contact's time is compared with (the app's fixed clock in its tests)."""
    with ws.session() as session:
        person = show_person(session, person_ref, actor=ws.user)
        every = episodes_of(session, person)
        current = open_episode(session, person) or (every[0] if every else None)
        return {
            "person_id": person.id,
            "episode": episode_dict(current) if current else None,
            "episodes": [episode_dict(e) for e in every],
            "goals": [_goal_detail(session, g) for g in goals.list_goals(session, person)],
            "contacts": [contact_dict(c, now) for c in contacts.list_contacts(session, person)],
            "notes": [note_dict(n) for n in notes.list_notes(session, person)],
            "ons4_trend": contacts.ons4_trend(session, person),
        }


def ons4_trend(session: Any, person: Any) -> list[dict[str, Any]]:
    """For ``people.person_record`` (same session): the person's ONS4 answers from their
    contacts, oldest first: at, episode_id, contact_id, when ("start" or "review"),
    satisfied, worthwhile, happy, anxious."""
    return contacts.ons4_trend(session, person)


def caseload(
    ws: Workspace,
    *,
    everyone: bool = False,
    quiet_weeks: int = caseload_in.QUIET_WEEKS,
    sort: str = "attention",
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Open episodes (the acting user's, or ``everyone``'s), one dict each: episode_id,
    person_id, name, started_at, source, last_contact and next_contact (id, at, kind,
    status; or None), no_outcome, overdue_followups, days_since_contact, quiet, contacts.
    Sorted by ``sort``: attention (most flags, longest quiet first), last, next, name,
    started. ``now``: the clock (the app's fixed clock in its tests), default now."""
    with ws.session() as session:
        rows = caseload_in.caseload(
            session,
            worker=None if everyone else ws.user,
            quiet_weeks=quiet_weeks,
            sort=sort,
            now=now,
        )
        audit.bulk_view(session, ws, "caseload", {"everyone": everyone}, len(rows))
        return rows
