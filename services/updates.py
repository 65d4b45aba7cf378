"""Handled updates (models/updates.py): kept long enough to recognise a redelivery, then let go."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.updates import ProcessedUpdate

# Telegram keeps an unconfirmed update for 24 hours; a week leaves room for a long outage.
KEEP = timedelta(days=7)
BATCH = 10_000


async def forget_old(session: AsyncSession, now: datetime) -> tuple[int, bool]:
    """Delete up to BATCH records older than KEEP; (deleted, whether more are left)."""
    old = (
        select(ProcessedUpdate.update_id)
        .where(ProcessedUpdate.processed_at < now - KEEP)
        .order_by(ProcessedUpdate.processed_at)
        .limit(BATCH)
    )
    ids = list((await session.scalars(old)).all())
    if ids:
        await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.update_id.in_(ids)))
    return len(ids), len(ids) == BATCH
