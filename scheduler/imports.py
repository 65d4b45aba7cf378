"""The apply of an import (scheduler/jobs.py registers it by kind): one batch of rows per run, in the
run's transaction together with the import's cursor, then a follow-up run for the next batch.

Each run first shows the progress committed so far in the progress message (the dry-run message the
person pressed Apply on), so the message never tells of a batch that didn't commit. A run killed or
failed mid-batch rolls back and is retried from the same row; a stale or second run of a batch writes
nothing (services/imports/applying). The last run, with every row applied, shows the result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.views import imports as views
from models.imports import Import, ImportStatus
from models.users import User
from scheduler.queue import JobContext
from services.imports import applying
from services.imports.staging import APPLY_JOB, apply_key
from services.queue import PermanentError, enqueue
from services.timezones import zone_of
from services.users import resolve_language

if TYPE_CHECKING:
    from bot.deps import Deps

APPLY = APPLY_JOB


async def _show(deps: Deps, user: User, imp: Import, text: str) -> None:
    if user.reachable:
        await deps.sender.edit(imp.chat_id, imp.progress_message_id, text)


async def apply(ctx: JobContext) -> str:
    deps: Deps = ctx.deps
    try:
        import_id = int(ctx.job.payload["import_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentError("bad import payload") from None
    imp = await ctx.session.get(Import, import_id, with_for_update=True)
    user = await ctx.session.get(User, imp.user_id) if imp is not None else None
    if imp is None or user is None:
        return "gone"
    locale = resolve_language(user, user.tg_language, deps.settings.default_language)
    with deps.i18n.context(), deps.i18n.use_locale(locale):
        if imp.status == ImportStatus.done:
            await _show(deps, user, imp, views.done_text(imp))
            return "done"
        if imp.status != ImportStatus.applying:
            return "skipped"
        if imp.cursor:
            await _show(deps, user, imp, views.progress_text(imp))
    zone = zone_of(user.timezone, deps.settings.default_timezone)
    s = deps.settings
    await applying.apply_batch(
        ctx.session, imp, user, ctx.now, region=s.default_region, zone=zone, currency=s.default_currency
    )
    # The next batch, or (all applied) the run that shows the result, after this one commits.
    await enqueue(
        ctx.session,
        APPLY,
        {"import_id": imp.id},
        ctx.now,
        key=f"{apply_key(imp.id)}:{imp.cursor}:{imp.status}",
    )
    return f"rows to {imp.cursor}"[:32]
