"""The contact log: calls, meetings, messages, emails with their outcome."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class InteractionKind(enum.StrEnum):
    call = "call"
    meeting = "meeting"
    message = "message"
    email = "email"
    other = "other"


class InteractionOutcome(enum.StrEnum):
    reached = "reached"
    no_answer = "no_answer"
    agreed = "agreed"
    declined = "declined"
    other = "other"


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_client_occurred", "client_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[InteractionKind] = mapped_column(
        Enum(InteractionKind, name="interaction_kind", native_enum=False, length=16)
    )
    outcome: Mapped[InteractionOutcome] = mapped_column(
        Enum(InteractionOutcome, name="interaction_outcome", native_enum=False, length=16)
    )
    note: Mapped[str | None] = mapped_column(Text)
    voice_file_id: Mapped[str | None] = mapped_column(String(255))  # a voice note kept with the entry
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
