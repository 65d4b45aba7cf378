"""The admin's daily digest: how the bot did over the last day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.jobs import Job, JobStatus
from models.users import Role, User


@dataclass(frozen=True, slots=True)
class DailyStats:
    sent: int
    not_delivered: int
    failed: int
    waiting: int
    new_users: int
    blocked_bot: int
    managers: int
    admins: int


async def daily_stats(
    session: AsyncSession, now: datetime, window: timedelta = timedelta(days=1)
) -> DailyStats:
    since = now - window
    outcomes = dict(
        (
            await session.execute(
                select(Job.outcome, func.count())
                .where(Job.status == JobStatus.done, Job.finished_at >= since)
                .group_by(Job.outcome)
            )
        ).all()
    )
    failed = await session.scalar(
        select(func.count()).select_from(Job).where(Job.status == JobStatus.failed, Job.finished_at >= since)
    )
    waiting = await session.scalar(
        select(func.count()).select_from(Job).where(Job.status.in_([JobStatus.pending, JobStatus.running]))
    )
    new_users = await session.scalar(select(func.count()).select_from(User).where(User.created_at >= since))
    blocked = await session.scalar(select(func.count()).select_from(User).where(User.blocked_at >= since))
    roles = dict(
        (
            await session.execute(
                select(User.role, func.count()).where(User.is_active.is_(True)).group_by(User.role)
            )
        ).all()
    )
    return DailyStats(
        sent=outcomes.get("sent", 0),
        not_delivered=outcomes.get("blocked", 0) + outcomes.get("unreachable", 0),
        failed=failed or 0,
        waiting=waiting or 0,
        new_users=new_users or 0,
        blocked_bot=blocked or 0,
        managers=roles.get(Role.manager, 0),
        admins=roles.get(Role.admin, 0),
    )
