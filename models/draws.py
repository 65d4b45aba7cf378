"""Prize draws (/draws): a prize among the clients of a saved segment, announced with a commitment and
closed at a set time by a formula anyone can recompute.

At the announcement the participants are frozen (one `draw_participants` row per client; sorted by
client id they are the published list) and the bot commits to a secret seed by publishing its SHA-256.
At closing the seed is published with the list and the winner is
`participants[int(sha256(seed).hexdigest(), 16) % n]`. `version` is bumped on every change, so a
second press of Announce or Cancel is refused instead of acting twice.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class DrawStatus(enum.StrEnum):
    draft = "draft"  # made, not announced yet: no participants, no seed
    announced = "announced"  # participants frozen, commitment published, waiting for closes_at
    closed = "closed"  # the winner drawn, the seed published
    cancelled = "cancelled"


class Draw(Base):
    __tablename__ = "draws"
    __table_args__ = (Index("ix_draws_created", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    prize: Mapped[str] = mapped_column(String(200))
    # The saved segment the participants came from (the segment may be deleted later: the list stays).
    segment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("segments.id", ondelete="SET NULL"))
    segment_name: Mapped[str] = mapped_column(String(60))
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[DrawStatus] = mapped_column(
        Enum(DrawStatus, name="draw_status", native_enum=False, length=16), default=DrawStatus.draft
    )
    # Secret until the draw closes (64 hex characters from `secrets`); commitment = sha256(seed) in hex.
    seed: Mapped[str | None] = mapped_column(String(64))
    commitment: Mapped[str | None] = mapped_column(String(64))
    participants: Mapped[int] = mapped_column(Integer, default=0)
    winner_client_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="SET NULL")
    )
    created_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Claimed right before the result goes to the admin / to the winner, so a retried job never sends twice.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    winner_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DrawParticipant(Base):
    __tablename__ = "draw_participants"
    __table_args__ = (UniqueConstraint("draw_id", "client_id", name="uq_draw_participants_draw_client"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    draw_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("draws.id", ondelete="CASCADE"))
    # No foreign key: the published list must stay as it was even if a client is merged or deleted.
    client_id: Mapped[int] = mapped_column(BigInteger)
    # Claimed right before the announcement is sent to them (never twice); how that send went.
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    told: Mapped[str | None] = mapped_column(String(16))
