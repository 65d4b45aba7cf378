"""campaign links: each campaign's tracked deep link, and who opened it (once per person)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaign_links",
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=24), nullable=False),
        sa.Column("bot_username", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_links_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_links")),
        sa.UniqueConstraint("token", name="uq_campaign_links_token"),
    )
    op.create_table(
        "campaign_link_clicks",
        sa.Column("id", ID, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_link_clicks_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_campaign_link_clicks_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_link_clicks")),
        sa.UniqueConstraint("campaign_id", "telegram_id", name="uq_campaign_link_clicks_campaign_person"),
    )


def downgrade() -> None:
    op.drop_table("campaign_link_clicks")
    op.drop_table("campaign_links")
