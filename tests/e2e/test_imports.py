"""End to end, as people: /import of clients with a mapping fixed by a button, the dry run and its
errors file downloaded and read, Apply (twice), the imported client found with /find; purchases; the
bad files and inputs a person may send. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from sqlalchemy import func, select

from models.clients import Client, ClientPhone
from models.jobs import Job
from models.loyalty import Purchase
from services import phones
from tests.support.people import client_record, manager_via_invite

ANNA = 200
NAME = "<b>Иван</b> Грозный & Co"


def phone(e164: str) -> ClientPhone:
    return ClientPhone(e164=e164, digits_reversed=phones.digits_reversed(e164))


def csv_file(rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


async def count(app, model) -> int:
    async with app.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def test_clients_import_with_a_mapping_fix_dry_run_errors_file_and_apply(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    await client_record(app, ANNA, "Known One", phones=[phone("+79990000001")])
    prompt = await anna.send("/import")
    assert "Пришлите файл CSV или XLSX" in prompt.last.text
    sticker = await anna.send_sticker()
    assert "Пришлите таблицу файлом" in sticker.last.text
    photo = await anna.send_photo()
    assert "Пришлите таблицу файлом" in photo.last.text
    wrong = await anna.upload("clients.pdf", b"%PDF-1.4", "application/pdf")
    assert "только файлы CSV (.csv) и Excel (.xlsx)" in wrong.last.text
    data = csv_file(
        [
            ["ФИО", "Номер", "E-mail", "Компания"],
            [NAME, "7.9991234567E10", "ivan@example.ru", "ООО Ромашка"],
            ["Known again", "+7 999 000-00-01", "", ""],
            [],
            ["Bad Phone", "12345", "", ""],
        ],
        delimiter=";",
        encoding="cp1251",
    )
    read = await anna.upload("clients.csv", data, "text/csv")
    assert "clients.csv" in read.last.text and "строк: 3, столбцов: 4" in read.last.text
    assert "windows-1251, точка с запятой" in read.last.text
    mapping = (await anna.press("👥 Клиенты")).last
    assert "1. ФИО → Имя" in mapping.text
    assert "2. Номер → — не учитывается" in mapping.text  # the header no one recognises
    assert "3. E-mail → Почта" not in mapping.text and "3. E-mail → Email" in mapping.text
    picker = (await anna.press("⛔ 2. Номер")).last
    assert "Столбец 2 «Номер» (например, «7.9991234567E10»)" in picker.text
    fixed = (await anna.press("Телефон")).last
    assert "2. Номер → Телефон" in fixed.text
    assert await count(app, Client) == 1  # nothing written while mapping
    checked = await anna.press("🔍 Проверить")
    summary = next(m for m in checked if m.text and "Пробный прогон" in m.text)
    assert "➕ Будет добавлено: 1" in summary.text
    assert "♻️ Уже известны: 1" in summary.text
    assert "⚠️ С ошибками: 1" in summary.text
    assert "Строка 5: «12345» — неправильный номер телефона" in summary.text
    errors = next(m for m in checked if m.document)
    content = tg.files.get(errors.file_id).content.decode("utf-8")
    table = list(csv.reader(io.StringIO(content)))
    assert table[0] == ["row", "reason", "ФИО", "Номер", "E-mail", "Компания"]
    assert table[1][0] == "5" and "неправильный номер телефона" in table[1][1] and table[1][2] == "Bad Phone"
    assert await count(app, Client) == 1  # a dry run writes nothing
    apply_data = summary.button("▶️ Применить")["callback_data"]
    applied = await anna.press("▶️ Применить")
    assert "⏳ Импорт (клиенты) из <b>clients.csv</b>" in applied.last.html
    again = await anna.press_data(apply_data, message=summary)
    assert again.callback_answer.text == "Этот импорт уже выполняется."
    await app.queue.drain()
    done = summary_by_id(anna, summary)  # the progress message, edited as batches commit
    assert "✅ Импорт завершён" in done.text and "➕ Добавлено: 1" in done.text
    assert "♻️ Уже известны, пропущено: 1" in done.text and "⚠️ С ошибками, пропущено: 1" in done.text
    late = await anna.press_data(apply_data, message=summary)  # pressed again after it is done
    assert late.callback_answer.text == "Этот импорт уже выполнен; ничего не добавлено дважды."
    await app.queue.drain()
    assert await count(app, Client) == 2
    found = await anna.send("/find Грозный")
    assert NAME in found.last.text
    assert "&lt;b&gt;Иван&lt;/b&gt; Грозный &amp; Co" in found.last.html
    async with app.session_factory() as s:
        ivan = await s.scalar(select(Client).where(Client.email == "ivan@example.ru"))
    assert ivan.name == NAME and ivan.owner_id == ANNA and ivan.source == "import"
    card = await anna.send("/find 4567")
    assert "+7 999 123-45-67" in card.last.text or NAME in card.last.text


def summary_by_id(person, message):
    return next(m for m in person.messages if m.message_id == message.message_id)


async def test_purchases_import_by_an_admin_with_caption_and_credit_points(app, tg, admin):
    await admin.send("/start")
    ivan = await client_record(app, 100, "Ivan", phones=[phone("+79991234567")])
    data = csv_file(
        [
            ["Телефон", "Дата", "Сумма", "Валюта"],
            ["8 999 123 45 67", "15.01.2026", "1000", "RUB"],
            ["+79991234567", "2026-02-01", "300,50", ""],
            ["+79990000000", "2026-02-01", "10", ""],
        ],
    )
    read = await admin.upload("p.csv", data, "text/csv", caption="/import")
    assert "Что в этом файле?" in read.last.text
    mapping = (await admin.press("🛒 Покупки")).last
    assert "1. Телефон → Телефон" in mapping.text and "3. Сумма → Сумма" in mapping.text
    checked = await admin.press("🔍 Проверить")
    summary = next(m for m in checked if m.text and "Пробный прогон" in m.text)
    assert "➕ Будет добавлено: 2" in summary.text and "⚠️ С ошибками: 1" in summary.text
    assert "без скидки уровня и без баллов" in summary.text
    toggled = (await admin.press("⬜ Начислить баллы")).last
    assert "☑️ Начислить баллы" in toggled.labels and "будут начислены баллы" in toggled.text
    await admin.press("▶️ Применить")
    await app.queue.drain()
    assert "✅ Импорт завершён" in summary_by_id(admin, summary).text
    async with app.session_factory() as s:
        bought = list(await s.scalars(select(Purchase).order_by(Purchase.id)))
    assert [(p.client_id, p.amount, p.origin, p.points_earned) for p in bought] == [
        (ivan, Decimal("1000.00"), "import", 50),
        (ivan, Decimal("300.50"), "import", 15),
    ]


async def test_bad_files_and_stale_buttons(app, tg, admin):
    await admin.send("/start")
    binary = await admin.upload("data.csv", b"\x00\x01\x02\x03" * 100, "text/csv", caption="/import")
    assert "Это не текстовый файл" in binary.last.text
    bomb = await admin.upload("book.xlsx", b"PK\x03\x04 broken", "application/zip")
    assert "Не удалось открыть эту таблицу" in bomb.last.text
    wide = csv_file([[f"c{i}" for i in range(10_000)], ["x"] * 10_000])
    refused = await admin.upload("wide.csv", wide, "text/csv")
    assert "Слишком много столбцов: 10000, можно не больше 60" in refused.last.text
    await admin.upload("ok.csv", csv_file([["name"], ["Анна"]]), "text/csv")
    purchases = admin.last.button("🛒 Покупки")["callback_data"]
    mapping = (await admin.press("👥 Клиенты")).last
    stale = await admin.press_data(purchases, message=mapping)  # the kind picker was answered already
    assert "1. name → Имя" in admin.last.text  # shown as it is now: still clients
    assert stale.callback_answer.text == "Эта кнопка устарела. Вот импорт в его текущем виде."
    await admin.press("⛔ Не учитывать", message=(await admin.press("✏️ 1. name", message=mapping)).last)
    needed = await admin.press("🔍 Проверить")
    assert "Ни один столбец пока не сопоставлен с полем «Имя»" in needed.callback_answer.text
    await admin.press("✖️ Отмена")
    assert await count(app, Client) == 0
    customer = tg.user(555, "Cust", language_code="ru")
    await customer.send("/start")
    refusal = await customer.send("/import")
    assert refusal.last.text == "⛔ Нет доступа. Это только для сотрудников компании."
    async with app.session_factory() as s:
        jobs = await s.scalar(select(func.count()).select_from(Job).where(Job.kind == "import_apply"))
    assert jobs == 0
