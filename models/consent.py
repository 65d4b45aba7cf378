"""Consent to messages, per client and purpose: an immutable event log plus the current state."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class Purpose(enum.StrEnum):
    marketing = "marketing"  # offers, news
    surveys = "surveys"
    service = "service"  # points, orders, reminders the customer asked for


# Without any event: service messages are on, marketing and surveys are off until the customer says yes.
DEFAULTS: dict[Purpose, bool] = {Purpose.marketing: False, Purpose.surveys: False, Purpose.service: True}


class ConsentSource(enum.StrEnum):
    button = "button"  # the customer pressed a switch (/consent) or Unsubscribe
    command = "command"  # the customer sent a command (/stop)
    manager = "manager"  # a manager recorded it on the customer's word (flagged)
    system = "system"  # e.g. /forget


class ConsentEvent(Base):
    """Never updated or deleted: every change of consent is a new row."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_client_at", "client_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    purpose: Mapped[Purpose] = mapped_column(
        Enum(Purpose, name="consent_purpose", native_enum=False, length=16)
    )
    granted: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[ConsentSource] = mapped_column(
        Enum(ConsentSource, name="consent_source", native_enum=False, length=16)
    )
    # Who did it: the customer's Telegram id, or the manager's when source is "manager".
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    # The version of the consent text the customer saw when deciding (bot/views or services/consent.py).
    text_version: Mapped[str] = mapped_column(String(32))


class ClientConsent(Base):
    """The current state, one row per client and purpose that has any event (absent: DEFAULTS)."""

    __tablename__ = "client_consents"

    client_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[Purpose] = mapped_column(
        Enum(Purpose, name="consent_purpose", native_enum=False, length=16), primary_key=True
    )
    granted: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
