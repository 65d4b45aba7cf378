"""Job kinds and their handlers. Every proactive message leaves through deps.sender."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import menus, notices
from bot.sender import Delivery
from models.users import User
from scheduler.queue import JobContext, JobRegistry, PermanentError
from services import digest
from services.users import resolve_language

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

registry = JobRegistry()


async def _recipient(ctx: JobContext) -> User:
    user = await ctx.session.get(User, int(ctx.job.payload["user_id"]))
    if user is None:
        raise PermanentError("recipient is not known to the bot")
    return user


async def send_to(deps: Deps, user: User, text: str, markup: InlineKeyboardMarkup | None = None) -> str:
    """Send to a loaded user: skip people who blocked the bot without asking the database again."""
    if not user.reachable:
        return Delivery.blocked.value
    return (await deps.sender.send(user.id, text, markup, check_reachable=False)).value


@registry.register("notify")
async def notify(ctx: JobContext) -> str:
    deps: Deps = ctx.deps
    user = await _recipient(ctx)
    if (purpose := ctx.job.payload.get("purpose")) is not None:
        from models.consent import Purpose
        from services import consent
        from services.clients import _live
        from services.errors import DomainError

        try:
            client_id, purpose = int(ctx.job.payload["client_id"]), Purpose(purpose)
        except (KeyError, TypeError, ValueError):
            raise PermanentError("bad consent in payload") from None
        try:  # a record merged since: its consent and link moved to the survivor
            client = await _live(ctx.session, client_id)
        except DomainError:
            return "no_client"
        if client.telegram_id != user.id:  # unlinked (/forget) or linked to someone else since
            return "not_linked"
        client_id = client.id
        if not await consent.allowed(ctx.session, client_id, purpose):
            return "no_consent"
    locale = resolve_language(user, user.tg_language, deps.settings.default_language)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        try:
            text, markup = notices.render(ctx.job.payload["notice"], ctx.job.payload.get("params", {}))
        except LookupError as e:
            raise PermanentError(str(e)) from None
        if purpose == "marketing":  # every marketing message can be stopped in one tap
            from bot.views.consent import with_unsubscribe

            markup = with_unsubscribe(markup, client_id)
    return await send_to(deps, user, text, markup)


@registry.register("commands.sync")
async def commands_sync(ctx: JobContext) -> str:
    deps: Deps = ctx.deps
    user = await _recipient(ctx)
    await menus.set_for_user(deps.bot, deps.i18n, user, deps.settings.default_language)
    return "done"


@registry.register("admin_digest")
async def admin_digest(ctx: JobContext) -> str:
    deps: Deps = ctx.deps
    user = await _recipient(ctx)
    if not user.is_active or user.effective_role.value != "admin":
        return "skipped"
    stats = await digest.daily_stats(ctx.session, ctx.now)
    locale = resolve_language(user, user.tg_language, deps.settings.default_language)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        lines = [
            _("☀️ <b>Daily digest</b> (last 24 hours)"),
            _("Messages sent: {n}").format(n=stats.sent),
            _("Not delivered (blocked or deleted chats): {n}").format(n=stats.not_delivered),
            _("Jobs failed: {n}; waiting now: {w}").format(n=stats.failed, w=stats.waiting),
            _("New users: {n}; blocked the bot: {b}").format(n=stats.new_users, b=stats.blocked_bot),
            _("Team: {a} admins, {m} managers").format(a=stats.admins, m=stats.managers),
        ]
        if ctx.late:
            lines.append(_("(sent late: the bot was offline at the planned time)"))
    return await send_to(deps, user, "\n".join(lines))


@registry.register("deal_nudge")
async def deal_nudge(ctx: JobContext) -> str:
    """One reminder to a deal's owner that the deal has gone quiet (planned by plan_stale_deal_nudges).

    Staleness is checked again here: a stage change or a logged contact since planning skips it.
    """
    from bot.views import deals as deal_views
    from models.clients import Client
    from models.deals import Deal
    from services import deals as deals_service

    deps: Deps = ctx.deps
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
    outcome = await send_to(deps, owner, text, markup)
    await deals_service.mark_nudged(ctx.session, deal, ctx.now, days)
    return outcome


# --- reminders: delivered at their time to their owner (handlers/reminders.py has the buttons) ---

from bot.views import reminders as reminder_views  # noqa: E402
from models.clients import Client  # noqa: E402
from services import reminders as reminders_service  # noqa: E402


@registry.register(reminders_service.REMINDER_JOB)
async def reminder(ctx: JobContext) -> str:
    """Sends the reminder once: skipped when it is no longer pending, was snoozed (another version
    is queued) or was already sent; `sent_at` is committed with the job's completion."""
    deps: Deps = ctx.deps
    try:
        reminder_id, version = int(ctx.job.payload["reminder_id"]), int(ctx.job.payload["version"])
    except (KeyError, TypeError, ValueError):
        raise PermanentError("bad reminder payload") from None
    item = await reminders_service.for_delivery(ctx.session, reminder_id, version)
    if item is None:
        return "skipped"
    owner = await ctx.session.get(User, item.owner_id)
    if owner is None or not owner.is_staff:
        return "skipped"
    client = await ctx.session.get(Client, item.client_id) if item.client_id else None
    tz = owner.timezone or deps.settings.default_timezone
    locale = resolve_language(owner, owner.tg_language, deps.settings.default_language)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text, markup = reminder_views.delivery(
            item,
            client.name if client else None,
            client.version if client else 0,
            tz,
            locale,
            late=ctx.late,
            now=ctx.now,
        )
    outcome = await send_to(deps, owner, text, markup)
    reminders_service.mark_sent(item, ctx.now)
    return outcome


# Job kinds of the customer side live beside their domain; importing registers them.
from scheduler import loyalty, surveys  # noqa: E402, F401
