"""Recurring schedules. APScheduler's cron trigger, evaluated in the recipient's time zone, says when
the next occurrence is; the occurrence itself is a row in the durable queue with an idempotency key,
so planning twice (or on two instances) creates it once, and one that fell due while the bot was down
runs once at start."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession

from models.users import User
from scheduler.queue import enqueue
from services import users as users_service


def next_local_occurrence(hour: int, tz_name: str, now: datetime, minute: int = 0) -> datetime:
    tz = ZoneInfo(tz_name)
    trigger = CronTrigger(hour=hour, minute=minute, timezone=tz)
    fire = trigger.get_next_fire_time(None, now.astimezone(tz))
    assert fire is not None
    return fire.astimezone(UTC)


def user_timezone(user: User, default: str) -> str:
    return user.timezone or default


async def plan_admin_digests(session: AsyncSession, now: datetime, hour: int, default_tz: str) -> int:
    planned = 0
    for admin in await users_service.active_admins(session):
        tz = user_timezone(admin, default_tz)
        due = next_local_occurrence(hour, tz, now)
        local_day = due.astimezone(ZoneInfo(tz)).date().isoformat()
        if await enqueue(
            session, "admin_digest", {"user_id": admin.id}, due, key=f"digest:{admin.id}:{local_day}"
        ):
            planned += 1
    return planned
