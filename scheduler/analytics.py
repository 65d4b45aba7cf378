"""Analytics jobs (scheduler/jobs.py registers them by kind).

- rfm_nightly (planned once a local night by scheduler/recurring.plan_rfm_nightly, at RFM_HOUR:RFM_MINUTE
  in DEFAULT_TIMEZONE): the RFM and ABC run dated the UTC day it runs;
- rfm_manual (an admin's "Recompute now" on /rfm): the same run, then the admin is told it's done;
  a retry of a job whose run is in (the worker died after the run committed) neither runs again nor
  tells of a recompute that didn't happen then.

The run works on a connection of its own (services/analytics/rfm.run): its rows are committed in
one short transaction of their own, not in the job's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram.utils.i18n import gettext as _
from sqlalchemy import select, update

from models.analytics import RfmRun
from models.jobs import Job
from models.users import User
from scheduler.delivery import send_to
from scheduler.queue import JobContext
from services.analytics import rfm
from services.users import resolve_language

if TYPE_CHECKING:
    from bot.deps import Deps

NIGHTLY, MANUAL = rfm.NIGHTLY_JOB, rfm.MANUAL_JOB
RFM_HOUR, RFM_MINUTE = 4, 0


RUN_LEASE = timedelta(minutes=30)


async def _hold_lease(ctx: JobContext) -> None:
    """A run takes longer than the queue's lease at a million clients: hold the job for RUN_LEASE
    (committed at once, in a transaction of its own) so no other tick or instance takes it again."""
    deps: Deps = ctx.deps
    async with deps.session_factory() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.id == ctx.job.id, Job.locked_by == ctx.job.locked_by)
            .values(lease_until=ctx.now + RUN_LEASE)
        )


async def _run(ctx: JobContext, started_by: int | None) -> rfm.RunResult:
    deps: Deps = ctx.deps
    await _hold_lease(ctx)
    return await rfm.run(
        ctx.session.bind,  # type: ignore[arg-type]
        as_of=ctx.now.date(),
        currency=deps.settings.default_currency,
        now=ctx.now,
        started_by=started_by,
        keep=deps.settings.rfm_keep_runs,
    )


async def nightly(ctx: JobContext) -> str:
    done = await ctx.session.scalar(
        select(RfmRun.id).where(
            RfmRun.as_of == ctx.now.date(), RfmRun.started_by.is_(None), RfmRun.finished_at.is_not(None)
        )
    )
    if done is not None:  # tonight's run is in (a retry after the run committed)
        return f"run {done} already"[:32]
    result = await _run(ctx, None)
    return f"run {result.run_id}: {result.population}"[:32]


async def manual(ctx: JobContext) -> str:
    deps: Deps = ctx.deps
    user_id = int(ctx.job.payload.get("user_id") or 0) or None
    if user_id is not None:
        done = await ctx.session.scalar(
            select(RfmRun.id).where(
                RfmRun.started_by == user_id,
                RfmRun.started_at >= ctx.job.due_at,
                RfmRun.finished_at.is_not(None),
            )
        )
        if done is not None:  # a retry after the run committed: it was computed and announced then
            return f"run {done} already"[:32]
    result = await _run(ctx, user_id)
    user = await ctx.session.get(User, user_id) if user_id else None
    if user is None:
        return f"run {result.run_id}"[:32]
    locale = resolve_language(user, user.tg_language, deps.settings.default_language)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        text = _("✅ RFM and ABC recomputed: {n} clients scored. Send /rfm to see them.").format(
            n=result.population
        )
    await send_to(ctx, user, text)
    return f"run {result.run_id}"[:32]
