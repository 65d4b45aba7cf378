"""The admins' daily digest (planned by scheduler/recurring.plan_admin_digests)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from models.users import Role
from scheduler.delivery import recipient, send_to
from scheduler.queue import JobContext
from services import digest
from services.users import resolve_language

ADMIN_DIGEST = "admin_digest"


async def admin_digest(ctx: JobContext) -> str:
    deps = ctx.deps
    user = await recipient(ctx)
    if not user.is_active or user.effective_role != Role.admin:
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
    return await send_to(ctx, user, "\n".join(lines))
