"""Imports: reading files (encodings, delimiters, every bad file of the issue, generated here), the
header mapping, cell values, and the dry run and apply through the services on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import xlsxwriter
from sqlalchemy import func, select

from models.audit import AuditEvent
from models.clients import Client, ClientPhone, ClientSearchTerm, ClientStatus, ClientTag
from models.imports import Import, ImportRow
from models.loyalty import LedgerEntry, LoyaltyAccount, Purchase
from models.users import Role
from services import search
from services.clients import fields as fields_clean
from services.clients.create import NewClient, create, create_many
from services.clients.fields import ClientData
from services.errors import DomainError
from services.imports import applying, checking, fields, reading, report, staging
from tests.support.people import add_user

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
MSK = ZoneInfo("Europe/Moscow")
OPTS = {"region": "RU", "zone": MSK, "currency": "RUB"}


def csv_bytes(rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def refused(data: bytes, name: str) -> str:
    with pytest.raises(DomainError) as e:
        reading.read(data, name)
    return e.value.code


# --- reading ---

ROWS = [["ФИО", "Телефон", "Почта"], ["Иван Петров", "+7 999 123-45-67", "ivan@example.ru"], ["Ёлка", "", ""]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_encodings_and_delimiters(encoding, delimiter):
    table = reading.read(csv_bytes(ROWS, delimiter, encoding), "clients.csv")
    assert table.headers == ROWS[0]
    assert [cells for _, cells in table.rows] == ROWS[1:]
    assert table.delimiter == delimiter
    assert table.encoding == {"utf-8": "utf-8", "utf-8-sig": "utf-8-bom", "cp1251": "windows-1251"}[encoding]


def test_empty_rows_are_skipped_and_row_numbers_are_the_files():
    data = csv_bytes([["name"], [""], ["Анна"], ["", ""], ["Борис"]])
    table = reading.read(data, "a.csv")
    assert table.rows == [(3, ["Анна"]), (5, ["Борис"])]


def test_bad_files_are_refused_with_a_reason():
    assert refused(b"\x00\x01\x02binary\xff\xfe" * 100, "data.csv") == "import_binary"
    assert refused(bytes(range(256)) * 10, "data.csv") == "import_binary"
    assert refused(b"name\n", "a.csv") == "import_no_rows"
    assert refused(b"x", "photo.jpg") == "import_extension"
    assert refused(b"x", "old.xls") == "import_extension"
    wide = csv_bytes([[f"c{i}" for i in range(10_000)], ["1"] * 10_000])
    with pytest.raises(DomainError) as e:
        reading.read(wide, "wide.csv")
    assert e.value.code == "import_too_many_columns" and e.value.params["count"] == 10_000
    assert refused(b"not a zip", "a.xlsx") == "import_bad_xlsx"
    with pytest.raises(DomainError) as e:
        reading.check_size(21 * 1024 * 1024)
    assert e.value.params["limit"] == 20


def test_too_many_rows(monkeypatch):
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    assert refused(csv_bytes([["name"]] + [[f"n{i}"] for i in range(4)]), "a.csv") == "import_too_many_rows"
    assert len(reading.read(csv_bytes([["name"]] + [[f"n{i}"] for i in range(3)]), "a.csv").rows) == 3


def test_zip_bomb_named_xlsx_is_refused_before_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\x00" * (300 * 1024 * 1024))  # packs to ~300 KB
    assert len(buffer.getvalue()) < 2 * 1024 * 1024
    assert refused(buffer.getvalue(), "bomb.xlsx") == "import_zip_bomb"
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as z:
        for i in range(reading.MAX_ZIP_ENTRIES + 1):
            z.writestr(f"f{i}", "")
    assert refused(many.getvalue(), "many.xlsx") == "import_zip_bomb"


def xlsx_openpyxl(build) -> bytes:
    book = openpyxl.Workbook()
    build(book.active)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_values_floats_dates_formulas_and_merged_cells():
    def build(ws):
        ws.append(["Name", "Phone", "Birthday", "Company", "Total"])
        ws.append(["Anna", 79991234567.0, datetime(1990, 5, 17), "Acme", "=1+1"])
        ws.append([None, None, None, None, None])
        ws.append(["Boris", 7.9991234568e10, date(1985, 1, 2), None, 5])
        ws.merge_cells("D2:D4")

    table = reading.read(xlsx_openpyxl(build), "book.xlsx")
    assert table.headers == ["Name", "Phone", "Birthday", "Company", "Total"]
    assert table.rows == [
        (2, ["Anna", "79991234567", "1990-05-17", "Acme", reading.FORMULA]),  # no cached value
        (4, ["Boris", "79991234568", "1985-01-02", "Acme", "5"]),  # the merged company filled down
    ]


def test_xlsx_formulas_with_cached_values_give_the_values():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["name", "amount"])
    sheet.write_string(1, 0, "Anna")
    sheet.write_formula(1, 1, "=100+23", None, 123)
    book.close()
    assert reading.read(buffer.getvalue(), "f.xlsx").rows == [(2, ["Anna", "123"])]


def test_xlsx_with_10000_columns_is_refused():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, [f"c{i}" for i in range(10_000)])
    book.close()
    assert refused(buffer.getvalue(), "wide.xlsx") == "import_too_many_columns"


# --- headers and values ---


def test_headers_in_russian_and_english_are_recognised():
    headers = [
        "ФИО",
        "Телефон",
        "E-mail",
        "Компания",
        "Теги",
        "Статус",
        "Ответственный",
        "День рождения",
        "Источник",
        "Комментарий",
        "Something else",
        "Мобильный",
    ]
    assert fields.guess_mapping(fields.CLIENTS, headers) == [
        "name",
        "phone",
        "email",
        "company",
        "tags",
        "status",
        "owner",
        "birthday",
        "source",
        "note",
        None,
        "phone",
    ]
    assert fields.guess_mapping(fields.PURCHASES, ["Client ID", "Date", "Sum", "Currency", "Name"]) == [
        "client_id",
        "date",
        "amount",
        "currency",
        None,
    ]
    assert fields.missing(fields.CLIENTS, [None, "phone"]) == ["name"]
    assert fields.missing(fields.PURCHASES, ["phone", "amount"]) == ["date"]


def test_phone_floats_dates_amounts():
    assert fields.phone_text("7.9991234567E10") == "79991234567"
    assert fields.phone_text("79991234567.0") == "79991234567"
    assert fields.parse_date("2024-03-04") == (date(2024, 3, 4), None)
    assert fields.parse_date("04.03.2024")[0] == date(2024, 3, 4)
    assert fields.parse_date("03/04/2024", "md")[0] == date(2024, 3, 4)
    assert fields.parse_date("04/03/2024", "dm")[0] == date(2024, 3, 4)
    assert fields.slash_order(["01/02/2024", "12/25/2024"]) == "md"
    assert fields.slash_order(["25/12/2024", "01/02/2024"]) == "dm"
    assert fields.slash_order(["01/02/2024"]) == "dm"
    for bad in ("2024-13-01", "31.02.2024", "yesterday", "1800-01-01"):
        with pytest.raises(DomainError):
            fields.parse_date(bad)
    assert fields.parse_amount("1 234,50") == Decimal("1234.50")
    assert fields.parse_amount("1,234.50 руб") == Decimal("1234.50")
    for bad in ("0", "-5", "abc", "1e30", "NaN"):
        with pytest.raises(DomainError):
            fields.parse_amount(bad)
    assert fields.parse_currency("", "RUB") == "RUB" and fields.parse_currency("₽", "USD") == "RUB"


def test_errors_file_is_a_csv_without_formulas():
    data = report.errors_csv(["name", "name"], [(3, "bad phone", ["=cmd|calc", "x"])])
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows == [["row", "reason", "name", "name_"], ["3", "bad phone", "'=cmd|calc", "x"]]


# --- the services on a database ---


async def staged(session, actor, rows, kind, name="clients.csv"):
    table = reading.read(csv_bytes(rows), name)
    imp = await staging.stage(session, actor, actor.id, table, name, NOW)
    staging.choose_kind(imp, imp.version, kind, NOW)
    return imp


async def apply_all(session, imp, actor):
    await staging.start_apply(session, imp, imp.version, None, NOW)
    while await applying.apply_batch(session, imp, actor, NOW, batch=2, **OPTS):
        pass


async def test_clients_dry_run_and_apply(session):
    olga = await add_user(session, 100, "Olga", role=Role.admin, username="olga")
    anna = await add_user(session, 200, "Anna", role=Role.manager, username="anna_m")
    await create(session, anna, ClientData(name="Known", phones=["+79990000001"]), NOW)
    rows = [
        ["Name", "Phone", "Email", "Tags", "Owner", "Birthday", "Status", "Weird"],
        [
            "<b>Иван</b> Петров",
            "7.9991234567E10",
            "IVAN@Example.ru",
            "vip, b2b",
            "@anna_m",
            "17.05.1990",
            "Активный",
            "x",
        ],
        ["Known again", "+7 999 000-00-01", "", "", "", "", "", ""],
        ["Repeat", "89991234567", "", "", "", "", "", ""],
        ["No phone ok", "", "", "", "", "", "", ""],
        ["", "+79995550000", "", "", "", "", "", ""],
        ["Bad phone", "12345", "", "", "", "", "", ""],
        ["Bad owner", "", "", "", "nobody", "", "", ""],
        ["Future", "", "", "", "", "2099-01-01", "", ""],
    ]
    imp = await staged(session, olga, rows, fields.CLIENTS)
    assert imp.mapping == ["name", "phone", "email", "tags", "owner", "birthday", "status", None]
    out = await checking.dry_run(session, imp, olga, NOW, **OPTS)
    assert (imp.to_add, imp.known, imp.invalid) == (2, 2, 4)
    assert [(n, e.code) for n, e in out.invalid] == [
        (6, "empty"),
        (7, "bad_phone"),
        (8, "import_unknown_owner"),
        (9, "bad_date"),
    ]
    assert out.known == [(3, "phone"), (4, "row 2")]
    assert await session.scalar(select(func.count()).select_from(Client)) == 1  # a dry run writes nothing
    await apply_all(session, imp, olga)
    assert (imp.status, imp.added, imp.skipped_known, imp.skipped_invalid) == ("done", 2, 2, 4)
    ivan = await session.scalar(select(Client).where(Client.email == "ivan@example.ru"))
    assert ivan.name == "<b>Иван</b> Петров" and ivan.owner_id == anna.id and ivan.source == "import"
    assert ivan.status == ClientStatus.active and ivan.birthday == date(1990, 5, 17)
    assert ivan.dup_key == search.duplicate_key(ivan.name, None)
    phone = await session.scalar(select(ClientPhone).where(ClientPhone.client_id == ivan.id))
    assert phone.e164 == "+79991234567" and phone.digits_reversed == "76543219997"
    assert set(await session.scalars(select(ClientTag.tag).where(ClientTag.client_id == ivan.id))) == {
        "vip",
        "b2b",
    }
    terms = set(
        await session.scalars(select(ClientSearchTerm.term).where(ClientSearchTerm.client_id == ivan.id))
    )
    assert terms == search.terms_of(ivan, ["vip", "b2b"])
    other = await session.scalar(select(Client).where(Client.name == "No phone ok"))
    assert other.owner_id == olga.id
    # each imported client's creation is in the audit trail, by the person who imported them
    created = (
        await session.execute(
            select(AuditEvent.client_id, AuditEvent.actor_id, AuditEvent.after, AuditEvent.details).where(
                AuditEvent.action == "client.create", AuditEvent.actor_id == olga.id
            )
        )
    ).all()
    assert sorted(created) == sorted(
        [(ivan.id, olga.id, ivan.name, {"via": "import"}), (other.id, olga.id, other.name, {"via": "import"})]
    )
    assert await session.scalar(select(func.count()).select_from(ImportRow)) == 0  # dropped when done
    # Apply again: refused, nothing written twice
    with pytest.raises(DomainError) as e:
        await staging.start_apply(session, imp, imp.version, None, NOW)
    assert e.value.code == "import_done"
    assert not await applying.apply_batch(session, imp, olga, NOW, **OPTS)
    assert await session.scalar(select(func.count()).select_from(Client)) == 3


async def test_a_managers_import_is_theirs_and_a_rerun_batch_writes_nothing(session):
    anna = await add_user(session, 200, "Anna", role=Role.manager)
    await add_user(session, 201, "Boris", role=Role.manager, username="boris")
    rows = [["name", "owner"]] + [[f"Клиент {i}", "@boris"] for i in range(5)]
    imp = await staged(session, anna, rows, fields.CLIENTS)
    await checking.dry_run(session, imp, anna, NOW, **OPTS)
    assert imp.to_add == 5
    await staging.start_apply(session, imp, imp.version, None, NOW)
    assert await applying.apply_batch(session, imp, anna, NOW, batch=2, **OPTS)
    # a second worker that read the import before that batch can't apply the same batch again
    stale = Import(
        **{c: getattr(imp, c) for c in ("id", "status", "kind", "mapping", "headers", "date_order")}
    )
    stale.cursor = 0
    assert await applying.apply_batch(session, stale, anna, NOW, batch=2, **OPTS)
    assert await session.scalar(select(func.count()).select_from(Client)) == 2
    while await applying.apply_batch(session, imp, anna, NOW, batch=2, **OPTS):
        pass
    owners = list(await session.scalars(select(Client.owner_id)))
    assert owners == [anna.id] * 5


@pytest.mark.parametrize("memo", ["kept", "lost", "partly lost"])
async def test_the_apply_uses_what_the_dry_run_parsed_or_parses_again(session, memo):
    """The apply takes each row the dry run parsed in this process; rows it doesn't find there (a
    restart, another process) are read and parsed again, with the same result."""
    olga = await add_user(session, 100, "Olga", role=Role.admin)
    rows = [["name", "phone"]] + [[f"Клиент {i}", f"+7999555{i:04d}"] for i in range(5)] + [["", "1"]]
    imp = await staged(session, olga, rows, fields.CLIENTS)
    await checking.dry_run(session, imp, olga, NOW, **OPTS)
    remembered = checking._parsed[(imp.id, imp.version)]
    if memo == "lost":
        checking._parsed.clear()
    elif memo == "partly lost":
        del remembered[3], remembered[7]
    await apply_all(session, imp, olga)
    assert (imp.added, imp.skipped_known, imp.skipped_invalid) == (5, 0, 1)
    names = set(await session.scalars(select(Client.name)))
    assert names == {f"Клиент {i}" for i in range(5)}
    assert not checking._parsed  # nothing left behind once it is done


async def test_purchases_import_is_history(session):
    olga = await add_user(session, 100, "Olga", role=Role.admin)
    anna = await add_user(session, 200, "Anna", role=Role.manager)
    ivan = await create(session, anna, ClientData(name="Ivan", phones=["+79991234567"], email="i@x.ru"), NOW)
    petr = await create(session, olga, ClientData(name="Petr"), NOW)
    rows = [
        ["Телефон", "Почта", "ID клиента", "Дата", "Сумма", "Валюта"],
        ["89991234567", "", "", "2026-01-15", "1000", ""],
        ["", "i@x.ru", "", "15.02.2026", "2 500,50", "RUB"],
        ["", "", str(petr.id), "02/25/2026", "100", "USD"],
        ["", "", "999999", "2026-01-01", "100", ""],
        ["", "", str(petr.id), "2027-01-01", "100", ""],
        ["", "", str(petr.id), "2026-01-01", "-1", ""],
    ]
    imp = await staged(session, olga, rows, fields.PURCHASES, "p.csv")
    out = await checking.dry_run(session, imp, olga, NOW, **OPTS)
    assert (imp.to_add, imp.known, imp.invalid) == (3, 0, 3)
    assert [e.code for _, e in out.invalid] == [
        "import_client_not_found",
        "import_future_date",
        "import_bad_amount",
    ]
    staging.toggle_credit(imp, olga, imp.version, NOW)
    await checking.dry_run(session, imp, olga, NOW, **OPTS)
    await apply_all(session, imp, olga)
    bought = list(await session.scalars(select(Purchase).order_by(Purchase.id)))
    assert [(p.client_id, p.amount, p.currency, p.origin, p.discounted, p.points_earned) for p in bought] == [
        (ivan.id, Decimal("1000.00"), "RUB", "import", Decimal("1000.00"), 50),
        (ivan.id, Decimal("2500.50"), "RUB", "import", Decimal("2500.50"), 125),
        (petr.id, Decimal("100.00"), "USD", "import", Decimal("100.00"), 0),
    ]
    assert bought[0].created_at == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)  # noon in Moscow
    assert bought[2].created_at.date() == date(2026, 2, 25)
    account = await session.get(LoyaltyAccount, ivan.id)
    assert account.balance == 175 and account.total_spend == Decimal("3500.50") and account.purchases == 2
    keys = set(await session.scalars(select(LedgerEntry.idempotency_key)))
    assert keys == {f"earn:{bought[0].id}", f"earn:{bought[1].id}"}
    # The same file again: every purchase is already known
    again = await staged(session, olga, rows, fields.PURCHASES, "p.csv")
    await checking.dry_run(session, again, olga, NOW, **OPTS)
    assert (again.to_add, again.known) == (0, 3)


async def test_a_manager_imports_purchases_only_for_their_clients(session):
    anna = await add_user(session, 200, "Anna", role=Role.manager)
    boris = await add_user(session, 201, "Boris", role=Role.manager)
    mine = await create(session, anna, ClientData(name="Mine"), NOW)
    theirs = await create(session, boris, ClientData(name="Theirs"), NOW)
    rows = [
        ["client id", "date", "amount"],
        [str(mine.id), "2026-01-01", "10"],
        [str(theirs.id), "2026-01-01", "10"],
    ]
    imp = await staged(session, anna, rows, fields.PURCHASES, "p.csv")
    out = await checking.dry_run(session, imp, anna, NOW, **OPTS)
    assert imp.to_add == 1 and [e.code for _, e in out.invalid] == ["import_not_your_client"]
    with pytest.raises(DomainError):
        staging.toggle_credit(imp, anna, imp.version, NOW)  # admins only


async def test_stale_versions_and_mapping_changes(session):
    anna = await add_user(session, 200, "Anna", role=Role.manager)
    imp = await staged(session, anna, [["Клиент", "Tel"], ["Анна", "+79991234567"]], fields.CLIENTS)
    assert imp.mapping == ["name", "phone"]
    old = imp.version
    staging.set_column(imp, imp.version, 1, -1, NOW)
    assert imp.mapping == ["name", None]
    with pytest.raises(DomainError) as e:
        staging.set_column(imp, old, 1, 3, NOW)
    assert e.value.code == "import_stale"
    staging.set_column(imp, imp.version, 1, fields.FIELDS[fields.CLIENTS].index("name"), NOW)
    assert imp.mapping == [None, "name"]  # a field moves to the column chosen for it
    staging.set_column(imp, imp.version, 1, -1, NOW)
    with pytest.raises(DomainError) as e:
        staging.ready_to_check(imp, imp.version)
    assert e.value.code == "import_missing_field"
    with pytest.raises(DomainError) as e:
        await staging.start_apply(session, imp, imp.version, None, NOW)  # no dry run yet
    assert e.value.code == "import_stale"


MESSY = [
    ClientData(name="  Пётр   Ёлкин ", company="ООО «Рога & Копыта»", tags=["VIP", "b2b", "Ёж и ёж"]),
    ClientData(name="Анна", company=None, position=" Директор ", source="выставка", note="раз\n  два  "),
    ClientData(name="Иван Петров", company="Acme", tags=["#new", "one two"], birthday=date(1990, 5, 17)),
]


async def written(session, client_id: int) -> tuple:
    """What a client's creation wrote: its fields, tags, search terms and audit event."""
    client = await session.get(Client, client_id)
    tags = set(await session.scalars(select(ClientTag.tag).where(ClientTag.client_id == client_id)))
    terms = set(
        await session.scalars(select(ClientSearchTerm.term).where(ClientSearchTerm.client_id == client_id))
    )
    event = await session.scalar(select(AuditEvent).where(AuditEvent.client_id == client_id))
    fields_ = ("name", "company", "position", "source", "note", "birthday", "status", "dup_key", "vip",
               "version", "created_at", "updated_at", "created_by", "updated_by")  # fmt: skip
    audit = (event.at, event.actor_id, event.action, event.target == f"client:{client_id}", event.after)
    return tuple(getattr(client, f) for f in fields_), tags, terms, audit


