"""reports: weekly sums of the daily rollup, filled from the days already rolled; contacts by kind and
by outcome (two metrics) instead of one key per kind:outcome pair

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    weekly = op.create_table(
        "report_weekly",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("week", "manager_id", "metric", "key", name=op.f("pk_report_weekly")),
    )
    op.create_index("ix_report_weekly_metric_week", "report_weekly", ["metric", "week", "manager_id"])
    daily = sa.table(
        "report_daily",
        sa.column("day", sa.Date()),
        sa.column("week", sa.Date()),
        sa.column("month", sa.Date()),
        sa.column("manager_id", sa.BigInteger()),
        sa.column("metric", sa.String()),
        sa.column("key", sa.String()),
        sa.column("count", sa.Integer()),
        sa.column("amount", sa.Numeric(18, 2)),
    )
    conn = op.get_bind()
    _split_contacts(conn, daily)
    weeks = [row[0] for row in conn.execute(sa.select(daily.c.week).distinct())]
    for week in weeks:  # the days rolled before this revision: each week's sums, its month as a literal
        if isinstance(week, str):
            week = date.fromisoformat(week)
        sums = (
            sa.select(
                daily.c.week,
                sa.literal(week.replace(day=1), sa.Date()),
                daily.c.manager_id,
                daily.c.metric,
                daily.c.key,
                sa.func.sum(daily.c.count),
                sa.func.sum(daily.c.amount),
            )
            .where(daily.c.day >= week, daily.c.day < week + timedelta(days=7))  # the key's range
            .group_by(daily.c.week, daily.c.manager_id, daily.c.metric, daily.c.key)
        )
        conn.execute(
            weekly.insert().from_select(
                ["week", "month", "manager_id", "metric", "key", "count", "amount"], sums
            )
        )


def _split_contacts(conn, daily) -> None:
    """ "contacts" rows keyed "kind:outcome" become "contacts" keyed by kind and "outcomes" by outcome."""
    c = daily.c
    rows = conn.execute(
        sa.select(c.day, c.week, c.month, c.manager_id, c.key, c.count).where(
            c.metric == "contacts", c.key.contains(":")
        )
    )
    sums: dict[tuple, int] = {}
    for day, week, month, manager, key, count in rows:
        kind, _, outcome = key.partition(":")
        for metric, part in (("contacts", kind), ("outcomes", outcome)):
            k = (day, week, month, manager, metric, part)
            sums[k] = sums.get(k, 0) + count
    if not sums:
        return
    conn.execute(daily.delete().where(c.metric == "contacts"))
    names = ("day", "week", "month", "manager_id", "metric", "key")
    values = [{**dict(zip(names, k, strict=True)), "count": n, "amount": 0} for k, n in sums.items()]
    for i in range(0, len(values), 5000):
        conn.execute(daily.insert(), values[i : i + 5000])


def downgrade() -> None:
    op.drop_index("ix_report_weekly_metric_week", table_name="report_weekly")
    op.drop_table("report_weekly")
