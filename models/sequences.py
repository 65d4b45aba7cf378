"""Drip sequences: a named chain of messages, each sent a delay after the previous one, to a client
enrolled by a trigger (the account linked, a tag added, a deal entering a stage, a saved segment newly
entered) or by hand from the card; it stops by itself when the client writes, buys, their deal closes,
they withdraw consent or block the bot, or when a manager stops it.

A client is in a sequence at most once at a time (a partial unique index on the active enrolments);
each step goes to an enrolment at most once (one delivery row per enrolment and step, claimed
"sending" and committed before the send: a row a dead process left "sending" becomes "unknown" and is
never sent again).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class Trigger(enum.StrEnum):
    manual = "manual"  # only by hand from the card
    linked = "linked"  # the customer linked their account to the bot
    tag = "tag"  # a tag (trigger_arg) added to the client
    stage = "stage"  # a deal entered a stage (trigger_arg)
    segment = "segment"  # newly entered a saved segment (segment_id), checked periodically


class EnrolmentStatus(enum.StrEnum):
    active = "active"
    done = "done"  # every step went
    stopped = "stopped"  # stop_reason says why


class StopReason(enum.StrEnum):
    replied = "replied"  # the client wrote to the bot
    purchase = "purchase"
    deal_closed = "deal_closed"  # their deal was won or lost
    consent = "consent"  # marketing consent withdrawn (or missing when a step was due)
    blocked = "blocked"  # 403: the bot blocked, or the chat gone
    manager = "manager"  # stopped from the card
    deactivated = "deactivated"  # the sequence was deactivated
    merged = "merged"  # its client merged into one active in the same sequence


class StepStatus(enum.StrEnum):
    capped = "capped"  # due, but the weekly limit of marketing messages reached: waits
    sending = "sending"  # claimed and committed, the send under way
    sent = "sent"
    blocked = "blocked"
    failed = "failed"
    unknown = "unknown"  # the process died during the send: maybe delivered, never resent


class Sequence(Base):
    __tablename__ = "sequences"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    created_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    default_language: Mapped[str] = mapped_column(String(8))
    trigger: Mapped[Trigger] = mapped_column(
        Enum(Trigger, name="sequence_trigger", native_enum=False, length=16), default=Trigger.manual
    )
    trigger_arg: Mapped[str | None] = mapped_column(String(60))  # the tag or the stage
    segment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("segments.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SequenceStep(Base):
    __tablename__ = "sequence_steps"
    __table_args__ = (UniqueConstraint("sequence_id", "position", name="uq_sequence_steps_position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sequence_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sequences.id", ondelete="CASCADE"))
    # 1, 2, ...; a deleted step keeps its row (its deliveries count) at -id, out of the chain.
    position: Mapped[int] = mapped_column(Integer)
    delay_minutes: Mapped[int] = mapped_column(
        Integer
    )  # after the previous step (the first: after enrolment)
    # {"ru": "...", "en": "..."}: the text typed per language, placeholders unformatted.
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    interested: Mapped[bool] = mapped_column(Boolean, default=False)  # the tracked "I'm interested" button
    # The photo or document the step comes with (its texts are then captions), as for broadcasts.
    media_kind: Mapped[str | None] = mapped_column(String(16))  # "photo" | "document"
    media_file_id: Mapped[str | None] = mapped_column(String(200))
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)  # URL buttons: [[label, url], ...]


class Enrolment(Base):
    __tablename__ = "sequence_enrolments"
    __table_args__ = (
        # At most one active enrolment of a client in a sequence.
        Index(
            "uq_sequence_enrolments_active",
            "sequence_id",
            "client_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        # What is due: the active enrolments by their next step's time.
        Index("ix_sequence_enrolments_due", "status", "next_at"),
        Index("ix_sequence_enrolments_client", "client_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sequence_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sequences.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    status: Mapped[EnrolmentStatus] = mapped_column(
        Enum(EnrolmentStatus, name="sequence_enrolment_status", native_enum=False, length=16),
        default=EnrolmentStatus.active,
    )
    position: Mapped[int] = mapped_column(Integer, default=1)  # the next step's position
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the next step is due (UTC)
    last_step_id: Mapped[int | None] = mapped_column(BigInteger)  # the last step that went
    enrolled_by: Mapped[int | None] = mapped_column(BigInteger)  # the manager, when by hand
    via: Mapped[str] = mapped_column(String(16))  # the trigger, or "manual"
    stop_reason: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SequenceDelivery(Base):
    __tablename__ = "sequence_deliveries"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "step_id", name="uq_sequence_deliveries_enrolment_step"),
        # The weekly limit shared with broadcasts: a client's marketing messages sent lately.
        Index("ix_sequence_deliveries_client_at", "client_id", "status", "at"),
        Index("ix_sequence_deliveries_step", "step_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sequence_enrolments.id", ondelete="CASCADE")
    )
    step_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sequence_steps.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    status: Mapped[StepStatus] = mapped_column(
        Enum(StepStatus, name="sequence_delivery_status", native_enum=False, length=16)
    )
    capped: Mapped[int] = mapped_column(Integer, default=0)  # times it waited for the weekly limit
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)  # the job that claimed it for sending
    tg_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # "I'm interested" pressed
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last change of status


class SegmentMember(Base):
    """A segment-triggered sequence's view of its segment at the last check: who enters it next time is
    whoever matches now and wasn't here (so only newcomers since the activation are enrolled)."""

    __tablename__ = "sequence_segment_members"

    sequence_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sequences.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
