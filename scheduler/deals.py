"""A nudge to a deal's owner that the deal has gone quiet (planned by plan_stale_deal_nudges)."""

from __future__ import annotations

from bot.views import deals as deal_views
from models.clients import Client
from models.deals import Deal
from models.users import User
from scheduler.delivery import send_to
from scheduler.queue import JobContext
from services import deals as deals_service
from services.users import resolve_language

DEAL_NUDGE = "deal_nudge"


async def deal_nudge(ctx: JobContext) -> str:
    """Staleness is checked again here: a stage change or a logged contact since planning skips it."""
    deps = ctx.deps
    deal = await ctx.session.get(Deal, int(ctx.job.payload["deal_id"]))
    days = deps.settings.deal_stale_days
    if (
        deal is None
        or not deals_service.is_stale(deal, ctx.now, days)
        or deal.last_activity_at.isoformat() != ctx.job.payload.get("activity")
    ):
        return "skipped"
    owner = await ctx.session.get(User, deal.owner_id)
    client = await ctx.session.get(Client, deal.client_id)
    if owner is None or client is None or not owner.is_staff:
        return "skipped"
    locale = resolve_language(owner, owner.tg_language, deps.settings.default_language)
    tz = owner.timezone or deps.settings.default_timezone
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text, markup = deal_views.nudge(deal, client, tz, locale)
    outcome = await send_to(ctx, owner, text, markup)
    await deals_service.mark_nudged(ctx.session, deal, ctx.now, days)
    return outcome
