"""The daily clean-up of handled-update records (planned by scheduler/recurring.plan_updates_cleanup)."""

from __future__ import annotations

from scheduler.queue import JobContext
from services import updates
from services.queue import enqueue

CLEANUP = "updates_cleanup"


async def cleanup(ctx: JobContext) -> str:
    deleted, more = await updates.forget_old(ctx.session, ctx.now)
    if more:  # a long backlog goes on in the next job, not in one long transaction
        await enqueue(ctx.session, CLEANUP, {}, ctx.now, key=f"{CLEANUP}:{ctx.job.id}")
    return f"deleted {deleted}"
