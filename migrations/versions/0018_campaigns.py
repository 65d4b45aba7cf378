"""campaigns: broadcasts, one delivery row per recipient, clicks, the weekly limit setting

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CAMPAIGN_STATUS = sa.Enum(
    "draft", "sending", "paused", "cancelled", "done", name="campaign_status", native_enum=False, length=16
)
DELIVERY_STATUS = sa.Enum(
    "queued",
    "sending",
    "sent",
    "blocked",
    "no_consent",
    "capped",
    "failed",
    "unknown",
    name="campaign_delivery_status",
    native_enum=False,
    length=16,
)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", ID, nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("segment_id", sa.BigInteger(), nullable=True),
        sa.Column("segment_name", sa.String(length=60), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("default_language", sa.String(length=8), nullable=False),
        sa.Column("media_kind", sa.String(length=16), nullable=True),
        sa.Column("media_file_id", sa.String(length=200), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("interested", sa.Boolean(), nullable=False),
        sa.Column("scheduled_for", sa.String(length=16), nullable=True),
        sa.Column("status", CAMPAIGN_STATUS, nullable=False),
        sa.Column("runner", sa.BigInteger(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("errors_in_row", sa.Integer(), nullable=False),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_campaigns_created_by_users")),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_campaigns_segment_id_segments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "campaign_deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("status", DELIVERY_STATUS, nullable=False),
        sa.Column("send_after", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        sa.Column("tg_message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_deliveries_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_campaign_deliveries_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_deliveries")),
        sa.UniqueConstraint("campaign_id", "client_id", name="uq_campaign_deliveries_campaign_client"),
    )
    op.create_index(
        "ix_campaign_deliveries_due", "campaign_deliveries", ["campaign_id", "status", "send_after", "id"]
    )
    op.create_index("ix_campaign_deliveries_client_at", "campaign_deliveries", ["client_id", "status", "at"])
    op.create_table(
        "campaign_clicks",
        sa.Column("id", ID, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_clicks_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_campaign_clicks_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_clicks")),
        sa.UniqueConstraint("campaign_id", "client_id", name="uq_campaign_clicks_campaign_client"),
    )
    op.create_table(
        "campaign_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weekly_cap", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_settings")),
    )


def downgrade() -> None:
    op.drop_table("campaign_settings")
    op.drop_table("campaign_clicks")
    op.drop_index("ix_campaign_deliveries_client_at", table_name="campaign_deliveries")
    op.drop_index("ix_campaign_deliveries_due", table_name="campaign_deliveries")
    op.drop_table("campaign_deliveries")
    op.drop_table("campaigns")
