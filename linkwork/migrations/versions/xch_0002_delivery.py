"""delivery: partners' routes, the outgoing queue, the quarantine of refused messages

A partner is reached through a MESH mailbox or by files (``exchange_partner``); every
referral or status update sent waits in ``exchange_delivery`` (queued, sent with the
MESH message id, acknowledged, failed; attempts, next try and last reason); a received
message that fails verification is kept in ``exchange_quarantine`` with its reason
(``screening.exchange.delivery``). The two per-message tables carry ``org`` (the
organisation contract).

Revision ID: xch_0002
Revises: xch_0001
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "xch_0002"
down_revision: str | Sequence[str] | None = "xch_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _org() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("org", sa.String(10), nullable=False, server_default="")


def upgrade() -> None:
    op.create_table(
        "exchange_partner",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("route", sa.String(10), nullable=False),
        sa.Column("mesh_mailbox", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "exchange_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("referral_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("partner", sa.String(200), nullable=False),
        sa.Column("route", sa.String(10), nullable=False),
        sa.Column("mailbox", sa.String(20), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("transport_id", sa.String(500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reason", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        _org(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_exchange_delivery_referral_id", "exchange_delivery", ["referral_id"])
    op.create_index("ix_exchange_delivery_state", "exchange_delivery", ["state"])
    op.create_index("ix_exchange_delivery_org", "exchange_delivery", ["org"])
    op.create_table(
        "exchange_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("transport_id", sa.String(500), nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(50), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        _org(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "transport_id"),
    )
    op.create_index("ix_exchange_quarantine_org", "exchange_quarantine", ["org"])


def downgrade() -> None:
    op.drop_index("ix_exchange_quarantine_org", table_name="exchange_quarantine")
    op.drop_table("exchange_quarantine")
    for name in ("org", "state", "referral_id"):
        op.drop_index(f"ix_exchange_delivery_{name}", table_name="exchange_delivery")
    op.drop_table("exchange_delivery")
    op.drop_table("exchange_partner")
