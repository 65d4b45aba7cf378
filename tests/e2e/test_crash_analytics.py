"""Crash tests of the analytics features: the real bot (`python main.py run`, a separate process) is
SIGKILLed the instant Telegram accepted what it said, started again, and must finish the work exactly
once: an import's Apply (killed at the confirmation, and between two batches of the apply), an export
(one document, not two, not none), an admin's VIP mark (one change, one audit event), and /rfm's
"Recompute now" (one run, one "done" message).

The flows whose work is a job are killed right after the job's row was committed: the first run's
queue ticks once at start and then not for a minute, so no worker takes the job before the kill and
the restarted bot is the one that runs it. Two are killed inside their job: the import between two
batches (its second run, at the progress it shows before the next batch), and the recompute the
instant its "done" message was accepted; the dead run's lease is ended in the database, as the clock
would end it, so the restarted bot takes the job again at once. Every test runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks import ClientCb
from models.analytics import RfmRun
from models.audit import AuditEvent
from models.clients import Client, ClientPhone
from models.export import ExportRequest
from models.imports import Import, ImportStatus
from models.jobs import Job, JobStatus
from models.loyalty import Purchase
from scheduler.analytics import MANUAL
from scheduler.imports import APPLY
from tests.conftest import ADMIN_ID
from tests.fakebot import FakeTelegram, FakeUser, Replies
from tests.fakebot.process import ColdStarter, ForkServer
from tests.support.checks import NOT_MODIFIED
from tests.support.crash_support import CrashBot, callback_answers, sent_texts, shown_texts
from tests.support.people import client_record

IDLE_QUEUE = "60"  # seconds between queue ticks in a first run (the longest the setting allows)
BUSY_QUEUE = "0.2"  # and after the restart: the job and its follow-ups run at once
SLOW = 60.0  # seconds a dry run or an apply of a few thousand rows may take on a busy machine


@pytest.fixture
async def bot(
    forks: ForkServer | ColdStarter, tg: FakeTelegram, db_url: str, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[CrashBot]:
    tg.update_timeout = SLOW
    running = CrashBot(forks, tg, db_url, tmp_path, QUEUE_TICK_SECONDS=BUSY_QUEUE)
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


def now() -> datetime:
    return datetime.now(UTC)


async def started(bot: CrashBot, person: FakeUser, *, queue: str = BUSY_QUEUE) -> None:
    """The bot runs with the queue ticking every ``queue`` seconds; the person has opened the chat
    (/start answered; the bot makes Olga an admin at start)."""
    bot.env["QUEUE_TICK_SECONDS"] = queue
    await bot.start()
    await bot.step(person.send("/start"), None, person)


async def killed_at(
    bot: CrashBot,
    action,
    person: FakeUser,
    text: str,
    method: str,
    within: float = 10.0,
) -> asyncio.Future[Replies]:
    """Do ``action``; the bot is killed the instant Telegram accepted ``method`` showing ``text`` to
    ``person`` (CrashBot.crash_at, waiting up to ``within`` seconds: an apply takes a while)."""
    hook = bot.tg.kill_on(bot.pid, method=method, chat_id=person.id, text_contains=text)
    pending = asyncio.ensure_future(action)
    try:
        await hook.wait(within)
    except AssertionError as e:
        hook.disarm()
        pending.cancel()
        raise AssertionError(f"{e}\nthe bot's log:\n{bot.process.log()}") from None
    await bot.process.wait_dead()
    return pending


async def restarted(bot: CrashBot) -> None:
    """Started again, its queue ticking fast."""
    bot.env["QUEUE_TICK_SECONDS"] = BUSY_QUEUE
    await bot.restart()


async def job_done(db, kind: str) -> None:
    """Wait until the job of ``kind`` is done (what the bot in the other process did, in the database)."""
    for _ in range(int(SLOW * 10)):
        if await count(db, Job, Job.kind == kind, Job.status == JobStatus.done):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} job was done within {SLOW:g}s")


def failed_calls(tg: FakeTelegram) -> list:
    """Failed Bot API calls, but a progress shown again exactly as it was ("not modified")."""
    return [e for e in tg.errors if NOT_MODIFIED not in e.description]


# --- /import: Apply ---

APPLIED = "Импорт завершён"  # in the text shown and in the HTML sent


def csv_file(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def clients_file(n: int) -> bytes:
    return csv_file([["Имя", "Телефон"]] + [[f"Клиент {i:05d}", f"+7999{i:07d}"] for i in range(n)])


async def checked(bot: CrashBot, person: FakeUser, data: bytes) -> None:
    """The file sent with /import, read as clients, the dry run shown with its Apply button."""
    await bot.step(
        person.upload("clients.csv", data, "text/csv", caption="/import"), "Что в этом файле?", person
    )
    await bot.step(person.press("👥 Клиенты"), "→ Телефон", person)
    await bot.step(person.press("🔍 Проверить"), "Пробный прогон", person)


async def the_import(db) -> Import:
    async with db() as s:
        [imp] = (await s.scalars(select(Import))).all()
        return imp


async def imported_clients(db) -> tuple[int, int, int]:
    """Clients, phone rows, and distinct phones."""
    async with db() as s:
        clients = await s.scalar(select(func.count()).select_from(Client))
        phones = await s.scalar(select(func.count()).select_from(ClientPhone))
        distinct = await s.scalar(select(func.count(func.distinct(ClientPhone.e164))))
    return clients, phones, distinct


def result_shown(tg: FakeTelegram, person: FakeUser) -> list[str]:
    """Every time the import's result reached the person: as a message, or the progress edited to it."""
    sent = sent_texts(tg, person.id, APPLIED)
    failed = {id(error.params) for error in tg.errors}
    edited = [
        p["text"]
        for p in tg.calls_of("editMessageText")
        if id(p) not in failed and p.get("chat_id") == person.id and APPLIED in p["text"]
    ]
    return sent + edited


