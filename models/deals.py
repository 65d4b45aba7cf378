"""Deals through the pipeline, with every change kept."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        # The pipeline groups over (owner, stage); a stage's list is read from the index in order
        # (last activity, then id), for one owner or for everyone. Stale deals: a range per open stage.
        Index("ix_deals_owner_stage_activity", "owner_id", "stage", "last_activity_at", "id"),
        Index("ix_deals_client", "client_id"),
        Index("ix_deals_stage_activity", "stage", "last_activity_at", "id"),
        # Deals closed in a period (analytics: won deals as purchases, the funnel's rollups).
        Index("ix_deals_stage_closed", "stage", "closed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    stage: Mapped[str] = mapped_column(String(32))
    expected_close: Mapped[date | None] = mapped_column(Date)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Last contact with the client or stage change; the stale-deal nudge looks at this.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DealEvent(Base):
    """Append-only history of a deal: created, stage, amount, title, close date, owner..."""

    __tablename__ = "deal_events"
    __table_args__ = (Index("ix_deal_events_deal_at", "deal_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    deal_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("deals.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
