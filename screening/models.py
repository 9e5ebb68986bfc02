"""The person's record: people, screenings and answers, coded needs, consent, referrals with
their status history, outcomes, and the tamper-evident audit trail.

Record entities that travel in FHIR (person, screening, need, consent, referral, outcome)
have string UUID primary keys, so a hub can keep the practice's ids. Timestamps are
timezone-aware UTC (SQLite hands them back naive: treat naive as UTC, see ``as_utc``).
Categorical equality fields store codes from ``screening/equality.yaml``, never free text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import directory.models  # noqa: F401  (the service table that referrals and consents point at)
from screening.organisations import install_org_filling, org_field


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime (SQLite returns naive values: they were stored as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def new_id() -> str:
    return str(uuid4())


TZ = sa.DateTime(timezone=True)

NOT_ASKED = "not-asked"
PREFER_NOT = "prefer-not-to-say"


class Person(SQLModel, table=True):
    __tablename__ = "person"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    given_name: str = Field(max_length=200)
    family_name: str = Field(max_length=200, index=True)
    birth_date: date
    nhs_number: str | None = Field(default=None, max_length=10, unique=True)
    postcode: str = Field(default="", max_length=8)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=200)
    contact_preference: str = Field(default="", max_length=20)
    practice_ods: str = Field(default="", max_length=10, index=True)
    # Equality fields: codes from screening/equality.yaml. Never required, never guessed.
    ethnic_category: str = Field(default="99", max_length=2, index=True)
    sex: str = Field(default=NOT_ASKED, max_length=20)
    gender_same_as_birth: str = Field(default=NOT_ASKED, max_length=20)
    sexual_orientation: str = Field(default=NOT_ASKED, max_length=20)
    disability: str = Field(default=NOT_ASKED, max_length=20)
    religion: str = Field(default=NOT_ASKED, max_length=20)
    main_language: str = Field(default=NOT_ASKED, max_length=20)
    interpreter_needed: str = Field(default=NOT_ASKED, max_length=20)
    immigration_status: str = Field(default=NOT_ASKED, max_length=30)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    created_by: str = Field(default="", max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class Screening(SQLModel, table=True):
    """One completed (or started) questionnaire. ONS4 answers are also kept as columns so
    outcome changes can be counted in SQL."""

    __tablename__ = "screening"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    questionnaire_id: str = Field(max_length=100)
    questionnaire_version: str = Field(default="", max_length=40)
    status: str = Field(default="completed", max_length=20)  # in-progress | completed
    started_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    completed_at: datetime | None = Field(default=None, sa_type=TZ)
    recorded_by: str = Field(default="", max_length=200)
    ons4_satisfied: int | None = None
    ons4_worthwhile: int | None = None
    ons4_happy: int | None = None
    ons4_anxious: int | None = None
    # Suggested needs awaiting the link worker: list of {code, system, display, domain,
    # questions: [...], state: pending|confirmed|rejected, need_id}.
    suggestions: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    # The sections not asked (the person did not raise them): their domains, in the
    # questionnaire's order. Their questions have no answers, and "not asked" is never
    # "no need" (screening.questionnaire.skipped_titles reads them back in words).
    skipped: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"server_default": "[]"}
    )
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class Answer(SQLModel, table=True):
    __tablename__ = "answer"
    __table_args__ = (sa.UniqueConstraint("screening_id", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    screening_id: str = Field(foreign_key="screening.id", index=True, max_length=36)
    question_id: str = Field(max_length=100)  # the questionnaire item linkId
    value: str = Field(max_length=200)  # option code, or an integer as text (0-10 scales)
    text: str = ""  # the option's wording at the time, for reading the record back
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class Need(SQLModel, table=True):
    """A confirmed, coded need. ``domain`` is stored so counts can GROUP BY it."""

    __tablename__ = "need"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    code: str = Field(max_length=40, index=True)
    system: str = Field(max_length=200)
    display: str = Field(max_length=500)
    domain: str = Field(max_length=40, index=True)
    status: str = Field(default="active", max_length=20)  # active | resolved
    words: str = ""  # the person's own words
    priority: str = Field(default="medium", max_length=10)  # high | medium | low
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=TZ, index=True)
    recorded_by: str = Field(default="", max_length=200)
    screening_id: str | None = Field(default=None, foreign_key="screening.id", max_length=36)
    resolved_at: datetime | None = Field(default=None, sa_type=TZ)
    resolved_by: str | None = Field(default=None, max_length=200)
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class Consent(SQLModel, table=True):
    __tablename__ = "consent"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    service_id: int | None = Field(default=None, foreign_key="service.id", index=True)
    hub: str = Field(default="", max_length=200)  # a named hub instead of a service
    shares: list[str] = Field(default_factory=list, sa_type=sa.JSON)  # needs, contact, equality
    method: str = Field(default="verbal", max_length=10)  # verbal | written
    given_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    recorded_by: str = Field(default="", max_length=200)
    withdrawn_at: datetime | None = Field(default=None, sa_type=TZ)
    withdrawn_by: str | None = Field(default=None, max_length=200)
    withdrawn_reason: str = ""
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class Referral(SQLModel, table=True):
    """A referral to a directory service or a named hub. ``status`` follows the Gravity
    SDOHCC referral Task workflow (``screening.referrals.TRANSITIONS``); ``status_at`` is
    when the current status took effect (used to ignore stale remote updates)."""

    __tablename__ = "referral"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    service_id: int | None = Field(default=None, foreign_key="service.id", index=True)
    hub: str = Field(default="", max_length=200)
    consent_id: str | None = Field(default=None, foreign_key="consent.id", max_length=36)
    screening_id: str | None = Field(default=None, foreign_key="screening.id", max_length=36)
    reason: str = ""  # in the link worker's words
    status: str = Field(default="draft", max_length=20, index=True)
    status_reason: str = ""  # required for rejected, cancelled, on-hold, failed
    business_status: str = Field(default="", max_length=200)
    status_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    direction: str = Field(default="outgoing", max_length=10)  # outgoing | incoming
    origin: str = Field(default="", max_length=200)  # sender (ODS code) of an incoming one
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ, index=True)
    created_by: str = Field(default="", max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    followup_due: date | None = Field(default=None, index=True)
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class ReferralNeed(SQLModel, table=True):
    __tablename__ = "referral_need"

    referral_id: str = Field(foreign_key="referral.id", primary_key=True, max_length=36)
    need_id: str = Field(foreign_key="need.id", primary_key=True, max_length=36)
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class ReferralEvent(SQLModel, table=True):
    """Every status (or business status) change of a referral."""

    __tablename__ = "referral_event"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: str = Field(foreign_key="referral.id", index=True, max_length=36)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    reason: str = ""
    business_status: str = Field(default="", max_length=200)
    by: str = Field(default="", max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    source: str = Field(default="local", max_length=200)  # local | remote:<sender>
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class Outcome(SQLModel, table=True):
    """What happened at the end of a referral: ONS4 repeated, a note, and per need
    whether it was resolved (``OutcomeNeed``)."""

    __tablename__ = "outcome"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    referral_id: str = Field(foreign_key="referral.id", unique=True, max_length=36)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=36)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    recorded_by: str = Field(default="", max_length=200)
    note: str = ""
    ons4_satisfied: int | None = None
    ons4_worthwhile: int | None = None
    ons4_happy: int | None = None
    ons4_anxious: int | None = None
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class OutcomeNeed(SQLModel, table=True):
    __tablename__ = "outcome_need"

    outcome_id: str = Field(foreign_key="outcome.id", primary_key=True, max_length=36)
    need_id: str = Field(foreign_key="need.id", primary_key=True, max_length=36)
    resolved: bool = False
    org: str = org_field()  # the organisation holding the row (screening.organisations)


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained: ``hash`` = sha256(canonical JSON of the fields + prev_hash).
    Each organisation has its own chain (``org``, ``chain_seq`` 1, 2, ...); rows from before
    the chains (``chain_seq`` None) form one chain in ``seq`` order. See ``screening.audit``."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_chain", "org", "chain_seq", unique=True),)

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=TZ)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=40)  # view | create | update | export | import | ...
    entity: str = Field(max_length=40)  # person | need | referral | ...
    entity_id: str = Field(default="", max_length=64)
    person_id: str | None = Field(default=None, max_length=36, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    org: str = org_field()  # the organisation holding the row (screening.organisations)
    chain_seq: int | None = Field(default=None)  # its place in its organisation's chain


RECORD_TABLES = (
    Person,
    Screening,
    Answer,
    Need,
    Consent,
    Referral,
    ReferralNeed,
    ReferralEvent,
    Outcome,
    OutcomeNeed,
    AuditEvent,
)

install_org_filling()  # each new row takes its parent's org (screening.organisations)
