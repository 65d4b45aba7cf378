"""End to end, as people: managers add, find, edit, merge and hand over clients through the fake Bot API.

Every test runs on SQLite and on PostgreSQL (the `app` fixture). Managers here speak Russian.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from models.clients import Client, ClientPhone
from models.deals import Deal
from models.reminders import Reminder
from models.users import User
from tests.support.people import manager_via_invite
from tests.support.workspace import card_cb

ANNA, BORIS = 200, 201


async def client_named(app, name: str) -> Client | None:
    async with app.session_factory() as s:
        return await s.scalar(select(Client).where(Client.name == name, Client.merged_into_id.is_(None)))


async def count_clients(app) -> int:
    async with app.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(Client))


# --- adding ---


async def test_add_dialog_step_by_step(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    first = await anna.send("/add")
    assert "Новый клиент" in first.last.text and "шаг 1 из 5" in first.last.text
    assert first.last.labels == ["✖️ Отмена"]  # the name can't be skipped
    name = "Иван <Петров> & Co 😀 ‏שלום"
    assert "Шаг 2 из 5" in (await anna.send(name)).last.text
    assert "⏭ Пропустить" in anna.last.labels
    assert "Шаг 3 из 5" in (await anna.send("8 (999) 123-45-67, +44 20 7946 0958")).last.text
    assert "Шаг 4 из 5" in (await anna.press("⏭ Пропустить")).last.text
    assert "Шаг 5 из 5" in (await anna.send("ООО «Ромашка», директор")).last.text
    card = (await anna.send("VIP, #b2b")).last
    assert card.text.startswith("✅ Клиент добавлен.")
    assert f"👤 {name}" in card.text
    assert f"<b>{name.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</b>" in card.html
    assert "📞 +7 999 123-45-67, +44 20 7946 0958" in card.text
    assert "🏢 ООО «Ромашка» — директор" in card.text
    assert "🏷 #vip #b2b" in card.text
    assert "Ответственный: Anna" in card.text
    assert "Контактов пока не было" in card.text
    assert card.buttons == [
        ["📞 Записать контакт", "⏰ Напомнить"],
        ["💼 Сделка", "🗒 Заметка"],
        ["📜 История", "✏️ Изменить"],
        ["🎁 Бонусы", "🔔 Согласия"],
        ["📲 Пригласить в бот"],
    ]
    stored = await client_named(app, name)
    assert stored.owner_id == ANNA and stored.email is None and stored.position == "директор"


async def test_add_dialog_repeats_a_step_on_bad_input_and_cancels_cleanly(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    await anna.send("/add")
    for bad in (anna.send_sticker(), anna.send_photo(), anna.upload("a.txt", b"hi", "text/plain")):
        replies = await bad
        assert "Здесь нужен текст" in replies.last.text and "шаг 1 из 5" in replies.last.text
    too_long = await anna.send("Я" * 201)
    assert "Слишком длинно: 201 символов, можно не больше 200" in too_long.last.text
    assert "шаг 1 из 5" in too_long.last.text
    await anna.send("Иван")
    bad_phone = await anna.send("+7 123")
    assert "«+7 123» — неправильный номер телефона" in bad_phone.last.text
    assert "Шаг 2 из 5" in bad_phone.last.text
    step2 = anna.last
    await anna.press("⏭ Пропустить", message=step2)
    again = await anna.press("⏭ Пропустить", message=step2)  # pressed twice
    assert again.callback_answer.text == "Этот шаг уже пройден."
    assert "Шаг 3 из 5" in again.last.text
    bad_email = await anna.send("ivan@")
    assert "«ivan@» — неправильный email" in bad_email.last.text and "Шаг 3 из 5" in bad_email.last.text
    assert (await anna.send("/cancel")).last.text == "Отменено. Ничего не сохранено."
    late = await anna.press("⏭ Пропустить", message=bad_email.last)
    assert "Этот диалог уже закончен" in late.callback_answer.text
    assert (await anna.send("Иван")).last.text.startswith("Не понял вас")  # no dialog anymore
    assert await count_clients(app) == 0
    # the Cancel button does the same as /cancel
    await anna.send("/add")
    await anna.send("Пётр")
    assert (await anna.press("✖️ Отмена")).last.text == "Отменено. Ничего не сохранено."
    assert await count_clients(app) == 0


async def test_add_in_one_line(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    card = (await anna.send("/add Иван Петров +7 999 123-45-67 ivan@example.ru ООО Ромашка")).last
    assert "👤 Иван Петров" in card.text
    assert "📞 +7 999 123-45-67" in card.text and "✉️ ivan@example.ru" in card.text
    assert "🏢 ООО Ромашка" in card.text
    assert "Не нашёл имя" in (await anna.send("/add +7 916 111-22-33")).last.text
    assert "один email" in (await anna.send("/add Олег a@b.ru c@d.ru")).last.text
    assert "неправильный номер" in (await anna.send("/add Олег +7 916 111")).last.text
    assert await count_clients(app) == 1


async def test_a_known_phone_email_or_telegram_id_is_never_added_twice(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    boris = await manager_via_invite(app, tg, admin, BORIS, "Boris")
    await anna.send("/add Иван Петров +7 999 123-45-67 ivan@example.ru")
    # Anna again: her existing card
    mine = (await anna.send("/add Ваня 89991234567")).last
    assert "Клиент с этим номером уже есть: Иван Петров" in mine.text
    assert "📞 +7 999 123-45-67" in mine.text and "✏️ Изменить" in mine.labels
    # Boris: only that it exists and who owns it — nothing else of it
    for attempt in (
        boris.send("/add Ваня +7 999 123 45 67"),
        boris.send("/add Ваня IVAN@example.ru"),
        boris.share_contact(phone="79991234567", first_name="Ваня"),
    ):
        replies = await attempt
        assert "уже есть, его ведёт Anna" in replies.last.text
        assert "Иван" not in replies.last.text and "999" not in replies.last.text
        assert replies.last.buttons == []
    await boris.send("/add")
    await boris.send("Ваня")
    stopped = await boris.send("+79991234567")
    assert "уже есть, его ведёт Anna" in stopped.last.text
    assert (await boris.send("/cancel")).last.text == "Отменять нечего."  # the dialog ended there
    # the admin sees the card
    seen = (await admin.send("/add Ваня +7 999 123-45-67")).last
    assert "Иван Петров" in seen.text and "Ответственный: Anna" in seen.text
    assert await count_clients(app) == 1


async def test_a_shared_telegram_contact_becomes_a_client(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    card = (
        await anna.share_contact(phone="+7 916 111-22-33", first_name="Мария", last_name="Кюри", user_id=555)
    ).last
    assert card.text.startswith("✅ Клиент добавлен.") and "👤 Мария Кюри" in card.text
    assert "📞 +7 916 111-22-33" in card.text
    stored = await client_named(app, "Мария Кюри")
    assert stored.telegram_id == 555
    again = (await anna.share_contact(phone="+7 916 999-00-00", first_name="Маша", user_id=555)).last
    assert "Клиент с этим аккаунтом Telegram уже есть: Мария Кюри" in again.text
    bad = (await anna.share_contact(phone="12345", first_name="Никто")).last
    assert "неправильный номер телефона" in bad.text
    assert await count_clients(app) == 1
    # a customer sharing a contact is not adding a client (they are asked for their own number)
    eve = tg.user(300, "Eve", language_code="en")
    assert (
        "share your own number" in (await eve.share_contact(phone="+79161112233", first_name="X")).last.text
    )
    assert await count_clients(app) == 1


VCF = """BEGIN:VCARD
VERSION:3.0
FN:Анна Новая
N:Новая;Анна;;;
TEL;TYPE=CELL:+7 916 555-44-33
EMAIL:anna.new@example.ru
ORG:ООО Лютик
TITLE:бухгалтер
CATEGORIES:vip,partner
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Иван Дубль
TEL:8 999 123 45 67
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Плохой Номер
TEL:12-34
END:VCARD
BEGIN:VCARD
VERSION:3.0
TEL:+7 916 000 11 22
END:VCARD
BEGIN:VCARD
VERSION:2.1
N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=9F=D0=B5=D1=82=D1=80=D0=BE=D0=B2;=D0=9F=D1=91=D1=82=D1=80;;;
TEL;CELL:+79260001122
END:VCARD
"""


async def test_a_vcf_file_reports_added_known_and_rejected(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    boris = await manager_via_invite(app, tg, admin, BORIS, "Boris")
    await boris.send("/add Иван Петров +7 999 123-45-67")
    report = (await anna.upload("contacts.vcf", VCF.encode(), "text/vcard")).last.text
    assert "Файл контактов: контактов — 5" in report
    assert "✅ Добавлено: 2" in report and "• Анна Новая" in report and "• Пётр Петров" in report
    assert "ℹ️ Уже есть в базе: 1" in report and "• Иван Дубль — клиент менеджера Boris" in report
    assert "❌ Не добавлено: 2" in report
    assert "• Плохой Номер: «12-34» — неправильный номер телефона" in report
    assert "• (без имени): нет имени" in report
    stored = await client_named(app, "Анна Новая")
    assert (stored.company, stored.position, stored.email, stored.source) == (
        "ООО Лютик",
        "бухгалтер",
        "anna.new@example.ru",
        "vCard",
    )
    assert await count_clients(app) == 3
    # the same file again: everything known now
    again = (await anna.upload("contacts.VCF", VCF.encode(), "application/octet-stream")).last.text
    assert "✅ Добавлено: 0" in again and "ℹ️ Уже есть в базе: 3" in again
    assert "• Анна Новая — уже есть в базе: Анна Новая" in again
    assert await count_clients(app) == 3


async def test_vcf_limits_and_unreadable_files(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    big = (await anna.upload("big.vcf", b"BEGIN:VCARD\n" + b"X" * 1_000_001, "text/vcard")).last.text
    assert "Файл слишком большой: не больше 1000 КБ" in big
    many = "".join(f"BEGIN:VCARD\nVERSION:3.0\nFN:N{i}\nEND:VCARD\n" for i in range(501))
    assert "больше 500 контактов" in (await anna.upload("many.vcf", many.encode(), "text/vcard")).last.text
    assert (
        "Не удалось прочитать файл"
        in (await anna.upload("x.vcf", b"\x00\xff garbage", "text/vcard")).last.text
    )
    single = "BEGIN:VCARD\nVERSION:3.0\nFN:Один\nTEL:+79161234567\nEND:VCARD\n"
    replies = await anna.upload("one.vcf", single.encode(), "text/x-vcard")
    assert (
        "✅ Добавлено: 1" in replies[0].text and "👤 Один" in replies.last.text
    )  # one added: its card follows
    # other documents are not contacts
    assert (
        "Такое сообщение здесь не подходит"
        in (await anna.upload("a.pdf", b"%PDF", "application/pdf")).last.text
    )
    assert await count_clients(app) == 1


# --- finding ---


async def test_find_by_name_phone_email_company_and_tag_with_pages(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    boris = await manager_via_invite(app, tg, admin, BORIS, "Boris")
    for i in range(10):
        await anna.send(f"/add Иванов{i} +7 916 000-00-{i:02d}")
    await anna.send("/add Пётр Ёлкин +7 999 123-45-67 petr@example.ru ООО Ромашка")
    await boris.send("/add Иван Чужой +7 926 123-45-67")

    one = (await anna.send("/find елкин")).last  # one match: the card itself
    assert "👤 Пётр Ёлкин" in one.text and "✏️ Изменить" in one.labels
    for query in ("ПЁТР", "4567", "8 999 123 45 67", "petr@example.ru", "ромаш", "пет ёлк"):
        assert "👤 Пётр Ёлкин" in (await anna.send(f"/find {query}")).last.text, query

    listing = (await anna.send("/find иванов")).last
    assert listing.text == "🔎 Найдено по запросу «иванов»:"
    assert len([label for label in listing.labels if label.startswith("👤")]) == 8
    assert listing.buttons[-1] == ["1", "▶"]
    second = (await anna.press("▶")).last
    assert second.message_id == listing.message_id  # edited in place
    assert len([label for label in second.labels if label.startswith("👤")]) == 2
    assert second.buttons[-1] == ["◀", "2"]
    back = (await anna.press("◀")).last
    assert back.buttons[-1] == ["1", "▶"]
    card = (await anna.press(back.labels[0])).last
    assert card.text.startswith("👤 Иванов")

    nothing = (await anna.send("/find чужой")).last.text  # Boris's client: not for Anna
    assert "ничего не найдено" in nothing
    assert "ничего не найдено" in (await anna.send("/find 926 123")).last.text
    assert "👤 Иван Чужой" in (await admin.send("/find чужой")).last.text

    # /find without text asks; a sticker gets the question again; then the answer
    assert "Кого ищем?" in (await anna.send("/find")).last.text
    assert "Здесь нужен текст" in (await anna.send_sticker()).last.text
    assert "👤 Пётр Ёлкин" in (await anna.send("ромашка")).last.text
    assert (await anna.send("ромашка")).last.text.startswith("Не понял вас")  # the question was answered


async def test_page_buttons_of_a_long_query_expire_with_the_dialog_data(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    for i in range(9):
        await anna.send(f"/add Sidorov Sidorovich{i} Длиннофамильный")
    short = (await anna.send("/find sidorov")).last  # the query lives in the page button itself
    long = (
        await anna.send("/find длиннофамильный sidorovich sidorov длиннофамильный")
    ).last  # in dialog data
    assert (await anna.press("▶", message=long)).last.buttons[-1] == ["◀", "2"]
    await anna.send("/add")
    await anna.send("/cancel")  # clears the dialog data
    expired = await anna.press("◀", message=long)
    assert expired.callback_answer.text == "Этот список устарел. Отправьте /find или /clients ещё раз."
    assert (await anna.press("▶", message=short)).last.buttons[-1] == ["◀", "2"]


async def test_inline_mode_offers_my_clients_as_cards(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    boris = await manager_via_invite(app, tg, admin, BORIS, "Boris")
    await anna.send("/add Иван <Петров> +7 999 123-45-67 ivan@example.ru ООО Ромашка")
    await boris.send("/add Иван Чужой +7 926 123-45-67")
    results = await anna.inline_query("иван")
    assert [r["title"] for r in results] == ["Иван <Петров>"]
    article = results[0]
    assert article["type"] == "article"
    content = article["input_message_content"]["message_text"]
    assert "Иван &lt;Петров&gt;" in content and "+7 999 123-45-67" in content
    assert "Ответственный" not in content  # internal parts stay in the CRM
    assert [r["title"] for r in await anna.inline_query("4567")] == ["Иван <Петров>"]
    assert [r["title"] for r in await anna.inline_query("")] == ["Иван <Петров>"]
    assert await anna.inline_query("чужой") == []
    assert sorted(r["title"] for r in await admin.inline_query("иван")) == ["Иван <Петров>", "Иван Чужой"]
    eve = tg.user(300, "Eve", language_code="en")
    assert await eve.inline_query("иван") == []
    answer = tg.calls_of("answerInlineQuery")[-1]
    assert answer["is_personal"] in (True, "true")


# --- lists ---


async def test_clients_list_with_filters_and_pages(app, tg, admin, clock):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    boris = await manager_via_invite(app, tg, admin, BORIS, "Boris")
    for i in range(9):
        await anna.send(f"/add Клиент{i}")
    await boris.send("/add Чужой")
    listing = (await anna.send("/clients")).last
    assert listing.text.startswith("👥 Мои клиенты")
    assert "Фильтры: /clients active" in listing.text
    people = [label for label in listing.labels if label.startswith("👤")]
    assert people[0] == "👤 Клиент8" and len(people) == 8
    assert (await anna.press("▶")).last.labels[0] == "👤 Клиент0"
    assert "Чужой" not in " ".join(listing.labels)
    assert any("Чужой" in label for label in (await admin.send("/clients")).last.labels)

    # status: make Клиент3 active through the card
    await anna.send("/find клиент3")
    await anna.press("✏️ Изменить")
    await anna.press("Статус")
    assert "• 🌱 потенциальный" in anna.last.labels
    saved = await anna.press("✅ активен")
    assert saved.callback_answer.text == "Сохранено." and "Статус: активен" in saved.last.text
    active = (await anna.send("/clients active")).last
    assert [label for label in active.labels if label.startswith("👤")] == ["👤 Клиент3"]
    assert "статус: активен" in active.text
    by_button = (await anna.press("🌱")).last
    assert len([label for label in by_button.labels if label.startswith("👤")]) == 8

    # tags
    await anna.send("/find клиент5")
    await anna.press("✏️ Изменить")
    await anna.press("Теги")
    assert "🏷 #vip" in (await anna.send("vip")).last.text
    assert [
        label for label in (await anna.send("/clients tag vip")).last.labels if label.startswith("👤")
    ] == ["👤 Клиент5"]
    assert [label for label in (await anna.send("/clients #VIP")).last.labels if label.startswith("👤")] == [
        "👤 Клиент5"
    ]

    # no contact for 30 days
    assert "Здесь пока никого" in (await anna.send("/clients stale 30")).last.text
    clock.advance(days=31)
    stale = (await anna.send("/clients stale 30")).last
    assert "без контакта 30+ дней" in stale.text
    assert len([label for label in stale.labels if label.startswith("👤")]) == 8
    assert "Не понял фильтр" in (await anna.send("/clients purple")).last.text


# --- the card ---


async def test_card_shows_last_contact_in_my_time_zone_next_reminder_and_open_deals(app, tg, admin, clock):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    await anna.send("/add Иван Петров")
    client = await client_named(app, "Иван Петров")
    async with app.session_factory() as s, s.begin():
        c = await s.get(Client, client.id)
        c.last_contact_at = datetime(2026, 3, 9, 21, 30, tzinfo=UTC)
        (await s.get(User, ANNA)).timezone = "Asia/Novosibirsk"
        s.add(
            Reminder(
                owner_id=ANNA,
                client_id=client.id,
                text="позвонить <срочно>",
                due_at=clock.now() + timedelta(hours=3),
            )
        )
        s.add(
            Deal(
                client_id=client.id,
                owner_id=ANNA,
                title="A",
                stage="new",
                amount=Decimal("1500.50"),
                currency="RUB",
            )
        )
        s.add(
            Deal(
                client_id=client.id, owner_id=ANNA, title="B", stage="won", amount=Decimal(99), currency="RUB"
            )
        )
    card = (await anna.send("/find иван")).last
    assert "🕓 Последний контакт: 10 мар. 2026, 04:30" in card.text  # Novosibirsk is UTC+7
    assert "⏰ Следующее напоминание: 10 мар. 2026, 17:00 — позвонить <срочно>" in card.text
    assert "💼 Открытых сделок: 1 · 1\xa0500,50\xa0₽" in card.text


async def test_edit_fields_validate_and_repeat_the_step(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    await anna.send("/add Иван +7 999 123-45-67")

    async def edit(field: str) -> None:
        await anna.send("/find иван")
        await anna.press("✏️ Изменить")
        await anna.press(field)

    await edit("Имя")
    assert "Сейчас: Иван" in anna.last.text and "✖️ Отмена" in anna.last.labels
    assert "🧹 Очистить" not in anna.last.labels  # the name is required
    assert "Здесь нужен текст" in (await anna.send_sticker()).last.text
    assert "Слишком длинно" in (await anna.send("x" * 201)).last.text
    saved = (await anna.send("Иван <Грозный> & сын")).last
    assert saved.text.startswith("✅ Сохранено.") and "👤 Иван <Грозный> & сын" in saved.text

    await edit("Email")
    assert "неправильный email" in (await anna.send("not-an-email")).last.text
    assert "✉️ ivan@example.ru" in (await anna.send("IVAN@Example.RU")).last.text
    await edit("Email")
    assert "✉️" not in (await anna.press("🧹 Очистить")).last.text

    await edit("День рождения")
    assert "не похоже на дату" in (await anna.send("вчера")).last.text
    assert "🎂 День рождения: 31 дек. 1990" in (await anna.send("31.12.1990")).last.text
    await edit("Часовой пояс")
    assert "не часовой пояс" in (await anna.send("Mars/Olympus")).last.text
    assert "часовой пояс Asia/Novosibirsk" in (await anna.send("asia/novosibirsk")).last.text
    await edit("Язык")
    assert "язык en" in (await anna.press("🇬🇧 en")).last.text
    await edit("Должность")
    assert "🏢 директор" in (await anna.send("директор")).last.text
    await edit("Источник")
    assert "📥 Источник: выставка" in (await anna.send("выставка")).last.text
    await edit("Компания")
    assert "🏢 ООО Ромашка — директор" in (await anna.send("ООО Ромашка")).last.text

    # phones: add one, refuse a bad one, remove one
    await edit("Телефоны")
    assert anna.last.labels[:2] == ["❌ +7 999 123-45-67", "➕ Добавить номер"]
    await anna.press("➕ Добавить номер")
    assert "неправильный номер" in (await anna.send("12")).last.text
    added = (await anna.send("8 916 111 22 33")).last
    assert "📞 +7 999 123-45-67, +7 916 111-22-33" in added.text
    await edit("Телефоны")
    removed = await anna.press("❌ +7 999 123-45-67")
    assert removed.callback_answer.text == "Удалено."
    assert removed.last.labels[0] == "❌ +7 916 111-22-33"
    assert "📞 +7 916 111-22-33" in (await anna.press("« Карточка")).last.text

    client = await client_named(app, "Иван <Грозный> & сын")
    assert client.email is None and client.timezone == "Asia/Novosibirsk" and client.language == "en"
    async with app.session_factory() as s:
        phones = (await s.scalars(select(ClientPhone.e164).where(ClientPhone.client_id == client.id))).all()
    assert phones == ["+79161112233"]


async def test_note_appends_with_a_date_and_keeps_the_limit(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    await anna.send("/add Иван")
    await anna.press("🗒 Заметка")
    assert "осталось символов: 4000" in anna.last.text
    assert "Здесь нужен текст" in (await anna.send_photo()).last.text
    first = (await anna.send("Любит <чай> & печенье")).last
    assert first.text.startswith("✅ Заметка добавлена.")
    assert "📝 Заметка:\n— 10 мар. 2026, Anna\nЛюбит <чай> & печенье" in first.text
    await anna.press("🗒 Заметка")
    full = (await anna.send("я" * 4000)).last
    assert "Заметка не может быть длиннее 4000 символов" in full.text
    await anna.send("/cancel")
    client = await client_named(app, "Иван")
    assert client.note == "— 10 мар. 2026, Anna\nЛюбит <чай> & печенье" and client.version == 2


async def test_a_button_on_an_outdated_card_says_so_and_shows_it_again(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    old_card = (await anna.send("/add Иван")).last
    old_note = old_card.button("🗒 Заметка")["callback_data"]
    await anna.press("✏️ Изменить", message=old_card)
    await anna.press("Статус")
    await anna.press("✅ активен")  # version 2 now
    second = (await anna.send("/find иван")).last
    stale = await anna.press_data(old_note, message=old_card)
    assert stale.callback_answer.text == "Карточка тем временем изменилась. Вот она сейчас."
    assert "Статус: активен" in old_card.text  # shown again as it is now
    stale_status = await anna.press_data(card_cb("status", (await client_named(app, "Иван")).id, 1, arg=3))
    assert "изменилась" in stale_status.callback_answer.text
    # an edit dialog started on one version, the card changed meanwhile: nothing saved
    await anna.press("✏️ Изменить", message=second)
    await anna.press("Имя")
    async with app.session_factory() as s, s.begin():
        c = await s.get(Client, (await client_named(app, "Иван")).id)
        c.version += 1
    replies = await anna.send("Пётр")
    assert "Карточка тем временем изменилась" in replies.last.text and "👤 Иван" in replies.last.text
    assert await client_named(app, "Пётр") is None


async def test_other_managers_clients_are_not_found_and_customers_are_not_allowed(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    boris = await manager_via_invite(app, tg, admin, BORIS, "Boris")
    await anna.send("/add Иван Секретный +7 999 123-45-67")
    client = await client_named(app, "Иван Секретный")
    await boris.send("/start")
    for action in ("open", "edit", "note", "status", "merge", "mergeok", "delphone", "addphone"):
        replies = await boris.press_data(card_cb(action, client.id, 1, arg=1), message=boris.last)
        assert replies.callback_answer.text.startswith("Не найдено"), action
        assert "Секретный" not in " ".join(t or "" for t in replies.texts)
    owner = await boris.press_data(card_cb("owner", client.id, 1, arg=BORIS), message=boris.last)
    assert owner.callback_answer.text.startswith("⛔ Нет доступа")
    eve = tg.user(300, "Eve", language_code="en")
    await eve.send("/start")
    for command in ("/add Иван", "/find иван", "/clients"):
        assert "Not allowed" in (await eve.send(command)).last.text
    assert (
        "Not allowed"
        in (await eve.press_data(card_cb("open", client.id), message=eve.last)).callback_answer.text
    )
    unchanged = await client_named(app, "Иван Секретный")
    assert unchanged.owner_id == ANNA and unchanged.version == 1


async def test_admin_hands_a_client_to_another_manager_and_both_are_told(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    boris = await manager_via_invite(app, tg, admin, BORIS, "Boris")
    await anna.send("/add Иван Петров")
    await admin.send("/find иван")
    assert "👔 Ответственный" in admin.last.labels
    picker = (await admin.press("👔 Ответственный")).last
    to_boris = picker.button("👤 Boris")["callback_data"]
    assert "Кому передать клиента" in picker.text
    assert "• 👤 Anna" in picker.labels and "👤 Boris" in picker.labels
    done = await admin.press("👤 Boris")
    assert done.callback_answer.text == "Готово." and "Ответственный: Boris" in done.last.text
    again = await admin.press_data(to_boris, message=picker)  # pressed twice: the card changed
    assert "изменилась" in again.callback_answer.text
    await app.queue.drain()
    assert "Olga Admin передал(а) вашего клиента Иван Петров менеджеру Boris" in anna.last.text
    assert "Olga Admin передал(а) вам клиента Иван Петров" in boris.last.text
    opened = (await boris.press("👤 Открыть карточку")).last
    assert "👤 Иван Петров" in opened.text and "Ответственный: Boris" in opened.text
    assert "ничего не найдено" in (await anna.send("/find иван")).last.text
    assert "👔 Ответственный" not in (await boris.send("/find иван")).last.labels  # managers can't


async def test_likely_duplicates_are_flagged_and_merged_after_confirmation(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    await anna.send("/add Пётр Иванов +7 999 123-45-67 ООО Ромашка")
    second = (await anna.send("/add петр иванов +7 916 111-22-33 petr@example.ru ооо ромашка")).last
    assert "⚠️ Похоже на дубликат: Пётр Иванов (ООО Ромашка)" in second.text
    assert "🔀 Объединить с Пётр Иванов" in second.labels
    confirm = (await anna.press("🔀 Объединить с Пётр Иванов")).last
    merge_data = confirm.button("✅ Объединить")["callback_data"]
    assert "Объединить две карточки?" in confirm.text and "Отменить это нельзя" in confirm.text
    merged = await anna.press("✅ Объединить")
    assert merged.callback_answer.text == "Объединено."
    text = merged.last.text
    assert "👤 петр иванов" in text
    assert "+7 916 111-22-33" in text and "+7 999 123-45-67" in text and "petr@example.ru" in text
    assert "Похоже на дубликат" not in text
    twice = await anna.press_data(merge_data, message=confirm)
    assert twice.callback_answer.text.startswith(("Не найдено", "Карточка"))
    async with app.session_factory() as s:
        rows = (await s.scalars(select(Client).order_by(Client.id))).all()
        assert rows[0].merged_into_id == rows[1].id
    assert "👤 петр иванов" in (await anna.send("/find 4567")).last.text
    audit = tg.calls_of("sendMessage")
    assert audit  # the conversation went through the fake API


async def test_odd_input_gets_clear_answers(app, tg, admin):
    """Huge ids, names made of markup, queries of punctuation: valid HTML, fitting buttons, clear replies."""
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    card = (await anna.send("/add " + "<&>" * 60)).last
    assert "👤 " + "<&>" * 60 in card.text
    assert "ничего не найдено" in (await anna.send("/find &&& ???")).last.text
    big_id = 2**62
    replies = await anna.press_data(card_cb("mergeok", big_id, 2**31 - 1, arg=big_id), message=anna.last)
    assert replies.callback_answer.text.startswith("Не найдено")
    assert "Слишком длинно" in (await anna.send("/find " + "я" * 201)).last.text
