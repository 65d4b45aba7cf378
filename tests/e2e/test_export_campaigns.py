"""End to end: the broadcasts' results exported through the fake Bot API. After a campaign ran (one
recipient over the weekly limit, one still waiting for the end of their quiet hours, a press of the
tracked button, an opened tracked link, an unsubscribe, purchases within and after 7 days) an admin
presses 📤 Export under /campaigns, downloads the CSV and the XLSX, and every figure equals what
/campaigns shows; the dataset is in the admin's /export menu. A manager is refused, a forged button
too, and nothing is asked for."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select, update

from bot.callbacks import CampaignAction, CampaignCb
from models.campaigns import Campaign, CampaignStatus
from models.export import ExportRequest
from models.users import User
from services.export import datasets
from tests.conftest import ADMIN_ID
from tests.support.campaigns import compose, customers, got, purchase
from tests.support.export import documents, download
from tests.support.people import manager

ANNA = 200
STATUSES = ("queued", "sending", "sent", "blocked", "no_consent", "capped", "failed", "unknown")


async def ran(app, tg, admin) -> tuple[int, dict]:
    """A campaign to every customer sent (Night's message still waiting), then the recipients' doings."""
    people = await customers(app, tg)
    await compose(admin)
    other = (await admin.send("Привет, {first_name}! Подробнее: {link}")).last
    preview = (await admin.press("Skip", message=other)).last
    preview = (await admin.press('▫️ "I\'m interested" button', message=preview)).last
    await admin.press("🚀 Send now", message=preview)
    await app.queue.drain()
    ivan = people["ivan"][1]
    [to_ivan] = [m for m in ivan.messages if "Подробнее" in (m.text or "")]
    [payload] = re.findall(r"\?start=(k_[A-Za-z0-9_-]+)", to_ivan.text)
    await ivan.press("🙋 Мне интересно", message=to_ivan)
    await ivan.press("🔕 Отписаться", message=to_ivan)
    await ivan.send(f"/start {payload}")
    await tg.user(901, "Stranger").send(f"/start {payload}")
    sent_at = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    async with app.session_factory() as s, s.begin():
        for key, (name, days) in enumerate((("john", 1), ("john", 6), ("ivan", 8), ("petr", 1))):
            s.add(purchase(people[name][0], sent_at + timedelta(days=days), f"x{key}"))
        campaign_id = await s.scalar(select(Campaign.id).order_by(Campaign.id.desc()))
    return campaign_id, people


def block_of(report: str, campaign_id: int) -> str:
    [block] = [b for b in report.split("\n\n") if b.startswith(f"#{campaign_id} to")]
    return block


def as_report(row: dict) -> list[str]:
    """The lines /campaigns shows for a campaign, made from an exported row."""
    return [
        f"Sent: {row['delivery_sent']}",
        f"Blocked: {row['delivery_blocked']}",
        f"No consent: {row['delivery_no_consent']}",
        f"Over the weekly limit: {row['delivery_capped']}",
        f"Failed: {row['delivery_failed']}",
        f"Left: {row['left']}",
        f"Interested: {row['interested']}",
        f"Opened the link: {row['link_clicks']}",
        f"Unsubscribed after it: {row['unsubscribed']}",
        f"Bought within 7 days: {row['buyers']} ({row['purchases']} purchases)",
    ]


async def test_an_admin_exports_the_results_as_csv_and_xlsx_equal_to_campaigns(app, tg, monkeypatch):
    monkeypatch.setattr(datasets, "BATCH", 2)  # the three campaigns are read in two keyset pages
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    campaign_id, _people = await ran(app, tg, admin)

    report = (await admin.send("/campaigns")).last
    formats = (await admin.press("📤 Export", message=report)).last
    assert "Broadcast results" in formats.text and "which format?" in formats.text
    asked = await admin.press("CSV (for machines)", message=formats)
    assert "Preparing your export: Broadcast results, CSV" in asked.last.text
    await app.queue.drain()
    [doc] = documents(admin)
    assert doc.document["file_name"].startswith("campaigns-") and doc.document["file_name"].endswith(".csv")
    assert "Broadcast results (CSV): 3 rows" in doc.text
    rows = list(csv.DictReader(io.StringIO(download(tg, doc).decode("utf-8"))))
    async with app.session_factory() as s:
        ids = (await s.scalars(select(Campaign.id).order_by(Campaign.id))).all()
    assert [int(r["id"]) for r in rows] == list(ids)  # every started campaign, oldest first

    row = {r["id"]: r for r in rows}[str(campaign_id)]
    assert {k: row[f"delivery_{k}"] for k in STATUSES} == {
        "queued": "1",  # Night: 00:00 in Los Angeles, her message waits for 10:00 there
        "sending": "0",
        "sent": "2",
        "blocked": "0",
        "no_consent": "0",
        "capped": "1",  # Maria: two offers this week already
        "failed": "0",
        "unknown": "0",
    }
    assert (row["left"], row["interested"], row["link_clicks"], row["unsubscribed"]) == ("1", "1", "2", "1")
    assert (row["buyers"], row["purchases"]) == ("1", "2")  # John twice; Ivan's was 8 days after
    assert (row["status"], row["audience"], row["segment_id"]) == ("sending", "all", "")
    assert row["text"] == "Привет, {first_name}! Подробнее: {link}"
    assert row["author_id"] == str(ADMIN_ID) and row["author"].startswith("Olga")
    assert row["created_at"].endswith("Z") and row["started_at"].endswith("Z") and row["finished_at"] == ""
    assert row["link"].startswith("https://t.me/") and "?start=k_" in row["link"]

    report = (await admin.send("/campaigns")).last.text  # the same figures as /campaigns, every campaign
    for r in rows:
        block = block_of(report, int(r["id"]))
        for line in as_report(r):
            assert line in block, (line, block)
    assert block_of(report, campaign_id).count("Left: 1") == 1

    # XLSX: headers in the reader's language, the same figures
    menu = (await admin.send("/export")).last
    assert "Broadcast results" in menu.labels
    await admin.press("Broadcast results", message=menu)
    await admin.press("XLSX (for people)")
    await app.queue.drain()
    xlsx = documents(admin)[-1]
    assert xlsx.document["file_name"].endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(download(tg, xlsx)), read_only=True).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    head = table[0]
    assert head[:3] == ["ID", "Status", "Audience"]
    assert "Messages sent" in head and "Bought within 7 days" in head and "Opened the link" in head
    by_id = {r[0]: dict(zip(head, r, strict=True)) for r in table[1:]}
    assert sorted(by_id) == list(ids)
    mine = by_id[campaign_id]
    assert (mine["Messages sent"], mine["Over the weekly limit"], mine["Queued"]) == (2, 1, 1)
    assert (mine["Interested (button)"], mine["Opened the link"], mine["Unsubscribed within 7 days"]) == (
        1,
        2,
        1,
    )
    assert (mine["Bought within 7 days"], mine["Purchases within 7 days"]) == (1, 2)
    for r in rows:
        x = by_id[int(r["id"])]
        assert [x["Messages sent"], x["Left to send"], x["Bought within 7 days"]] == [
            int(r["delivery_sent"]),
            int(r["left"]),
            int(r["buyers"]),
        ]
    assert not tg.errors


async def test_the_export_in_russian_and_once_the_campaign_is_done(app, tg, clock):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    campaign_id, _people = await ran(app, tg, admin)
    async with app.session_factory() as s, s.begin():
        await s.execute(update(User).where(User.id == ADMIN_ID).values(language="ru"))
    clock.set(datetime(2026, 3, 10, 17, 0, tzinfo=UTC))  # 10:00 in Los Angeles: Night's goes
    await app.queue.drain()
    async with app.session_factory() as s:
        assert (await s.get(Campaign, campaign_id)).status == CampaignStatus.done
    report = (await admin.send("/campaigns")).last
    await admin.press("📤 Выгрузить", message=report)
    await admin.press("XLSX (для людей)")
    await app.queue.drain()
    doc = documents(admin)[-1]
    assert "Результаты рассылок (XLSX)" in doc.text
    table = [
        list(r)
        for r in load_workbook(io.BytesIO(download(tg, doc)), read_only=True).active.iter_rows(
            values_only=True
        )
    ]
    head = table[0]
    mine = dict(zip(head, next(r for r in table[1:] if r[0] == campaign_id), strict=True))
    assert mine["Статус"] == "done" and mine["Отправлено сообщений"] == 3 and mine["Осталось отправить"] == 0
    assert mine["Завершена"] is not None


async def test_a_manager_is_refused_and_a_forged_button_too(app, tg):
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    assert "Broadcast results" not in (await anna.send("/export")).last.labels
    menu = anna.last
    forged = await anna.press_data(CampaignCb(action=CampaignAction.export).pack(), message=menu)
    assert forged.callback_answer.show_alert
    assert forged.callback_answer.text == "Only an admin can export this."
    for data in ("ex:d:campaigns:::", "ex:o:campaigns:::", "ex:g:campaigns:::csv"):
        forged = await anna.press_data(data, message=menu)
        assert forged.callback_answer.show_alert
        assert forged.callback_answer.text == "Only an admin can export this.", data
    assert "Not allowed" in (await anna.send("/campaigns")).last.text
    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(ExportRequest)) == 0
    assert not got(anna, "Preparing")
