"""Satisfaction surveys: one row per planned survey (CSAT 1–5, NPS 0–10, a comment), and the admins'
per-trigger settings (on/off and the delay after the event)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class SurveyTrigger(enum.StrEnum):
    contact = "contact"  # a logged interaction (ref_id: interactions.id)
    purchase = "purchase"  # a purchase recorded in the bonus program (ref_id: the purchase's id)
    deal_won = "deal_won"  # a deal moved to "won" (ref_id: deals.id)


class SurveyStatus(enum.StrEnum):
    planned = "planned"  # waiting in the queue for its time (and the customer's daytime)
    sending = "sending"  # claimed right before the send (sent_at: the attempt), not yet confirmed
    sent = "sent"  # delivered; answers may come until expires_at
    skipped = "skipped"  # not sent: see `outcome` (no_consent, limit, not_linked, disabled, gone)
    undelivered = "undelivered"  # blocked, the chat is gone, or Telegram refused it (`outcome`)


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (
        # The 14-day rule: this client's surveys planned or sent lately.
        Index("ix_surveys_client_sent", "client_id", "sent_at"),
        # /surveys: a manager's surveys sent in the last 30/90 days; admins: everyone's.
        Index("ix_surveys_manager_sent", "manager_id", "sent_at"),
        Index("ix_surveys_sent", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    # The client's owner when the event happened: the answers count for this manager.
    manager_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    trigger: Mapped[SurveyTrigger] = mapped_column(
        Enum(SurveyTrigger, name="survey_trigger", native_enum=False, length=16)
    )
    ref_id: Mapped[int] = mapped_column(BigInteger)  # the interaction, purchase or deal it is about
    status: Mapped[SurveyStatus] = mapped_column(
        Enum(SurveyStatus, name="survey_status", native_enum=False, length=16), default=SurveyStatus.planned
    )
    outcome: Mapped[str | None] = mapped_column(String(32))  # why skipped / not delivered
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The Telegram account it was delivered to (resolved at send time): only that person may answer.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    csat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    nps_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # comment given or skipped
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # low score: the owner was told
    reminder_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("reminders.id", ondelete="SET NULL")
    )  # the follow-up created for the owner after a low score


class SurveySetting(Base):
    """One row per trigger an admin changed (absent: the defaults in services/surveys.py)."""

    __tablename__ = "survey_settings"

    trigger: Mapped[SurveyTrigger] = mapped_column(
        Enum(SurveyTrigger, name="survey_trigger", native_enum=False, length=16), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean)
    delay_minutes: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
