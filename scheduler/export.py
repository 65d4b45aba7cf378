"""The export job: write the requested table to a temporary directory (streaming, in parts under
Telegram's upload limit), send each part as a document through the sender, and delete the files.

Each part sent is committed at once (export_requests.parts_sent, in its own transaction), so a
retried job — after a crash, a network error, a lease that ran out — sends only the parts not sent
yet. The job's lease is renewed while it writes a large table."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from bot.sender import Delivery
from bot.views import export as views
from models.export import ExportRequest
from models.jobs import Job
from models.users import User
from scheduler.queue import JobContext
from services.errors import DomainError
from services.export import requests
from services.export.datasets import Dataset, Scope, check_allowed
from services.export.files import PART_LIMIT, Format
from services.queue import PermanentError
from services.timezones import zone_of
from services.users import resolve_language

log = logging.getLogger(__name__)

EXPORT = requests.EXPORT_JOB
LEASE = timedelta(minutes=10)


async def export_run(ctx: JobContext) -> str:
    deps = ctx.deps
    req = await ctx.session.get(ExportRequest, int(ctx.job.payload["request_id"]))
    if req is None:
        raise PermanentError("export request not found")
    if req.active is None:
        return req.status  # finished before (a duplicate run)
    user = await ctx.session.get(User, req.user_id)
    if user is None or not user.is_staff:
        await _finish(ctx, req.id, "refused")
        return "refused"
    dataset, fmt = Dataset(req.dataset), Format(req.format)
    try:
        check_allowed(user, dataset)
    except DomainError:
        await _finish(ctx, req.id, "refused")
        return "refused"
    if not user.reachable:
        await _finish(ctx, req.id, Delivery.blocked.value)
        return Delivery.blocked.value
    locale = resolve_language(user, user.tg_language, deps.settings.default_language)
    tz = user.timezone or deps.settings.default_timezone
    with deps.i18n.context(), deps.i18n.use_locale(locale), requests.temp_directory() as tmp:
        written = await requests.write_files(
            ctx.session,
            dataset,
            Scope(user, dict(req.params or {})),
            fmt,
            views.columns(dataset),
            Path(tmp),
            stem=dataset.value,
            tz=zone_of(tz),
            part_limit=int(ctx.job.payload.get("part_limit", PART_LIMIT)),
            on_rows=lambda _n: _renew_lease(ctx),
        )
        outcome = await _send_parts(ctx, req, user, dataset, fmt, written, locale)
    await _finish(ctx, req.id, outcome, rows=written.rows, parts=len(written.parts))
    return outcome


async def _send_parts(
    ctx: JobContext,
    req: ExportRequest,
    user: User,
    dataset: Dataset,
    fmt: Format,
    written: requests.Written,
    locale: str,
) -> str:
    total = len(written.parts)
    day = ctx.now.date().isoformat()
    for number, path in enumerate(written.parts, 1):
        if number <= req.parts_sent:
            continue  # sent by an earlier run of this job
        caption = views.caption(dataset, fmt, written.rows, number, total, locale)
        name = views.filename(dataset, fmt, day, number, total)
        result = await ctx.deps.sender.send_document(user.id, path, name, caption, check_reachable=False)
        if result is not Delivery.sent:
            return result.value
        async with ctx.deps.session_factory() as session, session.begin():
            await requests.mark_sent(session, req.id, number)
        log.info("export %s: part %d of %d sent to %s", req.id, number, total, user.id)
    return "sent"


async def _renew_lease(ctx: JobContext) -> None:
    async with ctx.deps.session_factory() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.id == ctx.job.id)
            .values(lease_until=ctx.deps.clock.now() + LEASE)
            .execution_options(synchronize_session=False)
        )


async def _finish(ctx: JobContext, request_id: int, status: str, *, rows: int = 0, parts: int = 0) -> None:
    async with ctx.deps.session_factory() as session, session.begin():
        await requests.finish(session, request_id, status, ctx.deps.clock.now(), rows_=rows, parts=parts)
