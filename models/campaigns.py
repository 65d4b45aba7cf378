"""Broadcasts (campaigns): a message to an audience (every client, or a saved segment), one version per
language, sent paced by the durable queue; one delivery row per recipient, so a crash never sends twice.

A delivery is "sending" only between the commit that claims it and the commit of its result: a row
found "sending" by a later step of a dead process becomes "unknown" and is never sent again.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    sending = "sending"
    paused = "paused"
    cancelled = "cancelled"
    done = "done"


class DeliveryStatus(enum.StrEnum):
    queued = "queued"
    sending = "sending"  # claimed and committed, the send under way
    sent = "sent"
    blocked = "blocked"  # the person blocked the bot, or the chat is gone
    no_consent = "no_consent"  # no offers consent (or no linked account) when it was due
    capped = "capped"  # the weekly limit of marketing messages reached
    failed = "failed"
    unknown = "unknown"  # the process died during the send: maybe delivered, never resent


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    segment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("segments.id", ondelete="SET NULL"))
    segment_name: Mapped[str | None] = mapped_column(String(60))  # as it was when chosen
    # {"ru": "...", "en": "..."}: the text typed per language, placeholders unformatted.
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    default_language: Mapped[str] = mapped_column(String(8))
    # An optional photo or document (Telegram's file_id) the texts are the caption of.
    media_kind: Mapped[str | None] = mapped_column(String(16))  # "photo" | "document"
    media_file_id: Mapped[str | None] = mapped_column(String(200))
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)  # URL buttons: [[label, url], ...]
    interested: Mapped[bool] = mapped_column(Boolean, default=False)  # the tracked "I'm interested" button
    # Sent as a paid broadcast (allow_paid_broadcast, at PAID_BROADCAST_RATE; Stars over the free 30/s).
    paid: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # Sent at this wall-clock time in each recipient's own time zone ("YYYY-MM-DDTHH:MM"); None: now.
    scheduled_for: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[CampaignStatus] = mapped_column(
        Enum(CampaignStatus, name="campaign_status", native_enum=False, length=16),
        default=CampaignStatus.draft,
    )
    # The step job that sends now (its job id): an older step seeing another one here stops.
    runner: Mapped[int | None] = mapped_column(BigInteger)
    runs: Mapped[int] = mapped_column(Integer, default=0)  # bumped by each start or resume
    errors_in_row: Mapped[int] = mapped_column(Integer, default=0)
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignDelivery(Base):
    __tablename__ = "campaign_deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "client_id", name="uq_campaign_deliveries_campaign_client"),
        # The next due rows of a campaign, in order.
        Index("ix_campaign_deliveries_due", "campaign_id", "status", "send_after", "id"),
        # The weekly limit: a client's marketing messages sent lately.
        Index("ix_campaign_deliveries_client_at", "client_id", "status", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, name="campaign_delivery_status", native_enum=False, length=16),
        default=DeliveryStatus.queued,
    )
    send_after: Mapped[datetime] = mapped_column(UTCDateTime)  # not before (quiet hours, time zones)
    # The step job that claimed it for sending: a row "sending" whose step is no longer running was
    # left by a process that died.
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    tg_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last change of status


class CampaignClick(Base):
    """A press of the tracked "I'm interested" button: once per person and campaign."""

    __tablename__ = "campaign_clicks"
    __table_args__ = (
        UniqueConstraint("campaign_id", "client_id", name="uq_campaign_clicks_campaign_client"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignSettings(Base):
    """One row (id 1): the weekly limit of marketing messages per client, an admin setting."""

    __tablename__ = "campaign_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weekly_cap: Mapped[int] = mapped_column(Integer, default=2)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignLink(Base):
    """A campaign's tracked deep link `https://t.me/<bot>?start=k_<token>` (the token random, so the
    links of other campaigns can't be guessed from one), and who opened it: once per person."""

    __tablename__ = "campaign_links"
    __table_args__ = (UniqueConstraint("token", name="uq_campaign_links_token"),)

    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(24))
    bot_username: Mapped[str] = mapped_column(String(64))  # the bot's username when the link was made
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignLinkClick(Base):
    """Someone opened a campaign's tracked link (/start with its payload): once per Telegram account;
    the client too when the account is a linked customer's."""

    __tablename__ = "campaign_link_clicks"
    __table_args__ = (
        UniqueConstraint("campaign_id", "telegram_id", name="uq_campaign_link_clicks_campaign_person"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"))
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    client_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
