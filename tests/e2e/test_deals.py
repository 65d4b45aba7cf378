"""End to end, as managers and admins: deals from the client card and /newdeal, stage buttons (lost
with a reason, stale buttons), edits, history, the /deals pipeline, the stale-deal nudge, access."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.callbacks import ChoiceCb, ClientCb, DealCb, PipelineCb
from models.clients import Client
from models.deals import Deal, DealEvent
from models.jobs import Job
from models.reminders import Reminder
from models.users import User
from scheduler.recurring import plan_stale_deal_nudges
from services import deals as deals_service
from services.deals import Draft
from tests.conftest import ADMIN_ID
from tests.fakebot import FakeUser
from tests.support.people import client_record, manager
from tests.support.workspace import STAGES

ANNA, BORIS = 200, 201
NBSP = "\xa0"


async def add_deal(app, owner_id: int, client_id: int, title: str, **draft) -> int:
    draft.setdefault("stage", "new")
    async with app.session_factory() as s, s.begin():
        user = await s.get(User, owner_id)
        deal = await deals_service.create(
            s, user, client_id, Draft(title=title, **draft), STAGES, app.clock.now()
        )
        return deal.id


async def get_deal(app, deal_id: int) -> Deal:
    async with app.session_factory() as s:
        return await s.get(Deal, deal_id)


async def events(app, deal_id: int) -> list[tuple[str, str | None, str | None]]:
    async with app.session_factory() as s:
        rows = await s.scalars(select(DealEvent).where(DealEvent.deal_id == deal_id).order_by(DealEvent.id))
        return [(e.kind, e.old_value, e.new_value) for e in rows]


async def open_card(person: FakeUser, deal_id: int):
    await person.send("/start")
    return await person.press_data(DealCb(action="open", deal_id=deal_id).pack(), message=person.last)


async def client_deals(person: FakeUser, client_id: int, version: int = 1):
    await person.send("/start")
    data = ClientCb(action="deals", client_id=client_id, version=version).pack()
    return await person.press_data(data, message=person.last)


async def plan_and_send(app) -> None:
    async with app.session_factory() as s, s.begin():
        await plan_stale_deal_nudges(s, app.clock.now(), 7, "Europe/Moscow")
    await app.queue.drain()


# --- creating deals ---


async def test_a_deal_from_the_client_card_with_bad_input_on_every_step(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров", company="ООО Ромашка")

    listed = await client_deals(anna, client_id)
    assert listed.last.text == "💼 У клиента Иван Петров пока нет сделок."
    assert "➕ Новая сделка" in listed.last.labels and "« Клиент" in listed.last.labels

    ask = await anna.press("➕ Новая сделка")
    assert "Новая сделка с клиентом Иван Петров" in ask.last.text
    assert ask.last.labels == ["Отмена"]  # the title can't be skipped

    # title: a sticker, a photo, a file, too long — each answered, and the same question again
    for replies in (await anna.send_sticker(), await anna.send_photo(), await anna.upload("a.pdf", b"%PDF")):
        assert "ответьте текстом" in replies.last.text and "Как она называется?" in replies.last.text
    too_long = await anna.send("Я" * 201)
    assert "Слишком длинно: 201 символов, можно не больше 200" in too_long.last.text
    asked = await anna.send("Поставка <b>станков</b> & монтаж")
    assert "Сумма и валюта?" in asked.last.text and "Без валюты — RUB" in asked.last.text
    assert asked.last.labels == ["Пропустить", "Отмена"]

    # amount
    assert "Не удалось разобрать сумму" in (await anna.send("сто рублей")).last.text
    assert "не может быть отрицательной" in (await anna.send("-5 000")).last.text
    assert "Слишком большая сумма" in (await anna.send("1 000 000 000 000")).last.text
    assert "Не знаю такой валюты" in (await anna.send("100 тугриков")).last.text
    staged = await anna.send("150 000,50 ₽")
    assert f"Сумма: 150{NBSP}000,50{NBSP}₽" in staged.last.text and "Этап?" in staged.last.text
    assert staged.last.labels[:5] == ["новый лид", "квалификация", "предложение", "переговоры", "выиграна"]
    assert "проиграна" not in staged.last.labels  # a new deal isn't lost yet

    # stage: buttons only; a button of a step already over is refused
    again = (await anna.send("переговоры")).last
    assert "Выберите этап кнопками" in again.text and "Этап?" in again.text
    stale = await anna.press_data(ChoiceCb(step="nd.amount", value="skip").pack(), message=again)
    assert "уже пройден" in stale.callback_answer.text and stale.callback_answer.show_alert
    closing = await anna.press("переговоры", message=again)
    assert "Этап: переговоры" in closing.last.text and "Ожидаемая дата закрытия?" in closing.last.text
    assert again.labels == []  # the answered prompt lost its buttons

    # expected close date
    assert "Не удалось разобрать дату" in (await anna.send("32.13.2026")).last.text
    assert "уже прошло" in (await anna.send("01.01.2020")).last.text
    stepping = await anna.send("25.12.2026")
    assert "Ожидаемое закрытие: 25 дек. 2026" in stepping.last.text
    assert "Следующий шаг" in stepping.last.text

    # next step and its date
    assert "Когда?" in (await anna.send("Отправить КП")).last.text
    assert "Не удалось разобрать дату" in (await anna.send("когда-нибудь потом")).last.text
    created = await anna.send("завтра в 10")
    card = created.last.text
    assert card.startswith("✅ Сделка создана.")
    assert "💼 Поставка <b>станков</b> & монтаж" in card  # shown as typed, not as HTML
    assert "Клиент: Иван Петров (ООО Ромашка)" in card
    assert "Этап: ▫ переговоры" in card
    assert f"Сумма: 150{NBSP}000,50{NBSP}₽" in card
    assert "Ожидаемое закрытие: 25 дек. 2026" in card
    assert "Следующий шаг: Отправить КП — 11 мар. 2026, 10:00" in card
    assert "→ выиграна" in created.last.labels and "→ переговоры" not in created.last.labels

    async with app.session_factory() as s:
        deal = await s.scalar(select(Deal))
        assert deal.title == "Поставка <b>станков</b> & монтаж"
        assert (deal.amount, deal.currency, deal.stage) == (Decimal("150000.50"), "RUB", "negotiation")
        assert deal.owner_id == ANNA and deal.created_by == ANNA and deal.closed_at is None
        reminder = await s.scalar(select(Reminder))
        assert (reminder.deal_id, reminder.client_id, reminder.owner_id) == (deal.id, client_id, ANNA)
        assert reminder.due_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 10:00 Moscow
        assert await s.scalar(select(func.count()).select_from(Job).where(Job.kind == "reminder")) == 1
    assert await events(app, deal.id) == [("created", None, "Поставка <b>станков</b> & монтаж")]
    assert not tg.errors


async def test_newdeal_finds_only_my_clients_and_every_step_can_be_skipped(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    await manager(app, tg, BORIS, "Boris")
    await client_record(app, ANNA, "Иван Петров", company="ООО Ромашка")
    await client_record(app, ANNA, "Пётр Иванов")
    await client_record(app, BORIS, "Пётр Сидоров")

    asked = await anna.send("/newdeal")
    assert "С каким клиентом?" in asked.last.text
    assert "нет подходящих под «Сидоров»" in (await anna.send("Сидоров")).last.text
    found = await anna.send("петр")  # ё and е, any case, name or surname
    assert found.last.text == "Выберите клиента:"
    assert sorted(found.last.labels) == ["Иван Петров (ООО Ромашка)", "Отмена", "Пётр Иванов"]

    # a forged choice of another manager's client
    boris_client = (await anna_clients(app, BORIS))[0]
    forged = await anna.press_data(
        ChoiceCb(step="nd.client", value=str(boris_client)).pack(), message=found.last
    )
    assert "Не найдено" in forged.callback_answer.text

    await anna.press("Иван Петров (ООО Ромашка)")
    await anna.send("Сопровождение")
    await anna.press("Пропустить")  # amount
    await anna.press("Пропустить")  # stage: the first one
    await anna.press("Пропустить")  # close date
    created = await anna.press("Пропустить")  # next step
    card = created.last.text
    assert card.startswith("✅ Сделка создана.")
    assert "Этап: ▫ новый лид" in card and "Сумма: —" in card
    assert "Ожидаемое закрытие" not in card and "Следующий шаг" not in card

    # "/newdeal <name>" searches right away; a step text without a date isn't kept
    listed = await anna.send("/newdeal иванов")
    assert listed.last.labels == ["Пётр Иванов", "Отмена"]
    await anna.press("Пётр Иванов")
    await anna.send("Вторая")
    for _ in range(3):
        await anna.press("Пропустить")
    await anna.send("Позвонить")
    saved = await anna.press("Пропустить")
    assert "✅ Сделка создана. Без даты следующий шаг не сохранён." in saved.last.text

    # the date and the step in one message
    await anna.send("/newdeal иванов")
    await anna.press("Пётр Иванов")
    await anna.send("Третья")
    for _ in range(3):
        await anna.press("Пропустить")
    done = await anna.send("в пятницу в 15:00 позвонить")
    assert "Следующий шаг: позвонить — 13 мар. 2026, 15:00" in done.last.text

    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Deal)) == 3
        assert await s.scalar(select(func.count()).select_from(Reminder)) == 1
    assert not tg.errors


async def anna_clients(app, owner_id: int) -> list[int]:
    async with app.session_factory() as s:
        return list((await s.scalars(select(Client.id).where(Client.owner_id == owner_id))).all())


async def test_cancel_and_commands_leave_nothing_half_saved(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    await client_deals(anna, client_id)
    await anna.press("➕ Новая сделка")
    await anna.send("Сделка")
    cancelled = await anna.press("Отмена")
    assert cancelled.last.text == "Отменено. Ничего не сохранено."
    again = await anna.press_data(ChoiceCb(step="nd.amount", value="skip").pack(), message=anna.messages[-2])
    assert "уже пройден" in again.callback_answer.text

    await anna.send("/newdeal")
    assert (await anna.send("/cancel")).last.text == "Отменено. Ничего не сохранено."
    assert (await anna.send("Иван")).last.text.startswith("Не понял вас.")  # the dialog is over
    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Deal)) == 0


# --- the card: stages, lost with a reason, stale buttons, edits, history ---


async def test_stage_buttons_lost_with_a_reason_reopen_and_won(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    deal_id = await add_deal(app, ANNA, client_id, "Поставка", amount=Decimal(1000), currency="USD")

    first_card = (await open_card(anna, deal_id)).last  # the card shown twice: an old one stays above
    card = await open_card(anna, deal_id)
    assert "Этап: ▫ новый лид" in card.last.text
    assert f"Сумма: 1{NBSP}000{NBSP}$" in card.last.text

    moved = await anna.press("→ предложение")
    assert moved.callback_answer.text == "Этап: предложение"
    assert "Этап: ▫ предложение" in anna.last.text and "→ новый лид" in anna.last.labels

    # the same button again from the card as it was: the deal changed meanwhile
    stale = await anna.press_data(
        DealCb(action="stage", deal_id=deal_id, version=1, arg=3).pack(), message=first_card
    )
    assert "Сделка изменилась" in stale.callback_answer.text and stale.callback_answer.show_alert
    assert "Этап: ▫ предложение" in first_card.text  # redrawn as it is now
    assert (await get_deal(app, deal_id)).stage == "proposal"

    # lost: a reason first (a sticker and nothing useful are refused), then closed
    asked = await anna.press("→ проиграна")
    assert "Почему сделка Поставка проиграна?" in asked.last.text
    assert "ответьте текстом" in (await anna.send_sticker()).last.text
    assert "Слишком длинно" in (await anna.send("ж" * 1001)).last.text
    lost = await anna.send("Дорого для <них>")
    assert lost.last.text.startswith("Этап: проиграна")
    assert "Этап: ✖ проиграна" in lost.last.text and "Причина проигрыша: Дорого для <них>" in lost.last.text
    assert "Закрыта: 10 мар. 2026, 10:00" in lost.last.text
    deal = await get_deal(app, deal_id)
    assert deal.stage == "lost" and deal.lost_reason == "Дорого для <них>" and deal.closed_at is not None

    # reopened: open again, the reason is gone from the card (kept in the history)
    app.clock.advance(hours=1)
    reopened = await anna.press("→ переговоры")
    assert "Этап: ▫ переговоры" in anna.last.text and "Причина" not in anna.last.text
    assert reopened.callback_answer.text == "Этап: переговоры"
    deal = await get_deal(app, deal_id)
    assert deal.closed_at is None and deal.lost_reason is None

    # a lost reason asked and then cancelled changes nothing
    await anna.press("→ проиграна")
    assert (await anna.press("Отмена")).last.text == "Отменено. Ничего не сохранено."
    assert (await get_deal(app, deal_id)).stage == "negotiation"

    won = await anna.press("→ выиграна")
    deal = await get_deal(app, deal_id)
    assert deal.stage == "won" and deal.closed_at == app.clock.now()
    assert "Этап: 🏆 выиграна" in won.last.text and won.last.edited

    assert await events(app, deal_id) == [
        ("created", None, "Поставка"),
        ("stage", "new", "proposal"),
        ("stage", "proposal", "lost"),
        ("lost_reason", None, "Дорого для <них>"),
        ("stage", "lost", "negotiation"),
        ("lost_reason", "Дорого для <них>", None),
        ("stage", "negotiation", "won"),
    ]
    assert not tg.errors


async def test_a_lost_reason_for_a_deal_changed_meanwhile_is_refused(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    deal_id = await add_deal(app, ANNA, client_id, "Поставка")
    card = (await open_card(anna, deal_id)).last
    await anna.press("→ проиграна", message=card)
    await anna.press_data(
        DealCb(action="stage", deal_id=deal_id, version=1, arg=4).pack(), message=card
    )  # won
    refused = await anna.send("Дорого")
    assert "Сделка изменилась" in refused.last.text and "Этап: 🏆 выиграна" in refused.last.text
    deal = await get_deal(app, deal_id)
    assert deal.stage == "won" and deal.lost_reason is None


async def test_edit_title_amount_and_close_date_and_the_history(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    deal_id = await add_deal(app, ANNA, client_id, "Поставка", expected_close=date(2026, 4, 1))
    await open_card(anna, deal_id)

    menu = await anna.press("✏️ Изменить")
    assert menu.last.labels == ["Название", "Сумма", "Дата закрытия", "« Назад"]
    await anna.press("Название")
    assert "Слишком длинно" in (await anna.send("Д" * 201)).last.text
    renamed = await anna.send("Поставка и монтаж")
    assert "✅ Сохранено." in renamed.last.text and "💼 Поставка и монтаж" in renamed.last.text

    await anna.press("✏️ Изменить")
    asked = await anna.press("Сумма")
    assert "Сейчас: —" in asked.last.text
    assert "Не удалось разобрать сумму" in (await anna.send("1,2,3")).last.text
    priced = await anna.send("$2,000")
    assert f"Сумма: 2{NBSP}000{NBSP}$" in priced.last.text

    await anna.press("✏️ Изменить")
    asked = await anna.press("Дата закрытия")
    assert "Сейчас: 1 апр. 2026" in asked.last.text
    removed = await anna.press("Удалить")
    assert "✅ Сохранено." in removed.last.text and "Ожидаемое закрытие" not in removed.last.text

    # an edit button from before the change: refused, the card drawn again
    stale = await anna.press_data(
        DealCb(action="edit", deal_id=deal_id, version=1, arg=1).pack(), message=anna.last
    )
    assert "Сделка изменилась" in stale.callback_answer.text

    history = await anna.press("📜 История")
    lines = history.last.text.splitlines()
    assert lines[0] == "📜 История сделки Поставка и монтаж"
    assert lines[2] == "10 мар. 2026, 10:00 · Anna: дата закрытия: 1 апр. 2026 → —"
    assert lines[3] == f"10 мар. 2026, 10:00 · Anna: сумма: — → 2{NBSP}000{NBSP}$"
    assert lines[4] == "10 мар. 2026, 10:00 · Anna: название: Поставка → Поставка и монтаж"
    assert lines[5] == "10 мар. 2026, 10:00 · Anna: создана на этапе новый лид"
    back = await anna.press("« Сделка")
    assert "💼 Поставка и монтаж" in back.last.text
    assert not tg.errors


async def test_history_is_newest_first_and_paged(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    deal_id = await add_deal(app, ANNA, client_id, "Поставка")
    async with app.session_factory() as s, s.begin():
        user = await s.get(User, ANNA)
        for i in range(12):
            app.clock.advance(minutes=1)
            stage = ("qualification", "proposal")[i % 2]
            await deals_service.change_stage(s, user, deal_id, i + 1, stage, STAGES, app.clock.now())
    await open_card(anna, deal_id)
    first = await anna.press("📜 История")
    lines = first.last.text.splitlines()[2:]
    assert len(lines) == 10
    assert lines[0] == "10 мар. 2026, 10:12 · Anna: этап: квалификация → предложение"
    assert first.last.labels == ["1/2", "▶", "« Сделка"]
    second = await anna.press("▶")
    lines = second.last.text.splitlines()[2:]
    assert lines[-1] == "10 мар. 2026, 10:00 · Anna: создана на этапе новый лид"
    assert len(lines) == 3 and second.last.labels == ["◀", "2/2", "« Сделка"]


# --- /deals: the pipeline ---


async def test_pipeline_mine_and_everyones_with_sums_per_currency(app, tg, admin):
    anna = await manager(app, tg, ANNA, "Anna")
    await admin.send("/start")
    mine = await client_record(app, ANNA, "Иван Петров")
    theirs = await client_record(app, ADMIN_ID, "ЗАО Лютик")
    await add_deal(app, ANNA, mine, "A1", amount=Decimal("150000"), currency="RUB")
    await add_deal(app, ANNA, mine, "A2", amount=Decimal("50000.50"), currency="RUB")
    await add_deal(app, ANNA, mine, "A3", amount=Decimal("2000"), currency="USD", stage="proposal")
    await add_deal(app, ANNA, mine, "A4", stage="won", amount=Decimal(10), currency="RUB")
    await add_deal(app, ADMIN_ID, theirs, "B1", amount=Decimal("1000"), currency="RUB")

    overview = (await anna.send("/deals")).last
    lines = overview.text.splitlines()
    assert lines[0] == "📊 Воронка: мои сделки"
    assert f"▫ новый лид: 2 — 200{NBSP}000,50{NBSP}₽" in lines
    assert f"▫ предложение: 1 — 2{NBSP}000{NBSP}$" in lines
    assert "▫ квалификация: 0" in lines
    assert f"🏆 выиграна: 1 — 10{NBSP}₽" in lines
    assert f"Открытых: 3 — 200{NBSP}000,50{NBSP}₽ + 2{NBSP}000{NBSP}$" in lines
    assert "👥 Сделки всех" not in overview.labels  # managers see only their own
    forged = await anna.press_data(PipelineCb(scope="all").pack(), message=(await anna.send("/start")).last)
    assert forged.last.text.splitlines()[0] == "📊 Воронка: мои сделки"  # a forged "all": still mine

    admin_view = (await admin.send("/deals")).last
    assert f"▫ новый лид: 1 — 1{NBSP}000{NBSP}₽" in admin_view.text.splitlines()
    everyone = await admin.press("👥 Сделки всех")
    lines = everyone.last.text.splitlines()
    assert lines[0] == "📊 Воронка: сделки всех"
    assert f"▫ новый лид: 3 — 201{NBSP}000,50{NBSP}₽" in lines
    assert "👤 Мои сделки" in everyone.last.labels
    listed = await admin.press("новый лид · 3")
    assert listed.last.text == "новый лид: сделки всех, 3. Сначала недавно активные."
    opened = await admin.press(next(label for label in listed.last.labels if label.startswith("💼 A1")))
    assert "Ответственный: Anna" in opened.last.text  # admins see whose deal it is
    assert not tg.errors


async def test_stage_list_is_paged_8_at_a_time_and_opens_deals(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    for i in range(10):
        app.clock.advance(minutes=1)
        await add_deal(app, ANNA, client_id, f"Сделка {i}", stage="qualification", amount=Decimal(i + 1))
    await anna.send("/deals")
    first = await anna.press("квалификация · 10")
    assert first.last.text == "квалификация: мои сделки, 10. Сначала недавно активные."
    deals = [label for label in first.last.labels if label.startswith("💼")]
    assert len(deals) == 8 and deals[0] == "💼 Сделка 9 · Иван Петров · 10 ₽"
    assert first.last.labels[-3:] == ["1/2", "▶", "« Воронка"]
    second = await anna.press("▶")
    deals = [label for label in second.last.labels if label.startswith("💼")]
    assert [d.split(" · ")[0] for d in deals] == ["💼 Сделка 1", "💼 Сделка 0"]
    assert second.last.labels[-3:] == ["◀", "2/2", "« Воронка"]
    back = await anna.press("« Воронка")
    assert back.last.text.startswith("📊 Воронка: мои сделки")
    listed = await anna.press("квалификация · 10")
    card = await anna.press("💼 Сделка 3 · Иван Петров · 4 ₽", message=listed.last)
    assert card.last.text.startswith("💼 Сделка 3\n")


async def test_client_deals_list_opens_a_deal_and_starts_a_new_one(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    await add_deal(app, ANNA, client_id, "Старая", stage="won")
    app.clock.advance(minutes=1)
    await add_deal(app, ANNA, client_id, "Новая", amount=Decimal(5))
    listed = await client_deals(anna, client_id)
    assert listed.last.text == "💼 Сделки клиента Иван Петров: 2. Нажмите на сделку, чтобы открыть её."
    assert listed.last.labels[:2] == ["💼 Новая · 5 ₽ · новый лид", "🏆 Старая · выиграна"]
    card = await anna.press("🏆 Старая · выиграна")
    assert "💼 Старая" in card.last.text
    back = await anna.press("« Сделки клиента")
    assert back.last.text.startswith("💼 Сделки клиента Иван Петров: 2.")


# --- the stale-deal nudge ---


async def test_a_quiet_deal_gets_one_nudge_until_something_happens(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    deal_id = await add_deal(app, ANNA, client_id, "Поставка")
    await add_deal(app, ANNA, client_id, "Закрытая", stage="won")
    sent = len(anna.messages)

    app.clock.advance(days=6, hours=23)
    await plan_and_send(app)
    assert len(anna.messages) == sent  # not quiet long enough yet

    app.clock.advance(hours=1)
    await plan_and_send(app)
    nudge = anna.last
    assert nudge.text == (
        "⏳ По сделке Поставка с клиентом Иван Петров тишина с 10 мар. 2026, 10:00: "
        "ни контактов, ни смены этапа. Какой следующий шаг?"
    )
    assert nudge.labels == ["Открыть сделку"]
    assert len(anna.messages) == sent + 1  # the won deal is never nudged

    # planned and run again, later: still one
    for _ in range(3):
        app.clock.advance(days=2)
        await plan_and_send(app)
    assert len(anna.messages) == sent + 1
    assert (await events(app, deal_id))[-1] == ("nudge", None, None)

    # the nudge's button opens the deal; a stage change is activity
    opened = await anna.press("Открыть сделку")
    assert "💼 Поставка" in opened.last.text
    await anna.press("→ квалификация")
    app.clock.advance(days=6)
    await plan_and_send(app)
    assert len(anna.messages) == sent + 1
    app.clock.advance(days=1, minutes=1)
    await plan_and_send(app)
    assert len(anna.messages) == sent + 2 and anna.last.text.startswith("⏳ По сделке Поставка")

    # a logged contact with the client (touch_client_deals) is activity too
    async with app.session_factory() as s, s.begin():
        await deals_service.touch_client_deals(s, client_id, app.clock.now())
    app.clock.advance(days=7, minutes=1)
    await plan_and_send(app)
    assert len(anna.messages) == sent + 3
    kinds = [kind for kind, _old, _new in await events(app, deal_id)]
    assert kinds.count("nudge") == 3
    assert not tg.errors


async def test_a_nudge_that_falls_at_night_waits_for_the_morning_and_rechecks(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    deal_id = await add_deal(app, ANNA, client_id, "Поставка")
    sent = len(anna.messages)
    app.clock.advance(days=7, hours=12)  # 22:00 in Moscow
    await app.scheduler.plan()  # what the periodic planner runs
    await app.queue.drain()
    assert len(anna.messages) == sent
    async with app.session_factory() as s:
        job = await s.scalar(select(Job).where(Job.kind == "deal_nudge"))
        assert job.due_at == datetime(2026, 3, 18, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    app.clock.advance(hours=11)
    await app.queue.drain()
    assert anna.last.text.startswith("⏳ По сделке Поставка")

    # planned at night, but the deal was won before morning: the job checks again and skips
    other = await add_deal(app, ANNA, client_id, "Вторая")
    app.clock.advance(days=7, hours=13)  # 22:00 again
    await plan_and_send(app)
    async with app.session_factory() as s, s.begin():
        user = await s.get(User, ANNA)
        await deals_service.change_stage(s, user, other, 1, "won", STAGES, app.clock.now())
    before = len(anna.messages)
    app.clock.advance(hours=11)
    await app.queue.drain()
    assert len(anna.messages) == before
    assert ("nudge", None, None) not in await events(app, other)
    assert [kind for kind, _old, _new in await events(app, deal_id)].count("nudge") == 1


# --- access ---


async def test_another_managers_deal_is_not_found_and_nothing_changes(app, tg, admin):
    await manager(app, tg, ANNA, "Anna")
    boris = await manager(app, tg, BORIS, "Boris")
    client_id = await client_record(app, ANNA, "Иван Петров")
    deal_id = await add_deal(app, ANNA, client_id, "Поставка")

    await boris.send("/start")
    for data in (
        DealCb(action="open", deal_id=deal_id).pack(),
        DealCb(action="stage", deal_id=deal_id, version=1, arg=4).pack(),
        DealCb(action="stage", deal_id=deal_id, version=1, arg=5).pack(),
        DealCb(action="history", deal_id=deal_id).pack(),
        DealCb(action="edit", deal_id=deal_id, version=1, arg=1).pack(),
        ClientCb(action="deals", client_id=client_id, version=1).pack(),
        ClientCb(action="newdeal", client_id=client_id, version=1).pack(),
        DealCb(action="open", deal_id=999999).pack(),
    ):
        refused = await boris.press_data(data, message=boris.last)
        assert "Не найдено" in refused.callback_answer.text, data
        assert not refused  # nothing drawn, nothing asked
    assert (await boris.send("Дорого")).last.text.startswith("Не понял вас.")  # no dialog was started
    overview = await boris.send("/deals")
    assert "▫ новый лид: 0" in overview.last.text.splitlines()
    deal = await get_deal(app, deal_id)
    assert (deal.stage, deal.version, deal.title) == ("new", 1, "Поставка")
    assert len(await events(app, deal_id)) == 1

    # a customer can't even try
    eve = tg.user(300, "Eve", language_code="ru")
    await eve.send("/start")
    assert (await eve.send("/deals")).last.text.startswith("⛔ Нет доступа.")
    forged = await eve.press_data(
        DealCb(action="stage", deal_id=deal_id, version=1, arg=4).pack(), message=eve.last
    )
    assert forged.callback_answer.show_alert

    # an admin sees and changes anyone's deal
    await open_card(admin, deal_id)
    await admin.press("→ выиграна")
    assert (await get_deal(app, deal_id)).stage == "won"
    assert (await events(app, deal_id))[-1] == ("stage", "new", "won")


async def test_stale_pipeline_and_dialog_buttons_and_garbage(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    deal_id = await add_deal(app, ANNA, client_id, "Поставка")
    await anna.send("/start")
    bad_stage = await anna.press_data(DealCb(action="stage", deal_id=deal_id, version=1, arg=99).pack())
    assert bad_stage.callback_answer.text == "Такого этапа нет."
    same = await anna.press_data(DealCb(action="stage", deal_id=deal_id, version=1, arg=0).pack())
    assert same.callback_answer.text.startswith("Сделка уже на этом этапе")
    # an action no handler knows (e.g. from an older version): packed without validation
    with pytest.warns(UserWarning):
        garbage = DealCb.model_construct(action="frobnicate", deal_id=deal_id).pack()
    unknown = await anna.press_data(garbage)
    assert "больше не действует" in unknown.callback_answer.text
    outside = await anna.press_data(ChoiceCb(step="nd.stage", value="0").pack())
    assert "уже пройден" in outside.callback_answer.text
    listed = await anna.press_data(PipelineCb(scope="mine", stage=42).pack())
    assert listed.last.text.startswith("📊 Воронка: мои сделки")
    assert (await get_deal(app, deal_id)).version == 1
