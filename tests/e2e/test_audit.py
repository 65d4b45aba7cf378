"""End to end: the audit trail. A client edited, a deal moved, consent changed, points reversed and a role
changed each show in the card's 🕓 Changes and in /audit with who, when (the reader's time zone) and
before → after, escaped; /audit's person, client and period filters; its export; managers can't use it.
/audit pages by cursor (Older, Newer, no total) and answers a stale or forged cursor; its client filter
searches by a typed name."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import delete

from bot.callbacks import AuditAction, AuditCb, CardAction, ClientCb, DealCb, TeamAction, TeamCb
from models.audit import AuditEvent
from models.consent import ConsentSource, Purpose
from models.users import User
from services import audit, consent, loyalty
from services import deals as deals_service
from services.deals import Draft
from tests.conftest import ADMIN_ID
from tests.support.people import client_record, manager
from tests.support.workspace import STAGES

ANNA, BORIS, VERA = 200, 201, 202


async def changes(person, client_id: int, page: int = 0):
    await person.send("/start")
    data = ClientCb(action=CardAction.changes, client_id=client_id, page=page).pack()
    return (await person.press_data(data, message=person.last)).last


async def test_every_kind_of_change_shows_in_the_card_and_in_audit(app, tg, admin):
    anna = await manager(app, tg, ANNA, "Anna", tz="Asia/Vladivostok")
    await manager(app, tg, BORIS, "Boris")
    vera = await manager(app, tg, VERA, "Vera")
    await admin.send("/start")
    client_id = await client_record(app, ANNA, "Иван")
    other_id = await client_record(app, BORIS, "Пётр")

    # a client edited through the card: the name (with HTML in it)
    await anna.send("/find иван")
    await anna.press("✏️ Изменить")
    await anna.press("Имя")
    assert "✅ Сохранено." in (await anna.send("Иван <Грозный>")).last.text
    # a deal moved
    async with app.session_factory() as s, s.begin():
        deal = await deals_service.create(
            s,
            await s.get(User, ANNA),
            client_id,
            Draft(title="Поставка <1>", stage="new"),
            STAGES,
            app.clock.now(),
        )
    await anna.send("/start")
    await anna.press_data(DealCb(action="open", deal_id=deal.id).pack(), message=anna.last)
    assert (await anna.press("→ предложение")).callback_answer.text == "Этап: предложение"
    # consent changed, points credited then reversed by the admin
    app.clock.advance(timedelta(minutes=1))
    async with app.session_factory() as s, s.begin():
        await consent.set(
            s, client_id, Purpose.marketing, True, ConsentSource.manager, ANNA, "v1", app.clock.now()
        )
        admin_user = await s.get(User, ADMIN_ID)
        await loyalty.ledger.post(s, client_id, "welcome", 100, app.clock.now(), "w:1")
        await loyalty.reverse(s, admin_user, client_id, "k1", -30, "ошибка <кассира>", app.clock.now())
    # a role changed by the admin through /team
    await admin.send("/team")
    promoted = await admin.press_data(
        TeamCb(action=TeamAction.promote, user_id=BORIS).pack(), message=admin.last
    )
    assert promoted.callback_answer.text
    await app.queue.drain()

    card = await changes(anna, client_id)
    text, html = card.text, card.html
    assert text.startswith("🕓 Изменения: Иван <Грозный>, сначала новые")
    assert "<b>Имя</b>: Иван → Иван &lt;Грозный&gt;" in html  # before → after, escaped
    assert "Сделка «Поставка &lt;1&gt;»: этап</b>: новый лид → предложение" in html
    assert "Согласие: Предложения и новости</b>: отозвано → дано" in html
    assert "Баллы (reversal)</b>: 100 → 70 (-30 ошибка &lt;кассира&gt;)" in html
    assert "Баллы (welcome)</b>: 0 → 100" in html
    assert "Клиент добавлен" not in html  # client_record writes rows directly, not through the service
    # newest first; times in Anna's zone (Vladivostok, UTC+10)
    local = (app.clock.now() + timedelta(hours=10)).strftime("%H:%M")
    assert local in text
    assert text.index("reversal") < text.index("welcome") < text.index("этап") < text.index("Имя")
    # another manager can't open Anna's client's changes
    await vera.send("/start")
    refused = await vera.press_data(
        ClientCb(action=CardAction.changes, client_id=client_id).pack(), message=vera.last
    )
    assert refused.callback_answer.show_alert

    # /audit: everything, the role change included
    listing = (await admin.send("/audit")).last
    assert "🗂 Журнал изменений, сначала новые" in listing.text
    assert "Роль</b>: менеджер → администратор" in listing.html
    assert "Кто: кто угодно · Клиент: любой · Период: всё время" in listing.text
    # filter by person: Anna's changes only (the name, the deal, the consent)
    await admin.press("👤 Кто", message=listing)
    by_anna = (await admin.press("Anna")).last
    assert "Кто: Anna" in by_anna.text and "Имя</b>" in by_anna.html and "Роль" not in by_anna.html
    assert "reversal" not in by_anna.text
    # filter by client: Пётр has no changes
    await admin.press("🗂 Клиент", message=by_anna)
    clients_menu = admin.last
    assert "Иван <Грозный>" in clients_menu.labels
    data = AuditCb(action=AuditAction.list, client=other_id).pack()
    none = (await admin.press_data(data, message=clients_menu)).last
    assert "Изменений не записано." in none.text
    # a period that excludes everything: last 24 hours, a day later
    app.clock.advance(timedelta(days=2))
    everyone = (await admin.press_data(AuditCb(action=AuditAction.list).pack(), message=none)).last
    assert "Роль</b>" in everyone.html
    await admin.press("📅 Период", message=everyone)
    assert admin.last.labels[0] == "последние 24 часа"
    day = (await admin.press("последние 24 часа")).last
    assert "Период: последние 24 часа" in day.text and "Изменений не записано." in day.text
    week = (await admin.press_data(AuditCb(action=AuditAction.list, days=7).pack(), message=day)).last
    assert "Роль</b>" in week.html

    # the export button: the same export job, CSV
    await admin.press("📤 Выгрузить", message=week)
    asked = await admin.press("CSV (для программ)")
    assert "Готовлю выгрузку: Журнал изменений, CSV" in asked.last.text
    await app.queue.drain()
    doc = [m for m in admin.messages if m.document][-1]
    rows = list(csv.DictReader(io.StringIO(tg.files.get(doc.file_id).content.decode())))
    actions = [r["action"] for r in rows]
    assert "team.promote" in actions and "client.name" in actions and "deal.stage" in actions
    assert "points.reversal" in actions and "consent.marketing" in actions
    name = next(r for r in rows if r["action"] == "client.name")
    assert (name["before"], name["after"], name["actor"], name["client_id"]) == (
        "Иван",
        "Иван <Грозный>",
        "Anna",
        str(client_id),
    )
    assert not tg.errors


async def test_a_manager_cannot_use_audit(app, tg):
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    replies = await anna.send("/audit")
    assert "Not allowed" in replies.last.text
    forged = await anna.press_data(AuditCb(action=AuditAction.list).pack(), message=anna.last)
    assert forged.callback_answer.show_alert


NAME_CHANGE = re.compile(r"Имя</b>: (v\d+) → (v\d+)")


async def renamings(app, owner: int, client_id: int, count: int) -> None:
    """`count` changes of the client's name, v0 → v1 first, a minute apart, the latest a minute ago."""
    async with app.session_factory() as s, s.begin():
        start = app.clock.now() - timedelta(minutes=count)
        for i in range(count):
            audit.record_change(
                s, owner, client_id, "name", f"v{i}", f"v{i + 1}", start + timedelta(minutes=i)
            )


