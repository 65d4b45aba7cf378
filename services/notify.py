"""Queue a notice to a person. The text is rendered in their language when it is sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.queue import enqueue

NOTIFY = "notify"


async def notify(
    session: AsyncSession,
    user_id: int,
    notice: str,
    now: datetime,
    *,
    key: str | None = None,
    **params: object,
) -> bool:
    return await enqueue(
        session, NOTIFY, {"user_id": user_id, "notice": notice, "params": params}, now, key=key
    )


async def sync_commands(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """Refresh a person's command menu after their role or language changed."""
    return await enqueue(session, "commands.sync", {"user_id": user_id}, now)
