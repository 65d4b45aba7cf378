"""The durable job queue: due times, idempotency, retries, leases, restarts, and two workers."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from bot.db import create_engine, create_session_factory
from models.jobs import Job, JobStatus
from models.users import Role
from scheduler.queue import JobContext, JobQueue, JobRegistry, PermanentError, Retry, backoff, cancel, enqueue
from scheduler.recurring import plan_admin_digests
from scheduler.runner import Scheduler
from services.timezones import next_local_occurrence
from tests.support.people import add_user


def make_queue(session_factory, clock, registry, **kw) -> JobQueue:
    return JobQueue(session_factory, clock, registry, lease=timedelta(seconds=60), **kw)


async def add(session_factory, kind, due, n=1, key=None, **payload):
    async with session_factory() as s, s.begin():
        for i in range(n):
            await enqueue(s, kind, {"i": i, **payload}, due, key=key)


async def statuses(session_factory) -> dict[JobStatus, int]:
    async with session_factory() as s:
        return dict((await s.execute(select(Job.status, func.count()).group_by(Job.status))).all())


async def test_runs_only_when_due_and_once(session_factory, clock):
    registry, seen = JobRegistry(), []

    @registry.register("ping")
    async def ping(ctx: JobContext) -> str:
        seen.append(ctx.job.payload["i"])
        return "sent"

    queue = make_queue(session_factory, clock, registry)
    await add(session_factory, "ping", clock.now() + timedelta(minutes=5))
    assert await queue.drain() == 0 and seen == []
    clock.advance(minutes=5)
    assert await queue.drain() == 1
    assert await queue.drain() == 0
    assert seen == [0]
    async with session_factory() as s:
        job = await s.scalar(select(Job))
        assert job.status == JobStatus.done and job.outcome == "sent" and job.finished_at == clock.now()


async def test_idempotency_key_enqueues_once_and_cancel(session_factory, clock):
    async with session_factory() as s, s.begin():
        assert await enqueue(s, "ping", {}, clock.now(), key="k1") is True
        assert await enqueue(s, "ping", {}, clock.now(), key="k1") is False
        assert await enqueue(s, "ping", {}, clock.now(), key="k2") is True
        assert await cancel(s, "k2") is True
    assert await statuses(session_factory) == {JobStatus.pending: 1, JobStatus.cancelled: 1}


async def test_naive_due_time_is_refused(session):
    with pytest.raises(ValueError):
        await enqueue(session, "ping", {}, datetime(2026, 1, 1, 9, 0))


async def test_failure_retries_with_backoff_then_gives_up(session_factory, clock):
    registry, calls = JobRegistry(), []

    @registry.register("flaky")
    async def flaky(ctx: JobContext) -> str:
        calls.append(ctx.now)
        raise ConnectionError("network down")

    queue = make_queue(session_factory, clock, registry)
    async with session_factory() as s, s.begin():
        await enqueue(s, "flaky", {}, clock.now(), max_attempts=3)
    for attempt in range(1, 4):
        assert await queue.drain() == 1, attempt
        async with session_factory() as s:
            job = await s.scalar(select(Job))
        if attempt < 3:
            assert job.status == JobStatus.pending
            assert job.due_at == clock.now() + backoff(attempt)
            assert "network down" in job.last_error
            assert await queue.drain() == 0  # not before the backoff
            clock.set(job.due_at)
    assert job.status == JobStatus.failed and len(calls) == 3


async def test_retry_request_does_not_count_as_attempt_and_permanent_error_fails(session_factory, clock):
    registry = JobRegistry()

    @registry.register("later")
    async def later(ctx: JobContext) -> str:
        if ctx.now.hour < 10:
            raise Retry(timedelta(hours=3), "quiet hours")
        return "sent"

    @registry.register("broken")
    async def broken(ctx: JobContext) -> str:
        raise PermanentError("bad payload")

    queue = make_queue(session_factory, clock, registry)
    await add(session_factory, "later", clock.now())
    await add(session_factory, "broken", clock.now())
    await queue.drain()
    async with session_factory() as s:
        jobs = {j.kind: j for j in await s.scalars(select(Job))}
    assert jobs["later"].status == JobStatus.pending and jobs["later"].attempts == 0
    assert jobs["broken"].status == JobStatus.failed and jobs["broken"].attempts == 1
    clock.advance(hours=3)
    await queue.drain()
    assert (await statuses(session_factory))[JobStatus.done] == 1


async def test_crashed_workers_lease_is_reclaimed(session_factory, clock):
    registry, seen = JobRegistry(), []

    @registry.register("ping")
    async def ping(ctx: JobContext) -> str:
        seen.append(ctx.job.id)
        return "sent"

    crashed = make_queue(session_factory, clock, registry, worker_id="crashed")
    await add(session_factory, "ping", clock.now(), n=3)
    claimed = await crashed.claim()  # ...and the process dies before running them
    assert len(claimed) == 3
    survivor = make_queue(session_factory, clock, registry, worker_id="survivor")
    assert await survivor.drain() == 0  # leases still valid
    clock.advance(seconds=61)
    assert await survivor.drain() == 3
    assert sorted(seen) == sorted(claimed)


async def test_work_due_while_down_runs_once_and_is_marked_late(session_factory, clock):
    registry, late = JobRegistry(), []

    @registry.register("ping")
    async def ping(ctx: JobContext) -> str:
        late.append(ctx.late)
        return "sent"

    await add(session_factory, "ping", clock.now() - timedelta(hours=5))
    await add(session_factory, "ping", clock.now())
    queue = make_queue(session_factory, clock, registry)
    assert await queue.drain() == 2
    assert await queue.drain() == 0
    assert late == [True, False]


async def test_restart_in_the_middle_of_a_batch_loses_nothing_and_sends_nothing_twice(session_factory, clock):
    registry, sent = JobRegistry(), []
    gate = asyncio.Event()

    @registry.register("send")
    async def send(ctx: JobContext) -> str:
        sent.append(ctx.job.payload["i"])
        if len(sent) == 7:
            gate.set()
        await asyncio.sleep(0.01)  # the network round trip, during which the stop arrives
        return "sent"

    async with session_factory() as s, s.begin():
        for i in range(30):
            await enqueue(s, "send", {"i": i}, clock.now(), key=f"send:{i}")
    first = make_queue(session_factory, clock, registry, concurrency=2, worker_id="first")
    task = asyncio.create_task(first.drain())
    await gate.wait()
    task.cancel()  # SIGTERM mid-batch
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 7 <= len(sent) < 30
    counts = await statuses(session_factory)
    assert counts.get(JobStatus.running, 0) == 0  # nothing stays claimed by the stopped worker
    assert counts[JobStatus.done] == len(sent)

    second = make_queue(session_factory, clock, registry, worker_id="second")  # the restarted process
    await second.drain()
    assert sorted(sent) == list(range(30))  # every message exactly once
    assert await statuses(session_factory) == {JobStatus.done: 30}


@pytest.mark.parametrize("stop_after", [3, 7, 14, 21, 33])
async def test_a_stop_across_batch_boundaries_loses_nothing_and_sends_nothing_twice(
    session_factory, clock, stop_after
):
    """Batches of 7 run by 3 workers: the next batch is claimed while the last one's tail runs, so a stop
    can come with two batches claimed, or during the claim itself; all unstarted rows go back."""
    registry, sent = JobRegistry(), []
    gate = asyncio.Event()

    @registry.register("send")
    async def send(ctx: JobContext) -> str:
        sent.append(ctx.job.payload["i"])
        if len(sent) == stop_after:
            gate.set()
        await asyncio.sleep(0.005)
        return "sent"

    async with session_factory() as s, s.begin():
        for i in range(40):
            await enqueue(s, "send", {"i": i}, clock.now(), key=f"send:{i}")
    first = make_queue(session_factory, clock, registry, concurrency=3, batch_size=7, worker_id="first")
    task = asyncio.create_task(first.run_due())  # one run keeps claiming while batches come back full
    await gate.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    counts = await statuses(session_factory)
    assert counts.get(JobStatus.running, 0) == 0
    assert counts[JobStatus.done] == len(sent)
    async with session_factory() as s:  # given-back rows carry no attempt
        attempts = (await s.scalars(select(Job.attempts).where(Job.status == JobStatus.pending))).all()
    assert set(attempts) <= {0}
    left = 40 - len(sent)

    second = make_queue(session_factory, clock, registry, batch_size=7, worker_id="second")
    assert await second.run_due() == left  # a single run takes every batch that is due
    assert sorted(sent) == list(range(40))
    assert await statuses(session_factory) == {JobStatus.done: 40}


async def test_two_workers_on_postgres_never_run_the_same_row(pg_url, pg_engine, clock):
    engine, db_url = pg_engine, pg_url
    registry, runs = JobRegistry(), []

    @registry.register("send")
    async def send(ctx: JobContext) -> str:
        runs.append((ctx.job.id, ctx.job.locked_by))
        await asyncio.sleep(0.002)
        return "sent"

    factory = create_session_factory(engine)
    async with factory() as s, s.begin():
        for i in range(300):
            await enqueue(s, "send", {"i": i}, clock.now())
    other_engine = create_engine(db_url)
    try:
        a = JobQueue(factory, clock, registry, batch_size=20, worker_id="a")
        b = JobQueue(create_session_factory(other_engine), clock, registry, batch_size=20, worker_id="b")
        await asyncio.gather(a.drain(), b.drain(), a.drain(), b.drain())
    finally:
        await other_engine.dispose()
    ids = [job_id for job_id, _ in runs]
    assert len(ids) == 300 and len(set(ids)) == 300
    assert {w for _, w in runs} == {"a", "b"}  # both really worked


async def test_daily_digest_is_planned_in_the_recipients_timezone_once(session_factory, clock):
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))  # 10:00 in Moscow, 17:00 in Vladivostok
    async with session_factory() as s, s.begin():
        await add_user(s, 1, "A", role=Role.admin, timezone="Asia/Vladivostok")
        await add_user(s, 2, "B", role=Role.admin)
        await add_user(s, 3, "C", role=Role.manager)
    for _ in range(2):
        async with session_factory() as s, s.begin():
            await plan_admin_digests(s, clock.now(), 9, "Europe/Moscow")
    async with session_factory() as s:
        jobs = {
            j.payload["user_id"]: j for j in await s.scalars(select(Job).where(Job.kind == "admin_digest"))
        }
    assert set(jobs) == {1, 2}
    assert jobs[1].due_at == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # 09:00 on the 11th in Vladivostok
    assert jobs[2].due_at == datetime(2026, 3, 11, 6, 0, tzinfo=UTC)  # 09:00 on the 11th in Moscow


def test_next_local_occurrence_across_dst():
    # New York switches to summer time on 2026-03-08: 09:00 local is 14:00 UTC before, 13:00 after.
    before = next_local_occurrence(9, "America/New_York", datetime(2026, 3, 7, 15, 0, tzinfo=UTC))
    after = next_local_occurrence(9, "America/New_York", before + timedelta(seconds=1))
    assert before == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    assert after == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)


class SlowQueue:
    """Stands in for JobQueue: every tick takes five tick intervals."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.running, self.most_at_once, self.ticks = seconds, 0, 0, 0

    async def run_due(self) -> int:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.running -= 1
        self.ticks += 1
        return 0

    async def wait_idle(self) -> None:
        return None


