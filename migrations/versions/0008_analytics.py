"""analytics: RFM runs and scores, ABC classes, the VIP flag, purchase origin

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_settings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("competition_level", sa.Numeric(precision=3, scale=2), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "competition_level >= 0 AND competition_level <= 1",
            name=op.f("ck_analytics_settings_competition_0_1"),
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_analytics_settings_single_row")),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_analytics_settings_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_settings")),
    )
    op.create_table(
        "rfm_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("started_by", sa.BigInteger(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["started_by"], ["users.id"], name=op.f("fk_rfm_runs_started_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfm_runs")),
    )
    with op.batch_alter_table("rfm_runs", schema=None) as batch_op:
        batch_op.create_index("ix_rfm_runs_finished", ["finished_at", "id"], unique=False)

    op.create_table(
        "rfm_scores",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("last_purchase_at", UTCDateTime(), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("r", sa.SmallInteger(), nullable=False),
        sa.Column("f", sa.SmallInteger(), nullable=False),
        sa.Column("m", sa.SmallInteger(), nullable=False),
        sa.Column("segment", sa.String(length=24), nullable=False),
        sa.Column("abc_class", sa.String(length=1), nullable=True),
        sa.CheckConstraint(
            "r BETWEEN 1 AND 5 AND f BETWEEN 1 AND 5 AND m BETWEEN 1 AND 5",
            name=op.f("ck_rfm_scores_scores_1_5"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["rfm_runs.id"], name=op.f("fk_rfm_scores_run_id_rfm_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "client_id", name=op.f("pk_rfm_scores")),
    )
    with op.batch_alter_table("rfm_scores", schema=None) as batch_op:
        batch_op.create_index("ix_rfm_scores_run_segment", ["run_id", "segment", "client_id"], unique=False)

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vip", sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_stage_closed", ["stage", "closed_at"], unique=False)

    with op.batch_alter_table("loyalty_purchases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=16), server_default="bot", nullable=False))
        batch_op.create_index("ix_loyalty_purchases_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loyalty_purchases", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_purchases_at")
        batch_op.drop_column("origin")

    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_stage_closed")

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("vip")

    with op.batch_alter_table("rfm_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_rfm_scores_run_segment")

    op.drop_table("rfm_scores")
    with op.batch_alter_table("rfm_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_rfm_runs_finished")

    op.drop_table("rfm_runs")
    op.drop_table("analytics_settings")
