"""The bonus program: settings, a per-client account with a running balance, an append-only ledger,
purchases, the gift catalog and gift requests, and referrals.

The balance is the sum of a client's ledger entries; `loyalty_accounts.balance` keeps it as a running
total updated in the same transaction as each entry (a CHECK keeps it from going below zero), so a read
is one primary-key lookup. Credits (earned points, bonuses, a positive reversal, a returned gift) are
lots with an expiry; debits consume the oldest lots first, and `remaining` on a credit is how much of
that lot is still unspent. An entry's kind, points, time and key never change.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow

# Ledger entry kinds.
EARN = "earn"  # points for a purchase
REDEEM = "redeem"  # points paid for a purchase
EXPIRE = "expire"  # lots past their expiry
WELCOME = "welcome"  # once per client, when their Telegram account is linked
BIRTHDAY = "birthday"  # once a year
REFERRAL = "referral"  # both sides, after the newcomer's first purchase
REVERSAL = "reversal"  # an admin's correction with a reason, + or -
GIFT_RESERVE = "gift_reserve"  # a gift requested: its points are held
GIFT_HANDED = "gift_handed"  # the gift was handed over: the held points are spent (0 points, a record)
GIFT_RETURN = "gift_return"  # the request was cancelled: the held points come back
KINDS = (EARN, REDEEM, EXPIRE, WELCOME, BIRTHDAY, REFERRAL, REVERSAL, GIFT_RESERVE, GIFT_HANDED, GIFT_RETURN)

# Where `remaining > 0`: the lots that can still be spent or expire (a partial index on both backends).
_OPEN_LOT = text("remaining > 0")


class LoyaltySettings(Base):
    """The program's settings: one row (id 1), edited by admins with /loyalty. Absent: the defaults."""

    __tablename__ = "loyalty_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    earn_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    welcome_bonus: Mapped[int] = mapped_column(Integer)
    birthday_bonus: Mapped[int] = mapped_column(Integer)
    referral_bonus: Mapped[int] = mapped_column(Integer)
    expiry_days: Mapped[int] = mapped_column(Integer)
    redeem_share: Mapped[int] = mapped_column(Integer)  # % of a purchase payable with points
    # [[name, spend threshold (str of a Decimal), discount %], ...] by threshold ascending, first from 0.
    tiers: Mapped[list[Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))


class LoyaltyAccount(Base):
    """One row per client in the program: the running balance and total spend."""

    __tablename__ = "loyalty_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("total_spend >= 0", name="spend_not_negative"),
    )

    client_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    total_spend: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal(0))
    purchases: Mapped[int] = mapped_column(Integer, default=0)
    # The code of the customer's personal referral link (made on the first /referral).
    referral_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(Base):
    __tablename__ = "loyalty_entries"
    __table_args__ = (
        # The last entries of a client, newest first: a range read of this index.
        Index("ix_loyalty_entries_client_id", "client_id", "id"),
        # A client's lots still open, oldest expiry first (spending, "expiring in 30 days").
        Index(
            "ix_loyalty_entries_open_lots",
            "client_id",
            "expires_at",
            sqlite_where=_OPEN_LOT,
            postgresql_where=_OPEN_LOT,
        ),
        # Lots past their expiry, everyone's (the daily expiry job).
        Index(
            "ix_loyalty_entries_expiring", "expires_at", sqlite_where=_OPEN_LOT, postgresql_where=_OPEN_LOT
        ),
        CheckConstraint("remaining >= 0 AND (remaining = 0 OR remaining <= points)", name="remaining_in_lot"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)  # + credit, - debit
    balance_after: Mapped[int] = mapped_column(BigInteger)
    # A credit is a lot: what of it is still unspent, and when that expires. Debits: 0 and NULL.
    remaining: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Makes every entry happen once: a double tap, a retried job or a second call writes nothing.
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    purchase_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("loyalty_purchases.id", ondelete="SET NULL")
    )
    gift_request_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("loyalty_gift_requests.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(Text)
    # Debits: the lots they consumed, [[entry id, points], ...] (a returned gift gives them back).
    lots: Mapped[list[Any] | None] = mapped_column(JSON)


class Purchase(Base):
    __tablename__ = "loyalty_purchases"
    __table_args__ = (
        Index("ix_loyalty_purchases_client", "client_id", "id"),
        # Purchases in a period, everyone's (analytics: the RFM window, reports' rollups).
        Index("ix_loyalty_purchases_at", "created_at"),
        # The nightly RFM run: every client's purchases in a currency, grouped in index order without
        # reading the table (services/analytics/rfm.py).
        Index("ix_loyalty_purchases_rfm", "currency", "client_id", "created_at", "discounted"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    manager_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # before the discount
    currency: Mapped[str] = mapped_column(String(3))
    tier: Mapped[str] = mapped_column(String(30))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    discounted: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # after the tier discount
    points_redeemed: Mapped[int] = mapped_column(BigInteger)
    paid: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # discounted - points
    points_earned: Mapped[int] = mapped_column(BigInteger)
    # One per purchase dialog: a double tap or a retried request records the purchase once.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # when it was bought
    # Where it came from: "bot" (recorded in the bonus program) or "import" (history from a file: its
    # value is the amount as given, no discount applied again).
    origin: Mapped[str] = mapped_column(String(16), default="bot", server_default="bot")


class Gift(Base):
    __tablename__ = "loyalty_gifts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    points: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GiftRequest(Base):
    """A customer asked for a gift: reserved → handed (points spent) or cancelled (points returned)."""

    __tablename__ = "loyalty_gift_requests"
    __table_args__ = (Index("ix_loyalty_gift_requests_client", "client_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    gift_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("loyalty_gifts.id"))
    gift_name: Mapped[str] = mapped_column(String(100))
    points: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="reserved")  # reserved | handed | cancelled
    reminder_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("reminders.id", ondelete="SET NULL")
    )
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))


class Referral(Base):
    """Someone opened a customer's referral link. Pending until their account is linked to a client;
    then linked (a new client: the first purchase rewards both sides), rewarded, or rejected."""

    __tablename__ = "loyalty_referrals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    referrer_client_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    # The Telegram account that came through the link: one referral per person, the first link wins.
    newcomer_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    newcomer_client_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|linked|rewarded|rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
