"""Exchange tables: partners' trusted public keys and the log of files sent and received.

The message log makes receiving idempotent (the same file twice changes nothing; keyed by
the Bundle's message id) and keeps the order of status updates per referral, so a
replayed or late update never moves a referral backwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from screening.organisations import org_field


class TrustedKey(SQLModel, table=True):
    __tablename__ = "exchange_trusted_key"

    kid: str = Field(primary_key=True, max_length=200)
    thumbprint: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200, index=True)
    jwk: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    added_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    added_by: str = Field(default="", max_length=200)


class ExchangeMessage(SQLModel, table=True):
    __tablename__ = "exchange_message"
    __table_args__ = (sa.UniqueConstraint("direction", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=100)
    direction: str = Field(max_length=3)  # "out" or "in"
    kind: str = Field(max_length=20)  # "referral" or "update"
    referral_id: str = Field(max_length=64, index=True)
    partner: str = Field(default="", max_length=200)
    partner_kid: str = Field(default="", max_length=200)
    task_status: str = Field(default="", max_length=20)
    task_modified: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),
    )
    applied: bool = Field(default=True)
    note: str = Field(default="", max_length=500)
    file_sha256: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    actor: str = Field(default="", max_length=200)
    org: str = org_field()  # the organisation holding the row (screening.organisations)
