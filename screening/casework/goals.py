"""Goals of the person's plan: in their words, on their open episode, optionally for one
of their needs (and so linked to the referrals made for that need), with a date to aim
for; progress (not started, some, mostly, achieved, no longer wanted) with the date it was
so, each change kept (``goal_progress``). Audited; nothing deleted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from directory.untrusted import clean_text
from screening.audit import record_event
from screening.casework.common import goal_dict, need_open_episode, parse_day
from screening.casework.models import Goal, GoalProgress
from screening.lookup import by_id
from screening.models import Need, Person, Referral, ReferralNeed, as_utc, utcnow
from screening.needs import resolve_code

PROGRESS = ("not-started", "some", "mostly", "achieved", "no-longer-wanted")
GOAL_MAX = 1000


def _progress(value: str) -> str:
    text = str(value or "").strip().lower().replace(" ", "-")
    if text not in PROGRESS:
        raise ValueError(f"progress {value!r} is not one of: {', '.join(PROGRESS)}")
    return text


def _need_of(session: Session, person: Person, ref: str) -> Need:
    """The person's active need named by a code (Z59.0, a domain key) or a need id."""
    text = str(ref).strip()
    found = session.get(Need, text)
    if found is not None and found.person_id == person.id:
        return found
    wanted = resolve_code(text)
    need = session.exec(
        select(Need).where(
            Need.person_id == person.id,
            Need.code == wanted.code,
            Need.system == wanted.system,
            Need.status == "active",
        )
    ).first()
    if need is None:
        raise ValueError(
            f"{wanted.display} ({wanted.code}) is not an active need of "
            f"{person.given_name} {person.family_name}: "
            "record it first (linkwork need add)"
        )
    return need


def add_goal(
    session: Session,
    person: Person,
    text: str,
    *,
    actor: str,
    need: str | None = None,
    by: date | str | None = None,
    now: datetime | None = None,
) -> Goal:
    words = clean_text(text, "goal", multiline=False, max_length=GOAL_MAX)
    if not words:
        raise ValueError("the goal is empty: write it in the person's words")
    target = parse_day(by, "target date") if by else None
    now = now or utcnow()
    if target is not None and target < as_utc(now).date():
        raise ValueError(f"the target date {target:%d/%m/%Y} has passed already")
    episode = need_open_episode(session, person, "adding a goal")
    linked = _need_of(session, person, need) if need else None
    goal = Goal(
        person_id=person.id,
        episode_id=episode.id,
        text=words,
        need_id=linked.id if linked else None,
        target=target,
        created_at=now,
        created_by=actor,
    )
    session.add(goal)
    session.flush()
    record_event(
        session,
        actor,
        "create",
        "goal",
        goal.id,
        {"need": linked.code if linked else None},
        person_id=person.id,
    )
    return goal


def get_goal(session: Session, ref: str) -> Goal:
    return by_id(session, Goal, ref, "goal")


def set_progress(
    session: Session,
    goal: Goal,
    progress: str,
    *,
    actor: str,
    on: date | str | None = None,
    now: datetime | None = None,
) -> Goal:
    value = _progress(progress)
    now = now or utcnow()
    day = parse_day(on, "date") if on else as_utc(now).date()
    if day > as_utc(now).date():
        raise ValueError(f"progress on {day:%d/%m/%Y} is in the future")
    before = goal.progress
    goal.progress = value
    goal.progress_on = day
    session.add(goal)
    session.add(GoalProgress(goal_id=goal.id, progress=value, on=day, recorded_by=actor))
    session.flush()
    record_event(
        session,
        actor,
        "progress",
        "goal",
        goal.id,
        {"from": before, "to": value, "on": day.isoformat()},
        person_id=goal.person_id,
    )
    return goal


def list_goals(session: Session, person: Person) -> list[Goal]:
    return list(
        session.exec(
            select(Goal).where(Goal.person_id == person.id).order_by(col(Goal.created_at))
        ).all()
    )


def goal_history(session: Session, goal: Goal) -> list[GoalProgress]:
    return list(
        session.exec(
            select(GoalProgress)
            .where(GoalProgress.goal_id == goal.id)
            .order_by(col(GoalProgress.on), col(GoalProgress.id))
        ).all()
    )


def goal_detail(session: Session, goal: Goal) -> dict[str, Any]:
    """``goal_dict`` with its need (code, display, status), the referrals made for that
    need (id, status, service id or hub) and the progress history."""
    data = goal_dict(goal)
    need = session.get(Need, goal.need_id) if goal.need_id else None
    data["need"] = (
        {"id": need.id, "code": need.code, "display": need.display, "status": need.status}
        if need
        else None
    )
    referrals: list[dict[str, Any]] = []
    if need is not None:
        rows = session.exec(
            select(Referral)
            .join(ReferralNeed, col(ReferralNeed.referral_id) == col(Referral.id))
            .where(ReferralNeed.need_id == need.id)
            .order_by(col(Referral.created_at))
        ).all()
        referrals = [
            {"id": r.id, "status": r.status, "service_id": r.service_id, "hub": r.hub} for r in rows
        ]
    data["referrals"] = referrals
    data["history"] = [
        {"progress": h.progress, "on": h.on.isoformat(), "by": h.recorded_by}
        for h in goal_history(session, goal)
    ]
    return data