async def test_an_import_killed_at_the_apply_confirmation(bot: CrashBot, tg: FakeTelegram, db, olga) -> None:
    await started(bot, olga)
    await client_record(db, ADMIN_ID, "Известный")
    await checked(bot, olga, clients_file(3))  # reading and the dry run are jobs: a busy queue
    # Then a queue that waits, so the apply's job can't start before the kill at its confirmation.
    await bot.process.terminate()
    bot.env["QUEUE_TICK_SECONDS"] = IDLE_QUEUE
    await bot.restart()
    await bot.step(olga.send("/start"), None, olga)  # polling again
    del tg.errors[:]  # the stopped process's last long poll, answered 409 once the new one polled
    pending = await killed_at(bot, olga.press("▶️ Применить"), olga, "⏳ Импорт", "editMessageText")
    imp = await the_import(db)
    assert imp.status == ImportStatus.applying and imp.cursor == 0  # committed, not started
    assert await count(db, Job, Job.kind == APPLY, Job.status == JobStatus.pending) == 1
    await restarted(bot)
    await bot.settle(olga, pending)  # the press comes again: recognised as handled
    await tg.wait_for_message(olga, APPLIED, within=SLOW)
    await tg.wait_quiet()
    assert await imported_clients(db) == (4, 3, 3)
    imp = await the_import(db)
    assert (imp.status, imp.added, imp.skipped_known, imp.skipped_invalid) == (ImportStatus.done, 3, 0, 0)
    assert len(result_shown(tg, olga)) == 1
    [shown] = shown_texts(tg, olga.id, APPLIED)
    assert "➕ Добавлено: 3" in shown
    assert not callback_answers(tg, "Этот импорт уже")  # the redelivered press said nothing again
    assert not failed_calls(tg)


