"""Service directory tables. A service keeps its feed's own id (``source``, ``source_id``);
referrals point at ``Service.id``, so services are withdrawn, never deleted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Organisation(SQLModel, table=True):
    __tablename__ = "organisation"
    __table_args__ = (sa.UniqueConstraint("source", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=500)
    source_id: str = Field(max_length=200)
    name: str = Field(max_length=500)
    description: str = ""
    url: str = ""
    email: str = ""


class Service(SQLModel, table=True):
    """One service from one feed. ``source`` names the feed (file name or base URL),
    ``source_id`` is the feed's own id; ``content_hash`` makes re-imports idempotent."""

    __tablename__ = "service"
    __table_args__ = (sa.UniqueConstraint("source", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=500, index=True)
    source_id: str = Field(max_length=200, index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    name: str = Field(max_length=500)
    description: str = ""
    url: str = ""
    email: str = ""
    phone: str = ""
    status: str = "active"
    fees: str = ""
    is_free: bool = True
    min_age: int | None = None
    max_age: int | None = None
    eligibility: str = ""
    service_area: str = ""
    attending: str = ""
    languages: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    taxonomy_terms: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    domains: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    z_codes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # [{"day": 1..7 (Monday = 1), "opens": "HH:MM", "closes": "HH:MM"}]
    opening_hours: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    last_verified: date | None = None
    withdrawn: bool = False
    withdrawn_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    content_hash: str = Field(default="", max_length=64)
    # the digest of the service's bytes as the feed sent them and of the code that read
    # them ("" if reading them left a note): a re-import skips the same bytes unread
    raw_hash: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    imported_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class Location(SQLModel, table=True):
    __tablename__ = "location"
    __table_args__ = (sa.UniqueConstraint("source", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=500)
    source_id: str = Field(max_length=200)
    name: str = ""
    address: str = ""
    town: str = ""
    postcode: str = Field(default="", max_length=10)
    latitude: float | None = None
    longitude: float | None = None


class ServiceLocation(SQLModel, table=True):
    __tablename__ = "service_location"

    service_id: int = Field(foreign_key="service.id", primary_key=True)
    location_id: int = Field(foreign_key="location.id", primary_key=True)


class ImportRun(SQLModel, table=True):
    """One import of one feed: what came in and what it changed (shown by ``directory stats``)."""

    __tablename__ = "directory_import"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=500, index=True)
    location: str = ""
    format: str = Field(default="", max_length=20)
    full: bool = True
    started_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    rejected: int = 0
