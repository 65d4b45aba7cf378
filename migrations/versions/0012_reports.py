"""reports: daily rollups, each client's first purchase, the rollup's progress, time-range indexes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime


revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("deal_events", "ix_deal_events_at", ["at"]),
    ("loyalty_purchases", "ix_loyalty_purchases_at_cover", ["created_at", "currency", "client_id", "manager_id", "discounted"]),
    ("interactions", "ix_interactions_created_cover", ["created_at", "author_id", "kind", "outcome"]),
    ("reminders", "ix_reminders_done", ["done_at"]),
    ("surveys", "ix_surveys_csat_at", ["csat_at"]),
    ("surveys", "ix_surveys_nps_at", ["nps_at"]),
    ("clients", "ix_clients_created", ["created_at"]),
)


def upgrade() -> None:
    op.create_table(
        "report_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("day", "manager_id", "metric", "key", name=op.f("pk_report_daily")),
    )
    op.create_index("ix_report_daily_metric_day", "report_daily", ["metric", "day", "manager_id"])
    op.create_table(
        "client_first_purchases",
        sa.Column("client_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_first_purchases")),
    )
    op.create_index("ix_client_first_purchases_at", "client_first_purchases", ["first_at"])
    op.create_table(
        "report_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rolled_until", UTCDateTime(), nullable=True),
        sa.Column("purchase_id", sa.BigInteger(), nullable=False),
        sa.Column("deals_until", UTCDateTime(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_report_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_state")),
    )
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("report_state")
    op.drop_index("ix_client_first_purchases_at", table_name="client_first_purchases")
    op.drop_table("client_first_purchases")
    op.drop_index("ix_report_daily_metric_day", table_name="report_daily")
    op.drop_table("report_daily")