async def test_create_many_writes_what_create_writes(session):
    """The batch path (one INSERT per table of prepared rows, the values' types processed per column)
    leaves each client as `create` leaves one, on both databases; items the import's check cleaned
    already give the same rows without being cleaned again."""
    olga = await add_user(session, 100, "Olga", role=Role.admin)
    one_by_one = [(await create(session, olga, data, NOW)).id for data in MESSY]
    batch = await create_many(session, olga, [NewClient(data, olga.id) for data in MESSY], NOW)
    cleaned = [
        ClientData(
            name=fields_clean.clean_name(d.name),
            company=fields_clean.clean_text(d.company, "company"),
            position=fields_clean.clean_text(d.position, "position"),
            source=fields_clean.clean_text(d.source, "source"),
            note=fields_clean.clean_text(d.note, "note", multiline=True),
            tags=fields_clean.clean_tags(d.tags),
            birthday=d.birthday,
        )
        for d in MESSY
    ]
    again = await create_many(session, olga, [NewClient(d, olga.id) for d in cleaned], NOW, cleaned=True)
    # phones, emails and Telegram ids are unique: written for a client of their own
    keyed = ClientData(
        name="Keyed", phones=["+79991234567", "+74951234567"], email="a.b@mail.example.ru", telegram_id=777
    )
    [keyed_id] = await create_many(session, olga, [NewClient(keyed, olga.id, ClientStatus.active)], NOW)
    session.expire_all()  # read back what was written, not the objects `create` left in the session
    for single, many, pre in zip(one_by_one, batch, again, strict=True):
        expected = await written(session, single)
        assert await written(session, many) == expected
        assert await written(session, pre) == expected
    client = await session.get(Client, keyed_id)
    stored = list(await session.scalars(select(ClientPhone).where(ClientPhone.client_id == keyed_id)))
    assert [(p.e164, p.digits_reversed) for p in stored] == [
        ("+79991234567", "76543219997"),
        ("+74951234567", "76543215947"),
    ]
    assert (client.email, client.telegram_id, client.status) == (
        "a.b@mail.example.ru",
        777,
        ClientStatus.active,
    )
    terms = set(
        await session.scalars(select(ClientSearchTerm.term).where(ClientSearchTerm.client_id == keyed_id))
    )
    assert terms == search.terms_of(client, [])
    event = await session.scalar(select(AuditEvent).where(AuditEvent.client_id == keyed_id))
    assert event.details == {"via": "import"} and event.after == "Keyed"


