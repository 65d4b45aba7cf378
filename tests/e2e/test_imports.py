"""End to end, as people: /import of clients with a mapping fixed by a button, the dry run and its
errors file downloaded and read, Apply (twice), the imported client found with /find; purchases; the
bad files and inputs a person may send. The file is read, the dry run done and the rows applied by
jobs (run here with the queue's drain), each showing its progress and result in a message; a job
killed midway, one that fails for good, and the nightly clean-up of abandoned imports. Every test runs
on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from models.clients import Client, ClientPhone
from models.consent import ClientConsent, Purpose
from models.imports import Import, ImportRow
from models.jobs import Job, JobStatus
from models.loyalty import Purchase
from models.sequences import Enrolment, Sequence, SequenceDelivery, SequenceStep, Trigger
from scheduler import imports as import_jobs
from services import phones
from services.imports import applying, checking, staging
from services.queue import PermanentError, enqueue
from services.sequences import hooks
from tests.conftest import ADMIN_ID
from tests.support.people import client_record, manager_via_invite

ANNA = 200
IVAN_TG, MARIA_TG = 601, 602
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


async def the_import(app) -> Import:
    async with app.session_factory() as s:
        return await s.scalar(select(Import).order_by(Import.id.desc()).limit(1))


async def upload_and_read(app, person, name: str, data: bytes, **options):
    """Send the file: the update answers at once that it is being read; the read job then asks what
    the file holds, in one more message. Returns that message."""
    read = await person.upload(name, data, "text/csv", **options)
    assert f"⏳ Читаю <b>{name}</b>" in read.last.html
    await app.queue.drain()
    (prompt,) = person.messages[person.messages.index(read.last) + 1 :]
    return prompt


async def check_and_wait(app, person) -> tuple:
    """Press Check: the pressed message shows the check running; once the job ran, the dry run's
    result (and the errors document, if any)."""
    checking_now = (await person.press("🔍 Проверить")).last
    assert "🔍 Проверяю строки" in checking_now.text
    await app.queue.drain()
    return summary_by_id(person, checking_now), person.last


def rows_csv(n: int, header: tuple[str, ...] = ("name", "phone")) -> bytes:
    return csv_file([list(header)] + [[f"Клиент {i}", f"+7999555{i:04d}"] for i in range(n)])


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
    assert read.last.text == "⏳ Читаю clients.csv… Скоро покажу, что в нём."  # at once, before reading
    assert await count(app, ImportRow) == 0
    await app.queue.drain()  # the read job
    prompt = anna.last
    assert "clients.csv" in prompt.text and "строк: 3, столбцов: 4" in prompt.text
    assert "windows-1251, точка с запятой" in prompt.text
    assert await count(app, ImportRow) == 3
    mapping = (await anna.press("👥 Клиенты")).last
    assert "1. ФИО → Имя" in mapping.text
    assert "2. Номер → — не учитывается" in mapping.text  # the header no one recognises
    assert "3. E-mail → Почта" not in mapping.text and "3. E-mail → Email" in mapping.text
    picker = (await anna.press("⛔ 2. Номер")).last
    assert "Столбец 2 «Номер» (например, «7.9991234567E10»)" in picker.text
    fixed = (await anna.press("Телефон")).last
    assert "2. Номер → Телефон" in fixed.text
    assert await count(app, Client) == 1  # nothing written while mapping
    check_data = fixed.button("🔍 Проверить")["callback_data"]
    checking_now = (await anna.press("🔍 Проверить")).last
    assert checking_now.message_id == fixed.message_id  # the mapping message shows the check running
    assert "🔍 Проверяю строки clients.csv (клиенты): 0 из 3…" in checking_now.text
    assert not checking_now.buttons
    twice = await anna.press_data(check_data, message=fixed)  # pressed again while it runs
    assert twice.callback_answer.text == "Этот файл уже проверяется: результат появится здесь."
    await app.queue.drain()  # the dry-run job
    assert await jobs_left(app) == 0
    summary = summary_by_id(anna, checking_now)
    assert "Пробный прогон" in summary.text
    assert "➕ Будет добавлено: 1" in summary.text
    assert "♻️ Уже известны: 1" in summary.text
    assert "⚠️ С ошибками: 1" in summary.text
    assert "Строка 5: «12345» — неправильный номер телефона" in summary.text
    errors = anna.last
    assert errors.document["file_name"] == f"import-{(await the_import(app)).id}-errors.csv"
    assert "⚠️ Строки, которые нельзя импортировать, с причиной для каждой: 1." in errors.text
    assert len([m for m in anna.messages if m.document]) == 1  # one errors file, for one press
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


async def jobs_left(app) -> int:
    async with app.session_factory() as s:
        return await s.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.status.in_((JobStatus.pending, JobStatus.running)))
        )


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
    prompt = await upload_and_read(app, admin, "p.csv", data, caption="/import")
    assert "Что в этом файле?" in prompt.text
    mapping = (await admin.press("🛒 Покупки")).last
    assert "1. Телефон → Телефон" in mapping.text and "3. Сумма → Сумма" in mapping.text
    summary, errors = await check_and_wait(app, admin)
    assert errors.document is not None and "нельзя импортировать, с причиной для каждой: 1." in errors.text
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
    assert "⏳ Читаю" in binary.last.text  # the type and size are fine: the read job looks inside
    await app.queue.drain()
    assert "Это не текстовый файл" in admin.last.text
    assert "Отправьте файл ещё раз с командой /import." in admin.last.text
    assert not admin.last.buttons
    await admin.send("/import")
    await admin.upload("book.xlsx", b"PK\x03\x04 broken", "application/zip")
    await app.queue.drain()
    assert "Не удалось открыть эту таблицу" in admin.last.text
    wide = csv_file([[f"c{i}" for i in range(10_000)], ["x"] * 10_000])
    await admin.upload("wide.csv", wide, "text/csv", caption="/import")
    await app.queue.drain()
    assert "Слишком много столбцов: 10000, можно не больше 60" in admin.last.text
    tg.fail_next("getFile", 400, "Bad Request: file is too big")
    await admin.upload("gone.csv", csv_file([["name"], ["Анна"]]), "text/csv", caption="/import")
    await app.queue.drain()
    assert "Не удалось скачать файл из Telegram" in admin.last.text
    async with app.session_factory() as s:
        statuses = list(await s.scalars(select(Import.status).order_by(Import.id)))
    assert statuses == ["failed"] * 4  # refused with the reason, nothing staged
    assert await count(app, ImportRow) == 0
    prompt = await upload_and_read(app, admin, "ok.csv", csv_file([["name"], ["Анна"]]), caption="/import")
    purchases = prompt.button("🛒 Покупки")["callback_data"]
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


async def statuses(app) -> dict[str, str]:
    async with app.session_factory() as s:
        return dict((await s.execute(select(Import.file_name, Import.status))).all())


def edits_of(tg, message) -> list[str]:
    """What the bot showed in a message, edit after edit (its HTML text)."""
    return [c["text"] for c in tg.calls_of("editMessageText") if c["message_id"] == message.message_id]


def quick_jobs(monkeypatch, app, *, chunk: int = 2) -> None:
    """Small dry-run chunks and apply batches, progress shown at every one, no per-chat pause."""
    monkeypatch.setattr(checking, "CHUNK", chunk)
    monkeypatch.setattr(applying, "BATCH", chunk)
    monkeypatch.setattr(import_jobs, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(app.sender.limiter, "per_chat_interval", 0.0)


async def checked_import(app, person, rows: int):
    """A file of `rows` clients read, mapped and checked: the dry-run message."""
    await upload_and_read(app, person, "many.csv", rows_csv(rows), caption="/import")
    await person.press("👥 Клиенты")
    summary, _last = await check_and_wait(app, person)
    assert f"➕ Будет добавлено: {rows}" in summary.text
    return summary


async def test_the_check_and_the_apply_show_their_progress_then_the_result(app, tg, admin, monkeypatch):
    quick_jobs(monkeypatch, app)
    await admin.send("/start")
    summary = await checked_import(app, admin, 5)
    shown = edits_of(tg, summary)[1:]  # after the mapping, edited into the prompt
    assert shown[:3] == [
        "🔍 Проверяю строки <b>many.csv</b> (клиенты): 0 из 5…",  # the press, at once
        "🔍 Проверяю строки <b>many.csv</b> (клиенты): 2 из 5…",  # the job, chunk by chunk
        "🔍 Проверяю строки <b>many.csv</b> (клиенты): 4 из 5…",
    ]
    assert "Пробный прогон" in shown[3] and len(shown) == 4
    assert "▶️ Применить" in summary.labels and "✏️ Изменить сопоставление" in summary.labels
    assert not any(m.document for m in admin.messages)  # no invalid rows: no errors file
    await admin.press("▶️ Применить", message=summary)
    await app.queue.drain()
    applied = edits_of(tg, summary)[5:]
    assert applied[:4] == [
        "⏳ Импорт (клиенты) из <b>many.csv</b>: обработано 0 из 5 строк…",
        "⏳ Импорт (клиенты) из <b>many.csv</b>: обработано 2 из 5 строк…",  # batches committed so far
        "⏳ Импорт (клиенты) из <b>many.csv</b>: обработано 4 из 5 строк…",
        "⏳ Импорт (клиенты) из <b>many.csv</b>: обработано 5 из 5 строк…",
    ]
    assert "✅ <b>Импорт завершён</b>" in applied[-1] and "➕ Добавлено: 5" in applied[-1]
    assert await count(app, Client) == 5


async def test_a_read_job_killed_midway_is_retried_and_stages_the_rows_once(
    app, tg, admin, clock, monkeypatch
):
    await admin.send("/start")
    real_fill, calls = staging.fill, []

    async def killed_after_writing(session, imp, table, now):
        calls.append(imp.id)
        staged = await real_fill(session, imp, table, now)
        if len(calls) == 1:
            raise RuntimeError("killed before the commit")
        return staged

    monkeypatch.setattr(staging, "fill", killed_after_writing)
    read = await admin.upload("many.csv", rows_csv(7), "text/csv", caption="/import")
    await app.queue.drain()
    assert admin.last.message_id == read.last.message_id  # nothing told of a staging that rolled back
    assert await count(app, ImportRow) == 0 and (await the_import(app)).status == "reading"
    clock.advance(minutes=1)
    tg.fail_next("sendMessage", 500)  # staged and committed this time, but the prompt doesn't get out
    await app.queue.drain()
    assert await count(app, ImportRow) == 7 and (await the_import(app)).status == "read"
    assert admin.last.message_id == read.last.message_id
    clock.advance(minutes=5)
    await app.queue.drain()  # the third run finds the rows staged: it only asks what the file holds
    assert len(calls) == 2
    async with app.session_factory() as s:
        numbers = list(await s.scalars(select(ImportRow.row_no).order_by(ImportRow.row_no)))
        job = await s.scalar(select(Job).where(Job.kind == staging.READ_JOB))
    assert numbers == list(range(2, 9))  # every row once
    assert (job.status, job.attempts) == (JobStatus.done, 3)
    prompts = [m for m in admin.messages if m.text and "Что в этом файле?" in m.text]
    assert len(prompts) == 1 and "строк: 7, столбцов: 2" in prompts[0].text
    await admin.press("👥 Клиенты")
    summary, _last = await check_and_wait(app, admin)
    assert "➕ Будет добавлено: 7" in summary.text


async def test_an_apply_that_fails_for_good_is_marked_failed_and_told(app, tg, admin, monkeypatch):
    quick_jobs(monkeypatch, app)
    await admin.send("/start")
    summary = await checked_import(app, admin, 5)
    apply_data = summary.button("▶️ Применить")["callback_data"]
    real_batch, runs = applying.apply_batch, []

    async def fails_at_the_second_batch(*args, **kwargs):
        runs.append(1)
        if len(runs) == 2:
            raise PermanentError("the database refused the batch")
        return await real_batch(*args, **kwargs)

    monkeypatch.setattr(applying, "apply_batch", fails_at_the_second_batch)
    await admin.press("▶️ Применить", message=summary)
    await app.queue.drain()
    told = summary_by_id(admin, summary)
    assert "❌ Импорт остановлен из-за ошибки: клиенты из many.csv." in told.text
    assert "Обработано 2 из 5 строк:" in told.text and "➕ Добавлено: 2" in told.text
    assert "Остальные 3 строк не применены." in told.text and not told.buttons
    imp = await the_import(app)
    assert (imp.status, imp.cursor, imp.added) == ("failed", 3, 2)  # rows 2 and 3 of the file
    assert await count(app, Client) == 2 and await count(app, ImportRow) == 0
    async with app.session_factory() as s:
        failed = list(await s.scalars(select(Job.status).where(Job.kind == staging.APPLY_JOB)))
    assert JobStatus.failed in failed and await jobs_left(app) == 0
    again = await admin.press_data(apply_data, message=summary)
    assert (
        again.callback_answer.text
        == "Этот импорт остановлен из-за ошибки. Отправьте /import, чтобы начать заново."
    )


async def test_an_apply_whose_retries_run_out_is_marked_failed_and_told(app, tg, admin, clock, monkeypatch):
    quick_jobs(monkeypatch, app)
    await admin.send("/start")
    summary = await checked_import(app, admin, 3)

    async def always_fails(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(applying, "apply_batch", always_fails)
    await admin.press("▶️ Применить", message=summary)
    async with app.session_factory() as s, s.begin():
        await s.execute(update(Job).where(Job.kind == staging.APPLY_JOB).values(max_attempts=2))
    await app.queue.drain()
    assert (await the_import(app)).status == "applying"  # retried later: nothing told yet
    assert "⏳ Импорт (клиенты)" in summary_by_id(admin, summary).text
    clock.advance(minutes=5)
    await app.queue.drain()  # the last attempt fails too
    told = summary_by_id(admin, summary)
    assert "❌ Импорт остановлен из-за ошибки" in told.text and "Обработано 0 из 3 строк:" in told.text
    assert "Остальные 3 строк не применены." in told.text
    assert (await the_import(app)).status == "failed" and await count(app, Client) == 0


async def test_the_nightly_cleanup_expires_abandoned_imports(app, tg, admin, clock):
    await admin.send("/start")
    await upload_and_read(app, admin, "old.csv", rows_csv(3), caption="/import")
    mapping = (await admin.press("👥 Клиенты")).last
    start = clock.now()

    def other(name: str, status: str, at, **values) -> Import:
        return Import(user_id=admin.id, chat_id=admin.id, status=status, file_name=name, file_format="csv",
                      headers=["name"], mapping=["name"], kind="clients", created_at=at, updated_at=at,
                      **{"rows": 1} | values)  # fmt: skip

    kept = [other("done.csv", "done", start - timedelta(days=30)), other("checked.csv", "checked", start)]
    kept[1].updated_at = start + timedelta(days=2)
    stuck = other("stuck.csv", "applying", start, rows=10, cursor=4, added=4)
    async with app.session_factory() as s, s.begin():
        s.add_all([*kept, stuck])
        await s.flush()
        s.add_all(ImportRow(import_id=i.id, row_no=2, cells=["x"]) for i in [*kept, stuck])
    planner = dict(app.scheduler.planners())["the clean-up of abandoned imports"]
    async with app.session_factory() as s, s.begin():
        await planner(s)
        await planner(s)  # planned twice (a restart, a second instance): one job
    async with app.session_factory() as s:
        planned = list(await s.scalars(select(Job).where(Job.kind == import_jobs.CLEANUP)))
    assert [j.due_at.isoformat() for j in planned] == ["2026-03-11T01:10:00+00:00"]  # 04:10 in Moscow
    clock.advance(days=3)
    await app.queue.drain()  # the first night: nothing is a week old yet; the stuck apply is told
    assert (await statuses(app))["old.csv"] == "read"
    assert "❌ Импорт остановлен из-за ошибки: клиенты из stuck.csv." in admin.last.text
    assert "Обработано 4 из 10 строк:" in admin.last.text
    clock.advance(days=5)
    async with app.session_factory() as s, s.begin():
        await enqueue(s, import_jobs.CLEANUP, {}, clock.now(), key="import_cleanup:test")
    await app.queue.drain()
    async with app.session_factory() as s:
        left = set(await s.scalars(select(ImportRow.import_id)))
    assert await statuses(app) == {
        "old.csv": "expired",
        "done.csv": "done",
        "checked.csv": "checked",  # touched 6 days ago: kept
        "stuck.csv": "failed",
    }
    assert left == {kept[0].id, kept[1].id}
    pressed = await admin.press("🔍 Проверить", message=mapping)
    expired = (
        "Этот импорт неделю оставался незавершённым, поэтому его строки удалены. "
        "Отправьте /import, чтобы начать заново."
    )
    assert pressed.callback_answer.text == expired
    assert summary_by_id(admin, mapping).text == expired and not summary_by_id(admin, mapping).buttons


async def test_a_check_that_fails_for_good_goes_back_to_the_mapping(app, tg, admin, monkeypatch):
    await admin.send("/start")
    await upload_and_read(app, admin, "few.csv", rows_csv(2), caption="/import")
    await admin.press("👥 Клиенты")
    real_check, runs = checking.check_all, []

    async def fails_once(*args, **kwargs):
        runs.append(1)
        if len(runs) == 1:
            raise PermanentError("a bug in the checker")
        return await real_check(*args, **kwargs)

    monkeypatch.setattr(checking, "check_all", fails_once)
    checking_now = (await admin.press("🔍 Проверить")).last
    await app.queue.drain()
    told = summary_by_id(admin, checking_now)
    assert told.text.startswith("⚠️ Проверка остановлена из-за ошибки; ничего не записано.")
    assert "1. name → Имя" in told.text and "🔍 Проверить" in told.labels
    assert (await the_import(app)).status == "read"
    summary, _last = await check_and_wait(app, admin)  # pressed again: this time it runs
    assert summary.message_id == checking_now.message_id and "➕ Будет добавлено: 2" in summary.text


async def test_a_newer_file_sent_while_the_check_runs_replaces_the_import(app, tg, admin):
    await admin.send("/start")
    await upload_and_read(app, admin, "first.csv", rows_csv(2), caption="/import")
    await admin.press("👥 Клиенты")
    checking_now = (await admin.press("🔍 Проверить")).last  # the check job is queued, not run yet
    second = await admin.upload("second.csv", rows_csv(3), "text/csv", caption="/import")
    await app.queue.drain()
    assert summary_by_id(admin, checking_now).text.startswith("🔍 Проверяю строки")  # no result: gone
    assert "second.csv" in admin.last.text and "Что в этом файле?" in admin.last.text
    assert admin.messages.index(admin.last) == admin.messages.index(second.last) + 1
    assert await statuses(app) == {"first.csv": "cancelled", "second.csv": "read"}
    assert await count(app, ImportRow) == 3


async def tag_sequence(app, tag: str, text: str, delay_minutes: int = 60) -> int:
    """An active sequence triggered by `tag`, one step (written straight into the database)."""
    async with app.session_factory() as s, s.begin():
        seq = Sequence(
            name=f"On {tag}",
            created_by=ADMIN_ID,
            default_language="ru",
            trigger=Trigger.tag,
            trigger_arg=tag,
            active=True,
            activated_at=app.clock.now(),
            created_at=app.clock.now(),
        )
        s.add(seq)
        await s.flush()
        s.add(SequenceStep(sequence_id=seq.id, position=1, delay_minutes=delay_minutes, texts={"ru": text}))
        return seq.id


async def import_clients(app, admin, name: str, data: bytes) -> str:
    """The admin sends the file, maps it as clients, checks and applies it: the final summary."""
    await upload_and_read(app, admin, name, data, caption="/import")
    await admin.press("👥 Клиенты")
    summary, _last = await check_and_wait(app, admin)
    await admin.press("▶️ Применить", message=summary)
    await app.queue.drain()
    return summary_by_id(admin, summary).text


async def test_an_imported_tag_enrols_linked_customers_in_its_sequence_once(app, tg, admin, clock):
    await admin.send("/start")
    vip = await tag_sequence(app, "vip", "Добро пожаловать в VIP")
    other = await tag_sequence(app, "gold", "Золото")
    ivan = tg.user(IVAN_TG, "Иван", language_code="ru", started=True)
    maria = tg.user(MARIA_TG, "Мария", language_code="ru", started=True)
    data = csv_file(
        [
            ["name", "phone", "telegram id", "tags"],
            ["Иван", "+79997770001", str(IVAN_TG), "VIP, friends"],  # linked: enrolled
            ["Пётр", "+79997770002", "", "vip"],  # not linked to the bot: not enrolled
            ["Мария", "+79997770003", str(MARIA_TG), "friends"],  # linked, no trigger tag
        ]
    )
    done = await import_clients(app, admin, "tagged.csv", data)
    assert "✅ Импорт завершён" in done and "➕ Добавлено: 3" in done
    async with app.session_factory() as s:
        by_name = dict((await s.execute(select(Client.name, Client.id))).all())
        enrolled = (await s.execute(select(Enrolment.sequence_id, Enrolment.client_id, Enrolment.via))).all()
        jobs = list(await s.scalars(select(Job).where(Job.kind == hooks.SEND_JOB)))
    assert enrolled == [(vip, by_name["Иван"], "tag")]
    assert len(jobs) == 1 and jobs[0].due_at == clock.now() + timedelta(minutes=60)
    assert other != vip
    async with app.session_factory() as s, s.begin():
        s.add(
            ClientConsent(
                client_id=by_name["Иван"], purpose=Purpose.marketing, granted=True, updated_at=clock.now()
            )
        )
    clock.advance(hours=2)
    await app.scheduler.plan()
    await app.queue.drain()
    assert [m.text for m in ivan.messages if "VIP" in (m.text or "")] == ["Добро пожаловать в VIP"]
    assert not maria.messages

    # the same rows again (and one more): they are known, nothing is enrolled or sent again
    again = await import_clients(
        app, admin, "tagged-again.csv", data + "Ольга,+79997770004,,vip\r\n".encode()
    )
    assert "➕ Добавлено: 1" in again and "♻️ Уже известны, пропущено: 3" in again
    clock.advance(hours=2)
    await app.scheduler.plan()
    await app.queue.drain()
    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Enrolment)) == 1
        assert await s.scalar(select(func.count()).select_from(SequenceDelivery)) == 1
    assert [m.text for m in ivan.messages if "VIP" in (m.text or "")] == ["Добро пожаловать в VIP"]
