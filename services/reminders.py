"""Reminders: creation, delivery scheduling through the durable queue, snoozing, the day's list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.reminders import Reminder, ReminderStatus
from scheduler.queue import enqueue

REMINDER_JOB = "reminder"
TEXT_LIMIT = 1000


def job_key(reminder: Reminder) -> str:
    return f"reminder:{reminder.id}:v{reminder.version}"


async def create(
    session: AsyncSession,
    owner_id: int,
    text: str,
    due_at: datetime,
    now: datetime,
    *,
    client_id: int | None = None,
    deal_id: int | None = None,
    created_by: int | None = None,
) -> Reminder:
    """A pending reminder and its queued delivery, in the caller's transaction."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    reminder = Reminder(
        owner_id=owner_id,
        client_id=client_id,
        deal_id=deal_id,
        text=text[:TEXT_LIMIT],
        due_at=due_at,
        status=ReminderStatus.pending,
        created_by=created_by if created_by is not None else owner_id,
        created_at=now,
    )
    session.add(reminder)
    await session.flush()
    await enqueue(
        session,
        REMINDER_JOB,
        {"reminder_id": reminder.id, "version": reminder.version},
        due_at,
        key=job_key(reminder),
    )
    return reminder


async def next_for_client(session: AsyncSession, client_id: int) -> Reminder | None:
    return await session.scalar(
        select(Reminder)
        .where(Reminder.client_id == client_id, Reminder.status == ReminderStatus.pending)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(1)
    )
