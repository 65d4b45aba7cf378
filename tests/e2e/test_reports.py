"""End to end, on SQLite and PostgreSQL: the nightly rollup planned once and run by the queue; an admin
opens /reports, picks every report and a period, gets the text and a PNG chart (a photo the fake Bot API
keeps), presses export and gets a CSV and an XLSX; a manager sees only their own figures; the admin
changes the competition level r and sees the loyalty index change; a customer is refused; a forged
button is answered."""

from __future__ import annotations

import csv
import io
import struct

from sqlalchemy import select

from bot.callbacks import ReportCb
from models.jobs import Job
from models.reports import ReportState
from scheduler.reports import ROLLUP
from tests.fakebot import FakeTelegram, FakeUser
from tests.support.checks import no_apology
from tests.support.people import manager
from tests.support.reports import ANNA, BORIS, seed

PNG = b"\x89PNG\r\n\x1a\n"
REPORTS_RU = [
    "📊 Воронка продаж",
    "💰 Выручка и покупатели",
    "👥 Активность менеджеров",
    "🧭 Источники клиентов",
    "🙂 Удовлетворённость и лояльность",
]


def png_of(tg: FakeTelegram, message) -> bytes:
    assert message.photo, message
    content = tg.files.get(message.file_id).content
    assert content.startswith(PNG) and struct.unpack(">II", content[16:24]) == (1200, 800)
    return content


def file_of(tg: FakeTelegram, message) -> tuple[str, bytes]:
    assert message.document, message
    return message.document["file_name"], tg.files.get(message.file_id).content


async def seeded(app, tg) -> tuple[FakeUser, FakeUser]:
    anna = await manager(app, tg, ANNA, "Anna", lang="en", language="en")
    boris = await manager(app, tg, BORIS, "Boris")
    async with app.session_factory() as s, s.begin():
        await seed(s, people=False)
    return anna, boris


async def rollup_jobs(app) -> list[Job]:
    async with app.session_factory() as s:
        return list((await s.scalars(select(Job).where(Job.kind == ROLLUP).order_by(Job.id))).all())


async def test_the_rollup_is_planned_once_and_an_admin_gets_every_report_with_chart_and_export(
    app, tg, admin, clock
):
    await seeded(app, tg)
    await admin.send("/start")
    await app.scheduler.plan()
    await app.scheduler.plan()  # the planner runs again: still one job for the night
    [planned] = await rollup_jobs(app)
    assert planned.idempotency_key.startswith(f"{ROLLUP}:2026-03-10")
    await app.queue.drain()
    jobs = await rollup_jobs(app)
    assert {j.status.value for j in jobs} == {"done"} and len(jobs) == 2  # 99 days: two runs of 62
    async with app.session_factory() as s:
        assert (await s.get(ReportState, 1)).rolled_until is not None

    menu = await admin.send("/reports")
    assert menu.last.text.startswith("📈 Отчёты")
    assert menu.last.labels == REPORTS_RU
    expected = {
        REPORTS_RU[0]: [
            "Сделки, вошедшие в каждый этап:",
            "• новый лид: 3",
            "Доля выигранных: 66,7% (выиграно 2, проиграно 1)",
            "Почему сделки проиграны:",
            "1. Дорого — 1",
            "• Anna: 5 / 2 / 0",
        ],
        REPORTS_RU[1]: [
            "Выручка: 12\xa0250\xa0₽ (покупок: 6)",
            "Новых покупателей (первая покупка): 3",
            "Повторные покупки: 50%",
            "• Anna: 12\xa0000\xa0₽, 5, 2",
        ],
        REPORTS_RU[2]: ["Записано контактов: 5", "просрочено сейчас: 1", "• Anna: контактов 4"],
        REPORTS_RU[3]: ["Новых клиентов: 5", "• Импорт: 1 (20%)", "• По рекомендации: 1 (20%)"],
        REPORTS_RU[4]: [
            "Индекс удовлетворённости S: 66,7% (n=3) ⚠️",
            "Индекс лояльности L = 1 − r·(1 − S): 83,3% (r = 0,5)",
            "NPS: +0; ответов: 2",
        ],
    }
    for name in REPORTS_RU:
        replies = await admin.press(name, message=menu.last)
        no_apology(tg, admin, replies)
        photo = replies.last
        png_of(tg, photo)
        shown = "\n".join(m.text or "" for m in replies)
        assert "Этот месяц: 1 мар. 2026 – 10 мар. 2026" in shown
        for line in expected[name]:
            assert line in shown, (line, shown)
        assert photo.labels[:6] == [
            "• Этот месяц",
            "Прошлый месяц",
            "90 дней",
            "12 месяцев",
            "⬇️ CSV",
            "⬇️ Excel",
        ]

        year = await admin.press("12 месяцев", message=photo)
        assert "12 месяцев: 1 апр. 2025 – 10 мар. 2026" in "\n".join(m.text or "" for m in year)
        png_of(tg, year.last)

        name_csv, content = file_of(tg, (await admin.press("⬇️ CSV", message=photo)).last)
        assert name_csv.endswith(".csv") and name_csv.startswith("report-")
        rows = list(csv.reader(io.StringIO(content.decode("utf-8"))))
        assert len(rows) > 1 and all(h == h.lower() for h in rows[0])
        name_xlsx, content = file_of(tg, (await admin.press("⬇️ Excel", message=photo)).last)
        assert name_xlsx.endswith(".xlsx") and content.startswith(b"PK")
    assert not tg.errors


