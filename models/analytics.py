"""Analytics: the nightly RFM and ABC runs with one row per scored client, and the company's settings
for the loyalty index.

A run scores the clients with at least one purchase in the 365 days before its date (UTC); a client
with none has no row and is "No recent purchases". Runs are kept, so two consecutive runs show how
clients moved between segments; old runs are dropped after a retention period (services/analytics).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class RfmRun(Base):
    """One computation of RFM scores and ABC classes; finished_at is NULL until its rows are all in."""

    __tablename__ = "rfm_runs"
    __table_args__ = (Index("ix_rfm_runs_finished", "finished_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)  # the run's date (UTC): the 365-day window ends here
    currency: Mapped[str] = mapped_column(String(3))  # DEFAULT_CURRENCY at the time of the run
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    population: Mapped[int] = mapped_column(Integer, default=0)  # clients scored
    revenue: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))  # their total
    # The whole base's figures, computed with the run so /rfm never aggregates a million rows per
    # request: {"clients", "segments": {key: n}, "abc": {class: n}, "moves": [[from, to, n]],
    # "top20_share", "previous_run_id"} (services/analytics/rfm.py).
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RfmScore(Base):
    """A client's scores in one run: R, F, M (1-5), the raw figures behind them, the segment and the
    ABC class (A, B, C)."""

    __tablename__ = "rfm_scores"
    __table_args__ = (
        # A segment's clients in a run, in id order (the /rfm list pages).
        Index("ix_rfm_scores_run_segment", "run_id", "segment", "client_id"),
        CheckConstraint("r BETWEEN 1 AND 5 AND f BETWEEN 1 AND 5 AND m BETWEEN 1 AND 5", name="scores_1_5"),
    )

    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rfm_runs.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    owner_id: Mapped[int] = mapped_column(BigInteger)  # the client's owner at the time of the run
    last_purchase_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    r: Mapped[int] = mapped_column(SmallInteger)
    f: Mapped[int] = mapped_column(SmallInteger)
    m: Mapped[int] = mapped_column(SmallInteger)
    segment: Mapped[str] = mapped_column(String(24))
    abc_class: Mapped[str | None] = mapped_column(String(1))


class AnalyticsSettings(Base):
    """The company's analytics settings: one row (id 1), edited by admins. Absent: the defaults."""

    __tablename__ = "analytics_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("competition_level >= 0 AND competition_level <= 1", name="competition_0_1"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # r in the loyalty index L = 1 - r(1 - S): how strong the competition in the company's market is.
    competition_level: Mapped[Decimal] = mapped_column(Numeric(3, 2))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
