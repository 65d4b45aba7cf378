"""Analytics jobs (scheduler/jobs.py registers them by kind).

- rfm_nightly (planned once a local night by scheduler/recurring.plan_rfm_nightly, at RFM_HOUR:RFM_MINUTE
  in DEFAULT_TIMEZONE): the RFM and ABC run dated the UTC day it runs;
- rfm_manual (an admin's "Recompute now" on /rfm): the same run, then the admin is told it's done.

The run works on a connection of its own (services/analytics/rfm.run): its rows are committed in
one short transaction of their own, not in the job's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram.utils.i18n import gettext as _

from models.users import User
from scheduler.delivery import send_to
from scheduler.queue import JobContext
from services.analytics import rfm
from services.users import resolve_language

if TYPE_CHECKING:
    from bot.deps import Deps

NIGHTLY, MANUAL = rfm.NIGHTLY_JOB, rfm.MANUAL_JOB
RFM_HOUR, RFM_MINUTE = 4, 0


async def _run(ctx: JobContext, started_by: int | None) -> rfm.RunResult:
    deps: Deps = ctx.deps
    return await rfm.run(
        ctx.session.bind,  # type: ignore[arg-type]
        as_of=ctx.now.date(),
        currency=deps.settings.default_currency,
        now=ctx.now,
        started_by=started_by,
        keep=deps.settings.rfm_keep_runs,
    )


async def nightly(ctx: JobContext) -> str:
    result = await _run(ctx, None)
    return f"run {result.run_id}: {result.population}"[:32]


async def manual(ctx: JobContext) -> str:
    deps: Deps = ctx.deps
    user_id = int(ctx.job.payload.get("user_id") or 0) or None
    result = await _run(ctx, user_id)
    user = await ctx.session.get(User, user_id) if user_id else None
    if user is None:
        return f"run {result.run_id}"[:32]
    locale = resolve_language(user, user.tg_language, deps.settings.default_language)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text = _("✅ RFM and ABC recomputed: {n} clients scored. Send /rfm to see them.").format(
            n=result.population
        )
    await send_to(deps, user, text)
    return f"run {result.run_id}"[:32]
