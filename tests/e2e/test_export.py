"""End to end: /export through the fake Bot API — a manager exports their clients as CSV and XLSX,
downloads the documents and parses them back (only their own clients, the phone in E.164, the RFM
columns of the latest finished run); an admin exports everything; a job retried after a failed upload
doesn't send a part twice; a second press doesn't start a second export; a customer is refused."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select, update

from models.analytics import RfmRun, RfmScore
from models.clients import ClientPhone, ClientTag
from models.export import ExportRequest
from models.jobs import Job
from services import phones
from tests.support.export import documents, download
from tests.support.people import client_record, manager

ANNA, BORIS = 200, 201


async def seed(app) -> dict[str, int]:
    """Anna's three clients (one scored Champions/A, one scored in an older run only, one with an
    injection attempt as its name), Boris's one; a finished run and a newer unfinished one."""
    ids = {
        "ivan": await client_record(app, ANNA, "Иван <Петров>"),
        "evil": await client_record(app, ANNA, '=HYPERLINK("http://evil","x")'),
        "plus": await client_record(app, ANNA, "+1"),
        "boris": await client_record(app, BORIS, "Клиент Бориса"),
    }
    now = app.clock.now()
    async with app.session_factory() as s, s.begin():
        for cid, numbers in (
            (ids["ivan"], ["+79991234567", "+79997654321"]),
            (ids["boris"], ["+79990000001"]),
        ):
            for e164 in numbers:
                s.add(ClientPhone(client_id=cid, e164=e164, digits_reversed=phones.digits_reversed(e164)))
        s.add(ClientTag(client_id=ids["ivan"], tag="опт"))
        old = RfmRun(as_of=now.date(), currency="RUB", started_at=now, finished_at=now)
        done = RfmRun(as_of=now.date(), currency="RUB", started_at=now, finished_at=now)
        running = RfmRun(as_of=now.date(), currency="RUB", started_at=now, finished_at=None)
        s.add_all([old, done, running])
        await s.flush()
        score = dict(
            owner_id=ANNA, last_purchase_at=now, recency_days=3, frequency=7, monetary=Decimal("1500.00")
        )
        s.add(
            RfmScore(
                run_id=old.id,
                client_id=ids["plus"],
                r=1,
                f=1,
                m=1,
                segment="hibernating",
                abc_class="C",
                **score,
            )
        )
        s.add(
            RfmScore(
                run_id=done.id,
                client_id=ids["ivan"],
                r=5,
                f=4,
                m=3,
                segment="champions",
                abc_class="A",
                **score,
            )
        )
        s.add(
            RfmScore(
                run_id=running.id,
                client_id=ids["ivan"],
                r=1,
                f=1,
                m=1,
                segment="at_risk",
                abc_class="C",
                **score,
            )
        )
    return ids


async def ask(person, dataset: str, fmt: str, *filters: str):
    await person.send("/export")
    await person.press(dataset)
    for label in filters:
        await person.press(label)
    return await person.press(fmt)


async def test_a_manager_exports_their_clients_as_csv_and_xlsx(app, tg):
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    await manager(app, tg, BORIS, "Boris")
    ids = await seed(app)

    asked = await ask(anna, "Clients", "CSV (for machines)", "All clients")
    assert "Preparing your export: Clients, CSV" in asked.last.text
    assert not documents(anna)  # nothing is sent before the job runs
    await app.queue.drain()
    [doc] = documents(anna)
    assert doc.document["file_name"].startswith("clients-") and doc.document["file_name"].endswith(".csv")
    assert "Clients (CSV): 3 rows" in doc.text
    rows = list(csv.DictReader(io.StringIO(download(tg, doc).decode("utf-8"))))
    assert [r["id"] for r in rows] == [str(ids["ivan"]), str(ids["evil"]), str(ids["plus"])]  # not Boris's
    ivan, evil, plus = rows
    assert ivan["name"] == "Иван <Петров>" and ivan["phone"] == "+79991234567"
    assert ivan["phones"] == "+79997654321" and ivan["tags"] == "опт"
    assert (ivan["rfm_r"], ivan["rfm_f"], ivan["rfm_m"]) == ("5", "4", "3")  # the latest *finished* run
    assert (ivan["rfm_segment"], ivan["abc_class"], ivan["vip"]) == ("champions", "A", "true")
    assert ivan["owner"] == "Anna" and ivan["created_at"].endswith("Z")
    assert evil["name"] == '\'=HYPERLINK("http://evil","x")' and plus["name"] == "'+1"  # escaped
    assert (plus["rfm_segment"], plus["abc_class"], plus["vip"], plus["rfm_r"]) == (
        "no_recent",
        "",
        "false",
        "",
    )

    asked = await ask(anna, "Clients", "XLSX (for people)", "All clients")
    await app.queue.drain()
    xlsx = documents(anna)[-1]
    assert xlsx.document["file_name"].endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(download(tg, xlsx)), read_only=True).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0][:3] == ["ID", "Name", "Phone"] and "RFM segment" in table[0]
    assert [r[1] for r in table[1:]] == ["Иван <Петров>", '=HYPERLINK("http://evil","x")', "+1"]
    segment = table[0].index("RFM segment")
    assert table[1][segment] == "champions"
    assert not tg.errors


