"""Follow-ups for neglected clients: the admins' rules ("no contact for N days" per client class) and a
marker per client (when it was last listed in its manager's digest, and until when it is snoozed).

A rule's absent row means its default (services/followups.DEFAULT_DAYS); days 0 turns the rule off.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class FollowupRule(Base):
    """Days without contact after which a client of `segment` counts as neglected (0: off)."""

    __tablename__ = "followup_rules"
    __table_args__ = (CheckConstraint("days >= 0 AND days <= 365", name="days_0_365"),)

    segment: Mapped[str] = mapped_column(String(8), primary_key=True)  # vip | A | B | C | none
    days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))


class FollowupMark(Base):
    """A client's follow-up marker: `nudged_at` when a digest last listed it (it is not listed again
    before a new quiet period), `snoozed_until` a manager's "Snooze 7 days"."""

    __tablename__ = "followup_marks"

    client_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
