"""Several updates in ONE getUpdates response, handled by the app's production polling (bot/polling.py,
what `python main.py run` does), which runs updates as concurrent tasks: updates of one chat must
still be handled one at a time in arrival order, a double tap must write once and answer without an
apology, and updates of different chats must still run side by side. Every test runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App
from bot.callbacks import ClientCb, DealCb, LanguageCb
from models.clients import Client, ClientPhone
from models.consent import ConsentEvent
from models.customers import CustomerLead, ForgetRequest
from models.deals import Deal, DealEvent
from models.interactions import Interaction, InteractionKind, InteractionOutcome
from models.loyalty import Gift, GiftRequest, LedgerEntry, LoyaltyAccount, LoyaltySettings, Purchase
from models.reminders import Reminder, ReminderStatus
from models.surveys import Survey, SurveyTrigger
from models.users import Role, User
from services import deals as deals_service
from services import loyalty
from services import surveys as surveys_service
from services.clock import FakeClock
from services.deals import Draft
from tests.conftest import ADMIN_ID, app_settings, polling_app
from tests.e2e.test_surveys import questions, sent_survey
from tests.fakebot import BotMessage, FakeTelegram, FakeUser
from tests.support.checks import answered, no_apology
from tests.support.people import client_record, link_customer, linked_customer, manager, manager_via_invite
from tests.support.workspace import STAGES, reminders_of

IVAN, EVE = 500, 502


@pytest.fixture
async def app(tg: FakeTelegram, db_url: str, engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[App]:
    async with polling_app(app_settings(tg, db_url), clock, engine) as running:
        await tg.wait_for_bot()
        yield running


async def count(app: App, model: Any, *where: Any) -> int:
    async with app.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


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


# --- every dialog: two quick inputs are two steps in order; a double tap writes once ---
#
# A dialog's opening button and the value typed right after it arrive in one batch: the value must
# be handled after the button put the dialog at its step (else it would land nowhere, "Не понял
# вас"). A confirming or choosing button pressed twice in one batch writes once and answers both
# presses without the apology.


async def open_card(person: FakeUser, client_id: int, version: int = 1) -> BotMessage:
    await person.send("/start")
    data = ClientCb(action="open", client_id=client_id, version=version).pack()
    return (await person.press_data(data, message=person.last)).last


async def client_row(app: App, client_id: int) -> Client:
    async with app.session_factory() as s:
        return await s.get_one(Client, client_id)


async def phones_of(app: App, client_id: int) -> list[str]:
    async with app.session_factory() as s:
        rows = await s.scalars(
            select(ClientPhone.e164).where(ClientPhone.client_id == client_id).order_by(ClientPhone.id)
        )
        return list(rows.all())


async def test_add_dialog_company_and_tags_in_one_batch(app, tg, admin):
    await admin.send("/add")
    await admin.send("Иван Петров")
    await admin.press("⏭ Пропустить")  # phone
    await admin.press("⏭ Пропустить")  # email
    batch = await tg.send_batch(admin.send("ООО Ромашка"), admin.send("vip"))
    assert admin.last.text.startswith("✅ Клиент добавлен.") and "🏷 #vip" in admin.last.text
    async with app.session_factory() as s:
        [client] = (await s.scalars(select(Client))).all()
    assert (client.name, client.company) == ("Иван Петров", "ООО Ромашка")
    no_apology(tg, admin, *batch)
    answered(tg)


async def test_add_dialog_skip_pressed_twice_skips_one_step(app, tg, admin):
    await admin.send("/add")
    await admin.send("Иван Петров")
    first, second = await tg.send_batch(admin.press("⏭ Пропустить"), admin.press("⏭ Пропустить"))
    assert "Шаг 3 из 5" in admin.last.text  # the email step, not the company one
    assert second.callback_answer.text == "Этот шаг уже пройден."
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


@pytest.mark.parametrize(
    ("label", "typed", "column", "saved"),
    [
        ("Имя", "Пётр Иванов", "name", "Пётр Иванов"),
        ("Email", "IVAN@Example.RU", "email", "ivan@example.ru"),
        ("Компания", "ООО Ромашка", "company", "ООО Ромашка"),
        ("Часовой пояс", "asia/novosibirsk", "timezone", "Asia/Novosibirsk"),
    ],
)
async def test_client_edit_a_field_and_its_value_in_one_batch(app, tg, admin, label, typed, column, saved):
    client_id = await client_record(app, ADMIN_ID, "Иван")
    card = await open_card(admin, client_id)
    await admin.press("✏️ Изменить", message=card)
    batch = await tg.send_batch(admin.press(label), admin.send(typed))
    assert admin.last.text.startswith("✅ Сохранено."), admin.last.text
    assert getattr(await client_row(app, client_id), column) == saved
    answered(tg, batch[0])
    no_apology(tg, admin, *batch)


async def test_client_edit_clear_pressed_twice_clears_once(app, tg, admin):
    client_id = await client_record(app, ADMIN_ID, "Иван", email="ivan@example.ru")
    card = await open_card(admin, client_id)
    await admin.press("✏️ Изменить", message=card)
    await admin.press("Email")
    first, second = await tg.send_batch(admin.press("🧹 Очистить"), admin.press("🧹 Очистить"))
    client = await client_row(app, client_id)
    assert client.email is None and client.version == 2
    assert len([m for m in admin.messages if (m.text or "").startswith("✅ Сохранено.")]) == 1
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


async def test_client_phone_add_and_the_number_in_one_batch_and_a_double_removal(app, tg, admin):
    await admin.send("/add Иван +7 999 123-45-67")
    async with app.session_factory() as s:
        client_id = await s.scalar(select(Client.id))
    card = await open_card(admin, client_id)
    await admin.press("✏️ Изменить", message=card)
    await admin.press("Телефоны")
    batch = await tg.send_batch(admin.press("➕ Добавить номер"), admin.send("8 916 111 22 33"))
    assert "📞 +7 999 123-45-67, +7 916 111-22-33" in admin.last.text
    assert await phones_of(app, client_id) == ["+79991234567", "+79161112233"]
    answered(tg, batch[0])
    no_apology(tg, admin, *batch)
    await admin.press("✏️ Изменить")
    await admin.press("Телефоны")
    first, second = await tg.send_batch(
        admin.press("❌ +7 999 123-45-67"), admin.press("❌ +7 999 123-45-67")
    )
    assert await phones_of(app, client_id) == ["+79161112233"]
    assert first.callback_answer.text == "Удалено."
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


async def test_client_note_button_and_its_text_in_one_batch_and_a_double_tap(app, tg, admin):
    client_id = await client_record(app, ADMIN_ID, "Иван")
    card = await open_card(admin, client_id)
    batch = await tg.send_batch(admin.press("🗒 Заметка", message=card), admin.send("Любит чай"))
    note = (await client_row(app, client_id)).note
    assert note is not None and note.endswith("Любит чай")
    answered(tg, batch[0])
    no_apology(tg, admin, *batch)
    card = await open_card(admin, client_id, version=2)
    batch = await tg.send_batch(
        admin.press("🗒 Заметка", message=card),
        admin.press("🗒 Заметка", message=card),
        admin.send("И печенье"),
    )
    note = (await client_row(app, client_id)).note
    assert note.count("Любит чай") == 1 and note.count("И печенье") == 1
    answered(tg, batch[0], batch[1])
    no_apology(tg, admin, *batch)


async def test_find_and_the_query_in_one_batch(app, tg, admin):
    await client_record(app, ADMIN_ID, "Пётр Ёлкин", company="ООО Ромашка")
    await admin.send("/start")
    batch = await tg.send_batch(admin.send("/find"), admin.send("ромашка"))
    assert "👤 Пётр Ёлкин" in admin.last.text
    assert not any((m.text or "").startswith("Не понял вас") for m in admin.messages)
    no_apology(tg, admin, *batch)
    answered(tg)


async def test_log_kind_outcome_note_and_next_step(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    client_id = await client_record(app, 201, "Tom")
    await anna.press_data(ClientCb(action="log", client_id=client_id, version=1).pack(), message=anna.last)
    kind = await tg.send_batch(anna.press("📞 Call"), anna.press("📞 Call"))
    assert "How did it go?" in anna.last.text
    outcome = await tg.send_batch(anna.press("✅ Reached"), anna.press("✅ Reached"))
    assert "Add a note" in anna.last.text
    steps = await tg.send_batch(anna.send("They agreed"), anna.send("tomorrow 10am send the offer"))
    assert anna.last.text.startswith("✅ Logged: 📞 Call · ✅ Reached with Tom.")
    async with app.session_factory() as s:
        [entry] = (await s.scalars(select(Interaction).where(Interaction.client_id == client_id))).all()
    assert (entry.kind, entry.outcome, entry.note) == (
        InteractionKind.call,
        InteractionOutcome.reached,
        "They agreed",
    )
    [reminder] = await reminders_of(app, 201)
    assert (reminder.text, reminder.client_id) == ("send the offer", client_id)
    assert reminder.due_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    answered(tg, *kind, *outcome)
    no_apology(tg, anna, *kind, *outcome, *steps)


async def test_remind_from_the_card_when_and_what_in_one_batch(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    client_id = await client_record(app, 201, "Tom")
    card = await open_card(anna, client_id)
    batch = await tg.send_batch(
        anna.press("⏰ Remind", message=card), anna.send("tomorrow 10am"), anna.send("call him")
    )
    assert "Client: Tom" in anna.last.text
    [reminder] = await reminders_of(app, 201)
    assert (reminder.text, reminder.client_id) == ("call him", client_id)
    assert reminder.due_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    answered(tg, batch[0])
    no_apology(tg, anna, *batch)


async def deal_of(app: App) -> Deal:
    async with app.session_factory() as s:
        return await s.scalar(select(Deal))


async def deal_events(app: App, deal_id: int) -> list[tuple[str, str | None, str | None]]:
    async with app.session_factory() as s:
        rows = await s.scalars(select(DealEvent).where(DealEvent.deal_id == deal_id).order_by(DealEvent.id))
        return [(e.kind, e.old_value, e.new_value) for e in rows]


async def test_newdeal_every_step_batched_and_its_buttons_double_tapped(app, tg, admin):
    await client_record(app, ADMIN_ID, "Иван Петров")
    await admin.send("/start")
    found = await tg.send_batch(admin.send("/newdeal"), admin.send("иван"))
    assert admin.last.text == "Выберите клиента:"
    chosen = await tg.send_batch(admin.press("Иван Петров"), admin.press("Иван Петров"))
    assert "Как она называется?" in admin.last.text
    typed = await tg.send_batch(admin.send("Поставка"), admin.send("150 000 ₽"))
    assert "Этап?" in admin.last.text
    staged = await tg.send_batch(admin.press("переговоры"), admin.press("переговоры"))
    assert "Ожидаемая дата закрытия?" in admin.last.text
    rest = await tg.send_batch(
        admin.send("25.12.2026"), admin.send("Отправить КП"), admin.send("завтра в 10")
    )
    assert admin.last.text.startswith("✅ Сделка создана.")
    deal = await deal_of(app)
    assert (deal.title, deal.amount, deal.currency, deal.stage) == (
        "Поставка",
        Decimal("150000"),
        "RUB",
        "negotiation",
    )
    assert deal.expected_close == date(2026, 12, 25)
    async with app.session_factory() as s:
        [reminder] = (await s.scalars(select(Reminder))).all()
    assert (reminder.text, reminder.deal_id) == ("Отправить КП", deal.id)
    assert await count(app, Deal) == 1
    answered(tg, *chosen, *staged)
    no_apology(tg, admin, *found, *chosen, *typed, *staged, *rest)


async def new_deal(app: App, title: str = "Поставка", **draft: Any) -> int:
    client_id = await client_record(app, ADMIN_ID, "Иван Петров")
    async with app.session_factory() as s, s.begin():
        user = await s.get_one(User, ADMIN_ID)
        draft.setdefault("stage", "new")
        deal = await deals_service.create(
            s, user, client_id, Draft(title=title, **draft), STAGES, app.clock.now()
        )
        return deal.id


async def open_deal(person: FakeUser, deal_id: int) -> BotMessage:
    await person.send("/start")
    return (await person.press_data(DealCb(action="open", deal_id=deal_id).pack(), message=person.last)).last


async def test_deal_edit_a_field_and_its_value_in_one_batch_and_a_double_removal(app, tg, admin):
    deal_id = await new_deal(app, expected_close=date(2026, 4, 1))
    await open_deal(admin, deal_id)
    await admin.press("✏️ Изменить")
    renamed = await tg.send_batch(admin.press("Название"), admin.send("Поставка и монтаж"))
    assert "✅ Сохранено." in admin.last.text and "💼 Поставка и монтаж" in admin.last.text
    await admin.press("✏️ Изменить")
    await admin.press("Дата закрытия")
    removed = await tg.send_batch(admin.press("Удалить"), admin.press("Удалить"))
    deal = await deal_of(app)
    assert (deal.title, deal.expected_close) == ("Поставка и монтаж", None)
    assert [e for e in await deal_events(app, deal_id) if e[0] != "created"] == [
        ("title", "Поставка", "Поставка и монтаж"),
        ("close_date", "2026-04-01", None),
    ]
    answered(tg, renamed[0], *removed)
    no_apology(tg, admin, *renamed, *removed)


async def test_lost_pressed_twice_and_the_reason_in_one_batch(app, tg, admin):
    deal_id = await new_deal(app)
    card = await open_deal(admin, deal_id)
    batch = await tg.send_batch(
        admin.press("→ проиграна", message=card),
        admin.press("→ проиграна", message=card),
        admin.send("Дорого"),
    )
    assert "Причина проигрыша: Дорого" in admin.last.text
    deal = await deal_of(app)
    assert (deal.stage, deal.lost_reason) == ("lost", "Дорого")
    assert [e for e in await deal_events(app, deal_id) if e[0] != "created"] == [
        ("stage", "new", "lost"),
        ("lost_reason", None, "Дорого"),
    ]
    answered(tg, batch[0], batch[1])
    no_apology(tg, admin, *batch)


# --- loyalty ---


async def ledger(app: App, client_id: int) -> list[tuple[str, int]]:
    async with app.session_factory() as s:
        rows = await s.scalars(
            select(LedgerEntry).where(LedgerEntry.client_id == client_id).order_by(LedgerEntry.id)
        )
        return [(e.kind, e.points) for e in rows]


async def points_card(person: FakeUser, client_id: int) -> BotMessage:
    await person.send("/start")
    data = ClientCb(action="loyalty", client_id=client_id, version=1).pack()
    return (await person.press_data(data, message=person.last)).last


async def test_a_purchase_amount_and_points_in_one_batch(app, tg, admin):
    client_id = await client_record(app, ADMIN_ID, "Иван Петров")
    card = await points_card(admin, client_id)
    batch = await tg.send_batch(admin.press("🛒 Покупка", message=card), admin.send("1000"), admin.send("0"))
    assert "Проверьте покупку" in admin.last.text
    done = await admin.press("✅ Подтвердить")
    assert done.last.text.startswith("✅ Покупка записана")
    async with app.session_factory() as s:
        [purchase] = (await s.scalars(select(Purchase))).all()
    assert purchase.amount == Decimal(1000) and purchase.client_id == client_id
    answered(tg, batch[0])
    no_apology(tg, admin, *batch, done)


async def test_an_admin_reversal_pressed_twice_and_its_amount_in_one_batch(app, tg, admin):
    client_id = await client_record(app, ADMIN_ID, "Иван")
    await link_customer(app, tg, IVAN, client_id)
    card = await points_card(admin, client_id)
    batch = await tg.send_batch(
        admin.press("↩️ Корректировка", message=card),
        admin.press("↩️ Корректировка", message=card),
        admin.send("-30 возврат товара"),
    )
    assert admin.last.text.startswith("✅ Баллы скорректированы.")
    assert await ledger(app, client_id) == [("welcome", 100), ("reversal", -30)]
    answered(tg, batch[0], batch[1])
    no_apology(tg, admin, *batch)


async def test_a_gift_ordered_twice_and_handed_over_twice_counts_once(app, tg, admin):
    anna = await manager(app, tg, 200, "Anna")
    async with app.session_factory() as s, s.begin():
        await loyalty.add_gift(s, await s.get_one(User, ADMIN_ID), "Кружка 50", app.clock.now())
    client_id = await client_record(app, 200, "Иван")
    ivan = await link_customer(app, tg, IVAN, client_id)  # the welcome bonus: 100
    await ivan.send("/gifts")
    chosen = await tg.send_batch(ivan.press("🎁 Кружка — 50"), ivan.press("🎁 Кружка — 50"))
    asked = ivan.last
    ordered = await tg.send_batch(
        ivan.press("✅ Заказать", message=asked), ivan.press("✅ Заказать", message=asked)
    )
    async with app.session_factory() as s:
        assert (await s.scalars(select(GiftRequest.status))).all() == ["reserved"]
    assert len([m for m in ivan.messages if (m.text or "").startswith("✅ Заказано")]) == 1
    await app.queue.drain()
    task = anna.last
    handed = await tg.send_batch(anna.press("✅ Вручён", message=task), anna.press("✅ Вручён", message=task))
    async with app.session_factory() as s:
        assert (await s.scalars(select(GiftRequest.status))).all() == ["handed"]
    kinds = [kind for kind, _ in await ledger(app, client_id)]
    assert kinds == ["welcome", "gift_reserve", "gift_handed"]
    answered(tg, *chosen, *ordered, *handed)
    no_apology(tg, ivan, *chosen, *ordered)
    no_apology(tg, anna, *handed)


async def test_a_gift_request_cancelled_twice_returns_the_points_once(app, tg, admin):
    anna = await manager(app, tg, 200, "Anna")
    async with app.session_factory() as s, s.begin():
        await loyalty.add_gift(s, await s.get_one(User, ADMIN_ID), "Кружка 50", app.clock.now())
    client_id = await client_record(app, 200, "Иван")
    ivan = await link_customer(app, tg, IVAN, client_id)
    await ivan.send("/gifts")
    asked = (await ivan.press("🎁 Кружка — 50")).last
    await ivan.press("✅ Заказать", message=asked)
    await app.queue.drain()
    task = anna.last
    cancelled = await tg.send_batch(
        anna.press("✖️ Отмена", message=task), anna.press("✖️ Отмена", message=task)
    )
    async with app.session_factory() as s:
        assert (await s.scalars(select(GiftRequest.status))).all() == ["cancelled"]
        balance = (await s.get_one(LoyaltyAccount, client_id)).balance
    assert balance == 100
    assert [kind for kind, _ in await ledger(app, client_id)] == ["welcome", "gift_reserve", "gift_return"]
    answered(tg, *cancelled)
    no_apology(tg, anna, *cancelled)


async def test_a_loyalty_setting_and_its_value_in_one_batch(app, tg, admin):
    shown = (await admin.send("/loyalty")).last
    batch = await tg.send_batch(admin.press("Баллы за покупку, %", message=shown), admin.send("2,5"))
    assert admin.last.text.startswith("✅ Сохранено.")
    assert "Баллы за покупку: 2,5% от оплаченного деньгами" in admin.last.text
    async with app.session_factory() as s:
        [settings] = (await s.scalars(select(LoyaltySettings))).all()
    assert settings.earn_percent == Decimal("2.5")
    answered(tg, batch[0])
    no_apology(tg, admin, *batch)


async def test_a_gift_added_to_the_catalog_with_its_button_pressed_twice(app, tg, admin):
    await admin.send("/loyalty")
    catalog = (await admin.press("🎁 Каталог подарков")).last
    batch = await tg.send_batch(
        admin.press("➕ Добавить подарок", message=catalog),
        admin.press("➕ Добавить подарок", message=catalog),
        admin.send("Кружка 500"),
    )
    assert "Добавлено: Кружка" in admin.last.text
    async with app.session_factory() as s:
        assert [(g.name, g.points) for g in (await s.scalars(select(Gift))).all()] == [("Кружка", 500)]
    answered(tg, batch[0], batch[1])
    no_apology(tg, admin, *batch)


# --- customers, surveys and the people's own settings ---


async def test_a_survey_score_and_the_comment_in_one_batch_with_the_score_double_tapped(app, tg, clock):
    await manager(app, tg, 200, "Anna")
    _, ivan, survey = await sent_survey(app, tg, clock, owner_id=200)
    asked = questions(ivan)[0]
    rated = await tg.send_batch(ivan.press("4", message=asked), ivan.press("4", message=asked))
    batch = await tg.send_batch(
        ivan.press("9", message=asked), ivan.press("9", message=asked), ivan.send("Всё отлично")
    )
    async with app.session_factory() as s:
        row = await s.get_one(Survey, survey.id)
    assert (row.csat, row.nps, row.comment) == (4, 9, "Всё отлично") and row.completed_at is not None
    assert not any((m.text or "").startswith("Не понял вас") for m in ivan.messages)
    answered(tg, *rated, batch[0], batch[1])
    no_apology(tg, ivan, *rated, *batch)


async def test_timezone_typed_right_after_the_command_and_a_zone_button_double_tapped(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    typed = await tg.send_batch(anna.send("/timezone"), anna.send("новосибирск"))
    assert "Your time zone: Novosibirsk (UTC+07:00)." in anna.last.text
    assert await zone_of(app, 201) == "Asia/Novosibirsk"
    shown = (await anna.send("/timezone")).last
    chosen = await tg.send_batch(
        anna.press("Vladivostok +10", message=shown), anna.press("Vladivostok +10", message=shown)
    )
    assert await zone_of(app, 201) == "Asia/Vladivostok"
    assert "✓ Vladivostok +10" in shown.labels
    answered(tg, *chosen)
    no_apology(tg, anna, *typed, *chosen)


async def zone_of(app: App, uid: int) -> str | None:
    async with app.session_factory() as s:
        return (await s.get_one(User, uid)).timezone


async def test_language_chosen_twice_saves_it_once(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    menu = (await anna.send("/language")).last
    data = LanguageCb(code="ru").pack()
    first, second = await tg.send_batch(
        anna.press_data(data, message=menu), anna.press_data(data, message=menu)
    )
    async with app.session_factory() as s:
        assert (await s.get_one(User, 201)).language == "ru"
    answered(tg, first, second)
    no_apology(tg, anna, first, second)


async def test_forget_confirmed_twice_and_marked_handled_twice_count_once(app, tg, admin):
    await admin.send("/start")
    client_id, ivan = await linked_customer(app, tg, ADMIN_ID, IVAN, "Иван Петров", first_name="Иван")
    ask = (await ivan.send("/forget")).last
    confirmed = await tg.send_batch(
        ivan.press("Да, забудьте меня", message=ask), ivan.press("Да, забудьте меня", message=ask)
    )
    assert "больше не привязан" in ask.text
    assert (await client_row(app, client_id)).telegram_id is None
    async with app.session_factory() as s:
        [request] = (await s.scalars(select(ForgetRequest))).all()
    await app.queue.drain()
    notice = admin.last
    assert "просит забыть его (/forget)" in notice.text
    handled = await tg.send_batch(
        admin.press("✅ Обработано", message=notice), admin.press("✅ Обработано", message=notice)
    )
    async with app.session_factory() as s:
        assert (await s.get_one(ForgetRequest, request.id)).handled_by == ADMIN_ID
    assert "✅ Обработано: Olga Admin." in notice.text
    answered(tg, *confirmed, *handled)
    no_apology(tg, ivan, *confirmed)
    no_apology(tg, admin, *handled)


async def test_a_leads_take_pressed_twice_makes_one_client(app, tg, admin):
    eve = tg.user(EVE, "Ева", language_code="ru")
    await eve.send("/start")
    async with app.session_factory() as s, s.begin():
        s.add(CustomerLead(user_id=EVE, client_id=None, phone="+79165554433", created_at=app.clock.now()))
    listing = (await admin.send("/leads")).last
    assert listing.labels == ["✋ Взять 1"]
    first, second = await tg.send_batch(
        admin.press("✋ Взять 1", message=listing), admin.press("✋ Взять 1", message=listing)
    )
    assert "Вы взяли лида Ева" in first.callback_answer.text
    async with app.session_factory() as s:
        [client] = (await s.scalars(select(Client))).all()
        assert (await s.scalar(select(CustomerLead))).client_id == client.id
    assert client.owner_id == ADMIN_ID
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


@pytest.mark.parametrize(
    ("label", "role", "active"),
    [
        ("🚫 Отключить доступ", Role.manager, False),
        ("👑 Сделать администратором", Role.admin, True),
    ],
)
async def test_a_team_action_pressed_twice_acts_once(app, tg, admin, label, role, active):
    anna = await manager_via_invite(app, tg, admin, 200, "Anna")
    await admin.send("/team")
    card = (await admin.press("👤 Anna")).last
    first, second = await tg.send_batch(admin.press(label, message=card), admin.press(label, message=card))
    assert first.callback_answer.text == "Готово."
    async with app.session_factory() as s:
        member = await s.get_one(User, 200)
    assert (member.role, member.is_active) == (role, active)
    await app.queue.drain()
    notices = [m for m in anna.messages if "Olga Admin" in (m.text or "")]
    assert len(notices) == 1, [m.text for m in anna.messages]
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


async def test_survey_settings_a_toggle_pressed_twice_and_a_delay_typed_right_after_its_button(
    app, tg, admin
):
    await admin.send("/surveys")
    shown = (await admin.press("⚙️ Настройки")).last
    toggled = await tg.send_batch(
        admin.press("⛔ Выключить: контакт", message=shown),
        admin.press("⛔ Выключить: контакт", message=shown),
    )
    assert toggled[0].callback_answer.text == "✅ Сохранено."
    assert shown.buttons[0][0] == "✅ Включить: контакт"
    delayed = await tg.send_batch(
        admin.press("⏱ Задержка: выигранная сделка", message=shown), admin.send("1 день 12 часов")
    )
    assert admin.last.text.startswith("✅ Сохранено: После выигранной сделки — через 1 день 12 часов.")
    async with app.session_factory() as s:
        rules = await surveys_service.settings(s)
    assert rules[SurveyTrigger.deal_won].delay_minutes == 36 * 60
    assert rules[SurveyTrigger.contact].enabled is False
    answered(tg, *toggled, delayed[0])
    no_apology(tg, admin, *toggled, *delayed)
