"""Crash tests: the real bot (`python main.py run`, a separate process) is SIGKILLed the instant
Telegram accepted the confirmation of a write; started again, it gets the unconfirmed update a second
time (as Telegram redelivers it). The write must be in the database exactly once, and the person must
not get the confirmation a second time.

Each kind of write: a one-line /add, a dialog step, /remind, a contact log, a deal stage, a loyalty
purchase, a consent switch, a survey answer, a customer invite claimed, a waiting lead taken. Every
test runs on SQLite and PostgreSQL. The bot runs on the system clock, so nothing here depends on
domain time beyond "later".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks import ClientCb, DealCb, SurveyCb
from models.audit import AuditEvent
from models.clients import Client, ClientPhone
from models.consent import ConsentEvent, Purpose
from models.customers import CustomerLead
from models.deals import Deal, DealEvent
from models.interactions import Interaction
from models.invites import Invite
from models.loyalty import LedgerEntry, Purchase
from models.reminders import Reminder
from models.surveys import Survey, SurveyStatus, SurveyTrigger
from models.users import User
from services import customers
from services import deals as deals_service
from services.deals import Draft
from tests.conftest import ADMIN_ID
from tests.fakebot import FakeTelegram, FakeUser
from tests.fakebot.process import ColdStarter, ForkServer
from tests.support.crash_support import CrashBot, callback_answers, sent_texts, shown_texts
from tests.support.people import client_record
from tests.support.workspace import STAGES


@pytest.fixture
async def bot(
    forks: ForkServer | ColdStarter, tg: FakeTelegram, db_url: str, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[CrashBot]:
    running = CrashBot(forks, tg, db_url, tmp_path)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def olga(tg: FakeTelegram) -> FakeUser:
    return tg.user(ADMIN_ID, "Olga", language_code="ru")


async def count(db, model, *where) -> int:
    async with db() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


IVAN = 500


def now() -> datetime:
    return datetime.now(UTC)


async def started(bot: CrashBot, *people: FakeUser) -> None:
    """The bot runs, and each person has opened the chat (/start answered)."""
    await bot.start()
    for person in people:
        await bot.step(person.send("/start"), None, person)


async def crash_and_restart(bot: CrashBot, action, person: FakeUser, text: str, method: str | None = None):
    """Kill the bot the moment ``person`` is shown ``text`` (by ``action``), restart, let it settle."""
    _hook, pending = await bot.crash_at(action, chat_id=person.id, text_contains=text, method=method)
    await bot.restart()
    return pending


# --- what managers write ---

ADDED = "✅ Клиент добавлен."


async def test_a_one_line_add(bot: CrashBot, tg: FakeTelegram, db, olga: FakeUser) -> None:
    await bot.start()
    pending = await crash_and_restart(bot, olga.send("/add Иван Петров +7 999 123-45-67"), olga, ADDED)
    await bot.settle(olga, pending)
    assert await count(db, Client, Client.name == "Иван Петров") == 1
    assert await count(db, ClientPhone) == 1
    assert len(sent_texts(tg, olga.id, ADDED)) == 1
    assert not tg.errors


async def test_a_dialog_step(bot: CrashBot, tg: FakeTelegram, db, olga: FakeUser) -> None:
    await bot.start()
    await bot.step(olga.send("/add"), "шаг 1 из 5", olga)
    pending = await crash_and_restart(bot, olga.send("Иван Петров"), olga, "Шаг 2 из 5")
    # the next step is the probe: the phone is taken as the phone, not the name typed again
    await bot.settle(olga, pending, probe=olga.send("+7 999 123-45-67"), expect="Шаг 3 из 5")
    await bot.step(olga.press("⏭ Пропустить"), "Шаг 4 из 5", olga)
    await bot.step(olga.send("ООО Ромашка"), "Шаг 5 из 5", olga)
    await bot.step(olga.send("vip"), ADDED, olga)
    async with db() as s:
        [client] = (await s.scalars(select(Client))).all()
        phones = (await s.scalars(select(ClientPhone.e164))).all()
    assert client.name == "Иван Петров" and list(phones) == ["+79991234567"]
    assert len(sent_texts(tg, olga.id, "Шаг 2 из 5")) == 1  # not asked again after the restart
    assert not tg.errors


async def test_a_reminder(bot: CrashBot, tg: FakeTelegram, db, olga: FakeUser) -> None:
    await bot.start()
    pending = await crash_and_restart(
        bot, olga.send("/remind завтра 10:00 позвонить Ивану"), olga, "✅ Напомню"
    )
    await bot.settle(olga, pending)
    async with db() as s:
        [reminder] = (await s.scalars(select(Reminder))).all()
    assert reminder.text == "позвонить Ивану" and reminder.due_at > now()
    assert len(sent_texts(tg, olga.id, "✅ Напомню")) == 1
    assert not tg.errors


async def test_a_contact_log(bot: CrashBot, tg: FakeTelegram, db, olga: FakeUser) -> None:
    await started(bot, olga)  # the bot makes Olga an admin at start
    client_id = await client_record(db, ADMIN_ID, "Иван Петров")
    card = ClientCb(action="log", client_id=client_id, version=1).pack()
    await bot.step(olga.press_data(card, message=olga.last), "Иван Петров", olga)
    await bot.step(olga.press("📞 Звонок"), "Чем закончилось?", olga)
    await bot.step(olga.press("✅ Дозвонился"), "Добавьте заметку", olga)
    await bot.step(olga.send("Обсудили поставку"), "Следующий шаг?", olga)
    pending = await crash_and_restart(bot, olga.press("Пропустить »"), olga, "✅ Записано")
    await bot.settle(olga, pending)
    async with db() as s:
        [logged] = (await s.scalars(select(Interaction))).all()
    assert logged.client_id == client_id and logged.note == "Обсудили поставку"
    assert len(shown_texts(tg, olga.id, "✅ Записано")) == 1
    assert not tg.errors


async def test_a_deal_stage_change(bot: CrashBot, tg: FakeTelegram, db, olga: FakeUser) -> None:
    await started(bot, olga)
    client_id = await client_record(db, ADMIN_ID, "Иван Петров")
    async with db() as s, s.begin():
        admin = await s.get_one(User, ADMIN_ID)
        draft = Draft(title="Поставка", stage="new", amount=Decimal(1000))
        deal_id = (await deals_service.create(s, admin, client_id, draft, STAGES, now())).id
    opened = DealCb(action="open", deal_id=deal_id).pack()
    await bot.step(olga.press_data(opened, message=olga.last), "Поставка", olga)
    pending = await crash_and_restart(
        bot, olga.press("→ предложение"), olga, "Этап: предложение", method="answerCallbackQuery"
    )
    await bot.settle(olga, pending)
    async with db() as s:
        assert (await s.get_one(Deal, deal_id)).stage == "proposal"
        stages = (await s.scalars(select(DealEvent.new_value).where(DealEvent.kind == "stage"))).all()
    assert list(stages) == ["proposal"]
    assert len(callback_answers(tg, "Этап: предложение")) == 1
    assert not tg.errors


async def test_a_purchase(bot: CrashBot, tg: FakeTelegram, db, olga: FakeUser) -> None:
    await started(bot, olga)
    client_id = await client_record(db, ADMIN_ID, "Иван Петров")
    points = ClientCb(action="loyalty", client_id=client_id, version=1).pack()
    await bot.step(olga.press_data(points, message=olga.last), "Баланс баллов", olga)
    await bot.step(olga.press("🛒 Покупка"), "Какая сумма?", olga)
    await bot.step(olga.send("1000"), "Баланс баллов", olga)
    await bot.step(olga.send("0"), "Проверьте покупку", olga)
    done = "✅ Покупка записана"
    pending = await crash_and_restart(bot, olga.press("✅ Подтвердить"), olga, done)
    await bot.settle(olga, pending)
    assert await count(db, Purchase) == 1
    assert await count(db, LedgerEntry, LedgerEntry.kind == "earn") == 1
    assert len(shown_texts(tg, olga.id, done)) == 1
    assert not callback_answers(tg, "уже записана")  # no "already recorded" for the redelivery either
    assert not tg.errors


# --- what customers write ---


async def ivan_linked(bot: CrashBot, db, tg: FakeTelegram) -> tuple[int, FakeUser]:
    """The bot runs; Ivan's Telegram account is linked to Olga's client Ivan (as linking leaves it),
    and he has opened the chat."""
    await started(bot, tg.user(ADMIN_ID, "Olga", language_code="ru"))
    client_id = await client_record(db, ADMIN_ID, "Иван Петров", telegram_id=IVAN)
    ivan = tg.user(IVAN, "Иван", language_code="ru")
    await bot.step(ivan.send("/start"), None, ivan)
    return client_id, ivan


async def test_a_consent_switch(bot: CrashBot, tg: FakeTelegram, db) -> None:
    client_id, ivan = await ivan_linked(bot, db, tg)
    await bot.step(ivan.send("/consent"), "Какие сообщения", ivan)
    switched = "✅ Предложения и новости: включено."
    pending = await crash_and_restart(
        bot, ivan.press("⬜ Предложения и новости"), ivan, switched, method="answerCallbackQuery"
    )
    await bot.settle(ivan, pending)
    async with db() as s:
        rows = (await s.scalars(select(ConsentEvent).where(ConsentEvent.client_id == client_id))).all()
    assert [(e.purpose, e.granted) for e in rows] == [(Purpose.marketing, True)]
    assert len(callback_answers(tg, switched)) == 1
    assert not callback_answers(tg, "Уже так")
    assert not tg.errors


async def test_a_survey_answer(bot: CrashBot, tg: FakeTelegram, db) -> None:
    client_id, ivan = await ivan_linked(bot, db, tg)
    async with db() as s, s.begin():
        survey = Survey(
            client_id=client_id, manager_id=None, trigger=SurveyTrigger.contact, ref_id=1,
            status=SurveyStatus.sent, due_at=now(), sent_at=now(), expires_at=now() + timedelta(days=7),
            chat_id=IVAN,
        )  # fmt: skip
        s.add(survey)
        await s.flush()
        survey_id = survey.id
    saved = "Сохранено, спасибо!"
    score = SurveyCb(action="csat", survey_id=survey_id, score=4).pack()
    pending = await crash_and_restart(
        bot, ivan.press_data(score, message=ivan.last), ivan, saved, method="answerCallbackQuery"
    )
    await bot.settle(ivan, pending)
    async with db() as s:
        row = await s.get_one(Survey, survey_id)
    assert row.csat == 4 and row.csat_at is not None
    assert len(callback_answers(tg, saved)) == 1
    assert not callback_answers(tg, "уже сохранён")
    assert not tg.errors


async def test_an_invite_claim(bot: CrashBot, tg: FakeTelegram, db, olga: FakeUser) -> None:
    await started(bot, olga)  # the bot makes Olga an admin
    client_id = await client_record(db, ADMIN_ID, "Иван Петров")
    async with db() as s, s.begin():
        invite = await customers.create_invite(
            s, await s.get_one(User, ADMIN_ID), await s.get_one(Client, client_id), now()
        )
        payload = customers.invite_payload(invite)
    ivan = tg.user(IVAN, "Иван", language_code="ru")
    linked = "🎉 Готово, Иван!"
    pending = await crash_and_restart(bot, ivan.send(f"/start {payload}"), ivan, linked)
    await bot.settle(ivan, pending)
    async with db() as s:
        assert (await s.get_one(Client, client_id)).telegram_id == IVAN
        assert (await s.scalar(select(Invite.used_by))) == IVAN
        links = await s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "customer.link")
        )
    assert links == 1
    assert len(sent_texts(tg, IVAN, linked)) == 1
    assert not sent_texts(tg, IVAN, "уже привязан")  # nor "already linked" for the redelivery
    assert not tg.errors


async def test_a_lead_taken(bot: CrashBot, tg: FakeTelegram, db, olga: FakeUser) -> None:
    await started(bot, olga)
    async with db() as s, s.begin():
        eve = User(id=501, first_name="Ева", tg_language="ru")
        s.add(eve)
        await s.flush()
        s.add(CustomerLead(user_id=eve.id, client_id=None, phone="+79165554433", created_at=now()))
    await bot.step(olga.send("/leads"), "Лиды ждут владельца", olga)
    listing = olga.last
    taken = "Вы взяли лида"
    pending = await crash_and_restart(
        bot, olga.press("✋ Взять 1", message=listing), olga, taken, method="answerCallbackQuery"
    )
    await bot.settle(olga, pending)
    assert await count(db, Client) == 1
    assert await count(db, CustomerLead, CustomerLead.client_id.is_not(None)) == 1
    assert len(callback_answers(tg, taken)) == 1
    assert not callback_answers(tg, "уже взял")
    assert not tg.errors
