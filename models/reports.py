"""Precomputed figures for /reports: one row per (company-local day, manager, metric, key) with a count
and an amount, each client's first purchase, and how far the nightly rollup has got.

A report reads its closed days from `report_weekly` for the whole weeks of its period and from
`report_daily` for the days around them (so 12 months are ~52 weeks' rows, not 365 days'), and only the
part after `ReportState.rolled_until` (today) from the source tables, by an index range on their time
column; it never scans all purchases. The indexes at the end serve those ranges and the rollup job.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime
from models.clients import Client
from models.deals import DealEvent
from models.interactions import Interaction
from models.loyalty import Purchase
from models.reminders import Reminder
from models.surveys import Survey

NO_MANAGER = 0  # manager_id of figures that belong to no manager (a purchase recorded without one)


class ReportDaily(Base):
    """A day's figure: `metric` (purchases, new_customers, stage, won, won_days, lost, moved, contacts,
    reminders, csat, nps, new_clients), `key` within it (a purchase's kind, a stage, a currency, a
    reason, "call:reached", a score, a source...), per manager, with a count and an amount."""

    __tablename__ = "report_daily"
    __table_args__ = (Index("ix_report_daily_metric_day", "metric", "day", "manager_id"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)  # in the company's time zone
    week: Mapped[date] = mapped_column(Date)  # the Monday of the day's week: per-week figures group on it
    month: Mapped[date] = mapped_column(Date)  # the first of the day's month
    manager_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))


class ReportWeekly(Base):
    """The sum of a week's `report_daily` rows (Monday to Sunday, company-local), kept by the rollup
    whenever one of its days is rolled: a report reads whole weeks from here. `month` is the first of
    the Monday's month (a report grouped by month reads only weeks that lie within one month here)."""

    __tablename__ = "report_weekly"
    __table_args__ = (Index("ix_report_weekly_metric_week", "metric", "week", "manager_id"),)

    week: Mapped[date] = mapped_column(Date, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    manager_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))


class ClientFirstPurchase(Base):
    """When each client first bought (a purchase as services/analytics/purchases.py defines it) and the
    manager of that purchase: the facts behind "new customers" and the repeat-purchase rate."""

    __tablename__ = "client_first_purchases"
    __table_args__ = (Index("ix_client_first_purchases_at", "first_at"),)

    client_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    manager_id: Mapped[int] = mapped_column(BigInteger, default=NO_MANAGER)


class ReportState(Base):
    """How far the rollup has got (one row, id 1): days before `rolled_until` (the start of a company-
    local day, UTC) are in report_daily; purchases up to `purchase_id` and deals won before
    `deals_until` are in client_first_purchases."""

    __tablename__ = "report_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rolled_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purchase_id: Mapped[int] = mapped_column(BigInteger, default=0)
    deals_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))  # the company time zone the days were cut in
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Time ranges the rollup job cuts into days and a report's live part (today) reads.
Index("ix_deal_events_at", DealEvent.at)
# Today's live part reads only these indexes (covering: the time and the columns it sums), never the rows.
Index(
    "ix_loyalty_purchases_at_cover",
    Purchase.created_at,
    Purchase.currency,
    Purchase.client_id,
    Purchase.manager_id,
    Purchase.discounted,
)
Index(
    "ix_interactions_created_cover",
    Interaction.created_at,
    Interaction.author_id,
    Interaction.kind,
    Interaction.outcome,
)
Index("ix_reminders_done", Reminder.done_at)
Index("ix_surveys_csat_at", Survey.csat_at)
Index("ix_surveys_nps_at", Survey.nps_at)
Index("ix_clients_created", Client.created_at)
