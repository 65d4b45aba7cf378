"""Append-only record of who changed what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import AuditEvent


def record(
    session: AsyncSession, actor_id: int | None, action: str, target: str, at: datetime, **details: Any
) -> AuditEvent:
    event = AuditEvent(actor_id=actor_id, action=action, target=target, at=at, details=details)
    session.add(event)
    return event
