"""End to end, as people: a customer's /consent switches and /stop, Unsubscribe under a marketing
message, consent checked when a message actually leaves, and the card's consent history for managers.
Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.callbacks import CardAction, ClientCb, ConsentCb
from bot.notices import Rendered, notice
from models.clients import Client
from models.consent import ConsentEvent, ConsentSource, Purpose
from models.jobs import Job
from models.users import Role
from services import consent, notify
from services.consent import CONSENT_TEXT_VERSION
from tests.support.people import add_client_row, add_user, linked_customer, manager

ANNA, BORIS = 200, 201
IVAN, EVE = 500, 502
MARKETING_OFF, MARKETING_ON = "⬜ Предложения и новости", "✅ Предложения и новости"


@notice("test_offer")
def _test_offer(p: dict[str, Any]) -> Rendered:
    return f"🎉 Offer: {p['text']}", None


async def state(app, client_id: int) -> dict[Purpose, bool]:
    async with app.session_factory() as s:
        return await consent.current(s, client_id)


async def events(app, client_id: int) -> list[ConsentEvent]:
    async with app.session_factory() as s:
        rows = await s.scalars(
            select(ConsentEvent).where(ConsentEvent.client_id == client_id).order_by(ConsentEvent.id)
        )
        return list(rows)


async def queue_offer(app, uid: int, client_id: int, text: str = "2 for 1") -> None:
    async with app.session_factory() as s, s.begin():
        await notify.notify(
            s, uid, "test_offer", app.clock.now(), consent=(client_id, Purpose.marketing), text=text
        )


async def outcomes(app) -> list[str | None]:
    async with app.session_factory() as s:
        return list(await s.scalars(select(Job.outcome).where(Job.kind == "notify").order_by(Job.id)))


# --- the customer's switches ---


async def test_consent_switches_toggle_and_a_double_tap_records_once(app, tg):
    await manager(app, tg, ANNA, "Anna")
    client_id, ivan = await linked_customer(app, tg, ANNA, IVAN, "Иван")
    screen = (await ivan.send("/consent")).last
    assert "Какие сообщения вы получаете от нас" in screen.text
    assert "предложения, скидки и новости компании" in screen.text
    assert f"Версия текста {CONSENT_TEXT_VERSION}" in screen.text
    assert screen.labels == [MARKETING_OFF, "⬜ Опросы", "✅ Служебные сообщения"]
    stale_on = screen.button(MARKETING_OFF)["callback_data"]
    on = await ivan.press(MARKETING_OFF)
    assert on.callback_answer.text == "✅ Предложения и новости: включено."
    assert ivan.last.labels == [MARKETING_ON, "⬜ Опросы", "✅ Служебные сообщения"]
    again = await ivan.press_data(stale_on)  # the same button pressed again (a double tap)
    assert again.callback_answer.text == "Уже так: ничего не изменилось."
    assert (await state(app, client_id))[Purpose.marketing] is True
    await ivan.press("✅ Служебные сообщения")
    assert (await state(app, client_id)) == {
        Purpose.marketing: True,
        Purpose.surveys: False,
        Purpose.service: False,
    }
    rows = await events(app, client_id)
    assert [(e.purpose, e.granted, e.source, e.actor_id, e.text_version) for e in rows] == [
        (Purpose.marketing, True, ConsentSource.button, IVAN, CONSENT_TEXT_VERSION),
        (Purpose.service, False, ConsentSource.button, IVAN, CONSENT_TEXT_VERSION),
    ]
    # a forged or malformed switch
    eve_client, eve = await linked_customer(app, tg, ANNA, EVE, "Ева")
    forged = await eve.press_data(
        ConsentCb(action="set", purpose="marketing", client_id=client_id, value=0).pack()
    )
    assert "Эта кнопка не для вашего аккаунта" in forged.callback_answer.text
    bad = await eve.press_data(ConsentCb(action="set", purpose="spam", client_id=eve_client, value=1).pack())
    assert "не для вашего аккаунта" in bad.callback_answer.text
    assert (await state(app, client_id))[Purpose.marketing] is True
    assert await events(app, eve_client) == []


async def test_stop_withdraws_offers_and_surveys_at_once(app, tg):
    await manager(app, tg, ANNA, "Anna")
    client_id, ivan = await linked_customer(app, tg, ANNA, IVAN, "Иван")
    await ivan.send("/consent")
    await ivan.press(MARKETING_OFF)
    await ivan.press("⬜ Опросы")
    stop = await ivan.send("/stop")
    assert "больше никаких предложений, новостей и опросов" in stop.last.text
    assert await state(app, client_id) == {
        Purpose.marketing: False,
        Purpose.surveys: False,
        Purpose.service: True,
    }
    withdrawn = [(e.purpose, e.source) for e in await events(app, client_id) if not e.granted]
    assert withdrawn == [(Purpose.marketing, ConsentSource.command), (Purpose.surveys, ConsentSource.command)]
    await ivan.send("/stop")  # again: nothing more recorded
    assert len(await events(app, client_id)) == 4


# --- consent when a message leaves; Unsubscribe ---


async def test_consent_withdrawn_between_scheduling_and_sending(app, tg):
    await manager(app, tg, ANNA, "Anna")
    client_id, ivan = await linked_customer(app, tg, ANNA, IVAN, "Иван")
    await queue_offer(app, IVAN, client_id, "never granted")  # planned without consent
    await app.queue.drain()
    async with app.session_factory() as s, s.begin():
        await consent.set(
            s, client_id, Purpose.marketing, True, ConsentSource.button, IVAN, "2026-12", app.clock.now()
        )
    await queue_offer(app, IVAN, client_id, "granted when planned")
    await ivan.send("/stop")  # withdrawn before the job runs
    before = len(ivan.messages)
    await app.queue.drain()
    assert len(ivan.messages) == before
    assert await outcomes(app) == ["no_consent", "no_consent"]
    # unlinked (/forget) since planning: not sent either, whatever the consent
    async with app.session_factory() as s, s.begin():
        await consent.set(
            s, client_id, Purpose.marketing, True, ConsentSource.button, IVAN, "2026-12", app.clock.now()
        )
    await queue_offer(app, IVAN, client_id, "after unlinking")
    async with app.session_factory() as s, s.begin():
        (await s.get(Client, client_id)).telegram_id = None
    await app.queue.drain()
    assert (await outcomes(app))[-1] == "not_linked"
    assert len(ivan.messages) == before


async def test_unsubscribe_under_a_marketing_message_works_in_one_tap(app, tg):
    await manager(app, tg, ANNA, "Anna")
    client_id, ivan = await linked_customer(app, tg, ANNA, IVAN, "Иван")
    _eve_client, eve = await linked_customer(app, tg, ANNA, EVE, "Ева")
    async with app.session_factory() as s, s.begin():
        await consent.set(
            s, client_id, Purpose.marketing, True, ConsentSource.button, IVAN, "2026-12", app.clock.now()
        )
    await queue_offer(app, IVAN, client_id)
    await app.queue.drain()
    offer = ivan.last
    assert offer.text == "🎉 Offer: 2 for 1" and offer.labels == ["🔕 Отписаться"]
    data = offer.button("🔕 Отписаться")["callback_data"]
    # someone else presses it (forged): refused, nothing changes
    forged = await eve.press_data(data)
    assert "не для вашего аккаунта" in forged.callback_answer.text
    assert (await state(app, client_id))[Purpose.marketing] is True
    done = await ivan.press("🔕 Отписаться", message=offer)
    assert done.callback_answer.text.startswith("🔕 Вы отписались")
    assert ivan.last.labels == []  # the button is gone from that message
    assert (await state(app, client_id))[Purpose.marketing] is False
    await ivan.press_data(data, message=offer)  # pressed again (late): nothing more recorded
    rows = await events(app, client_id)
    assert [(e.granted, e.source) for e in rows] == [
        (True, ConsentSource.button),
        (False, ConsentSource.button),
    ]
    # a service message gets no Unsubscribe button
    async with app.session_factory() as s, s.begin():
        await notify.notify(
            s, IVAN, "test_offer", app.clock.now(), consent=(client_id, Purpose.service), text="points"
        )
    await app.queue.drain()
    assert ivan.last.text == "🎉 Offer: points" and ivan.last.labels == []


# --- the card (staff) ---


async def test_the_card_shows_consent_history_and_records_on_the_customers_word(app, tg, admin, clock):
    anna = await manager(app, tg, ANNA, "Anna")
    boris = await manager(app, tg, BORIS, "Boris")
    client_id, ivan = await linked_customer(app, tg, ANNA, IVAN, "Иван <Петров>")
    open_consent = ClientCb(action="consent", client_id=client_id, version=1).pack()
    first = (await anna.press_data(open_consent)).last
    assert "Согласия клиента <b>Иван &lt;Петров&gt;</b>" in first.html
    assert "Решений пока нет" in first.text
    assert first.labels == [
        "✍️ Предложения и новости: записать «да»",
        "✍️ Опросы: записать «да»",
        "✍️ Служебные сообщения: записать «нет»",
        "« Карточка",
    ]
    await ivan.send("/consent")
    await ivan.press(MARKETING_OFF)
    clock.advance(hours=1)
    await ivan.send("/stop")
    clock.advance(hours=1)
    screen = (await anna.press_data(open_consent)).last
    lines = screen.text.splitlines()
    history = [line for line in lines if line.startswith("• ")]
    assert len(history) == 2
    assert "Предложения и новости: отозвано; команда в боте, Иван <Петров>; текст 2026-12" in history[0]
    assert "Предложения и новости: дано; кнопка в боте, Иван <Петров>" in history[1]
    assert "10 мар" in history[0] and "11:00" in history[0]  # 08:00 UTC in Moscow
    # record "yes" to surveys on the customer's word: a confirm step, then once
    ask = await anna.press("✍️ Опросы: записать «да»")
    assert "сказал вам, что <b>согласен</b> на: Опросы" in ask.last.html
    confirm = ask.last
    yes = confirm.button("✅ Да, записать")["callback_data"]
    recorded = await anna.press("✅ Да, записать", message=confirm)
    assert recorded.callback_answer.text == "✅ Записано."
    assert "записал менеджер со слов клиента, Anna; текст 2026-12 ⚠️" in anna.last.text
    again = await anna.press_data(yes, message=confirm)  # pressed twice
    assert again.callback_answer.text == "Уже так: ничего не изменилось."
    rows = await events(app, client_id)
    assert (rows[-1].purpose, rows[-1].granted, rows[-1].source, rows[-1].actor_id) == (
        Purpose.surveys,
        True,
        ConsentSource.manager,
        ANNA,
    )
    assert len(rows) == 3
    # « Back from the confirm step, « Card back to the card
    await anna.press("✍️ Предложения и новости: записать «да»")
    assert "Согласия клиента" in (await anna.press("« Назад")).last.text
    assert "👤 Иван <Петров>" in (await anna.press("« Карточка")).last.text
    # another manager, a customer, forged values: refused, nothing recorded
    rec = ConsentCb(action="rec", purpose="marketing", client_id=client_id, value=1).pack()
    assert "Не найдено" in (await boris.press_data(rec)).callback_answer.text
    assert "Не найдено" in (await boris.press_data(open_consent)).callback_answer.text
    assert "Нет доступа" in (await ivan.press_data(rec)).callback_answer.text
    bad = ConsentCb(action="rec", purpose="everything", client_id=client_id, value=1).pack()
    assert "Не найдено" in (await anna.press_data(bad)).callback_answer.text
    assert len(await events(app, client_id)) == 3
    # the admin sees every client's consent
    await admin.send("/start")
    assert "Согласия клиента" in (await admin.press_data(open_consent)).last.text


async def test_set_writes_an_event_only_on_a_change(session, clock):
    await add_user(session, ANNA, "Anna", role=Role.manager)
    now = clock.now()
    client = await add_client_row(session, ANNA, "X", created_at=now, updated_at=now)
    # withdrawing what was never given changes nothing
    assert not await consent.set(
        session, client.id, Purpose.marketing, False, ConsentSource.button, 1, "v", now
    )
    assert await consent.set(session, client.id, Purpose.marketing, True, ConsentSource.button, 1, "v", now)
    assert not await consent.set(
        session, client.id, Purpose.marketing, True, ConsentSource.button, 1, "v", now
    )
    assert await consent.allowed(session, client.id, Purpose.marketing)
    assert await consent.withdraw_all(
        session, client.id, (Purpose.marketing, Purpose.surveys), ConsentSource.command, 1, now
    ) == [Purpose.marketing]
    count = await session.scalar(select(func.count()).select_from(ConsentEvent))
    assert count == 2
    history = await consent.history(session, client.id)
    assert [item.event.granted for item in history] == [False, True]


async def test_the_consent_button_of_a_stale_card_says_the_card_changed_and_shows_it_again(app, tg, admin):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id, _ivan = await linked_customer(app, tg, ANNA, IVAN, "Иван Петров")
    card = (await anna.press_data(ClientCb(action=CardAction.open, client_id=client_id).pack())).last
    assert "🔔 Согласия" in card.labels
    async with app.session_factory() as s, s.begin():  # the card changes meanwhile (another device)
        row = await s.get(Client, client_id)
        row.version += 1
        row.company = "ООО Ромашка"
    replies = await anna.press("🔔 Согласия", message=card)
    assert "Карточка тем временем изменилась" in replies.callback_answer.text
    assert "ООО Ромашка" in replies.last.text and "🔔 Согласия" in replies.last.labels
    # from the card shown again, the consent screen opens
    screen = await anna.press("🔔 Согласия", message=replies.last)
    assert "Согласия клиента <b>Иван Петров</b>" in screen.last.html
