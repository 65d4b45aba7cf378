"""The morning follow-up digests: each staff member's neglected clients and, for admins, the
escalation digest. Planned by plan_followup_digests (one job per person and local date, at DIGEST_HOUR
in the person's time zone); the job computes the list, marks the listed clients and sends it, all in
its own transaction; the message is claimed before it leaves, so a digest is never sent twice, and its
marks commit with the job."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.sender import Delivery
from bot.views import followups as views
from models.users import Role
from scheduler.delivery import recipient, send_to
from scheduler.queue import JobContext
from services import followups
from services import users as users_service
from services.queue import enqueue
from services.timezones import next_local_occurrence
from services.users import resolve_language

DIGEST = "followup_digest"
ESCALATION = "followup_escalation"


async def plan_followup_digests(session: AsyncSession, now: datetime, hour: int, default_tz: str) -> int:
    """The next morning's digest for every active manager and admin, and the escalation for every
    admin; the keys name the person and their local date, so planning again adds nothing."""
    planned = 0
    for user in await users_service.staff(session):
        tz = user.timezone or default_tz
        due = next_local_occurrence(hour, tz, now)
        local_day = due.astimezone(ZoneInfo(tz)).date().isoformat()
        jobs = [(DIGEST, f"followups:{user.id}:{local_day}")]
        if user.effective_role == Role.admin:
            jobs.append((ESCALATION, f"followups_esc:{user.id}:{local_day}"))
        for kind, key in jobs:
            if await enqueue(session, kind, {"user_id": user.id}, due, key=key):
                planned += 1
    return planned


async def followup_digest(ctx: JobContext) -> str:
    """The person's neglected clients (nothing to say: no message); the listed ones are marked."""
    deps = ctx.deps
    user = await recipient(ctx)
    if not user.is_active or not user.is_staff:
        return "skipped"
    if not user.reachable:  # blocked the bot: nothing is shown, so nothing is marked
        return Delivery.blocked.value
    found = await followups.neglected(ctx.session, user.id, ctx.now, await followups.rules(ctx.session))
    if not found.items:
        return "nothing"
    locale = resolve_language(user, user.tg_language, deps.settings.default_language)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text, markup = views.digest(found, ctx.now, deps.settings.default_currency, locale, ctx.late)
    # Claimed and sent before the marks are written (SQLite: the claim's own transaction must not wait
    # for this one's write lock); the marks commit with the job. A run after a crash that finds the
    # digest claimed (UNKNOWN: it was probably shown) writes the marks without sending it again.
    outcome = await send_to(ctx, user, text, markup)
    await followups.mark_nudged(ctx.session, [c.id for c in found.items], ctx.now)
    return outcome


async def followup_escalation(ctx: JobContext) -> str:
    """For an admin: the managers with the most overdue reminders and neglected VIPs (nothing: no
    message)."""
    deps = ctx.deps
    user = await recipient(ctx)
    if not user.is_active or user.effective_role != Role.admin:
        return "skipped"
    esc = await followups.escalation(ctx.session, ctx.now, await followups.rules(ctx.session))
    if esc.empty:
        return "nothing"
    locale = resolve_language(user, user.tg_language, deps.settings.default_language)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text = views.escalation(esc, ctx.late)
    return await send_to(ctx, user, text)