async def test_an_import_killed_between_two_batches(bot: CrashBot, tg: FakeTelegram, db, olga) -> None:
    rows = 5200  # two batches of the apply (services/imports/applying.BATCH: 5000)
    await started(bot, olga)
    await checked(bot, olga, clients_file(rows))
    # The apply's second run shows the first batch's rows before it applies the next batch: killed there.
    between = f"обработано 5000 из {rows}"
    pending = await killed_at(bot, olga.press("▶️ Применить"), olga, between, "editMessageText", within=SLOW)
    imp = await the_import(db)
    assert imp.status == ImportStatus.applying and imp.added == 5000
    assert await imported_clients(db) == (5000, 5000, 5000)
    async with db() as s, s.begin():  # the dead run's lease runs out while the bot is down
        expired = await s.execute(
            update(Job)
            .where(Job.kind == APPLY, Job.status == JobStatus.running)
            .values(lease_until=now() - timedelta(seconds=1))
        )
        assert expired.rowcount == 1
    await restarted(bot)
    await bot.settle(olga, pending)
    await tg.wait_for_message(olga, APPLIED, within=SLOW)
    await tg.wait_quiet()
    assert await imported_clients(db) == (rows, rows, rows)  # every row once
    imp = await the_import(db)
    assert (imp.status, imp.added, imp.skipped_known) == (ImportStatus.done, rows, 0)
    assert len(result_shown(tg, olga)) == 1
    [shown] = shown_texts(tg, olga.id, APPLIED)
    assert f"➕ Добавлено: {rows}" in shown
    assert not failed_calls(tg)


# --- /export ---

PREPARING = "⏳ Готовлю выгрузку"


def documents(tg: FakeTelegram, person: FakeUser) -> list[dict]:
    failed = {id(error.params) for error in tg.errors}
    return [
        p
        for p in tg.calls_of("sendDocument")
        if id(p) not in failed and str(p.get("chat_id")) == str(person.id)
    ]


async def test_an_export_killed_right_after_it_was_asked_for(
    bot: CrashBot, tg: FakeTelegram, db, olga
) -> None:
    await started(bot, olga, queue=IDLE_QUEUE)
    for name in ("Иван Петров", "Пётр Иванов"):
        await client_record(db, ADMIN_ID, name)
    await bot.step(olga.send("/export"), None, olga)
    await bot.step(olga.press("Клиенты"), None, olga)
    await bot.step(olga.press("Все клиенты"), None, olga)
    pending = await killed_at(bot, olga.press("CSV (для программ)"), olga, PREPARING, "editMessageText")
    assert await count(db, ExportRequest, ExportRequest.active.is_not(None)) == 1
    assert not documents(tg, olga)
    await restarted(bot)
    await bot.settle(olga, pending)
    await tg.wait_for_message(olga, "📤 Клиенты (CSV)", within=SLOW)
    await tg.wait_quiet()
    [doc] = documents(tg, olga)
    assert "строк — 2" in doc["caption"]
    [doc_message] = [m for m in olga.messages if m.document]
    rows = list(csv.DictReader(io.StringIO(tg.files.get(doc_message.file_id).content.decode("utf-8"))))
    assert sorted(r["name"] for r in rows) == ["Иван Петров", "Пётр Иванов"]
    async with db() as s:
        [req] = (await s.scalars(select(ExportRequest))).all()
    assert (req.status, req.active, req.parts_sent, req.rows) == ("sent", None, 1, 2)
    assert len(shown_texts(tg, olga.id, PREPARING)) == 1
    assert not callback_answers(tg, "уже готовится")
    assert not tg.errors


# --- the VIP button ---


async def test_a_vip_mark_killed_after_its_confirmation(bot: CrashBot, tg: FakeTelegram, db, olga) -> None:
    await started(bot, olga)
    client_id = await client_record(db, ADMIN_ID, "Иван Петров")
    opened = ClientCb(action="open", client_id=client_id, version=1).pack()
    await bot.step(olga.press_data(opened, message=olga.last), "Иван Петров", olga)
    marked = "Отмечен как VIP."
    pending = await killed_at(bot, olga.press("⭐ Отметить VIP"), olga, marked, "answerCallbackQuery")
    await restarted(bot)
    await bot.settle(olga, pending)
    async with db() as s:
        client = await s.get_one(Client, client_id)
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "client.vip"))).all()
    assert client.vip is True and client.version == 2
    assert [(e.target, e.details) for e in events] == [(f"client:{client_id}", {"old": False, "new": True})]
    assert len(callback_answers(tg, marked)) == 1
    assert not callback_answers(tg, "Карточка тем временем изменилась")  # nor "stale" for the redelivery
    [card] = [m for m in olga.messages if "☆ Снять VIP" in m.labels]  # the card, redrawn once
    assert "Иван Петров ⭐ VIP" in (card.text or "")
    assert not tg.errors


