"""Jobs of the loyalty domain (scheduler/jobs.py registers them by kind).

- loyalty_daily (planned once a day by scheduler/recurring.plan_loyalty_daily): expires lots past
  their expiry and plans the coming birthday bonuses;
- loyalty_expire: a continuation when one run had more to expire than a batch;
- loyalty_birthday: one client's bonus for one year (its key and the ledger key make it once a year).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from models.clients import Client
from scheduler.queue import JobContext
from services import loyalty
from services.queue import PermanentError, enqueue

if TYPE_CHECKING:
    from bot.deps import Deps

DAILY, EXPIRE, BIRTHDAY = "loyalty_daily", "loyalty_expire", "loyalty_birthday"
BATCHES_PER_RUN = 20


async def _expire(ctx: JobContext) -> str:
    """Up to BATCHES_PER_RUN batches; whatever is left goes to a follow-up job right away."""
    total = 0
    for _ in range(BATCHES_PER_RUN):
        _clients, points, more = await loyalty.expire_due(ctx.session, ctx.now)
        total += points
        if not more:
            return f"expired {total}"[:32]
    await enqueue(ctx.session, EXPIRE, {}, ctx.now, key=f"{EXPIRE}:{ctx.job.id}")
    return "partial"


async def daily(ctx: JobContext) -> str:
    deps: Deps = ctx.deps
    outcome = await _expire(ctx)
    planned = 0
    for client_id, year, at in await loyalty.birthdays_due(
        ctx.session, ctx.now, deps.settings.default_timezone
    ):
        payload = {"client_id": client_id, "year": year}
        key = loyalty.birthday_key(client_id, year)
        planned += await enqueue(ctx.session, BIRTHDAY, payload, max(at, ctx.now), key=key)
    return f"{outcome}; birthdays {planned}"[:32]


async def expire(ctx: JobContext) -> str:
    return await _expire(ctx)


async def birthday(ctx: JobContext) -> str:
    """The bonus on the birthday itself (the client's time zone); a job run after that day is missed."""
    deps: Deps = ctx.deps
    try:
        client_id, year = int(ctx.job.payload["client_id"]), int(ctx.job.payload["year"])
    except (KeyError, TypeError, ValueError):
        raise PermanentError("bad birthday payload") from None
    client = await ctx.session.get(Client, client_id)
    if client is None or client.birthday is None:
        return "skipped"
    try:
        zone = ZoneInfo(client.timezone or deps.settings.default_timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo(deps.settings.default_timezone)
    today = ctx.now.astimezone(zone).date()
    if today != loyalty.birthday_in(year, client.birthday):
        return "missed" if today > loyalty.birthday_in(year, client.birthday) else "skipped"
    entry = await loyalty.grant_birthday(ctx.session, client_id, year, ctx.now)
    return "granted" if entry is not None else "skipped"
