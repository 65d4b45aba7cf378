"""Customers: what is kept about linking a Telegram account to a client record.

The link itself is `clients.telegram_id` (unique). Here: the leads a customer's shared phone created
(one per Telegram account, so sharing twice never makes a second one) and /forget requests.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class CustomerLead(Base):
    """A customer shared their own phone and no unlinked client matched: the admins were told once."""

    __tablename__ = "customer_leads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, unique=True)  # the customer's Telegram id
    # The new client record made for them, or the existing one their phone belongs to.
    client_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ForgetRequest(Base):
    """/forget: the link was removed at once; an admin handles the rest and marks it handled."""

    __tablename__ = "forget_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger)  # the customer's Telegram id at the time
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
