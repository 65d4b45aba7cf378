"""Crash test of a broadcast: the real bot (`python main.py run`, a separate process) is SIGKILLed the
instant Telegram accepted the third recipient's message. Started again, it sends nobody twice: the
rows "sending" when the process died (that one, and the others of its claimed batch, whether or not
their send had begun) become "unknown" (at most once), the campaign goes on from where it was, and
its report counts the unknown ones. Runs on SQLite and PostgreSQL, on the system
clock (the recipients live where it is daytime now, so quiet hours don't hold anything back)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.campaigns import Campaign, CampaignDelivery, CampaignStatus, DeliveryStatus
from models.clients import Client
from models.consent import ClientConsent, Purpose
from tests.conftest import ADMIN_ID
from tests.fakebot import FakeTelegram
from tests.fakebot.process import ColdStarter, ForkServer
from tests.support.crash_support import CrashBot, sent_texts
from tests.support.people import client_record

PEOPLE = 9
FIRST = 600


@pytest.fixture
async def bot(
    forks: ForkServer | ColdStarter, tg: FakeTelegram, db_url: str, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[CrashBot]:
    # A short lease: the step killed midway runs again soon after the restart.
    # SEND_RATE 4: the engine claims 2 rows at a time (half a second of sending) with 2 sends at once.
    running = CrashBot(
        forks, tg, db_url, tmp_path, QUEUE_TICK_SECONDS="0.2", QUEUE_LEASE_SECONDS="10", SEND_RATE="4"
    )
    try:
        yield running
    finally:
        await running.stop()


def daytime_zone() -> str:
    """A fixed-offset zone where it is between 12:00 and 18:59 now."""
    hour = datetime.now(UTC).hour
    offset = next(h for h in range(-12, 13) if 12 <= (hour + h) % 24 <= 18)
    return f"Etc/GMT{-offset:+d}"


async def test_a_kill_during_the_sending_loses_nothing_and_sends_nothing_twice(
    bot: CrashBot, tg: FakeTelegram, db
) -> None:
    olga = tg.user(ADMIN_ID, "Olga", language_code="ru")
    await bot.start()
    await bot.step(olga.send("/start"), None, olga)
    people = [tg.user(FIRST + i, f"Client{i}", language_code="ru") for i in range(PEOPLE)]
    zone = daytime_zone()
    for i, person in enumerate(people):
        await bot.step(person.send("/start"), None, person)
        client_id = await client_record(db, ADMIN_ID, f"Client{i}", telegram_id=person.id, timezone=zone)
        async with db() as s, s.begin():
            s.add(
                ClientConsent(
                    client_id=client_id, purpose=Purpose.marketing, granted=True, updated_at=datetime.now(UTC)
                )
            )

    await bot.step(olga.send("/broadcast"), "Кому отправить", olga)
    await bot.step(
        olga.press("👥 Все клиенты"),
        f"Доступно сейчас: <b>{PEOPLE}</b>".replace("<b>", "").replace("</b>", ""),
        olga,
    )
    await bot.step(olga.send("Акция для {first_name}"), "Пропустить", olga)
    await bot.step(olga.press("Пропустить"), "Предпросмотр", olga)
    victim = people[2]
    _hook, _pending = await bot.crash_at(
        olga.press("🚀 Отправить сейчас"), chat_id=victim.id, text_contains="Акция"
    )
    await bot.restart()

    for _ in range(300):  # the killed step's lease runs out, then it goes on
        async with db() as s:
            campaign = await s.scalar(select(Campaign))
        if campaign is not None and campaign.status == CampaignStatus.done:
            break
        await asyncio.sleep(0.1)
    assert campaign is not None and campaign.status == CampaignStatus.done, bot.process.log()

    async with db() as s:
        rows = (await s.scalars(select(CampaignDelivery).order_by(CampaignDelivery.id))).all()
        by_chat = dict((await s.execute(select(Client.id, Client.telegram_id))).all())
    assert len(rows) == PEOPLE
    statuses = {by_chat[r.client_id]: r.status for r in rows}
    assert statuses[victim.id] == DeliveryStatus.unknown
    unknown = [chat for chat, status in statuses.items() if status == DeliveryStatus.unknown]
    # At most what was claimed at the kill: the sends waiting for their slots and one batch.
    assert 1 <= len(unknown) <= 5, statuses
    assert set(statuses.values()) == {DeliveryStatus.sent, DeliveryStatus.unknown}
    for i, person in enumerate(people):
        got = len(sent_texts(tg, person.id, f"Акция для Client{i}"))
        assert got == (1 if statuses[person.id] == DeliveryStatus.sent else got), i
        assert got <= 1, i
    assert statuses[people[-1].id] == DeliveryStatus.sent  # the rest went after the restart
    sent = PEOPLE - len(unknown)
    report: list[str] = []
    for _ in range(100):  # the last edit of the progress message keeps its chat's pace (1 a second)
        report = [m.text or "" for m in olga.messages if "Рассылка #" in (m.text or "")]
        if report and "завершена" in report[-1]:
            break
        await asyncio.sleep(0.1)
    assert report and "завершена" in report[-1] and f"Отправлено: {sent}" in report[-1], report
    unknown_line = "Неизвестно (бот остановился во время отправки, повторно не отправлялось)"
    assert f"{unknown_line}: {len(unknown)}" in report[-1]
