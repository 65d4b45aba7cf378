"""The nightly rollup behind /reports (planned by scheduler/recurring.plan_reports_rollup)."""

from __future__ import annotations

from scheduler.queue import JobContext
from services.analytics.reports import rollup
from services.queue import enqueue

ROLLUP = "reports_rollup"


async def reports_rollup(ctx: JobContext) -> str:
    settings = ctx.deps.settings
    result = await rollup.roll_up(ctx.session, ctx.now, settings.default_timezone, settings.default_currency)
    if result.more:  # a long backlog (the first run) goes on in the next job
        await enqueue(ctx.session, ROLLUP, {}, ctx.now, key=f"{ROLLUP}:{ctx.job.id}")
    return str(result)
