"""Casework tables: a person's social prescribing episodes, the contacts with them, case
notes, and the goals of their plan with each change of progress (issue 20).

Every table holds a person's data, so each carries ``org`` (the organisation holding the
row, filled from its parent by ``screening.organisations``). Nothing here is ever deleted:
an episode is closed or declined, a contact's status changes, a note is corrected by a new
note, a goal's progress is a new ``goal_progress`` row. Times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from screening.models import TZ, new_id, utcnow
from screening.organisations import org_field


class Episode(SQLModel, table=True):
    """One social prescribing episode: from the referral to the link worker (or the
    person's own) to its close with a reason, or declined. At most one open per person.
    ``code`` is the SNOMED CT concept recorded for the episode, once (start or decline;
    empty where no checked concept exists: ``screening.casework.concepts``)."""

    __tablename__ = "episode"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    status: str = Field(default="open", max_length=20, index=True)  # open | closed | declined
    source: str = Field(default="gp", max_length=20)  # gp | self | other
    started_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    created_by: str = Field(default="", max_length=200)
    what_matters: str = ""  # "what matters to me", in the person's words
    what_matters_at: datetime | None = Field(default=None, sa_type=TZ)
    code: str = Field(default="", max_length=40)
    code_display: str = Field(default="", max_length=200)
    ended_at: datetime | None = Field(default=None, sa_type=TZ)
    ended_by: str = Field(default="", max_length=200)
    end_reason: str = Field(default="", max_length=40)
    end_note: str = ""
    org: str = org_field()


class Contact(SQLModel, table=True):
    """A contact with the person (booked, or what happened), with ONS4 wellbeing answers
    when they were asked (at the first contact and at reviews)."""

    __tablename__ = "contact"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    episode_id: str = Field(foreign_key="episode.id", index=True, max_length=36)
    at: datetime = Field(sa_type=TZ, index=True)
    kind: str = Field(max_length=20)  # face-to-face | phone | video | home-visit | group
    status: str = Field(default="booked", max_length=20)
    minutes: int | None = None
    note: str = ""
    ons4_satisfied: int | None = None
    ons4_worthwhile: int | None = None
    ons4_happy: int | None = None
    ons4_anxious: int | None = None
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    recorded_by: str = Field(default="", max_length=200)
    status_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    org: str = org_field()


class CaseNote(SQLModel, table=True):
    """A free-text case note. Never deleted, never sent anywhere (not in referrals, not in
    reports): a correction is a new note (``corrects``) and the old one is marked
    ``corrected_by``."""

    __tablename__ = "case_note"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    episode_id: str | None = Field(default=None, foreign_key="episode.id", max_length=36)
    text: str
    written_at: datetime = Field(default_factory=utcnow, sa_type=TZ, index=True)
    created_by: str = Field(default="", max_length=200)
    corrects: str | None = Field(default=None, max_length=36)  # the note this one corrects
    corrected_by: str | None = Field(default=None, max_length=36)  # the note correcting it
    org: str = org_field()


class Goal(SQLModel, table=True):
    """A goal of the person's plan, in their words, optionally for one of their needs
    (so linked to the referrals made for that need) and with a date to aim for."""

    __tablename__ = "goal"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    episode_id: str = Field(foreign_key="episode.id", index=True, max_length=36)
    text: str
    need_id: str | None = Field(default=None, foreign_key="need.id", max_length=36)
    target: date | None = None
    progress: str = Field(default="not-started", max_length=20)
    progress_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    created_by: str = Field(default="", max_length=200)
    org: str = org_field()


class GoalProgress(SQLModel, table=True):
    """Each change of a goal's progress, with the date it was so."""

    __tablename__ = "goal_progress"

    id: int | None = Field(default=None, primary_key=True)
    goal_id: str = Field(foreign_key="goal.id", index=True, max_length=36)
    progress: str = Field(max_length=20)
    on: date
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    recorded_by: str = Field(default="", max_length=200)
    org: str = org_field()


CASEWORK_TABLES = (Episode, Contact, CaseNote, Goal, GoalProgress)