def test_the_collector_is_paused_until_the_last_overlapping_batch_ends():
    import gc

    from services.bulk import gc_paused

    assert gc.isenabled()
    first, second = gc_paused(), gc_paused()
    first.__enter__()
    second.__enter__()  # two jobs' batches interleaving at their awaits
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()  # paused by someone else before: left as it was
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_mapping_of_a_file_with_the_most_columns_fits_one_message():
    from bot.i18n import create_i18n
    from bot.text import MESSAGE_LIMIT, visible_length
    from bot.views import imports as views

    headers = [f"Очень длинный заголовок столбца номер {i}" for i in range(reading.MAX_COLUMNS)]
    imp = Import(id=1, version=1, kind=fields.CLIENTS, file_name="x" * 200, file_format="csv",
                 encoding="utf-8", delimiter=",", headers=headers, mapping=["name"] * reading.MAX_COLUMNS,
                 rows=1)  # fmt: skip
    i18n = create_i18n("ru")
    with i18n.context(), i18n.use_locale("ru"):
        text = views.mapping_text(imp, ["<" * 40] * reading.MAX_COLUMNS)
        keyboard = views.mapping_keyboard(imp)
    assert visible_length(text) <= MESSAGE_LIMIT
    assert sum(len(row) for row in keyboard.inline_keyboard) <= 100