async def test_a_manager_sees_only_their_own_figures(app, tg, clock):
    anna, boris = await seeded(app, tg)
    await app.queue.drain()
    menu = await anna.send("/reports")
    assert "your own figures" in menu.last.text
    funnel = await anna.press("📊 Sales funnel", message=menu.last)
    text = "\n".join(m.text or "" for m in funnel)
    assert "Win rate: 100% (won 2, lost 0)" in text and "Boris" not in text and "By manager" not in text
    png_of(tg, funnel.last)
    revenue = await anna.press("💰 Revenue and customers", message=menu.last)
    assert "Revenue: RUB 12,000.00 (5 purchases)" in revenue.last.text or "12,000" in revenue.last.text
    _name, content = file_of(tg, (await anna.press("⬇️ CSV", message=revenue.last)).last)
    assert "Boris" not in content.decode()
    sat = await boris.press("🙂 Удовлетворённость и лояльность", message=(await boris.send("/reports")).last)
    assert "Индекс удовлетворённости S: 0% (n=1) ⚠️" in sat.last.text
    assert "⚙️ Уровень конкуренции r" not in sat.last.labels  # admins only
    # a manager's forged press of the admins' setting is refused
    forged = await boris.press_data(ReportCb(action="level").pack(), message=sat.last)
    assert forged.callback_answer is not None
    assert not tg.errors


async def test_the_admin_changes_r_and_sees_l_change(app, tg, admin, clock):
    await seeded(app, tg)
    await admin.send("/start")
    await app.queue.drain()
    menu = await admin.send("/reports")
    sat = await admin.press(REPORTS_RU[4], message=menu.last)
    assert "83,3% (r = 0,5)" in sat.last.text
    prompt = await admin.press("⚙️ Уровень конкуренции r", message=sat.last)
    assert "Уровень конкуренции r</b>" not in prompt.last.text and "(сейчас 0,5)" in prompt.last.text
    assert "Уровень конкуренции — от 0 до 1" in (await admin.send("1,5")).last.text
    assert "Это не число" in (await admin.send("много")).last.text
    saved = await admin.send("0,9")
    assert "✅ Сохранено: r = 0,9." in saved.texts
    png_of(tg, saved.last)
    # S = 2/3: L = 1 - 0.9 * (1 - 2/3) = 70 %
    assert "Индекс лояльности L = 1 − r·(1 − S): 70% (r = 0,9)" in saved.last.text
    assert not tg.errors


async def test_customers_are_refused_and_stale_buttons_answered(app, tg, admin, clock):
    await seeded(app, tg)
    stranger = tg.user(7000, "Stranger", language_code="ru")
    await stranger.send("/start")
    refused = await stranger.send("/reports")
    assert "Отчёты" not in (refused.last.text or "")
    await admin.send("/start")
    menu = await admin.send("/reports")
    # a forged report key
    bad = await admin.press_data("rp:show:nope:tm:", message=menu.last)  # deliberately forged data
    assert (
        bad.callback_answer.text == "Эта кнопка больше не действует. Отправьте /reports, чтобы начать заново."
    )
    assert not tg.errors
