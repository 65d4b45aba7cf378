"""Exports at the service level: every dataset's columns and rows, a manager's scope, formula injection
escaped in CSV, XLSX cell types, parts split under a (small) part limit, and the export request's
one-at-a-time rule — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from models.analytics import RfmRun, RfmScore
from models.clients import ClientPhone, ClientStatus, ClientTag
from models.deals import Deal
from models.interactions import Interaction, InteractionKind, InteractionOutcome
from models.loyalty import Purchase
from models.surveys import Survey, SurveyStatus, SurveyTrigger
from models.users import Role
from services import audit, phones
from services.errors import DomainError
from services.export import requests
from services.export.datasets import COLUMNS, Dataset, Scope
from services.export.files import Format
from tests.support.people import add_client_row, add_user

AT = datetime(2026, 3, 1, 21, 30, tzinfo=UTC)
KEYS = {d: [c.key for c in COLUMNS[d]] for d in Dataset}


async def seed(session) -> dict[str, object]:
    admin = await add_user(session, 100, "Olga", role=Role.admin)
    anna = await add_user(session, 200, "Anna", role=Role.manager)
    boris = await add_user(session, 201, "Boris", role=Role.manager)
    names = ['=HYPERLINK("http://evil","x")', "+1", "-2", "@x", "Иван <Петров>"]
    mine = [
        await add_client_row(session, anna.id, n, created_at=AT, status=ClientStatus.active) for n in names
    ]
    theirs = await add_client_row(session, boris.id, "Чужой", created_at=AT)
    merged = await add_client_row(session, anna.id, "Слит", created_at=AT, merged_into_id=mine[4].id)
    ivan = mine[4]
    for e164 in ("+79991234567", "+79997654321"):
        session.add(ClientPhone(client_id=ivan.id, e164=e164, digits_reversed=phones.digits_reversed(e164)))
    session.add_all([ClientTag(client_id=ivan.id, tag="опт"), ClientTag(client_id=ivan.id, tag="vip-зал")])
    run = RfmRun(as_of=AT.date(), currency="RUB", started_at=AT, finished_at=AT)
    session.add(run)
    await session.flush()
    session.add(
        RfmScore(
            run_id=run.id,
            client_id=ivan.id,
            owner_id=anna.id,
            last_purchase_at=AT,
            recency_days=2,
            frequency=9,
            monetary=Decimal("12345.50"),
            r=5,
            f=5,
            m=4,
            segment="champions",
            abc_class="B",
        )
    )
    for client, owner in ((ivan, anna), (theirs, boris)):
        session.add(
            Deal(
                client_id=client.id,
                owner_id=owner.id,
                title="Поставка",
                amount=Decimal("100.50"),
                currency="RUB",
                stage="won",
                created_at=AT,
                updated_at=AT,
                closed_at=AT,
                last_activity_at=AT,
            )
        )
        session.add(
            Interaction(
                client_id=client.id,
                author_id=owner.id,
                kind=InteractionKind.call,
                outcome=InteractionOutcome.reached,
                note="=1+1",
                occurred_at=AT,
                created_at=AT,
            )
        )
        session.add(
            Purchase(
                client_id=client.id,
                manager_id=owner.id,
                amount=Decimal(1000),
                currency="RUB",
                tier="Bronze",
                discount_percent=Decimal(0),
                discounted=Decimal(1000),
                points_redeemed=0,
                paid=Decimal(1000),
                points_earned=50,
                idempotency_key=f"p{client.id}",
                created_at=AT,
            )
        )
        session.add(
            Survey(
                client_id=client.id,
                manager_id=owner.id,
                trigger=SurveyTrigger.contact,
                ref_id=1,
                status=SurveyStatus.sent,
                due_at=AT,
                sent_at=AT,
                csat=5,
                csat_at=AT,
                comment="@all",
            )
        )
    session.add(
        Survey(
            client_id=ivan.id,
            manager_id=anna.id,
            trigger=SurveyTrigger.contact,
            ref_id=2,
            status=SurveyStatus.sent,
            due_at=AT,
            sent_at=AT,
        )
    )
    audit.record_change(session, anna.id, ivan.id, "name", "Иван", "Иван <Петров>", AT)
    await session.commit()
    return {"admin": admin, "anna": anna, "boris": boris, "mine": mine, "theirs": theirs, "merged": merged}


async def export(session, tmp_path, viewer, dataset, fmt=Format.CSV, params=None, **options):
    written = await requests.write_files(
        session,
        Dataset(dataset),
        Scope(viewer, params or {}),
        fmt,
        [c for c in COLUMNS[Dataset(dataset)]],
        tmp_path,
        stem=str(dataset),
        tz=options.pop("tz", UTC),
        **options,
    )
    return written


def read_csv(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


async def test_clients_columns_rows_and_formula_injection(session, tmp_path):
    data = await seed(session)
    written = await export(session, tmp_path, data["anna"], "clients")
    [part] = written.parts
    with part.open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == KEYS[Dataset.clients]
    rows = read_csv(part)
    assert [int(r["id"]) for r in rows] == [c.id for c in data["mine"]]  # not Boris's, not the merged one
    names = [r["name"] for r in rows]
    assert names == ['\'=HYPERLINK("http://evil","x")', "'+1", "'-2", "'@x", "Иван <Петров>"]
    raw = part.read_text(encoding="utf-8")
    for line in raw.splitlines()[1:]:
        for cell in next(csv.reader([line])):
            assert not cell.startswith(("=", "-", "@")) and (not cell.startswith("+") or cell[1:].isdigit())
    ivan = rows[4]
    assert (ivan["phone"], ivan["phones"], ivan["tags"]) == ("+79991234567", "+79997654321", "vip-зал, опт")
    assert (ivan["rfm_r"], ivan["rfm_f"], ivan["rfm_m"], ivan["rfm_segment"]) == ("5", "5", "4", "champions")
    assert (ivan["abc_class"], ivan["vip"], ivan["revenue_365d"]) == ("B", "false", "12345.50")
    assert (ivan["status"], ivan["owner_id"], ivan["owner"]) == ("active", "200", "Anna")
    assert ivan["created_at"] == "2026-03-01T21:30:00Z"
    assert rows[0]["rfm_segment"] == "no_recent" and rows[0]["phone"] == "" and rows[0]["rfm_r"] == ""

    (tmp_path / "all").mkdir()
    everything = read_csv((await export(session, tmp_path / "all", data["admin"], "clients")).parts[0])
    assert len(everything) == 6
    only_boris = await export(session, tmp_path / "all", data["admin"], "clients", params={"owner": 201})
    assert [r["name"] for r in read_csv(only_boris.parts[0])] == ["Чужой"]
    # the manager's own filter can't be widened: `owner` is ignored for a manager
    forced = await export(session, tmp_path / "all", data["anna"], "clients", params={"owner": 201})
    assert forced.rows == 5


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"segment": "champions"}, ["Иван <Петров>"]),
        ({"segment": "no_recent"}, ['=HYPERLINK("http://evil","x")', "+1", "-2", "@x"]),
        ({"tag": "опт"}, ["Иван <Петров>"]),
        ({"status": "prospect"}, []),
        ({"vip": True}, []),
    ],
)
async def test_client_filters(session, tmp_path, params, expected):
    data = await seed(session)
    written = await export(session, tmp_path, data["anna"], "clients", Format.XLSX, params)
    sheet = load_workbook(written.parts[0], read_only=True).active
    assert [r[1] for r in list(sheet.iter_rows(values_only=True))[1:]] == expected


async def test_related_datasets_columns_rows_and_scope(session, tmp_path):
    data = await seed(session)
    ivan, theirs = data["mine"][4], data["theirs"]
    for dataset in ("deals", "contacts", "purchases", "surveys"):
        (tmp_path / dataset).mkdir()
        mine = read_csv((await export(session, tmp_path / dataset, data["anna"], dataset)).parts[0])
        assert list(mine[0]) == KEYS[Dataset(dataset)]
        assert [int(r["client_id"]) for r in mine] == [ivan.id], dataset
        assert mine[0]["client"] == "Иван <Петров>"
        every = read_csv((await export(session, tmp_path / dataset, data["admin"], dataset)).parts[0])
        assert sorted(int(r["client_id"]) for r in every) == sorted([ivan.id, theirs.id]), dataset
    deal = read_csv((await export(session, tmp_path / "deals", data["anna"], "deals")).parts[0])[0]
    assert (deal["title"], deal["amount"], deal["stage"], deal["owner"]) == (
        "Поставка",
        "100.50",
        "won",
        "Anna",
    )
    contact = read_csv((await export(session, tmp_path / "contacts", data["anna"], "contacts")).parts[0])[0]
    assert (contact["kind"], contact["outcome"], contact["note"], contact["author"]) == (
        "call",
        "reached",
        "'=1+1",
        "Anna",
    )
    purchase = read_csv((await export(session, tmp_path / "purchases", data["anna"], "purchases")).parts[0])[
        0
    ]
    assert (purchase["paid"], purchase["points_earned"], purchase["manager"]) == ("1000.00", "50", "Anna")
    survey = read_csv((await export(session, tmp_path / "surveys", data["anna"], "surveys")).parts[0])[0]
    assert (survey["csat"], survey["nps"], survey["comment"], survey["trigger"]) == (
        "5",
        "",
        "'@all",
        "contact",
    )


async def test_audit_export_is_for_admins_and_has_before_and_after(session, tmp_path):
    data = await seed(session)
    with pytest.raises(DomainError):
        await export(session, tmp_path, data["anna"], "audit")
    rows = read_csv((await export(session, tmp_path, data["admin"], "audit")).parts[0])
    assert list(rows[0]) == KEYS[Dataset.audit]
    name = next(r for r in rows if r["action"] == "client.name")
    assert (name["before"], name["after"], name["actor"], name["client"]) == (
        "Иван",
        "Иван <Петров>",
        "Anna",
        "Иван <Петров>",
    )


async def test_xlsx_cell_types_local_times_and_translated_headers(session, tmp_path):
    data = await seed(session)
    columns = [c.__class__(c.key, c.key.upper(), c.kind, c.width) for c in COLUMNS[Dataset.clients]]
    written = await requests.write_files(
        session,
        Dataset.clients,
        Scope(data["anna"]),
        Format.XLSX,
        columns,
        tmp_path,
        stem="c",
        tz=ZoneInfo("Europe/Moscow"),
    )
    sheet = load_workbook(written.parts[0]).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["ID", "NAME", "PHONE"]
    col = {key: i for i, key in enumerate(KEYS[Dataset.clients])}
    evil, ivan = sheet[2], sheet[6]
    assert evil[col["name"]].value == '=HYPERLINK("http://evil","x")' and evil[col["name"]].data_type == "s"
    assert sheet[3][col["name"]].value == "+1" and sheet[3][col["name"]].data_type == "s"
    assert ivan[col["id"]].data_type == "n" and ivan[col["rfm_r"]].value == 5
    assert ivan[col["revenue_365d"]].value == 12345.5
    assert ivan[col["created_at"]].value == datetime(2026, 3, 2, 0, 30)  # Moscow, UTC+3
    assert ivan[col["vip"]].value is False and ivan[col["phone"]].value == "+79991234567"
    assert ivan[col["birthday"]].value is None


async def test_parts_split_under_a_small_limit_each_with_the_header(session, tmp_path):
    anna = await add_user(session, 200, "Anna", role=Role.manager)
    for i in range(120):
        await add_client_row(
            session, anna.id, f"Client {i:03d} " + "z" * 80, created_at=AT, birthday=date(1990, 1, 1)
        )
    await session.commit()
    limit = 1024 * 1024 + 4096  # the writer keeps 1 MB of margin: about 4 KB a part
    written = await export(session, tmp_path, anna, "clients", part_limit=limit)
    assert len(written.parts) > 2 and written.rows == 120
    seen = []
    for part in written.parts:
        assert part.stat().st_size <= limit
        rows = read_csv(part)
        assert rows and list(rows[0]) == KEYS[Dataset.clients]
        seen += [r["name"] for r in rows]
    assert seen == [f"Client {i:03d} " + "z" * 80 for i in range(120)]


async def test_one_export_at_a_time_per_person(session):
    anna = await add_user(session, 200, "Anna", role=Role.manager)
    first = await requests.start(
        session, anna, "clients", "csv", {"owner": 5, "segment": "loyal", "junk": 1}, AT
    )
    assert first.params == {"owner": 5, "segment": "loyal"}  # only the dataset's filter keys
    with pytest.raises(DomainError) as refused:
        await requests.start(session, anna, "deals", "xlsx", {}, AT)
    assert refused.value.code == "export_running"
    with pytest.raises(DomainError):
        await requests.start(session, anna, "audit", "csv", {}, AT)  # admins only
    await requests.finish(session, first.id, "sent", AT)
    await session.refresh(first)
    second = await requests.start(session, anna, "deals", "xlsx", {}, AT)
    assert second.id != first.id and second.params == {}
