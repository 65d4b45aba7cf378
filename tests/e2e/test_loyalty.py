"""End to end: the bonus program as managers, admins and customers see it — the points card and a
purchase (bad input on every step, a double-tapped confirm), /balance, admin settings and the gift
catalog, gifts handed over or cancelled once, referrals, the birthday bonus once a year, service
messages only with service consent, a customer who blocked the bot, and forged or foreign buttons."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from bot.callbacks import ClientCb, LoyaltyCb
from models.clients import Client
from models.consent import ClientConsent, Purpose
from models.jobs import Job
from models.loyalty import GiftRequest, LedgerEntry, LoyaltyAccount, Purchase, Referral
from models.reminders import Reminder, ReminderStatus
from models.users import User
from scheduler.recurring import plan_loyalty_daily
from services import loyalty
from tests.conftest import ADMIN_ID
from tests.fakebot import FakeUser
from tests.support.people import client_record, link_customer, manager

ANNA, BORIS = 200, 201
IVAN, PETR = 300, 301
NBSP = "\xa0"


async def version(app, client_id: int) -> int:
    async with app.session_factory() as s:
        return (await s.get(Client, client_id)).version


async def open_points(person: FakeUser, app, client_id: int):
    await person.send("/start")
    data = ClientCb(action="loyalty", client_id=client_id, version=await version(app, client_id)).pack()
    return await person.press_data(data, message=person.last)


async def balance_of(app, client_id: int) -> int:
    async with app.session_factory() as s:
        acc = await s.get(LoyaltyAccount, client_id)
        return acc.balance if acc else 0


async def ledger(app, client_id: int) -> list[tuple[str, int]]:
    async with app.session_factory() as s:
        rows = await s.scalars(
            select(LedgerEntry).where(LedgerEntry.client_id == client_id).order_by(LedgerEntry.id)
        )
        return [(e.kind, e.points) for e in rows]


async def notify_outcomes(app) -> list[str | None]:
    async with app.session_factory() as s:
        return list((await s.scalars(select(Job.outcome).where(Job.kind == "notify").order_by(Job.id))).all())


async def buy(person: FakeUser, app, client_id: int, amount: str, points: str = "0"):
    """The purchase dialog from the points card to the confirm step; returns the confirm message."""
    await open_points(person, app, client_id)
    await person.press("🛒 Покупка")
    await person.send(amount)
    return (await person.send(points)).last


# --- the purchase ---


async def test_a_purchase_with_bad_input_on_every_step_and_a_double_tap(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван <Петров>")
    ivan = await link_customer(app, tg, IVAN, client_id)
    await app.queue.drain()
    assert ivan.last.text == "🎁 Добро пожаловать в бонусную программу! Начислено баллов: +100. Баланс: 100."

    card = (await open_points(anna, app, client_id)).last
    assert "🎁 <b>Баллы: Иван &lt;Петров&gt;</b>" in card.html  # escaped
    assert "Баланс баллов: 100" in card.text
    assert "Уровень: Бронза, скидка 0%" in card.text
    assert f"Сумма покупок: 0{NBSP}₽" in card.text
    assert f"До уровня Серебро: ещё 30{NBSP}000{NBSP}₽ покупок" in card.text
    assert card.labels == ["🛒 Покупка", "📜 История баллов", "« Клиент"]  # no Reversal for a manager

    asked = await anna.press("🛒 Покупка")
    assert "Какая сумма? В RUB" in asked.last.text and asked.last.labels == ["Отмена"]
    for replies in (await anna.send_sticker(), await anna.send_photo()):
        assert "ответьте текстом" in replies.last.text and "Какая сумма?" in replies.last.text
    assert "Не удалось разобрать сумму" in (await anna.send("сто рублей")).last.text
    assert "Покупки записываются в RUB" in (await anna.send("100 USD")).last.text
    assert "Сумма должна быть больше нуля" in (await anna.send("0")).last.text
    assert "не может быть отрицательной" in (await anna.send("-5")).last.text
    points_step = (await anna.send("10 000")).last
    assert f"Сумма: 10{NBSP}000{NBSP}₽" in points_step.text
    assert "Баланс баллов: 100; этой покупкой можно оплатить до 100." in points_step.text
    assert points_step.labels == ["Без баллов", "Максимум: 100", "Отмена"]

    assert "Недостаточно баллов: на балансе 100." in (await anna.send("500")).last.text
    assert "Пришлите целое число" in (await anna.send("пять")).last.text
    confirm = (await anna.press("Максимум: 100")).last
    assert "Проверьте покупку клиента <b>Иван &lt;Петров&gt;</b>:" in confirm.html
    assert "Оплачено баллами: 100" in confirm.text
    assert f"К оплате: 9{NBSP}900{NBSP}₽" in confirm.text
    assert "Начислено баллов: +495" in confirm.text
    assert "Пожалуйста, воспользуйтесь кнопками." in (await anna.send("да")).last.text

    confirm = anna.messages[-1]
    data = confirm.button("✅ Подтвердить")["callback_data"]
    done = await anna.press("✅ Подтвердить", message=confirm)
    assert done.last.text.startswith("✅ Покупка записана. Баланс баллов: 495.")
    assert "Баланс баллов: 495" in done.last.text and "Сумма покупок: 10" in done.last.text
    again = await anna.press_data(data, message=confirm)  # a double tap of the same button
    assert again.callback_answer.text == "Эта покупка уже записана."
    assert await ledger(app, client_id) == [("welcome", 100), ("redeem", -100), ("earn", 495)]
    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Purchase)) == 1

    await app.queue.drain()
    assert ivan.last.text == (
        f"🛒 Ваша покупка на 10{NBSP}000{NBSP}₽.\nОплачено баллами: −100\nНачислено баллов: +495\n"
        "Баланс баллов: 495."
    )
    assert not tg.errors


async def test_tier_discount_is_shown_and_a_new_tier_is_announced(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван")
    ivan = await link_customer(app, tg, IVAN, client_id)
    confirm = await buy(anna, app, client_id, "30 000")
    assert "Скидка (Бронза, 0%)" in confirm.text and f"Начислено баллов: +1{NBSP}500" in confirm.text
    await anna.press("✅ Подтвердить", message=confirm)
    await app.queue.drain()
    assert "🎉 Новый уровень: Серебро, скидка 5%." in ivan.last.text

    confirm = await buy(anna, app, client_id, "1000")
    assert f"Уровень Серебро: скидка 5% → 950{NBSP}₽" in anna.messages[-2].text
    assert f"Скидка (Серебро, 5%): −50{NBSP}₽" in confirm.text and "Начислено баллов: +47" in confirm.text
    await anna.press("Отмена", message=confirm)
    assert anna.last.text == "Отменено. Ничего не сохранено."
    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Purchase)) == 1


async def test_a_tier_changed_between_the_quote_and_the_tap_shows_the_figures_again(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван")
    await link_customer(app, tg, IVAN, client_id)
    confirm = await buy(anna, app, client_id, "1000")
    assert "Скидка (Бронза, 0%)" in confirm.text and "Начислено баллов: +50" in confirm.text
    # meanwhile another purchase (another manager's dialog) takes the client to Silver
    async with app.session_factory() as s, s.begin():
        await loyalty.record_purchase(
            s, await s.get(User, ANNA), client_id, "other", Decimal(30000), "RUB", 0, app.clock.now()
        )
    tapped = await anna.press("✅ Подтвердить", message=confirm)
    assert tapped.callback_answer.show_alert
    assert "цифры были показаны, они изменились" in tapped.callback_answer.text
    again = anna.last
    assert "Ничего не записано: проверьте их ещё раз." in again.text
    assert f"Скидка (Серебро, 5%): −50{NBSP}₽" in again.text and "Начислено баллов: +47" in again.text
    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Purchase)) == 1  # only the other one
    done = await anna.press("✅ Подтвердить", message=again)
    assert done.last.text.startswith("✅ Покупка записана.")
    async with app.session_factory() as s:
        mine = await s.scalar(select(Purchase).where(Purchase.idempotency_key != "other"))
        assert mine.tier == "Silver" and mine.discounted == Decimal(950) and mine.points_earned == 47
    assert not tg.errors


async def test_service_messages_need_service_consent_and_a_blocked_customer_changes_nothing(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    first = await client_record(app, ANNA, "Иван")
    second = await client_record(app, ANNA, "Пётр")
    ivan = await link_customer(app, tg, IVAN, first)
    petr = await link_customer(app, tg, PETR, second, "Пётр")
    await app.queue.drain()
    async with app.session_factory() as s, s.begin():  # Ivan turned service messages off (consent)
        s.add(
            ClientConsent(client_id=first, purpose=Purpose.service, granted=False, updated_at=app.clock.now())
        )
    tg.block(PETR)  # Petr blocked the bot

    for client_id in (first, second):
        confirm = await buy(anna, app, client_id, "2000")
        assert "✅ Покупка записана" in (await anna.press("✅ Подтвердить", message=confirm)).last.text
    seen_ivan, seen_petr = len(ivan.messages), len(petr.messages)
    await app.queue.drain()
    assert len(ivan.messages) == seen_ivan and len(petr.messages) == seen_petr
    assert (await notify_outcomes(app))[-2:] == ["no_consent", "blocked"]
    assert await balance_of(app, first) == 200 and await balance_of(app, second) == 200


async def test_an_unlinked_client_gets_points_without_messages(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван")
    card = (await open_points(anna, app, client_id)).last
    assert "Клиента ещё нет в боте" in card.text
    confirm = await buy(anna, app, client_id, "1000")
    assert "Оплачено баллами: 0" in confirm.text
    await anna.press("✅ Подтвердить", message=confirm)
    await app.queue.drain()
    assert await ledger(app, client_id) == [("earn", 50)]
    assert await notify_outcomes(app) == []


# --- the customer ---


async def test_balance_for_a_linked_customer_and_not_linked_answer(app, tg):
    stranger = tg.user(PETR, "Пётр", language_code="ru")
    for command in ("/balance", "/gifts", "/referral"):
        reply = (await stranger.send(command)).last
        assert "ещё не привязан" in reply.text
        assert reply.reply_keyboard == [["📱 Поделиться номером"]]

    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван", timezone="Asia/Vladivostok")
    ivan = await link_customer(app, tg, IVAN, client_id)
    async with app.session_factory() as s, s.begin():
        await loyalty.set_setting(s, await s.get(User, ADMIN_ID), "expiry_days", "20", app.clock.now())
    confirm = await buy(anna, app, client_id, "12 000")
    await anna.press("✅ Подтвердить", message=confirm)

    text = (await ivan.send("/balance")).last.text
    assert text.startswith("🎁 Ваши баллы: 700")
    assert "Уровень: Бронза, скидка 0%" in text
    assert f"До уровня Серебро: ещё 18{NBSP}000{NBSP}₽ покупок" in text
    assert "Сгорят в ближайшие 30 дней: 600" in text  # the purchase's 600; the welcome 100 lasts a year
    assert "Последние операции" in text
    # 07:00 UTC is 17:00 in Vladivostok: the customer's own date
    assert "10 мар. 2026 · +600 · за покупку" in text and "10 мар. 2026 · +100 · приветственный бонус" in text


async def test_referral_link_rewards_both_sides_once(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    referrer_id = await client_record(app, ANNA, "Иван")
    ivan = await link_customer(app, tg, IVAN, referrer_id)
    reply = (await ivan.send("/referral")).last
    assert "🤝 Ваша личная ссылка:\nhttps://t.me/crm_test_bot?start=r_" in reply.text
    assert reply.labels == ["📤 Поделиться ссылкой"]
    code = reply.text.split("start=r_")[1].split()[0]
    assert len(code) == 8
    assert code in (await ivan.send("/referral")).last.text  # the same link every time

    newcomer_id = await client_record(app, ANNA, "Пётр")
    petr = tg.user(PETR, "Пётр", language_code="ru")
    await petr.send(f"/start r_{code}")  # the link: /start dispatches it to loyalty.remember_referral
    async with app.session_factory() as s, s.begin():
        pending = await s.scalar(select(Referral).where(Referral.newcomer_user_id == PETR))
        assert (
            pending is not None and pending.referrer_client_id == referrer_id and pending.status == "pending"
        )
        user = await s.get(User, PETR)
        assert await loyalty.remember_referral(s, user, "nosuchcode", app.clock.now()) is False
        assert await loyalty.remember_referral(s, user, code, app.clock.now()) is True
        # his own link does nothing for the referrer
        assert await loyalty.remember_referral(s, await s.get(User, IVAN), code, app.clock.now()) is True
    await link_customer(app, tg, PETR, newcomer_id, "Пётр")
    for amount in ("1000", "1000"):  # the second purchase is not a first one
        confirm = await buy(anna, app, newcomer_id, amount)
        done = await anna.press("✅ Подтвердить", message=confirm)
    assert "бонус за друга получили оба" not in done.last.text
    await app.queue.drain()
    assert ("referral", 300) in await ledger(app, referrer_id)
    assert [k for k in await ledger(app, newcomer_id)].count(("referral", 300)) == 1
    assert [k for k in await ledger(app, referrer_id)].count(("referral", 300)) == 1
    assert any(m.text == "🤝 Бонус за друга: +300. Баланс: 400." for m in ivan.messages)
    assert any("🤝 Бонус за друга: +300." in (m.text or "") for m in petr.messages)


async def test_birthday_bonus_once_a_year_on_the_day_in_the_clients_time_zone(app, tg, clock):
    await manager(app, tg, ANNA, "Anna")
    clock.set(datetime(2026, 3, 9, 20, 0, tzinfo=UTC))  # 23:00 on 9 March in Moscow
    client_id = await client_record(app, ANNA, "Иван", birthday=date(1990, 3, 10))
    ivan = await link_customer(app, tg, IVAN, client_id)

    async def plan_and_run() -> None:
        async with app.session_factory() as s, s.begin():
            await plan_loyalty_daily(s, clock.now(), "Europe/Moscow")
        await app.queue.drain()

    await plan_and_run()
    assert await ledger(app, client_id) == [("welcome", 100)]  # not yet
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))  # 10:00 in Moscow on the birthday
    await plan_and_run()
    assert ivan.last.text == "🎂 С днём рождения! Дарим вам баллы: +200. Баланс: 300."
    clock.advance(hours=3)
    await plan_and_run()
    clock.advance(days=1)
    await plan_and_run()
    assert await ledger(app, client_id) == [("welcome", 100), ("birthday", 200)]
    clock.set(datetime(2027, 3, 10, 7, 30, tzinfo=UTC))  # next year
    await plan_and_run()
    birthdays = [e for e in await ledger(app, client_id) if e[0] == "birthday"]
    assert birthdays == [("birthday", 200), ("birthday", 200)]


# --- gifts ---


async def test_gift_catalog_request_handed_over_once_and_cancelled_once(app, tg, admin):
    anna = await manager(app, tg, ANNA, "Anna")
    await admin.send("/loyalty")
    await admin.press("🎁 Каталог подарков")
    assert "Подарков пока нет" in admin.last.text
    await admin.press("➕ Добавить подарок")
    assert "Пришлите название подарка, а потом его цену" in (await admin.send("Кружка")).last.text
    assert "Добавлено: Кружка &lt;белая&gt;" in (await admin.send("Кружка <белая> 500")).last.html
    await admin.press("➕ Добавить подарок")
    await admin.send("Футболка 2 000")
    await admin.press("➕ Добавить подарок")
    await admin.send("Секретный 10")
    listed = (await admin.press("👁 Секретный — 10")).last
    assert "🙈 Секретный — 10 (скрыт)" in listed.text

    client_id = await client_record(app, ANNA, "Иван")
    ivan = await link_customer(app, tg, IVAN, client_id)
    async with app.session_factory() as s, s.begin():
        await loyalty.reverse(
            s, await s.get(User, ADMIN_ID), client_id, "t1", 500, "подарок", app.clock.now()
        )
    gifts = (await ivan.send("/gifts")).last
    assert "🎁 Подарки за баллы — у вас 600." in gifts.text
    assert "✅ Кружка <белая> — 500" in gifts.text
    assert f"🔒 Футболка — 2{NBSP}000 (не хватает 1{NBSP}400)" in gifts.text
    assert "Секретный" not in gifts.text
    assert gifts.labels == ["🎁 Кружка <белая> — 500"]

    asked = (await ivan.press("🎁 Кружка <белая> — 500")).last
    assert "Заказать «Кружка &lt;белая&gt;»?" in asked.html
    data = asked.button("✅ Заказать")["callback_data"]
    done = await ivan.press("✅ Заказать", message=asked)
    assert done.last.text.startswith("✅ Заказано: «Кружка <белая>».") and "Баланс: 100." in done.last.text
    again = await ivan.press_data(data, message=asked)
    assert again.callback_answer.text == "Вы уже заказали «Кружка <белая>»."
    assert await balance_of(app, client_id) == 100

    await app.queue.drain()
    task = anna.last
    assert "Иван</b> заказал(а) подарок «Кружка &lt;белая&gt;»" in task.html
    assert task.labels == ["✅ Вручён", "✖️ Отмена", "👤 Открыть карточку"]
    async with app.session_factory() as s:
        reminder = await s.scalar(select(Reminder).where(Reminder.client_id == client_id))
        assert reminder.owner_id == ANNA and reminder.status == ReminderStatus.pending
    hand = task.button("✅ Вручён")["callback_data"]
    # a customer can't press it, and nor can another manager
    assert "Нет доступа" in (await ivan.press_data(hand)).callback_answer.text
    boris = await manager(app, tg, BORIS, "Boris")
    assert "Не найдено" in (await boris.press_data(hand)).callback_answer.text
    handed = await anna.press("✅ Вручён", message=task)
    assert handed.callback_answer.text == "✅ Вручён: «Кружка <белая>». Баллы списаны."
    twice = await anna.press_data(hand, message=task)
    assert twice.callback_answer.text == "Этот запрос подарка уже закрыт."
    shown = next(m for m in anna.messages if m.message_id == task.message_id)
    assert shown.labels == []  # the notice lost its buttons once handled
    await app.queue.drain()
    assert ivan.last.text == "🎁 Подарок «Кружка <белая>» вручён. Приятного пользования!"
    async with app.session_factory() as s:
        assert (await s.get(Reminder, reminder.id)).status == ReminderStatus.done

    # a second request, cancelled: the points come back, once
    async with app.session_factory() as s, s.begin():
        await loyalty.reverse(s, await s.get(User, ADMIN_ID), client_id, "t2", 400, "ещё", app.clock.now())
    await ivan.send("/gifts")
    asked = (await ivan.press("🎁 Кружка <белая> — 500")).last
    await ivan.press("✅ Заказать", message=asked)
    assert await balance_of(app, client_id) == 0
    await app.queue.drain()
    task = anna.last
    cancel = task.button("✖️ Отмена")["callback_data"]
    await anna.press("✖️ Отмена", message=task)
    assert (
        await anna.press_data(cancel, message=task)
    ).callback_answer.text == "Этот запрос подарка уже закрыт."
    assert await balance_of(app, client_id) == 500
    await app.queue.drain()
    assert ivan.last.text == "Заказ «Кружка <белая>» отменён, баллы вернулись: 500. Баланс: 500."
    async with app.session_factory() as s:
        statuses = (await s.scalars(select(GiftRequest.status).order_by(GiftRequest.id))).all()
    assert statuses == ["handed", "cancelled"]
    kinds = [k for k, _ in await ledger(app, client_id)]
    assert (
        kinds.count("gift_reserve") == 2
        and kinds.count("gift_handed") == 1
        and kinds.count("gift_return") == 1
    )


# --- settings ---


async def test_the_gift_reminder_is_written_in_the_owner_managers_language(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")  # Russian
    boris = await manager(app, tg, BORIS, "Boris", lang="en")
    async with app.session_factory() as s, s.begin():
        gift = await loyalty.add_gift(s, await s.get(User, ADMIN_ID), "Mug 100", app.clock.now())
    for uid, owner, name in ((IVAN, ANNA, "Иван"), (PETR, BORIS, "Пётр <П>")):
        client_id = await client_record(app, owner, name)
        customer = await link_customer(app, tg, uid, client_id, name)  # the welcome bonus pays for the gift
        await customer.send("/gifts")
        asked = (await customer.press("🎁 Mug — 100")).last
        await customer.press("✅ Заказать", message=asked)
    async with app.session_factory() as s:
        texts = {
            r.owner_id: r.text for r in await s.scalars(select(Reminder).where(Reminder.deal_id.is_(None)))
        }
    assert texts == {
        ANNA: "🎁 Вручить подарок «Mug» клиенту Иван",
        BORIS: "🎁 Hand over the gift “Mug” to Пётр <П>",
    }
    await app.queue.drain()
    assert "заказал(а) подарок «Mug»" in anna.last.text and "asked for the gift “Mug”" in boris.last.text
    assert gift.points == 100 and not tg.errors


async def test_admin_changes_settings_with_clear_errors(app, tg, admin):
    shown = (await admin.send("/loyalty")).last
    assert "Баллы за покупку: 5% от оплаченного деньгами" in shown.text
    assert "Баллами можно оплатить до 30% покупки" in shown.text
    assert (
        f"Уровни: Бронза 0% от 0{NBSP}₽; Серебро 5% от 30{NBSP}000{NBSP}₽; Золото 10% от 100{NBSP}000{NBSP}₽"
        in (shown.text)
    )
    asked = await admin.press("Баллы за покупку, %")
    assert "Пришлите новое значение «Баллы за покупку, %». Сейчас: 5%." in asked.last.text
    assert "Число должно быть от 0 до 100." in (await admin.send("150")).last.text
    assert "Пришлите целое число" in (await admin.send("пять")).last.text
    assert "ответьте текстом" in (await admin.send_sticker()).last.text
    saved = (await admin.send("2,5")).last
    assert (
        saved.text.startswith("✅ Сохранено.")
        and "Баллы за покупку: 2,5% от оплаченного деньгами" in saved.text
    )

    await admin.press("Уровни")
    assert "Первый уровень должен начинаться с 0." in (await admin.send("Bronze 10 0; Gold 100 5")).last.text
    assert "Каждый следующий уровень" in (await admin.send("Bronze 0 0; Gold 100 5; Silver 50 3")).last.text
    assert "Не удалось разобрать уровни" in (await admin.send("Bronze; Gold")).last.text
    assert "одинаковое название" in (await admin.send("A 0 0; a 10 1")).last.text
    saved = (await admin.send("Новичок 0 0; VIP клуб 50 000 7,5")).last
    assert f"Уровни: Новичок 0% от 0{NBSP}₽; VIP клуб 7,5% от 50{NBSP}000{NBSP}₽" in saved.text

    await admin.press("Приветственный бонус")
    cancelled = await admin.press("Отмена")
    assert cancelled.last.text == "Отменено. Ничего не сохранено."
    async with app.session_factory() as s:
        prog = await loyalty.program(s)
    assert prog.welcome_bonus == 100 and str(prog.earn_percent) == "2.50"

    anna = await manager(app, tg, ANNA, "Anna")
    assert "Нет доступа" in (await anna.send("/loyalty")).last.text
    forged = await anna.press_data(LoyaltyCb(action="set", arg=0).pack())
    assert forged.callback_answer and forged.callback_answer.show_alert


# --- access and forged buttons ---


async def test_foreign_clients_and_forged_buttons_change_nothing(app, tg, admin):
    anna = await manager(app, tg, ANNA, "Anna")
    boris = await manager(app, tg, BORIS, "Boris")
    client_id = await client_record(app, ANNA, "Иван")
    ivan = await link_customer(app, tg, IVAN, client_id)

    foreign = await open_points(boris, app, client_id)
    assert "Не найдено" in foreign.callback_answer.text
    await boris.send("/start")
    assert (
        "Не найдено"
        in (await boris.press_data(LoyaltyCb(action="buy", id=client_id, arg=1).pack())).callback_answer.text
    )
    assert (
        "Не найдено"
        in (await boris.press_data(LoyaltyCb(action="hist", id=client_id).pack())).callback_answer.text
    )
    for action in ("buy", "rev", "hist"):
        forged = await ivan.press_data(LoyaltyCb(action=action, id=client_id, arg=1).pack())
        assert "Нет доступа" in forged.callback_answer.text
    assert (
        "Нет доступа"
        in (await anna.press_data(LoyaltyCb(action="rev", id=client_id, arg=1).pack())).callback_answer.text
    )
    # a stale card: the client changed after it was drawn
    card = (await open_points(anna, app, client_id)).last
    async with app.session_factory() as s, s.begin():
        (await s.get(Client, client_id)).version += 1
    stale = await anna.press("🛒 Покупка", message=card)
    assert "Карточка изменилась" in stale.callback_answer.text
    assert await ledger(app, client_id) == [("welcome", 100)]


async def test_admin_reversal_needs_a_reason_and_never_goes_below_zero(app, tg, admin):
    await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван")
    ivan = await link_customer(app, tg, IVAN, client_id)
    await app.queue.drain()
    card = (await open_points(admin, app, client_id)).last
    assert "↩️ Корректировка" in card.labels
    await admin.press("↩️ Корректировка", message=card)
    assert "Нужна причина" in (await admin.send("+100")).last.text
    assert "Недостаточно баллов: на балансе 100." in (await admin.send("-1000 ошибка")).last.text
    assert "Число должно быть от 1" in (await admin.send("0 ноль")).last.text
    done = (await admin.send("-30 возврат <товара>")).last
    assert done.text.startswith("✅ Баллы скорректированы.") and "Баланс баллов: 70" in done.text
    await app.queue.drain()
    assert ivan.last.text == "↩️ Ваши баллы скорректированы: −30. Причина: возврат <товара>. Баланс: 70."
    history = (await admin.press("📜 История баллов")).last
    assert "<b>−30</b> · корректировка: возврат &lt;товара&gt;" in history.html
    assert "<b>+100</b> · приветственный бонус" in history.html
    assert await ledger(app, client_id) == [("welcome", 100), ("reversal", -30)]


async def test_points_expire_oldest_first_through_the_daily_job(app, tg, clock):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван")
    ivan = await link_customer(app, tg, IVAN, client_id)  # +100 welcome, expires in 365 days
    clock.advance(days=200)
    confirm = await buy(anna, app, client_id, "2000", "50")  # 50 of the welcome 100 paid, +97 earned
    await anna.press("✅ Подтвердить", message=confirm)
    assert await balance_of(app, client_id) == 147
    clock.advance(days=166)  # the welcome lot is past its year; the purchase's is not
    async with app.session_factory() as s, s.begin():
        await plan_loyalty_daily(s, clock.now(), "Europe/Moscow")
    await app.queue.drain()
    assert await ledger(app, client_id) == [("welcome", 100), ("redeem", -50), ("earn", 97), ("expire", -50)]
    assert await balance_of(app, client_id) == 97
    text = (await ivan.send("/balance")).last.text
    assert "🎁 Ваши баллы: 97" in text and "−50 · сгорели" in text
