"""followups: the rules for neglected clients and a follow-up marker per client

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "followup_rules",
        sa.Column("segment", sa.String(length=8), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("days >= 0 AND days <= 365", name=op.f("ck_followup_rules_days_0_365")),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_followup_rules_updated_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("segment", name=op.f("pk_followup_rules")),
    )
    op.create_table(
        "followup_marks",
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("nudged_at", UTCDateTime(), nullable=True),
        sa.Column("snoozed_until", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_followup_marks_client_id_clients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_followup_marks")),
    )


def downgrade() -> None:
    op.drop_table("followup_marks")
    op.drop_table("followup_rules")
