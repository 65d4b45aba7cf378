"""The jobs of an import (scheduler/jobs.py registers them by kind): reading the file, the dry run, the
apply, and the nightly clean-up of imports left unfinished.

- The read job downloads the accepted file by its Telegram id, reads it off the event loop and stages
  its rows in one transaction of its own (a conditional move from reading to read: a job killed
  midway rolls back and is retried from scratch, a retry after the commit stages nothing twice), and
  only then asks what the file holds. A file that can't be read is refused with the reason.
- The dry-run job checks the rows (nothing written meanwhile, so it holds no write lock), showing its
  progress in the message Check was pressed on at most every PROGRESS_SECONDS; the figures commit in a
  transaction of their own, and then the message shows the result with its buttons and the errors
  file is sent. A retry after the figures committed checks again (read only) to tell the result.
- The apply: one batch of rows per run, in the run's transaction together with the import's cursor,
  then a follow-up run for the next batch. Each run first shows the progress committed so far in the
  progress message (the dry-run message the person pressed Apply on), so the message never tells of a
  batch that didn't commit. A run killed or failed mid-batch rolls back and is retried from the same
  row; a stale or second run of a batch writes nothing (services/imports/applying). The last run,
  with every row applied, shows the result.

A job that ends for good (PermanentError, or its last attempt failing) doesn't leave the import
waiting: an apply or a read fails, a dry run goes back to the mapping, and the person is told in the
job's message what was done. The nightly clean-up also catches an import whose job the queue gave up on
without running it (a worker that kept dying), and expires imports left untouched for a week.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.views import imports as views
from models.imports import Import, ImportStatus
from models.jobs import Job
from models.users import User
from scheduler.queue import JobContext
from services import access
from services.errors import DomainError
from services.imports import applying, checking, reading, staging
from services.imports.staging import APPLY_JOB, CHECK_JOB, READ_JOB, apply_key
from services.queue import PermanentError, enqueue
from services.timezones import next_local_occurrence, zone_of
from services.users import resolve_language

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

READ = READ_JOB
CHECK = CHECK_JOB
APPLY = APPLY_JOB
CLEANUP = "import_cleanup"
CLEANUP_HOUR, CLEANUP_MINUTE = 4, 10
CLEANUP_BATCH = 50  # imports expired per run; a longer backlog goes on in a follow-up run
PROGRESS_SECONDS = 3.0  # a progress message is edited at most this often
LEASE = timedelta(minutes=5)
_shown: dict[int, float] = {}  # import id -> when its apply progress was last shown (monotonic)


def _import_id(ctx: JobContext) -> int:
    try:
        return int(ctx.job.payload["import_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentError("bad import payload") from None


def _locale(deps: Deps, user: User) -> str:
    return resolve_language(user, user.tg_language, deps.settings.default_language)


async def _show(
    deps: Deps, user: User, imp: Import, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    if user.reachable:
        await deps.sender.edit(imp.chat_id, imp.progress_message_id, text, markup)


async def _progress(deps: Deps, user: User, imp: Import, text: str) -> None:
    """Progress that can't be shown (Telegram refuses the edit) doesn't stop the work."""
    try:
        await _show(deps, user, imp, text)
    except PermanentError:
        log.warning("import %s: progress not shown", imp.id, exc_info=True)


async def _sample(session: AsyncSession, imp: Import) -> list[str]:
    rows = await checking.rows_of(session, imp.id, limit=1)
    return rows[0][1] if rows else []


def _for_good(ctx: JobContext, e: Exception) -> bool:
    """This failure ends the job: the queue retries it no more (scheduler/queue.py)."""
    return isinstance(e, PermanentError) or ctx.job.attempts >= ctx.job.max_attempts


async def _guarded(ctx: JobContext, import_id: int, run: Callable[[], Awaitable[str]]) -> str:
    """Run the job; when it fails for good, the import is given up and the person told (after the
    job's own transaction is rolled back, so nothing of the failed run stays or holds a lock)."""
    try:
        return await run()
    except Exception as e:
        if not _for_good(ctx, e):
            raise
        await ctx.session.rollback()
        await give_up(ctx.deps, import_id, ctx.deps.clock.now())
        raise


async def give_up(deps: Deps, import_id: int, now: datetime) -> None:
    """Mark the import as given up (services/imports/staging.give_up), then tell the person."""
    async with deps.session_factory() as session, session.begin():
        imp = await staging.give_up(session, import_id, now)
        user = await session.get(User, imp.user_id) if imp is not None else None
        sample = await _sample(session, imp) if imp is not None and imp.status == ImportStatus.read else []
    _shown.pop(import_id, None)
    if imp is None or user is None:
        return
    log.warning("import %s given up (%s)", import_id, imp.status)
    try:
        with deps.i18n.context(), deps.i18n.use_locale(_locale(deps, user)):
            if imp.status == ImportStatus.read:  # the dry run: back to the mapping
                text, markup = views.check_failed_text(imp, sample), views.mapping_keyboard(imp)
                await _show(deps, user, imp, text, markup)
            elif imp.kind is None:  # the file was being read
                if user.reachable:
                    await deps.sender.send(
                        imp.chat_id, views.read_failed_text(DomainError("import_download"))
                    )
            else:
                await _show(deps, user, imp, views.failed_text(imp))
    except Exception:  # what the job did is committed; a message that can't go out is only logged
        log.exception("import %s: couldn't tell %s it was given up", import_id, user.id)


# --- reading the file ---


async def _download(deps: Deps, file_id: str) -> bytes:
    try:
        buffer = await deps.bot.download(file_id, destination=BytesIO())
    except TelegramBadRequest:
        raise DomainError("import_download") from None
    assert isinstance(buffer, BytesIO)
    return buffer.getvalue()


async def read_file(ctx: JobContext) -> str:
    import_id = _import_id(ctx)
    return await _guarded(ctx, import_id, lambda: _read(ctx, import_id))


async def _read(ctx: JobContext, import_id: int) -> str:
    deps: Deps = ctx.deps
    imp = await ctx.session.get(Import, import_id)
    user = await ctx.session.get(User, imp.user_id) if imp is not None else None
    if imp is None or user is None:
        return "gone"
    if imp.status == ImportStatus.reading:
        try:
            data = await _download(deps, str(ctx.job.payload.get("file_id") or ""))
            table = await asyncio.to_thread(reading.read, data, imp.file_name)
        except DomainError as e:
            async with deps.session_factory() as session, session.begin():
                refused = await staging.refuse(session, imp.id, ctx.now)
            if refused and user.reachable:
                with deps.i18n.context(), deps.i18n.use_locale(_locale(deps, user)):
                    await deps.sender.send(imp.chat_id, views.read_failed_text(e))
            return "refused" if refused else "skipped"
        del data
        async with deps.session_factory() as session, session.begin():
            staged = await session.get(Import, imp.id)
            if staged is None or not await staging.fill(session, staged, table, ctx.now):
                return "skipped"  # cancelled, or replaced by a newer file, meanwhile
        imp = staged
    elif imp.status != ImportStatus.read or imp.kind is not None:
        return "skipped"  # told before (a retry after the prompt was sent), or moved on
    if user.reachable:
        with deps.i18n.context(), deps.i18n.use_locale(_locale(deps, user)):
            await deps.sender.send(imp.chat_id, views.kind_prompt(imp), views.kind_keyboard(imp))
    return "read"


# --- the dry run ---


async def check(ctx: JobContext) -> str:
    import_id = _import_id(ctx)
    return await _guarded(ctx, import_id, lambda: _check(ctx, import_id))


async def _check(ctx: JobContext, import_id: int) -> str:
    deps: Deps = ctx.deps
    version = int(ctx.job.payload.get("version", 0))
    imp = await ctx.session.get(Import, import_id)
    user = await ctx.session.get(User, imp.user_id) if imp is not None else None
    if imp is None or user is None:
        return "gone"
    fresh = imp.status == ImportStatus.checking and imp.version == version
    told_later = imp.status == ImportStatus.checked and imp.checked_version == imp.version == version
    if not (fresh or told_later):
        return "skipped"
    s = deps.settings
    zone = zone_of(user.timezone, s.default_timezone)
    with deps.i18n.context(), deps.i18n.use_locale(_locale(deps, user)):
        last = time.monotonic()

        async def progress(done: int, total: int) -> None:
            nonlocal last
            if not fresh or done >= total or time.monotonic() - last < PROGRESS_SECONDS:
                return
            last = time.monotonic()
            await _renew_lease(ctx)
            await _progress(deps, user, imp, views.checking_text(imp, done))

        outcome, order = await checking.check_all(
            ctx.session,
            imp,
            user,
            ctx.now,
            region=s.default_region,
            zone=zone,
            currency=s.default_currency,
            progress=progress,
        )
        async with deps.session_factory() as session, session.begin():
            if fresh and not await checking.record(session, imp.id, version, outcome, order, ctx.now):
                return "skipped"  # cancelled, or replaced by a newer file, meanwhile
            shown = await session.get(Import, imp.id)
            rows = (
                await checking.rows_numbered(session, imp.id, [n for n, _e in outcome.invalid])
                if outcome.invalid
                else {}
            )
        if shown is None or not user.reachable:
            return "checked"
        admin = access.sees_everything(user)
        await _show(
            deps, user, shown, views.dry_run_text(shown, outcome), views.dry_run_keyboard(shown, admin)
        )
        if outcome.invalid:
            await _send_errors(deps, shown, views.errors_file(shown, outcome, rows))
    return "checked"


async def _send_errors(deps: Deps, imp: Import, content: bytes) -> None:
    """The errors file, as a document through the sender (which uploads from disk)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "errors.csv"
        path.write_bytes(content)
        name = f"import-{imp.id}-errors.csv"
        await deps.sender.send_document(
            imp.chat_id, path, name, views.errors_caption(imp), check_reachable=False
        )


async def _renew_lease(ctx: JobContext) -> None:
    async with ctx.deps.session_factory() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.id == ctx.job.id)
            .values(lease_until=ctx.deps.clock.now() + LEASE)
            .execution_options(synchronize_session=False)
        )


# --- the apply ---


async def apply(ctx: JobContext) -> str:
    import_id = _import_id(ctx)
    return await _guarded(ctx, import_id, lambda: _apply(ctx, import_id))


async def _apply(ctx: JobContext, import_id: int) -> str:
    deps: Deps = ctx.deps
    imp = await ctx.session.get(Import, import_id, with_for_update=True)
    user = await ctx.session.get(User, imp.user_id) if imp is not None else None
    if imp is None or user is None:
        return "gone"
    with deps.i18n.context(), deps.i18n.use_locale(_locale(deps, user)):
        if imp.status == ImportStatus.done:
            _shown.pop(imp.id, None)
            await _show(deps, user, imp, views.done_text(imp))
            return "done"
        if imp.status != ImportStatus.applying:
            return "skipped"
        if imp.cursor and time.monotonic() - _shown.get(imp.id, float("-inf")) >= PROGRESS_SECONDS:
            _shown[imp.id] = time.monotonic()
            await _progress(deps, user, imp, views.progress_text(imp))
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


# --- the clean-up ---


async def plan_cleanup(session: AsyncSession, now: datetime, default_tz: str) -> bool:
    """The clean-up of imports left unfinished, once a local night of the default time zone."""
    due = next_local_occurrence(CLEANUP_HOUR, default_tz, now, minute=CLEANUP_MINUTE)
    return await enqueue(session, CLEANUP, {}, due, key=f"{CLEANUP}:{due.date().isoformat()}")


async def cleanup(ctx: JobContext) -> str:
    """Imports whose job ended for good unseen are given up (and the person told), each in a
    transaction of its own before this run writes anything; then the abandoned ones expire."""
    for import_id in await staging.stuck(ctx.session, ctx.now):
        await give_up(ctx.deps, import_id, ctx.now)
    expired, more = await staging.expire_abandoned(ctx.session, ctx.now, CLEANUP_BATCH)
    if more:
        await enqueue(ctx.session, CLEANUP, {}, ctx.now, key=f"{CLEANUP}:{ctx.job.id}")
    return f"expired {expired}"
