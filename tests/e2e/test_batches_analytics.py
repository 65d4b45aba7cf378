"""Double taps on the analytics features: the same button pressed twice, both presses in ONE
getUpdates response, handled by the app's production polling (bot/polling.py: updates as concurrent
tasks, one at a time per chat). Each writes once and answers both presses without the apology: the
VIP button (one change, one audit event, the second press shown the card as it is now), an import's
Apply (one apply: every row once), an export's format (one document) and /rfm's "Recompute now" (one
job, one run, one "done" message). Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App
from bot.callbacks import ClientCb
from models.analytics import RfmRun
from models.audit import AuditEvent
from models.clients import Client, ClientPhone
from models.export import ExportRequest
from models.imports import Import, ImportStatus
from models.jobs import Job
from models.loyalty import Purchase
from scheduler.analytics import MANUAL
from scheduler.export import EXPORT
from scheduler.imports import APPLY
from services.clock import FakeClock
from tests.conftest import ADMIN_ID, app_settings, polling_app
from tests.fakebot import FakeTelegram, FakeUser
from tests.support.checks import answered, no_apology
from tests.support.people import client_record


@pytest.fixture
async def app(tg: FakeTelegram, db_url: str, engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[App]:
    async with polling_app(app_settings(tg, db_url), clock, engine) as running:
        await tg.wait_for_bot()
        yield running


async def count(app: App, model: Any, *where: Any) -> int:
    async with app.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


def texts_with(person: FakeUser, part: str) -> list[str]:
    return [m.text or "" for m in person.messages if part in (m.text or "")]


async def test_the_vip_button_pressed_twice_marks_once(app, tg, admin):
    await admin.send("/start")
    client_id = await client_record(app, ADMIN_ID, "Иван Петров")
    opened = ClientCb(action="open", client_id=client_id, version=1).pack()
    card = (await admin.press_data(opened, message=admin.last)).last
    first, second = await tg.send_batch(
        admin.press("⭐ Отметить VIP", message=card), admin.press("⭐ Отметить VIP", message=card)
    )
    async with app.session_factory() as s:
        client = await s.get_one(Client, client_id)
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "client.vip"))).all()
    assert client.vip is True and client.version == 2
    assert [e.details for e in events] == [{"old": False, "new": True}]
    assert first.callback_answer.text == "Отмечен как VIP."
    # the second press was drawn at the old version: told so, and shown the card as it is now
    assert second.callback_answer.text == "Карточка тем временем изменилась. Вот она сейчас."
    assert "Иван Петров ⭐ VIP" in card.text and "☆ Снять VIP" in card.labels
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


def clients_file(n: int) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [["Имя", "Телефон"]] + [[f"Клиент {i:02d}", f"+7999{i:07d}"] for i in range(n)]
    )
    return buffer.getvalue().encode()


async def test_an_import_apply_pressed_twice_applies_once(app, tg, admin):
    await admin.send("/start")
    await admin.upload("clients.csv", clients_file(3), "text/csv", caption="/import")
    await app.queue.drain()  # the read job asks what the file holds
    await admin.press("👥 Клиенты")
    checking = (await admin.press("🔍 Проверить")).last
    await app.queue.drain()  # the check job turns that message into the dry run
    summary = next(m for m in admin.messages if m.message_id == checking.message_id)
    assert "Пробный прогон" in summary.text
    first, second = await tg.send_batch(
        admin.press("▶️ Применить", message=summary), admin.press("▶️ Применить", message=summary)
    )
    assert "⏳ Импорт (клиенты) из clients.csv: обработано 0 из 3" in summary.text
    assert second.callback_answer.text == "Этот импорт уже выполняется."
    assert await count(app, Job, Job.kind == APPLY) == 1
    await app.queue.drain()
    async with app.session_factory() as s:
        [imp] = (await s.scalars(select(Import))).all()
        phones = (await s.scalars(select(ClientPhone.e164).order_by(ClientPhone.e164))).all()
    assert (imp.status, imp.added) == (ImportStatus.done, 3)
    assert list(phones) == ["+79990000000", "+79990000001", "+79990000002"]  # every row once
    assert await count(app, Client) == 3
    assert "✅ Импорт завершён" in summary.text and "➕ Добавлено: 3" in summary.text
    assert len(texts_with(admin, "Импорт завершён")) == 1
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


async def test_an_export_format_pressed_twice_sends_one_document(app, tg, admin):
    await admin.send("/start")
    for name in ("Иван Петров", "Пётр Иванов"):
        await client_record(app, ADMIN_ID, name)
    await admin.send("/export")
    await admin.press("Клиенты")
    formats = (await admin.press("Все клиенты")).last
    first, second = await tg.send_batch(
        admin.press("CSV (для программ)", message=formats), admin.press("CSV (для программ)", message=formats)
    )
    assert "⏳ Готовлю выгрузку: Клиенты, CSV" in formats.text
    assert second.callback_answer.text == "Ваша выгрузка уже готовится: скоро придёт."
    assert await count(app, ExportRequest) == 1
    assert await count(app, Job, Job.kind == EXPORT) == 1
    await app.queue.drain()
    [doc] = [m for m in admin.messages if m.document]
    assert doc.text.startswith("📤 Клиенты (CSV): строк — 2")
    rows = list(csv.DictReader(io.StringIO(tg.files.get(doc.file_id).content.decode("utf-8"))))
    assert sorted(r["name"] for r in rows) == ["Иван Петров", "Пётр Иванов"]
    answered(tg, first, second)
    no_apology(tg, admin, first, second)


async def test_recompute_now_pressed_twice_runs_once(app, tg, admin):
    await admin.send("/start")
    now = app.clock.now()
    for i in range(3):
        client_id = await client_record(app, ADMIN_ID, f"Клиент {i:02d}")
        amount = Decimal(100 * (i + 1))
        async with app.session_factory() as s, s.begin():
            s.add(
                Purchase(
                    client_id=client_id, manager_id=ADMIN_ID, amount=amount, currency="RUB", tier="Base",
                    discount_percent=Decimal(0), discounted=amount, points_redeemed=0, paid=amount,
                    points_earned=0, idempotency_key=f"batch{i}", created_at=now - timedelta(days=5 + i),
                )
            )  # fmt: skip
    shown = (await admin.send("/rfm")).last
    first, second = await tg.send_batch(
        admin.press("🔄 Пересчитать сейчас", message=shown),
        admin.press("🔄 Пересчитать сейчас", message=shown),
    )
    assert first.callback_answer.text == "🔄 Пересчитываю RFM и ABC. Я напишу, когда закончу."
    assert second.callback_answer.text == "Пересчёт уже идёт. Я напишу, когда он закончится."
    assert await count(app, Job, Job.kind == MANUAL) == 1
    await app.queue.drain()
    async with app.session_factory() as s:
        [run] = (await s.scalars(select(RfmRun))).all()
    assert run.finished_at is not None and run.started_by == ADMIN_ID and run.population == 3
    assert texts_with(admin, "RFM и ABC пересчитаны") == [
        "✅ RFM и ABC пересчитаны: оценено клиентов — 3. Отправьте /rfm, чтобы посмотреть."
    ]
    answered(tg, first, second)
    no_apology(tg, admin, first, second)
