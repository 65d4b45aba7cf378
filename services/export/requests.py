"""Export requests: asked for in a handler (one in progress per person), made by the durable job
EXPORT_JOB (scheduler/export.py), which writes the files with `write_files` and sends them part by
part, recording each part sent."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.export import ExportRequest
from models.jobs import Job, JobStatus
from models.users import User
from services.clients.dedupe import savepoint
from services.errors import DomainError
from services.export.datasets import Dataset, Scope, check_allowed, rows
from services.export.files import PART_LIMIT, Column, Format, TableWriter
from services.queue import enqueue

EXPORT_JOB = "export.run"
WRITE_BATCH = 2000  # rows handed to the writer thread at once
LEASE_EVERY = 20_000  # rows between two renewals of the job's lease
FILTER_KEYS = {
    Dataset.clients: ("segment", "status", "tag", "owner", "vip"),
    Dataset.audit: ("actor", "client", "since", "until"),
}


def job_key(request_id: int) -> str:
    return f"export:{request_id}"


async def active_request(session: AsyncSession, user_id: int) -> ExportRequest | None:
    """The person's export in progress; one whose job ended without finishing it is closed first."""
    req = await session.scalar(
        select(ExportRequest).where(ExportRequest.user_id == user_id, ExportRequest.active == 1)
    )
    if req is None:
        return None
    status = await session.scalar(select(Job.status).where(Job.idempotency_key == job_key(req.id)))
    if status in (JobStatus.pending, JobStatus.running):
        return req
    req.status, req.active = "failed", None
    await session.flush()
    return None


async def start(
    session: AsyncSession,
    user: User,
    dataset: Dataset | str,
    fmt: Format | str,
    params: dict[str, Any],
    now: datetime,
) -> ExportRequest:
    """Ask for an export in the caller's transaction; DomainError("export_running") when the person
    already has one in progress (a second press of the button)."""
    dataset, fmt = Dataset(dataset), Format(fmt)
    check_allowed(user, dataset)
    allowed = FILTER_KEYS.get(dataset, ())
    params = {k: v for k, v in params.items() if k in allowed and v is not None}
    if await active_request(session, user.id) is not None:
        raise DomainError("export_running")
    req = ExportRequest(
        user_id=user.id,
        dataset=dataset.value,
        format=fmt.value,
        params=params,
        status="pending",
        active=1,
        rows=0,
        parts_total=0,
        parts_sent=0,
        created_at=now,
    )
    try:
        async with await savepoint(session):
            session.add(req)
            await session.flush()
    except IntegrityError:  # the same person's other press got in first
        raise DomainError("export_running") from None
    await enqueue(session, EXPORT_JOB, {"request_id": req.id}, now, key=job_key(req.id), max_attempts=5)
    return req


@dataclass(frozen=True, slots=True)
class Written:
    directory: Path
    parts: list[Path]
    rows: int


async def write_files(
    session: AsyncSession,
    dataset: Dataset,
    scope: Scope,
    fmt: Format,
    columns: Sequence[Column],
    directory: Path,
    *,
    stem: str,
    tz: tzinfo,
    part_limit: int = PART_LIMIT,
    on_rows: Any = None,
) -> Written:
    """Stream the dataset's rows into files in `directory` (created by the caller, deleted by it).

    Rows are written a batch at a time in a worker thread (a spreadsheet's cells and its final zip
    are CPU work that must not hold up the bot's event loop); at most one batch is in memory.
    `on_rows(n)` is awaited every LEASE_EVERY rows (the job renews its lease there)."""
    writer = TableWriter(directory, stem, fmt, columns, tz=tz, part_limit=part_limit)
    with writer:
        batch: list[Sequence[Any]] = []
        reported = 0
        async for row in rows(session, dataset, scope):
            batch.append(row)
            if len(batch) >= WRITE_BATCH:
                await asyncio.to_thread(writer.write_all, batch)
                batch = []
                if on_rows is not None and writer.rows - reported >= LEASE_EVERY:
                    reported = writer.rows
                    await on_rows(writer.rows)
        if batch:
            await asyncio.to_thread(writer.write_all, batch)
        parts = await asyncio.to_thread(writer.close)
    return Written(directory, parts, writer.rows)


def temp_directory() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="crm-export-")


async def mark_sent(session: AsyncSession, request_id: int, part: int) -> None:
    await session.execute(
        update(ExportRequest)
        .where(ExportRequest.id == request_id, ExportRequest.parts_sent < part)
        .values(parts_sent=part)
        .execution_options(synchronize_session=False)
    )


async def finish(
    session: AsyncSession, request_id: int, status: str, now: datetime, *, rows_: int = 0, parts: int = 0
) -> None:
    await session.execute(
        update(ExportRequest)
        .where(ExportRequest.id == request_id)
        .values(status=status, active=None, rows=rows_, parts_total=parts, finished_at=now)
        .execution_options(synchronize_session=False)
    )
