"""Recurring schedules. APScheduler's cron trigger, evaluated in the recipient's time zone, says when
the next occurrence is; the occurrence itself is a row in the durable queue with an idempotency key,
so planning twice (or on two instances) creates it once, and one that fell due while the bot was down
runs once at start."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from models.users import User
from scheduler.analytics import NIGHTLY as RFM_NIGHTLY
from scheduler.analytics import RFM_HOUR, RFM_MINUTE
from scheduler.deals import DEAL_NUDGE
from scheduler.digest import ADMIN_DIGEST
from scheduler.loyalty import DAILY as LOYALTY_DAILY
from scheduler.reports import ROLLUP as REPORTS_ROLLUP
from scheduler.updates import CLEANUP
from services import deals as deals_service
from services import users as users_service
from services.queue import enqueue
from services.timezones import next_local_occurrence


def user_timezone(user: User, default: str) -> str:
    return user.timezone or default


async def plan_admin_digests(session: AsyncSession, now: datetime, hour: int, default_tz: str) -> int:
    planned = 0
    for admin in await users_service.active_admins(session):
        tz = user_timezone(admin, default_tz)
        due = next_local_occurrence(hour, tz, now)
        local_day = due.astimezone(ZoneInfo(tz)).date().isoformat()
        if await enqueue(
            session, ADMIN_DIGEST, {"user_id": admin.id}, due, key=f"digest:{admin.id}:{local_day}"
        ):
            planned += 1
    return planned


LOYALTY_DAILY_HOUR, LOYALTY_DAILY_MINUTE = 0, 5


async def plan_loyalty_daily(session: AsyncSession, now: datetime, default_tz: str) -> bool:
    """The bonus program's daily run (expiry, the coming birthday bonuses), once per local day of the
    default time zone: at 00:05, or at once when the day's run hasn't been planned yet (a start later
    in the day)."""
    zone = ZoneInfo(default_tz)
    local = now.astimezone(zone)
    due = datetime.combine(local.date(), time(LOYALTY_DAILY_HOUR, LOYALTY_DAILY_MINUTE), zone).astimezone(UTC)
    key = f"loyalty_daily:{local.date().isoformat()}"
    return await enqueue(session, LOYALTY_DAILY, {}, max(due, now), key=key)


async def plan_stale_deal_nudges(
    session: AsyncSession, now: datetime, stale_days: int, default_tz: str
) -> int:
    """A "deal_nudge" job per open deal quiet for stale_days and not nudged since its last activity.

    The key names the deal and its last activity, so a deal is nudged once per quiet spell however
    often this runs. Nudges go out in the owner's daytime (09:00-21:00 local), else at 09:00.
    """
    planned = 0
    for deal_id, last_activity_at, owner_tz in await deals_service.stale_deals(session, now, stale_days):
        tz = owner_tz or default_tz
        if NUDGE_FROM_HOUR <= now.astimezone(ZoneInfo(tz)).hour < NUDGE_UNTIL_HOUR:
            due = now
        else:
            due = next_local_occurrence(NUDGE_FROM_HOUR, tz, now)
        payload = {"deal_id": deal_id, "activity": last_activity_at.isoformat()}
        key = deals_service.nudge_key(deal_id, last_activity_at)
        if await enqueue(session, DEAL_NUDGE, payload, due, key=key):
            planned += 1
    return planned


NUDGE_FROM_HOUR, NUDGE_UNTIL_HOUR = 9, 21


async def plan_updates_cleanup(session: AsyncSession, now: datetime, default_tz: str) -> bool:
    """The clean-up of handled-update records, once a local day at 03:30 of the default time zone."""
    due = next_local_occurrence(3, default_tz, now, minute=30)
    return await enqueue(session, CLEANUP, {}, due, key=f"{CLEANUP}:{due.date().isoformat()}")


async def plan_rfm_nightly(session: AsyncSession, now: datetime, default_tz: str) -> bool:
    """The nightly RFM and ABC run, once a local night of the default time zone at RFM_HOUR:RFM_MINUTE
    (the key names that local date, so planning again, or on another instance, adds nothing)."""
    due = next_local_occurrence(RFM_HOUR, default_tz, now, minute=RFM_MINUTE)
    local_day = due.astimezone(ZoneInfo(default_tz)).date().isoformat()
    return await enqueue(session, RFM_NIGHTLY, {}, due, key=f"{RFM_NIGHTLY}:{local_day}")


REPORTS_ROLLUP_HOUR, REPORTS_ROLLUP_MINUTE = 0, 20


async def plan_reports_rollup(session: AsyncSession, now: datetime, default_tz: str) -> bool:
    """The rollup of the closed days for /reports, once per local day of the company's time zone: at
    00:20, or at once when the day's run hasn't been planned yet (a start later in the day)."""
    zone = ZoneInfo(default_tz)
    local = now.astimezone(zone)
    due = datetime.combine(local.date(), time(REPORTS_ROLLUP_HOUR, REPORTS_ROLLUP_MINUTE), zone)
    key = f"{REPORTS_ROLLUP}:{local.date().isoformat()}"
    return await enqueue(session, REPORTS_ROLLUP, {}, max(due.astimezone(UTC), now), key=key)
