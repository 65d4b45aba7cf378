"""Several updates in ONE getUpdates response, handled by the app's production polling (bot/polling.py,
what `python main.py run` does), which runs updates as concurrent tasks: updates of one chat must
still be handled one at a time in arrival order, a double tap must write once and answer without an
apology, and updates of different chats must still run side by side. Every test runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App, create_app
from bot.callbacks import ClientCb, DealCb
from bot.config import Settings
from bot.polling import Poller
from models.clients import Client, ClientPhone
from models.consent import ConsentEvent
from models.deals import DealEvent
from models.loyalty import LedgerEntry, Purchase
from models.reminders import Reminder, ReminderStatus
from models.users import User
from services import deals as deals_service
from services.clock import FakeClock
from services.deals import Draft
from tests.conftest import ADMIN_ID, app_settings
from tests.fakebot import FakeTelegram, FakeUser, Replies
from tests.support.people import client_record, linked_customer
from tests.support.workspace import STAGES

APOLOGY = "Извините, у нас что-то пошло не так"
IVAN = 500


@asynccontextmanager
async def concurrent_app(settings: Settings, clock: FakeClock, engine: AsyncEngine, tg: FakeTelegram):
    """The real app on its production polling (bot/polling.py): the updates of a batch run as
    concurrent tasks, and each is confirmed to the fake only once it was handled, so an update's
    replies are all there when the fake reports it confirmed."""
    app = create_app(settings, clock=clock, engine=engine)
    await app.startup(start_scheduler=False)
    poller = Poller(app.dp, app.bot, timeout=1, allowed_updates=app.dp.resolve_used_update_types())
    stop = asyncio.Event()
    polling = asyncio.create_task(poller.run(stop))
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(polling, 10)
        await app.shutdown()


@pytest.fixture
async def app(tg: FakeTelegram, db_url: str, engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[App]:
    async with concurrent_app(app_settings(tg, db_url), clock, engine, tg) as running:
        await tg.wait_for_bot()
        yield running


async def count(app: App, model: Any, *where: Any) -> int:
    async with app.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


NOT_MODIFIED = "message is not modified"


def no_apology(tg: FakeTelegram, person: FakeUser, *batch: Replies) -> None:
    """Nobody got "Sorry, something went wrong", neither as a message nor as a callback answer."""
    assert not [m.text for m in person.messages if APOLOGY in (m.text or "")]
    assert not [p.get("text") for p in tg.calls_of("answerCallbackQuery") if APOLOGY in (p.get("text") or "")]
    assert all(APOLOGY not in (r.callback_answer.text or "") for r in batch if r.callback_answer)


def answered(tg: FakeTelegram, *batch: Replies) -> None:
    """Each press of the batch got its callback answered (the spinner stops), and no call failed
    (but redrawing a screen exactly as it is, which Telegram refuses as "not modified")."""
    for replies in batch:
        assert replies.callback_answer is not None, f"update {replies.update_id} was never answered"
    failed = [e for e in tg.errors if NOT_MODIFIED not in e.description]
    assert not failed, failed


# --- one chat: in order, one at a time ---


async def test_two_messages_of_one_dialog_in_one_batch_are_two_steps_in_order(app, tg, admin):
    await admin.send("/add")
    await tg.send_batch(admin.send("Иван Петров"), admin.send("+7 999 123-45-67"))
    assert "Шаг 3 из 5" in admin.last.text
    await admin.press("⏭ Пропустить")
    await admin.send("ООО Ромашка")
    card = (await admin.send("vip")).last
    assert card.text.startswith("✅ Клиент добавлен.")
    async with app.session_factory() as s:
        [client] = (await s.scalars(select(Client))).all()
        phones = (await s.scalars(select(ClientPhone.e164))).all()
    assert client.name == "Иван Петров" and list(phones) == ["+79991234567"]
    assert client.company == "ООО Ромашка"
    no_apology(tg, admin)
    assert not tg.errors


async def test_a_double_tapped_purchase_confirm_credits_once(app, tg, admin):
    await admin.send("/start")
    client_id = await client_record(app, ADMIN_ID, "Иван Петров")
    points = ClientCb(action="loyalty", client_id=client_id, version=1).pack()
    await admin.press_data(points, message=admin.last)
    await admin.press("🛒 Покупка")
    await admin.send("1000")
    confirm = (await admin.send("0")).last
    assert "Проверьте покупку" in confirm.text
    first, second = await tg.send_batch(admin.press("✅ Подтвердить"), admin.press("✅ Подтвердить"))
    assert await count(app, Purchase) == 1
    assert await count(app, LedgerEntry, LedgerEntry.kind == "earn") == 1
    assert len([m for m in admin.messages if (m.text or "").startswith("✅ Покупка записана")]) == 1
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


async def test_a_double_tapped_deal_stage_moves_once(app, tg, admin):
    await admin.send("/start")
    client_id = await client_record(app, ADMIN_ID, "Иван Петров")
    async with app.session_factory() as s, s.begin():
        user = await s.get_one(User, ADMIN_ID)
        draft = Draft(title="Поставка", stage="new")
        deal_id = (await deals_service.create(s, user, client_id, draft, STAGES, app.clock.now())).id
    await admin.press_data(DealCb(action="open", deal_id=deal_id).pack(), message=admin.last)
    first, second = await tg.send_batch(admin.press("→ предложение"), admin.press("→ предложение"))
    async with app.session_factory() as s:
        moves = (await s.scalars(select(DealEvent.new_value).where(DealEvent.kind == "stage"))).all()
    assert list(moves) == ["proposal"]
    assert "Этап: ▫ предложение" in admin.last.text
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


async def test_a_double_tapped_reminder_done_closes_it_once(app, tg, admin, clock):
    created = await admin.send("/remind через 2 часа отправить КП")
    assert "✅ Напомню" in created.last.text
    clock.advance(hours=2)
    await app.queue.drain()
    [due] = [m for m in admin.messages if (m.text or "").startswith("⏰ Напоминание")]
    async with app.session_factory() as s:
        [before] = (await s.scalars(select(Reminder))).all()
    first, second = await tg.send_batch(
        admin.press("✅ Выполнено", message=due), admin.press("✅ Выполнено", message=due)
    )
    async with app.session_factory() as s:
        [after] = (await s.scalars(select(Reminder))).all()
    assert before.status != ReminderStatus.done and after.status == ReminderStatus.done
    assert "✅ Выполнено." in due.text  # the reminder shows it is done
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


async def test_a_double_tapped_consent_switch_records_once(app, tg, admin):
    await admin.send("/start")
    client_id, ivan = await linked_customer(app, tg, ADMIN_ID, IVAN, "Иван Петров", first_name="Иван")
    await ivan.send("/consent")
    first, second = await tg.send_batch(
        ivan.press("⬜ Предложения и новости"), ivan.press("⬜ Предложения и новости")
    )
    assert await count(app, ConsentEvent, ConsentEvent.client_id == client_id) == 1
    assert "✅ Предложения и новости" in ivan.last.labels
    answered(tg, first, second)
    no_apology(tg, ivan, first, second)


# --- different chats: side by side ---


async def test_updates_of_two_chats_in_one_batch_run_concurrently(app, tg):
    """Anna's reply is held back until Boris's update has made a call too: if the bot handled the
    batch one update at a time across chats, Boris's call would never come while Anna's waits."""
    anna = tg.user(201, "Anna", language_code="ru")
    boris = tg.user(202, "Boris", language_code="ru")
    boris_called = asyncio.Event()
    waited_in_vain: list[str] = []
    execute = tg.execute

    async def observing(method: str, raw: dict[str, Any], files: dict[str, Any]) -> tuple[dict, int]:
        chat = str(raw.get("chat_id", ""))
        if method.lower() == "sendmessage" and chat == str(boris.id):
            boris_called.set()
        if method.lower() == "sendmessage" and chat == str(anna.id) and not boris_called.is_set():
            try:
                await asyncio.wait_for(boris_called.wait(), 3)
            except TimeoutError:
                waited_in_vain.append("Anna's reply waited 3 s and Boris's update made no call meanwhile")
        return await execute(method, raw, files)

    tg.execute = observing  # type: ignore[method-assign]
    try:
        first, second = await tg.send_batch(anna.send("/start"), boris.send("/start"))
    finally:
        del tg.execute
    assert not waited_in_vain, waited_in_vain
    assert "Здравствуйте, Anna!" in anna.last.text and "Здравствуйте, Boris!" in boris.last.text
    assert first.update_id + 1 == second.update_id
    assert not tg.errors
