"""Crash test of a drip sequence: the real bot (`python main.py run`, a separate process) is SIGKILLed
the instant Telegram accepted step 1 of a drip a manager started from the card. Started again, it
sends nothing twice: the delivery row "sending" when the process died becomes "unknown" (never resent)
and the drip goes on with step 2. Runs on SQLite and PostgreSQL, on the system clock (the customer
lives where it is daytime now, so quiet hours hold nothing back)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks import SequenceAction, SequenceCb
from models.consent import ClientConsent, Purpose
from models.sequences import Enrolment, EnrolmentStatus, Sequence, SequenceDelivery, SequenceStep, StepStatus
from tests.conftest import ADMIN_ID
from tests.e2e.test_crash_campaigns import daytime_zone
from tests.fakebot import FakeTelegram
from tests.fakebot.process import ColdStarter, ForkServer
from tests.support.crash_support import CrashBot, sent_texts
from tests.support.people import client_record

IVAN = 650


@pytest.fixture
async def bot(
    forks: ForkServer | ColdStarter, tg: FakeTelegram, db_url: str, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[CrashBot]:
    # A short lease: the job killed midway runs again soon after the restart.
    running = CrashBot(forks, tg, db_url, tmp_path, QUEUE_TICK_SECONDS="0.2", QUEUE_LEASE_SECONDS="10")
    try:
        yield running
    finally:
        await running.stop()


async def test_a_kill_during_a_drip_step_never_sends_it_twice_and_the_drip_goes_on(
    bot: CrashBot, tg: FakeTelegram, db
) -> None:
    olga = tg.user(ADMIN_ID, "Olga", language_code="ru")
    ivan = tg.user(IVAN, "Ivan", language_code="ru")
    await bot.start()
    await bot.step(olga.send("/start"), None, olga)
    await bot.step(ivan.send("/start"), None, ivan)
    client_id = await client_record(db, ADMIN_ID, "Ivan", telegram_id=IVAN, timezone=daytime_zone())
    now = datetime.now(UTC)
    async with db() as s, s.begin():
        s.add(ClientConsent(client_id=client_id, purpose=Purpose.marketing, granted=True, updated_at=now))
        seq = Sequence(
            name="Crash",
            created_by=ADMIN_ID,
            default_language="ru",
            active=True,
            activated_at=now,
            created_at=now,
        )
        s.add(seq)
        await s.flush()
        for n, text in enumerate(("Шаг один", "Шаг два"), start=1):
            s.add(SequenceStep(sequence_id=seq.id, position=n, delay_minutes=0, texts={"ru": text}))
        seq_id = seq.id

    enrol = SequenceCb(action=SequenceAction.enrol, id=seq_id, arg=client_id).pack()
    await bot.crash_at(olga.press_data(enrol, message=olga.last), chat_id=IVAN, text_contains="Шаг один")
    await bot.restart()

    enrolment = None
    for _ in range(300):  # the killed job's lease runs out, then it goes on
        async with db() as s:
            enrolment = await s.scalar(select(Enrolment))
        if enrolment is not None and enrolment.status == EnrolmentStatus.done:
            break
        await asyncio.sleep(0.1)
    assert enrolment is not None and enrolment.status == EnrolmentStatus.done, bot.process.log()
    async with db() as s:
        rows = (await s.scalars(select(SequenceDelivery).order_by(SequenceDelivery.id))).all()
    assert [r.status for r in rows] == [StepStatus.unknown, StepStatus.sent]
    assert len(sent_texts(tg, IVAN, "Шаг один")) == 1  # delivered before the kill, never again
    assert len(sent_texts(tg, IVAN, "Шаг два")) == 1
