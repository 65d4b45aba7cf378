"""Exports asked for with /export (or from /audit): one row per request, made by a durable job.

`active` is 1 while the request waits or runs and NULL once it ended: the unique (user_id, active)
index lets a person have one export in progress at a time (a second press finds the first). The job
counts the parts it has sent in `parts_sent`, committed after each one, so a retried job never sends
a part twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class ExportRequest(Base):
    __tablename__ = "export_requests"
    __table_args__ = (Index("ux_export_requests_user_active", "user_id", "active", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    dataset: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the filter
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    active: Mapped[int | None] = mapped_column(SmallInteger, default=1)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    parts_total: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