def shown(message) -> list[str]:
    return [before for before, _after in NAME_CHANGE.findall(message.html)]


async def test_audit_pages_older_and_newer_each_change_once_without_a_total(app, tg, admin):
    await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван")
    await renamings(app, ANNA, client_id, 20)

    first = (await admin.send("/audit")).last
    assert shown(first) == [f"v{i}" for i in range(19, 11, -1)]  # the 8 newest
    assert "Страница" not in first.text  # no "page 1 of 3 · 20 changes": nothing is counted
    assert first.buttons[0] == ["Старее ▶"]
    second = (await admin.press("Старее ▶", message=first)).last
    assert shown(second) == [f"v{i}" for i in range(11, 3, -1)]
    assert second.buttons[0] == ["◀ Новее", "Старее ▶"]
    third = (await admin.press("Старее ▶", message=second)).last
    assert shown(third) == ["v3", "v2", "v1", "v0"]
    assert third.buttons[0] == ["◀ Новее"] and "Старше ничего нет" in third.text
    # and back: the same pages again
    assert shown((await admin.press("◀ Новее", message=third)).last) == [f"v{i}" for i in range(11, 3, -1)]
    back = (await admin.press("◀ Новее", message=admin.last)).last
    assert shown(back) == [f"v{i}" for i in range(19, 11, -1)] and back.buttons[0] == ["Старее ▶"]

    # a filter pages the same way, and choosing one starts from the newest
    await admin.press("👤 Кто", message=back)
    by_anna = (await admin.press("Anna")).last
    assert "Кто: Anna" in by_anna.text and shown(by_anna)[0] == "v19"
    assert shown((await admin.press("Старее ▶", message=by_anna)).last)[0] == "v11"
    assert not tg.errors