async def test_a_filter_by_segment_and_an_admin_exports_everything(app, tg, admin):
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    await manager(app, tg, BORIS, "Boris")
    ids = await seed(app)
    await ask(anna, "Clients", "CSV (for machines)", "By RFM segment", "Champions")
    await app.queue.drain()
    rows = list(csv.DictReader(io.StringIO(download(tg, documents(anna)[-1]).decode())))
    assert [r["id"] for r in rows] == [str(ids["ivan"])]

    await admin.send("/start")
    await ask(admin, "Клиенты", "CSV (для программ)", "Все клиенты")
    await app.queue.drain()
    doc = documents(admin)[-1]
    assert "строк — 4" in doc.text
    rows = list(csv.DictReader(io.StringIO(download(tg, doc).decode())))
    assert sorted(int(r["id"]) for r in rows) == sorted(ids.values())
    assert rows[0]["name"] == "Иван <Петров>"  # CSV headers and values stay the same in any language
    assert "Журнал изменений" in (await admin.send("/export")).last.labels
    assert "Audit trail" not in (await anna.send("/export")).last.labels
    assert not tg.errors


async def test_a_retried_job_sends_no_part_twice_and_a_second_press_starts_nothing(app, tg):
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    for i in range(60):
        await client_record(app, ANNA, f"Client {i:03d} " + "x" * 60)
    menu = (await anna.send("/export")).last
    await anna.press("Clients", message=menu)
    await anna.press("All clients")
    formats = anna.last
    data = formats.button("CSV (for machines)")["callback_data"]
    await anna.press_data(data, message=formats)
    again = await anna.press_data(data, message=formats)  # pressed twice
    assert (
        again.callback_answer.text == "An export of yours is already being prepared: it will arrive shortly."
    )
    async with app.session_factory() as s, s.begin():
        assert await s.scalar(select(func.count()).select_from(ExportRequest)) == 1
        job = await s.scalar(select(Job).where(Job.kind == "export.run"))
        # Small parts (the writer keeps 1 MB of margin): about 2 KB each
        await s.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(payload=job.payload | {"part_limit": 1024 * 1024 + 2048})
        )

    tg.fail_next("sendDocument", 500, after=1)  # the second upload fails: the job is retried later
    await app.queue.drain()
    first = documents(anna)
    assert len(first) == 1 and "Part 1 of" in first[0].text
    async with app.session_factory() as s:
        req = await s.scalar(select(ExportRequest))
        assert (req.parts_sent, req.active) == (1, 1)
        job = await s.get(Job, job.id)
        assert job.status == "pending" and job.attempts == 1
    app.clock.advance(timedelta(minutes=5))
    await app.queue.drain()
    docs = documents(anna)
    total = req_total = int(docs[-1].text.rsplit(" ", 1)[-1])
    assert total > 2
    assert [d.text.splitlines()[-1] for d in docs] == [f"Part {n} of {total}" for n in range(1, total + 1)]
    names = [r["name"] for d in docs for r in csv.DictReader(io.StringIO(download(tg, d).decode()))]
    assert names == [f"Client {i:03d} " + "x" * 60 for i in range(60)]  # every row once, in order
    async with app.session_factory() as s:
        req = await s.scalar(select(ExportRequest))
        assert (req.status, req.active, req.parts_sent, req.parts_total, req.rows) == (
            "sent",
            None,
            req_total,
            req_total,
            60,
        )

    # the same job once more (say its lease ran out after the last upload): nothing is sent again
    async with app.session_factory() as s, s.begin():
        await s.execute(update(ExportRequest).values(active=1, status="pending"))
        await s.execute(update(Job).where(Job.id == job.id).values(status="pending", due_at=app.clock.now()))
    await app.queue.drain()
    assert len(documents(anna)) == total
    # and a new export may be asked for now
    await anna.send("/export")
    await anna.press("Deals")
    assert "Preparing your export: Deals, XLSX" in (await anna.press("XLSX (for people)")).last.text
    assert [(e.method, e.error_code) for e in tg.errors] == [("sendDocument", 500)]  # the injected one


async def test_a_customer_is_refused_and_a_forged_button_is_answered(app, tg):
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    stranger = tg.user(900, "Stranger", language_code="en")
    await stranger.send("/start")
    replies = await stranger.send("/export")
    assert replies.last.text == "⛔ Not allowed. This is only for the company's staff."
    await anna.send("/export")
    forged = await anna.press_data("ex:g:audit:::csv", message=anna.last)  # the audit trail: admins only
    assert (
        forged.callback_answer.show_alert and forged.callback_answer.text == "Only an admin can export this."
    )
    forged = await anna.press_data("ex:g:clients:::pdf", message=anna.last)
    assert forged.callback_answer.show_alert
    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(ExportRequest)) == 0
