"""A reminder delivered at its time to its owner (handlers/reminders.py has its buttons)."""

from __future__ import annotations

from bot.views import reminders as reminder_views
from models.clients import Client
from models.users import User
from scheduler.delivery import send_to
from scheduler.queue import JobContext
from services import reminders as reminders_service
from services.queue import PermanentError
from services.users import resolve_language


async def reminder(ctx: JobContext) -> str:
    """Sends the reminder once: skipped when it is no longer pending, was snoozed (another version
    is queued) or was already sent; `sent_at` is committed with the job's completion."""
    deps = ctx.deps
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
    outcome = await send_to(ctx, owner, text, markup)
    reminders_service.mark_sent(item, ctx.now)
    return outcome