async def test_a_tick_that_outlasts_its_interval_is_never_overlapped_and_logs_no_warning(
    session_factory, clock, caplog
):
    settings = SimpleNamespace(
        queue_tick_seconds=0.02,
        digest_hour=9,
        default_timezone="Europe/Moscow",
        deal_stale_days=7,
        default_currency="RUB",
        default_language="ru",
    )
    queue = SlowQueue(seconds=0.1)
    scheduler = Scheduler(queue, session_factory, clock, settings)  # type: ignore[arg-type]
    with caplog.at_level(logging.DEBUG):
        scheduler.start()
        await asyncio.sleep(0.55)
        await scheduler.stop()
    assert queue.ticks >= 3  # the next tick follows a slow one at once
    assert queue.most_at_once == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_stopping_the_scheduler_mid_batch_gives_unstarted_jobs_back(session_factory, clock):
    registry, sent = JobRegistry(), []
    gate = asyncio.Event()

    @registry.register("send")
    async def send(ctx: JobContext) -> str:
        sent.append(ctx.job.payload["i"])
        if len(sent) == 5:
            gate.set()
        await asyncio.sleep(0.01)
        return "sent"

    await add(session_factory, "send", clock.now(), n=30)
    settings = SimpleNamespace(
        queue_tick_seconds=0.02,
        digest_hour=9,
        default_timezone="Europe/Moscow",
        deal_stale_days=7,
        default_currency="RUB",
        default_language="ru",
    )
    queue = make_queue(session_factory, clock, registry, concurrency=2, worker_id="first")
    scheduler = Scheduler(queue, session_factory, clock, settings)  # type: ignore[arg-type]
    scheduler.start()
    await gate.wait()
    await scheduler.stop()
    counts = await statuses(session_factory)
    assert counts.get(JobStatus.running, 0) == 0
    assert counts[JobStatus.done] == len(sent) < 30


async def test_a_stop_right_after_the_start_lets_the_planning_in_progress_finish(
    session_factory, clock, caplog
):
    """SIGTERM just after the start used to cancel the first planning run in the middle of a
    transaction, with an error and a traceback in the log."""
    settings = SimpleNamespace(
        queue_tick_seconds=0.02,
        digest_hour=9,
        default_timezone="Europe/Moscow",
        deal_stale_days=7,
        default_currency="RUB",
        default_language="ru",
    )
    scheduler = Scheduler(SlowQueue(seconds=0.01), session_factory, clock, settings)  # type: ignore[arg-type]
    started, finished = asyncio.Event(), []

    async def slow_plan() -> None:
        started.set()
        await asyncio.sleep(0.2)  # a transaction in progress
        finished.append(True)

    scheduler.plan = slow_plan  # type: ignore[method-assign]
    with caplog.at_level(logging.DEBUG):
        scheduler.start()
        await started.wait()
        await scheduler.stop()
    assert finished == [True]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
