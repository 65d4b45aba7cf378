"""Saved client segments: a named filter over clients (status, tags, RFM, points, ...), the audience
campaigns pick. The conditions are versioned JSON, read and checked by services/segments/conditions.py.

A name is unique per creator whatever its case (`name_key`: the name case-folded); `version` is bumped
on every change, so a stale Edit or Delete button is refused instead of undoing someone's change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class SavedSegment(Base):
    __tablename__ = "segments"
    __table_args__ = (
        # One name per creator; also "my segments, by name" read from the index.
        UniqueConstraint("created_by", "name_key", name="uq_segments_creator_name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_key: Mapped[str] = mapped_column(String(60))
    created_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    # {"v": 1, "conditions": [{"field": "status", "values": ["active"]}, ...]}: all must hold.
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