async def test_a_stale_or_forged_audit_cursor_gets_a_clear_answer(app, tg, admin):
    await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван")
    await renamings(app, ANNA, client_id, 12)
    first = (await admin.send("/audit")).last
    older = first.button("Старее ▶")["callback_data"]

    forged = await admin.press_data(AuditCb(action=AuditAction.list, cur="o-garbage").pack(), message=first)
    assert forged.callback_answer.show_alert
    assert forged.callback_answer.text == "Эта кнопка больше не действует."
    assert not forged  # the message stays as it was

    # the older changes go (their client's record was forgotten, say) before the button is pressed
    async with app.session_factory() as s, s.begin():
        await s.execute(delete(AuditEvent).where(AuditEvent.before.in_(["v0", "v1", "v2", "v3"])))
    stale = await admin.press_data(older, message=first)
    assert stale.callback_answer.text == "Этих изменений уже нет: показываю самые новые."
    assert shown(admin.last) == [f"v{i}" for i in range(11, 3, -1)]
    assert "Старее ▶" not in admin.last.labels
    assert not tg.errors


async def test_the_audit_client_filter_finds_a_client_by_a_typed_name(app, tg, admin):
    await manager(app, tg, ANNA, "Anna")
    ivan = await client_record(app, ANNA, "Иван Петров")
    ivanna = await client_record(app, ANNA, "Иванна <Сидорова>")
    petr = await client_record(app, ANNA, "Пётр Смирнов")
    async with app.session_factory() as s, s.begin():
        for n, client_id in enumerate((ivan, ivanna, petr)):
            at = app.clock.now() - timedelta(minutes=10 - n)
            audit.record_change(s, ANNA, client_id, "company", None, f"Компания {client_id}", at)

    listing = (await admin.send("/audit")).last
    menu = (await admin.press("🗂 Клиент", message=listing)).last
    assert menu.text.startswith("Какой клиент? Пришлите часть имени")
    assert "Пётр Смирнов" in menu.labels  # the recently changed, as before

    not_text = (await admin.share_contact("+79001234567", "Пётр")).last
    assert not_text.text.startswith("Пришлите имя клиента или часть его телефона текстом")
    nothing = (await admin.send("Зинаида")).last
    assert "По запросу «Зинаида» клиентов не найдено" in nothing.text
    found = (await admin.send("иван")).last
    assert "Найдены клиенты по запросу «иван»" in found.text
    assert found.labels == ["👤 Иван Петров", "👤 Иванна <Сидорова>", "Любой клиент", "« Журнал изменений"]
    chosen = (await admin.press("👤 Иванна <Сидорова>", message=found)).last
    assert "Клиент: Иванна <Сидорова>" in chosen.text
    assert f"Компания {ivanna}" in chosen.text
    assert f"Компания {ivan}" not in chosen.text and f"Компания {petr}" not in chosen.text
    assert "Иванна &lt;Сидорова&gt;" in chosen.html  # escaped
    # the search is over: a text now is just a text
    assert "Не понял вас" in (await admin.send("иван")).last.text
    assert not tg.errors
