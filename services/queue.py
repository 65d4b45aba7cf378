"""The durable job queue's port for the layers below the scheduler: services put work on the queue
here, in the caller's own transaction (so the job exists exactly when what scheduled it commits), and
job handlers signal how a run ended. The runner that claims and runs rows is scheduler/queue.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.jobs import Job, JobStatus


class Retry(Exception):
    """A handler asks to run again later (e.g. outside quiet hours) without counting a failure."""

    def __init__(self, delay: timedelta, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay}")
        self.delay = delay


class PermanentError(Exception):
    """The job can never succeed (bad payload, a request Telegram rejects): fail it without retrying."""


def _row(
    kind: str, payload: dict[str, Any], due_at: datetime, key: str | None, max_attempts: int
) -> dict[str, Any]:
    """A new pending job's row (its due time must be aware)."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    return {
        "kind": kind,
        "payload": payload,
        "due_at": due_at,
        "status": JobStatus.pending,
        "attempts": 0,
        "max_attempts": max_attempts,
        "idempotency_key": key,
    }


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    *,
    key: str | None = None,
    max_attempts: int = 8,
) -> bool:
    """Add a job in the caller's transaction. With `key`, a second enqueue of the same key is a no-op.

    Returns True when a row was inserted.
    """
    values = _row(kind, payload, due_at, key, max_attempts)
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Job).values(**values)
    if key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[Job.idempotency_key])
    result = await session.execute(stmt)
    return bool(result.rowcount)


async def enqueue_many(
    session: AsyncSession,
    kind: str,
    jobs: Sequence[tuple[dict[str, Any], datetime, str]],
    *,
    max_attempts: int = 8,
) -> None:
    """Many keyed jobs at once (payload, due time, key), in the caller's transaction: one executemany
    of INSERT ... ON CONFLICT DO NOTHING, so a key queued already adds nothing, as with `enqueue`."""
    if not jobs:
        return
    rows = [_row(kind, payload, due_at, key, max_attempts) for payload, due_at, key in jobs]
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Job).on_conflict_do_nothing(index_elements=[Job.idempotency_key])
    await session.execute(stmt, rows)


async def cancel(session: AsyncSession, key: str) -> bool:
    result = await session.execute(
        update(Job)
        .where(Job.idempotency_key == key, Job.status == JobStatus.pending)
        .values(status=JobStatus.cancelled)
    )
    return bool(result.rowcount)