# --- /rfm: Recompute now ---

RECOMPUTED = "✅ RFM и ABC пересчитаны"


async def buyers(db, n: int) -> None:
    """``n`` clients of Olga's, each with a purchase in the last months."""
    for i in range(n):
        client_id = await client_record(db, ADMIN_ID, f"Клиент {i:02d}")
        amount = Decimal(100 * (i + 1))
        async with db() as s, s.begin():
            s.add(
                Purchase(
                    client_id=client_id, manager_id=ADMIN_ID, amount=amount, currency="RUB", tier="Base",
                    discount_percent=Decimal(0), discounted=amount, points_redeemed=0, paid=amount,
                    points_earned=0, idempotency_key=f"crash{i}",
                    created_at=now() - timedelta(days=3 + 10 * i),
                )
            )  # fmt: skip


async def test_a_recompute_killed_after_it_was_accepted(bot: CrashBot, tg: FakeTelegram, db, olga) -> None:
    await started(bot, olga, queue=IDLE_QUEUE)
    await buyers(db, 4)
    await bot.step(olga.send("/rfm"), None, olga)
    accepted = "Пересчитываю RFM и ABC"
    pending = await killed_at(bot, olga.press("🔄 Пересчитать сейчас"), olga, accepted, "answerCallbackQuery")
    assert await count(db, Job, Job.kind == MANUAL, Job.status == JobStatus.pending) == 1
    assert await count(db, RfmRun) == 0
    await restarted(bot)
    await bot.settle(olga, pending)
    await tg.wait_for_message(olga, RECOMPUTED, within=SLOW)
    await tg.wait_quiet()
    async with db() as s:
        [run] = (await s.scalars(select(RfmRun))).all()
    assert run.finished_at is not None and run.started_by == ADMIN_ID and run.population == 4
    assert sent_texts(tg, olga.id, RECOMPUTED) == [
        "✅ RFM и ABC пересчитаны: оценено клиентов — 4. Отправьте /rfm, чтобы посмотреть."
    ]
    assert len(callback_answers(tg, accepted)) == 1
    assert not callback_answers(tg, "Пересчёт уже идёт")
    assert await count(db, Job, Job.kind == MANUAL) == 1
    assert not tg.errors


async def test_a_recompute_killed_as_it_said_done(bot: CrashBot, tg: FakeTelegram, db, olga) -> None:
    """Killed the instant the "done" message was accepted: the run is committed (on a connection of
    its own), the job is not. Taken again after its lease ran out, the job must not compute and
    announce the run a second time."""
    await started(bot, olga)
    await buyers(db, 4)
    await bot.step(olga.send("/rfm"), None, olga)
    pending = await killed_at(bot, olga.press("🔄 Пересчитать сейчас"), olga, RECOMPUTED, "sendMessage")
    assert await count(db, RfmRun, RfmRun.finished_at.is_not(None)) == 1
    async with db() as s, s.begin():  # the dead run's lease runs out while the bot is down
        expired = await s.execute(
            update(Job)
            .where(Job.kind == MANUAL, Job.status == JobStatus.running)
            .values(lease_until=now() - timedelta(seconds=1))
        )
        assert expired.rowcount == 1
    await restarted(bot)
    await bot.settle(olga, pending)
    await job_done(db, MANUAL)
    await tg.wait_quiet()
    assert await count(db, RfmRun) == 1
    assert len(sent_texts(tg, olga.id, RECOMPUTED)) == 1
    assert not tg.errors
