"""Crash test of a job's message: the real bot (`python main.py run`, a separate process) is SIGKILLed
the instant Telegram accepted a reminder it sent, before the job could commit. Started again, the job
runs again once its lease ends; its message was claimed before it left (job_sends), so it is not sent
a second time: the job ends "unknown" and the reminder counts as sent. Runs on SQLite and PostgreSQL,
on the system clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.jobs import Job, JobSend, JobStatus
from models.reminders import Reminder
from services import reminders
from tests.conftest import ADMIN_ID
from tests.fakebot import FakeTelegram
from tests.fakebot.process import ColdStarter, ForkServer
from tests.support.crash_support import CrashBot, sent_texts


@pytest.fixture
async def bot(
    forks: ForkServer | ColdStarter, tg: FakeTelegram, db_url: str, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[CrashBot]:
    # The shortest lease: the job killed midway is taken again soon after the restart.
    running = CrashBot(forks, tg, db_url, tmp_path, QUEUE_TICK_SECONDS="0.2", QUEUE_LEASE_SECONDS="10")
    try:
        yield running
    finally:
        await running.stop()


async def finished(db, kind: str, within: float = 40.0) -> Job:
    for _ in range(int(within / 0.2)):
        async with db() as s:
            job = await s.scalar(select(Job).where(Job.kind == kind))
        if job is not None and job.status in (JobStatus.done, JobStatus.failed):
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"the {kind} job did not finish in {within} s")


async def test_a_reminder_killed_as_it_arrived_is_not_sent_again(bot: CrashBot, tg: FakeTelegram, db) -> None:
    olga = tg.user(ADMIN_ID, "Olga", language_code="ru")
    await bot.start()
    await bot.step(olga.send("/start"), None, olga)
    hook = tg.kill_on(bot.pid, method="sendMessage", chat_id=olga.id, text_contains="позвонить Ивану")
    async with db() as s, s.begin():
        now = datetime.now(UTC)
        await reminders.create(s, ADMIN_ID, "позвонить Ивану", now, now)
    await hook.wait()
    await bot.process.wait_dead()
    await bot.restart()

    job = await finished(db, reminders.REMINDER_JOB)
    assert job.status == JobStatus.done and job.outcome == "unknown"
    assert len(sent_texts(tg, olga.id, "позвонить Ивану")) == 1  # seen once, never again
    async with db() as s:
        [reminder] = (await s.scalars(select(Reminder))).all()
        claims = (await s.scalars(select(JobSend.n).where(JobSend.job_id == job.id))).all()
    assert reminder.sent_at is not None and list(claims) == [0]
    # The only refused call: the dead process's long poll, cut off by the new process's (409).
    assert [e.method for e in tg.errors if e.method != "getUpdates"] == []


async def test_a_reminder_sent_normally_is_claimed_once(bot: CrashBot, tg: FakeTelegram, db) -> None:
    olga = tg.user(ADMIN_ID, "Olga", language_code="ru")
    await bot.start()
    await bot.step(olga.send("/start"), None, olga)
    async with db() as s, s.begin():
        now = datetime.now(UTC)
        await reminders.create(s, ADMIN_ID, "отправить КП", now, now)
    job = await finished(db, reminders.REMINDER_JOB)
    assert job.outcome == "sent"
    await tg.wait_for_message(olga, "отправить КП")
    assert len(sent_texts(tg, olga.id, "отправить КП")) == 1
