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
    from bot.app import Deps

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
    locale = resolve_language(user, user.tg_language, deps.settings.default_language)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        try:
            text, markup = notices.render(ctx.job.payload["notice"], ctx.job.payload.get("params", {}))
        except LookupError as e:
            raise PermanentError(str(e)) from None
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
