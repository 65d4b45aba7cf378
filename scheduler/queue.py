"""The durable job queue.

Scheduled work is a row in `jobs` (kind, payload, due time in UTC, status, attempts, lease, unique
idempotency key). A worker claims due rows in one statement (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so several instances never take the same row), runs the handler
registered for the row's kind in the row's own transaction, and marks it done or retries it with
backoff. A lease left behind by a crashed process expires and the row is claimed again; rows that
fell due while the bot was down are simply due, and run once at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.jobs import Job, JobSend, JobStatus
from services.clock import Clock
from services.queue import PermanentError, Retry, cancel, enqueue

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

__all__ = [
    "JobContext",
    "JobHandler",
    "JobQueue",
    "JobRegistry",
    "PermanentError",
    "Retry",
    "backoff",
    "cancel",
    "enqueue",
]

LATE_AFTER = timedelta(minutes=2)
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
MAX_CONCURRENCY = 8


@dataclass(slots=True)
class JobContext:
    job: Job
    session: AsyncSession
    now: datetime
    deps: Deps  # the application's dependencies (settings, bot, i18n, sender, clock, sessions)
    sends: int = 0  # messages claimed by this run so far (claim_send)

    @property
    def late(self) -> bool:
        """Due long before it ran: the bot was down or the queue was behind."""
        return self.now - self.job.due_at > LATE_AFTER

    async def claim_send(self) -> bool:
        """The next message of this job is about to leave: claim it in its own committed transaction
        first (call it before the job's own writes: on SQLite they would hold the write lock). False
        when an earlier run of this job, whose process died, claimed it: it may have arrived, so it is
        not sent again."""
        n, self.sends = self.sends, self.sends + 1
        try:
            async with self.deps.session_factory() as session, session.begin():
                session.add(JobSend(job_id=self.job.id, n=n, at=self.now))
        except IntegrityError:
            log.warning(
                "job %s (%s): message %d was claimed by a run that died; not sent again",
                self.job.id,
                self.job.kind,
                n,
            )
            return False
        return True

    async def release_send(self) -> None:
        """Take back the last claim: its send failed while this process lived (a network error, a
        5xx), so the retry may send it."""
        self.sends -= 1
        async with self.deps.session_factory() as session, session.begin():
            await session.execute(
                delete(JobSend).where(JobSend.job_id == self.job.id, JobSend.n == self.sends)
            )


JobHandler = Callable[[JobContext], Awaitable[str | None]]


@dataclass
class JobRegistry:
    """Job kind -> its handler. The application's is filled in one place, scheduler/jobs.py."""

    handlers: dict[str, JobHandler] = field(default_factory=dict)

    def add(self, kind: str, handler: JobHandler) -> None:
        if kind in self.handlers:
            raise ValueError(f"job kind {kind!r} registered twice")
        self.handlers[kind] = handler

    def register(self, kind: str) -> Callable[[JobHandler], JobHandler]:
        """The decorator form of `add` (tests register small handlers with it)."""

        def decorator(fn: JobHandler) -> JobHandler:
            self.add(kind, fn)
            return fn

        return decorator


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


class JobQueue:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        registry: JobRegistry,
        *,
        deps: Deps | None = None,
        batch_size: int = 50,
        lease: timedelta = timedelta(seconds=120),
        worker_id: str | None = None,
        concurrency: int = MAX_CONCURRENCY,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.registry = registry
        self.deps = deps
        self.batch_size = batch_size
        self.lease = lease
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.concurrency = concurrency
        self._tick_lock = asyncio.Lock()

    async def claim(self) -> list[int]:
        """Take up to batch_size due rows (and rows whose lease expired) for this worker."""
        now = self.clock.now()
        async with self.session_factory() as session, session.begin():
            due = (
                select(Job.id)
                .where(
                    or_(
                        and_(Job.status == JobStatus.pending, Job.due_at <= now),
                        and_(Job.status == JobStatus.running, Job.lease_until < now),
                    )
                )
                .order_by(Job.due_at, Job.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            result = await session.execute(
                update(Job)
                .where(Job.id.in_(due))
                .values(
                    status=JobStatus.running,
                    lease_until=now + self.lease,
                    locked_by=self.worker_id,
                    attempts=Job.attempts + 1,
                    updated_at=now,
                )
                .returning(Job.id, Job.due_at)
                .execution_options(synchronize_session=False)
            )
            rows = sorted(result.all(), key=lambda r: (r.due_at, r.id))
        return [r.id for r in rows]

    async def run_due(self) -> int:
        """Claim due rows and run them, `concurrency` at a time, until a claim comes back short.

        The pool never runs dry at a batch boundary: while the last claim was a full batch, the next
        one is claimed as soon as fewer unstarted jobs remain than there are workers, so every worker
        always has a job to start (and the paced sender always has jobs waiting for its slots). Jobs
        start in due order. Returns how many jobs were run.
        """
        async with self._tick_lock:
            ids = await self.claim()
            if not ids:
                return 0
            return await self._run_batches(ids)

    async def wait_idle(self) -> None:
        """Return once no job is running (a stop waits for the jobs in flight)."""
        async with self._tick_lock:
            pass

    async def drain(self, max_batches: int = 1000) -> int:
        """Run until nothing is due (tests and start-up catch-up)."""
        total = 0
        for _ in range(max_batches):
            n = await self.run_due()
            if n == 0:
                break
            total += n
        return total

    async def _run_batches(self, ids: list[int]) -> int:
        pending = deque(ids)  # claimed, not started yet: given back if we are stopped
        ran = 0
        more = len(ids) == self.batch_size  # a full batch: more may be due
        changed = asyncio.Condition()

        async def feed() -> None:
            nonlocal more
            while more:
                async with changed:
                    await changed.wait_for(lambda: len(pending) < self.concurrency)
                # A stop must not lose rows claimed in the database: let the claim finish and keep them
                # in `pending`, so they are released with the rest.
                claim = asyncio.ensure_future(self.claim())
                try:
                    batch = await asyncio.shield(claim)
                except asyncio.CancelledError:
                    pending.extend(await claim)
                    raise
                except Exception:
                    log.exception("claiming the next batch failed; the next tick tries again")
                    batch = []
                async with changed:
                    pending.extend(batch)
                    more = len(batch) == self.batch_size
                    changed.notify_all()

        async def work() -> None:
            nonlocal ran
            while True:
                async with changed:
                    await changed.wait_for(lambda: pending or not more)
                    if not pending:
                        return
                    job_id = pending.popleft()
                    ran += 1
                    changed.notify_all()  # the feeder watches how many are left
                # A job in flight finishes (sent + marked done) even when the worker is being stopped:
                # stopping between the send and the commit is what would send a message twice.
                task = asyncio.ensure_future(self._run_one(job_id))
                try:
                    await asyncio.shield(task)
                except asyncio.CancelledError:
                    await task
                    raise

        try:
            # A TaskGroup, unlike gather, waits for every child when it is cancelled.
            async with asyncio.TaskGroup() as group:
                group.create_task(feed())
                for _ in range(self.concurrency):
                    group.create_task(work())
        finally:
            if pending:
                await self._release(list(pending))
        return ran

    async def _release(self, ids: list[int]) -> None:
        """Give claimed-but-unstarted rows back (graceful stop), without counting an attempt."""
        async with self.session_factory() as session, session.begin():
            await session.execute(
                update(Job)
                .where(Job.id.in_(ids), Job.status == JobStatus.running, Job.locked_by == self.worker_id)
                .values(status=JobStatus.pending, lease_until=None, locked_by=None, attempts=Job.attempts - 1)
                .execution_options(synchronize_session=False)
            )
        log.info("released %d claimed jobs on stop", len(ids))

    async def _run_one(self, job_id: int) -> None:
        async with self.session_factory() as session:
            job = await session.get(Job, job_id)
            if job is None or job.status != JobStatus.running or job.locked_by != self.worker_id:
                return
            now = self.clock.now()
            kind, attempts, max_attempts = job.kind, job.attempts, job.max_attempts
            handler = self.registry.handlers.get(kind)
            try:
                if handler is None:
                    raise PermanentError(f"no handler for job kind {job.kind!r}")
                if attempts > max_attempts:
                    raise PermanentError("too many attempts (the worker running it kept dying)")
                # deps is None only in queue tests, whose handlers don't use it
                context = JobContext(job=job, session=session, now=now, deps=self.deps)  # type: ignore[arg-type]
                outcome = await handler(context)
            except Retry as r:
                await session.rollback()
                await self._finish(
                    job_id, JobStatus.pending, due_at=now + r.delay, attempts_delta=-1, last_error=str(r)
                )
                return
            except PermanentError as e:
                await session.rollback()
                log.error("job %s (%s) failed permanently: %s", job_id, kind, e)
                await self._finish(job_id, JobStatus.failed, last_error=str(e), finished_at=now)
                return
            except Exception as e:
                await session.rollback()
                if attempts >= max_attempts:
                    log.exception("job %s (%s) failed for good after %d attempts", job_id, kind, attempts)
                    await self._finish(job_id, JobStatus.failed, last_error=repr(e)[:2000], finished_at=now)
                else:
                    log.warning("job %s (%s) attempt %d failed: %r; retrying", job_id, kind, attempts, e)
                    await self._finish(
                        job_id, JobStatus.pending, due_at=now + backoff(attempts), last_error=repr(e)[:2000]
                    )
                return
            job.status = JobStatus.done
            job.outcome = (outcome or "done")[:32]
            job.finished_at = now
            job.lease_until = None
            job.updated_at = now
            await session.commit()

    async def _finish(
        self, job_id: int, status: JobStatus, *, attempts_delta: int = 0, **values: Any
    ) -> None:
        async with self.session_factory() as session, session.begin():
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.locked_by == self.worker_id)
                .values(
                    status=status,
                    lease_until=None,
                    attempts=Job.attempts + attempts_delta,
                    updated_at=self.clock.now(),
                    **values,
                )
                .execution_options(synchronize_session=False)
            )
