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


async def plan_stale_deal_nudges(
    session: AsyncSession, now: datetime, stale_days: int, default_tz: str
) -> int:
    """A "deal_nudge" job per open deal quiet for stale_days and not nudged since its last activity.

    The key names the deal and its last activity, so a deal is nudged once per quiet spell however
    often this runs. Nudges go out in the owner's daytime (09:00-21:00 local), else at 09:00.
    """
    from services import deals as deals_service

    planned = 0
    for deal_id, last_activity_at, owner_tz in await deals_service.stale_deals(session, now, stale_days):
        tz = owner_tz or default_tz
        if NUDGE_FROM_HOUR <= now.astimezone(ZoneInfo(tz)).hour < NUDGE_UNTIL_HOUR:
            due = now
        else:
            due = next_local_occurrence(NUDGE_FROM_HOUR, tz, now)
        payload = {"deal_id": deal_id, "activity": last_activity_at.isoformat()}
        key = deals_service.nudge_key(deal_id, last_activity_at)
        if await enqueue(session, "deal_nudge", payload, due, key=key):
            planned += 1
    return planned


NUDGE_FROM_HOUR, NUDGE_UNTIL_HOUR = 9, 21
