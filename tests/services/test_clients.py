"""Client services: one-line parsing, duplicates (also under a race), search, lists, edits, owner, merge."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from bot.callbacks import CardAction, ChoiceCb, ClientCb, PageCb
from bot.i18n import create_i18n
from bot.text import MESSAGE_LIMIT, visible_length
from bot.views import clients as views
from handlers.clients.common import DIRECT_KEY_BYTES
from models.audit import AuditEvent
from models.clients import Client, ClientPhone, ClientSearchTerm, ClientStatus, ClientTag
from models.deals import Deal, DealEvent
from models.interactions import Interaction, InteractionKind, InteractionOutcome
from models.reminders import Reminder, ReminderStatus
from models.users import Role, User
from services import clients as svc
from services import merge as merge_service
from services import search, vcard
from services.deals import OpenSummary
from services.errors import DomainError
from tests.support.people import add_user

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
RU = "RU"


async def people(session) -> tuple[User, User, User]:
    anna = await add_user(session, 200, "Anna", role=Role.manager, created_at=NOW)
    boris = await add_user(session, 201, "Boris", role=Role.manager, created_at=NOW)
    olga = await add_user(session, 100, "Olga", role=Role.admin, created_at=NOW)
    return anna, boris, olga


async def add(session, owner: User, name: str, **fields) -> Client:
    return await svc.create(session, owner, svc.ClientData(name=name, **fields), NOW)


async def find(session, viewer: User, q: str, page: int = 0) -> list[str]:
    result = await svc.search_page(session, viewer, search.parse_query(q, RU), page)
    return [c.name for c in result.items]


# --- one line ---


def test_one_line_example_from_the_issue():
    data = svc.parse_line("Иван Петров +7 999 123-45-67 ivan@example.ru ООО Ромашка", RU)
    assert data.name == "Иван Петров"
    assert data.phones == ["+79991234567"]
    assert data.email == "ivan@example.ru"
    assert data.company == "ООО Ромашка"


@pytest.mark.parametrize(
    ("line", "name", "company"),
    [
        ("Иван", "Иван", None),
        ("Мария Ивановна Сидорова", "Мария Ивановна Сидорова", None),
        ("Мария Ивановна Сидорова Ромашка Трейд", "Мария Ивановна Сидорова", "Ромашка Трейд"),
        ("John Smith Acme Inc", "John Smith", "Acme Inc"),
        ("John Acme LLC", "John", "Acme LLC"),
        ("Пётр «Рога и копыта»", "Пётр", "«Рога и копыта»"),
        ('Anna "Blue Sky" travel', "Anna", '"Blue Sky" travel'),
        ("Сергей ИП Сергеев", "Сергей", "ИП Сергеев"),
    ],
)
def test_one_line_name_and_company_heuristic(line, name, company):
    data = svc.parse_line(line, RU)
    assert (data.name, data.company) == (name, company)


def test_one_line_several_phones_any_order_and_format():
    data = svc.parse_line("8 (916) 111-22-33 Олег +44 20 7946 0958 OLEG@Example.COM", RU)
    assert data.phones == ["+79161112233", "+442079460958"]
    assert data.email == "oleg@example.com"
    assert data.name == "Олег"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("+7 999 123-45-67", "no_name"),
        ("ООО Ромашка", "no_name"),
        ("Иван a@b.ru c@d.ru", "two_emails"),
        ("Иван +7 123 456 78", "bad_phone"),
        ("Иван ivan@localhost", "bad_email"),
        ("Я" * 201, "too_long"),
    ],
)
def test_one_line_refuses_what_it_cannot_read(line, code):
    with pytest.raises(DomainError) as e:
        svc.parse_line(line, RU)
    assert e.value.code == code


# --- validation ---


@pytest.mark.parametrize("raw", ["Ivan@Example.com", " ivan.petrov+crm@mail.example.ru ", "иван@почта.рф"])
def test_valid_emails_are_normalised_to_lower_case(raw):
    assert svc.clean_email(raw) == raw.strip().lower()


@pytest.mark.parametrize(
    "raw", ["ivan", "ivan@", "@example.ru", "a b@c.ru", "a@b", "a..b@c.ru", "x" * 250 + "@a.ru"]
)
def test_invalid_emails_are_refused(raw):
    with pytest.raises(DomainError):
        svc.clean_email(raw)


def test_tags_birthday_timezone_language():
    assert svc.clean_tags("VIP, #b2b, big client, vip") == ["vip", "b2b", "big_client"]
    assert svc.clean_tags("vip b2b") == ["vip", "b2b"]
    assert svc.parse_birthday("31.12.1990", date(2026, 1, 1)) == date(1990, 12, 31)
    assert svc.parse_birthday("1990-12-31", date(2026, 1, 1)) == date(1990, 12, 31)
    for bad in ("31.02.1990", "1.1.2027", "вчера", "01.01.1800"):
        with pytest.raises(DomainError):
            svc.parse_birthday(bad, date(2026, 1, 1))
    assert svc.clean_timezone("europe/moscow") == "Europe/Moscow"
    assert svc.clean_language("DE") == "de"
    for bad in ("Mars/Base", "zz-top-lang"):
        with pytest.raises(DomainError):
            svc.clean_timezone(bad) if "/" in bad else svc.clean_language(bad)


def test_search_words_fold_case_yo_and_punctuation():
    assert search.words("Ёлкин-Палкин, ООО «Ёж»!") == ["елкин", "палкин", "ооо", "еж"]
    assert search.same_text("Пётр  ИВАНОВ", "петр иванов")
    assert not search.same_text("Пётр Иванов", "Иванов Пётр")


# --- create and duplicates ---


async def test_create_keeps_phones_terms_and_owner(session):
    anna, _, _ = await people(session)
    client = await add(
        session, anna, "Иван Петров", phones=["+79991234567"], email="ivan@example.ru", company="Ромашка"
    )
    assert client.owner_id == anna.id and client.created_by == anna.id and client.version == 1
    phone = (await session.scalars(select(ClientPhone))).one()
    assert phone.digits_reversed == "76543219997"
    terms = set((await session.scalars(select(ClientSearchTerm.term))).all())
    assert {"иван", "петров", "ромашка", "ivan", "example", "ru", "ivan@example.ru", "example.ru"} <= terms


async def test_same_phone_email_or_telegram_id_is_never_stored_twice(session):
    anna, boris, olga = await people(session)
    first = await add(
        session, anna, "Иван", phones=["+79991234567"], email="ivan@example.ru", telegram_id=555
    )
    for keys, via in (
        ({"phones": ["+79991234567"]}, "phone"),
        ({"email": "ivan@example.ru"}, "email"),
        ({"telegram_id": 555}, "telegram"),
    ):
        with pytest.raises(svc.Duplicate) as mine:
            await add(session, anna, "Другой", **keys)
        assert mine.value.existing.id == first.id and mine.value.visible and mine.value.via == via
        with pytest.raises(svc.Duplicate) as theirs:
            await add(session, boris, "Другой", **keys)
        assert not theirs.value.visible and theirs.value.owner_name == "Anna"
        with pytest.raises(svc.Duplicate) as admin:
            await add(session, olga, "Другой", **keys)
        assert admin.value.visible
    assert await session.scalar(select(func.count()).select_from(Client)) == 1


async def test_a_race_past_the_check_is_caught_by_the_constraint(session, monkeypatch):
    anna, boris, _ = await people(session)
    await add(session, anna, "Иван", phones=["+79991234567"])
    real = svc.find_existing
    calls = []

    async def blind_first(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            return None  # the other transaction hadn't committed when we checked
        return await real(*args, **kwargs)

    monkeypatch.setattr(svc, "find_existing", blind_first)
    with pytest.raises(svc.Duplicate) as e:
        await add(session, boris, "Иван П.", phones=["+79991234567"])
    assert e.value.owner_name == "Anna" and not e.value.visible
    # the transaction is still usable: only the savepoint was rolled back
    await add(session, boris, "Пётр", phones=["+79161112233"])
    await session.commit()
    names = sorted((await session.scalars(select(Client.name))).all())
    assert names == ["Иван", "Пётр"]


async def test_savepoints_do_not_commit_early_on_sqlite(session):
    anna, _, _ = await people(session)
    await session.commit()
    await add(session, anna, "Иван", phones=["+79991234567"])
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(Client)) == 0


# --- search ---


async def test_search_by_name_parts_any_case_script_and_yo(session):
    anna, _, _ = await people(session)
    await add(session, anna, "Пётр Ёлкин", company="Acme Trading")
    await add(session, anna, "John Smith")
    await add(session, anna, "Петра Смирнова")
    assert await find(session, anna, "петр") == ["Пётр Ёлкин", "Петра Смирнова"]
    assert await find(session, anna, "ПЁТР ЕЛК") == ["Пётр Ёлкин"]
    assert await find(session, anna, "ёлкин") == ["Пётр Ёлкин"]
    assert await find(session, anna, "smi jo") == ["John Smith"]
    assert await find(session, anna, "acme") == ["Пётр Ёлкин"]
    assert await find(session, anna, "петр smith") == []


async def test_search_by_phone_fragment_email_and_tag(session):
    anna, _, _ = await people(session)
    await add(session, anna, "Иван", phones=["+79991234567"], email="ivan.petrov@example.ru", tags=["vip"])
    await add(session, anna, "Олег", phones=["+79161114567"], tags=["b2b"])
    assert await find(session, anna, "4567") == ["Иван", "Олег"] or await find(session, anna, "4567") == [
        "Олег",
        "Иван",
    ]
    assert await find(session, anna, "45-67") != []
    assert await find(session, anna, "123-45-67") == ["Иван"]
    assert await find(session, anna, "8 (999) 123 45 67") == ["Иван"]
    assert await find(session, anna, "+7 999 1234567") == ["Иван"]
    assert await find(session, anna, "567") == []  # fewer than 4 digits is not a phone search
    assert await find(session, anna, "ivan.petrov@example.ru") == ["Иван"]
    assert await find(session, anna, "IVAN.PETROV@EXA") == ["Иван"]
    assert await find(session, anna, "example.ru") == ["Иван"]
    assert await find(session, anna, "#vip") == ["Иван"]
    assert await find(session, anna, "#VIP иван") == ["Иван"]
    assert await find(session, anna, "#b2b иван") == []
    assert await find(session, anna, "b2b") == ["Олег"]


async def test_managers_find_only_their_own_and_admins_find_all(session):
    anna, boris, olga = await people(session)
    await add(session, anna, "Иван Анин", phones=["+79991234567"])
    await add(session, boris, "Иван Борин", phones=["+79161234567"])
    assert await find(session, anna, "иван") == ["Иван Анин"]
    assert await find(session, boris, "4567") == ["Иван Борин"]
    assert sorted(await find(session, olga, "иван")) == ["Иван Анин", "Иван Борин"]
    assert len(await find(session, olga, "4567")) == 2


async def test_search_pages_of_eight_without_repeats(session):
    anna, _, _ = await people(session)
    for i in range(19):
        # two terms of each client start with "иван": still listed once
        await add(session, anna, f"Иван Иванов {i:02d}")
    seen = []
    page, has_next = 0, True
    while has_next:
        result = await svc.search_page(session, anna, search.parse_query("иван", RU), page)
        assert len(result.items) <= svc.PAGE
        seen += [c.name for c in result.items]
        has_next, page = result.has_next, page + 1
    assert page == 3 and len(seen) == 19 == len(set(seen))


async def test_search_is_an_index_range_scan(session):
    """Every statement of a search reads index ranges in index order: no full scan, no sort, no LIKE."""
    anna, _, _ = await people(session)
    await add(session, anna, "Иван Петров", phones=["+79991234567"])
    cases = [
        (search.parse_query("иван петров", RU), anna.id, "ix_client_search_terms_owner_term"),
        (search.parse_query("иван", RU), None, "ix_client_search_terms_term"),
        (search.parse_query("4567", RU), None, "ix_client_phones_digits_reversed"),
    ]
    sync_engine = session.bind.sync_engine
    for query, owner, index in cases:
        statements = []

        def before(conn, cursor, statement, parameters, context, executemany, bucket=statements):
            bucket.append((statement, parameters))

        event.listen(sync_engine, "before_cursor_execute", before)
        try:
            assert await search.find_ids(session, query, owner, offset=0, limit=9)
        finally:
            event.remove(sync_engine, "before_cursor_execute", before)
        conn = await session.connection()
        plans = []
        for statement, parameters in statements:
            assert "LIKE" not in statement.upper()
            if session.bind.dialect.name == "sqlite":
                plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
                steps = [row[-1] for row in plan]
                full_scans = [
                    s
                    for s in steps
                    if s.startswith("SCAN") and not s.startswith(("SCAN CONSTANT", "SCAN anon"))
                ]
                assert not full_scans, steps
                assert not any("TEMP B-TREE" in s for s in steps), steps
                plans.append(" | ".join(steps))
            else:
                # A tiny table makes any plan cheap: forbid the alternatives to show the index does it all.
                for setting in ("seqscan", "bitmapscan", "sort", "hashjoin", "mergejoin"):
                    await conn.exec_driver_sql(f"SET LOCAL enable_{setting} = off")
                plan = (await conn.exec_driver_sql("EXPLAIN " + statement, parameters)).all()
                detail = "\n".join(row[0] for row in plan)
                assert "Seq Scan" not in detail and " Sort" not in detail, detail
                plans.append(detail)
        assert index in plans[-1], plans[-1]


# --- lists ---


async def test_lists_filter_by_status_tag_and_staleness(session):
    anna, boris, olga = await people(session)
    old = await add(session, anna, "Старый", tags=["vip"])
    old.created_at = NOW - timedelta(days=90)
    old.last_contact_at = NOW - timedelta(days=40)
    fresh = await add(session, anna, "Свежий")
    fresh.last_contact_at = NOW - timedelta(days=2)
    never = await add(session, anna, "Без контактов")
    never.created_at = NOW - timedelta(days=31)
    await add(session, anna, "Новый без контактов")
    active = await add(session, anna, "Активный")
    active.status = ClientStatus.active
    await add(session, boris, "Чужой", tags=["vip"])
    await session.flush()

    async def names(viewer, **flt):
        page = await svc.list_page(session, viewer, svc.ListFilter(**flt), 0, NOW)
        return [c.name for c in page.items]

    assert await names(anna) == ["Активный", "Новый без контактов", "Без контактов", "Свежий", "Старый"]
    assert await names(anna, status=ClientStatus.active) == ["Активный"]
    assert await names(anna, tag="vip") == ["Старый"]
    assert await names(olga, tag="vip") == ["Чужой", "Старый"]
    assert await names(anna, stale_days=30) == ["Без контактов", "Старый"]


async def test_list_pages_have_eight_and_know_if_more_follow(session):
    anna, _, _ = await people(session)
    for i in range(17):
        await add(session, anna, f"Клиент {i}")
    pages = [await svc.list_page(session, anna, svc.ListFilter(), p, NOW) for p in range(3)]
    assert [len(p.items) for p in pages] == [8, 8, 1]
    assert [p.has_next for p in pages] == [True, True, False]


# --- edits ---


async def test_edit_fields_bump_version_and_keep_terms_in_sync(session):
    anna, boris, _ = await people(session)
    client = await add(session, anna, "Иван", email="ivan@example.ru")
    await svc.set_field(session, anna, client, 1, "name", "Иван Грозный", NOW, region=RU, today=NOW.date())
    assert client.version == 2
    assert await find(session, anna, "грозн") == ["Иван Грозный"]
    with pytest.raises(svc.Stale):
        await svc.set_field(session, anna, client, 1, "company", "X", NOW, region=RU, today=NOW.date())
    await svc.set_field(session, anna, client, 2, "tags", "VIP, b2b", NOW, region=RU, today=NOW.date())
    await session.refresh(client, ["tags"])
    assert [t.tag for t in client.tags] == ["b2b", "vip"]
    assert await find(session, anna, "#vip") == ["Иван Грозный"]
    await svc.set_field(session, anna, client, 3, "email", None, NOW, region=RU, today=NOW.date())
    assert await find(session, anna, "ivan@example.ru") == []
    other = await add(session, boris, "Борин клиент", email="taken@example.ru")
    with pytest.raises(svc.Duplicate) as e:
        await svc.set_field(
            session, anna, client, 4, "email", "TAKEN@example.ru", NOW, region=RU, today=NOW.date()
        )
    assert e.value.existing.id == other.id and not e.value.visible
    with pytest.raises(DomainError) as e:
        await svc.set_field(session, anna, client, 4, "name", None, NOW, region=RU, today=NOW.date())
    assert e.value.code == "empty"
    with pytest.raises(DomainError) as e:
        await svc.set_field(session, anna, client, 4, "position", "x" * 201, NOW, region=RU, today=NOW.date())
    assert e.value.code == "too_long"
    assert client.version == 4


async def test_phones_add_and_remove(session):
    anna, boris, _ = await people(session)
    client = await add(session, anna, "Иван", phones=["+79991234567"])
    await add(session, boris, "Чужой", phones=["+79160000000"])
    await svc.add_phones(session, anna, client, 1, "8 916 111-22-33, +7 999 123 45 67", NOW, RU)
    await session.refresh(client, ["phones"])
    assert [p.e164 for p in client.phones] == ["+79991234567", "+79161112233"]
    with pytest.raises(svc.Duplicate):
        await svc.add_phones(session, anna, client, 2, "+7 916 000-00-00", NOW, RU)
    with pytest.raises(DomainError) as e:
        await svc.add_phones(session, anna, client, 2, "12345", NOW, RU)
    assert e.value.code == "bad_phone"
    await svc.remove_phone(session, anna, client, 2, client.phones[0].id, NOW)
    await session.refresh(client, ["phones"])
    assert [p.e164 for p in client.phones] == ["+79161112233"]
    assert await find(session, anna, "4567") == []


async def test_note_appends_within_the_limit(session):
    anna, _, _ = await people(session)
    client = await add(session, anna, "Иван")
    await svc.append_note(session, anna, client, 1, "первая", "— 10 мар.", NOW)
    await svc.append_note(session, anna, client, 2, "вторая", "— 11 мар.", NOW)
    assert client.note == "— 10 мар.\nпервая\n\n— 11 мар.\nвторая"
    with pytest.raises(DomainError) as e:
        await svc.append_note(session, anna, client, 3, "x" * 3990, "— 12 мар.", NOW)
    assert e.value.code == "note_full" and 0 < e.value.params["left"] < 4000
    assert client.version == 3


# --- owner ---


async def test_owner_change_moves_terms_all_deals_and_pending_reminders(session):
    anna, boris, olga = await people(session)
    client = await add(session, anna, "Иван")
    deal = Deal(client_id=client.id, owner_id=anna.id, title="Поставка", stage="new", currency="RUB")
    won = Deal(client_id=client.id, owner_id=anna.id, title="Старая", stage="won", currency="RUB")
    reminder = Reminder(
        owner_id=anna.id, client_id=client.id, text="позвонить", due_at=NOW + timedelta(days=1)
    )
    session.add_all([deal, won, reminder])
    await session.flush()
    with pytest.raises(DomainError):
        await svc.set_owner(session, anna, client, 1, boris.id, NOW)
    client, previous = await svc.set_owner(session, olga, client, 1, boris.id, NOW)
    assert previous == anna.id and client.owner_id == boris.id and client.version == 2
    assert await find(session, anna, "иван") == []
    assert await find(session, boris, "иван") == ["Иван"]
    await session.refresh(deal)
    await session.refresh(won)
    await session.refresh(reminder)
    # closed deals go too: access follows the client, so none stays in a pipeline its owner can't open
    assert (deal.owner_id, won.owner_id, reminder.owner_id) == (boris.id, boris.id, boris.id)
    with pytest.raises(DomainError) as e:
        await svc.set_owner(session, olga, client, 2, boris.id, NOW)
    assert e.value.code == "same_owner"
    with pytest.raises(DomainError) as e:
        await svc.set_owner(session, olga, client, 2, 999, NOW)
    assert e.value.code == "bad_owner"


# --- likely duplicates and merge ---


async def test_likely_duplicates_are_same_name_and_company_among_visible_records(session):
    anna, boris, olga = await people(session)
    a = await add(session, anna, "Пётр Иванов", company="ООО «Ромашка»")
    b = await add(session, anna, "петр  иванов", company="ооо ромашка")
    await add(session, anna, "Пётр Иванов", company="Лютик")
    c = await add(session, boris, "Петр Иванов", company="ООО Ромашка")
    assert [d.id for d in await svc.likely_duplicates(session, anna, a)] == [b.id]
    assert [d.id for d in await svc.likely_duplicates(session, olga, a)] == [b.id, c.id]


async def test_merge_moves_everything_and_fills_empty_fields(session):
    anna, _, olga = await people(session)
    keep = await add(session, anna, "Пётр Иванов", phones=["+79991234567"], tags=["vip"], company="Ромашка")
    gone = await add(
        session,
        anna,
        "Петр Иванов",
        phones=["+79161112233"],
        email="petr@example.ru",
        telegram_id=777,
        tags=["vip", "b2b"],
        company="Другая",
        position="директор",
        birthday=date(1980, 5, 1),
    )
    gone.last_contact_at = NOW - timedelta(days=1)
    session.add_all(
        [
            Interaction(
                client_id=gone.id,
                author_id=anna.id,
                kind=InteractionKind.call,
                outcome=InteractionOutcome.reached,
                occurred_at=NOW,
                created_at=NOW,
            ),
            Deal(
                client_id=gone.id,
                owner_id=anna.id,
                title="Сделка",
                stage="new",
                amount=Decimal(5),
                currency="RUB",
            ),
            Reminder(
                owner_id=anna.id,
                client_id=gone.id,
                text="позвонить",
                due_at=NOW,
                status=ReminderStatus.pending,
            ),
        ]
    )
    await session.flush()
    with pytest.raises(svc.Stale):
        await merge_service.merge(session, anna, keep.id, gone.id, 99, NOW)
    survivor = await merge_service.merge(session, anna, keep.id, gone.id, 1, NOW)
    assert survivor.id == keep.id and survivor.version == 2
    assert sorted(p.e164 for p in survivor.phones) == ["+79161112233", "+79991234567"]
    assert sorted(t.tag for t in survivor.tags) == ["b2b", "vip"]
    assert survivor.company == "Ромашка"  # kept: it wasn't empty
    assert (survivor.position, survivor.email, survivor.telegram_id) == ("директор", "petr@example.ru", 777)
    assert survivor.birthday == date(1980, 5, 1)
    assert survivor.last_contact_at == NOW - timedelta(days=1)
    await session.refresh(gone)
    assert gone.merged_into_id == keep.id and gone.email is None and gone.version == 2
    for model in (Interaction, Deal, Reminder):
        assert set((await session.scalars(select(model.client_id))).all()) == {keep.id}
    assert await find(session, anna, "другая") == []
    assert await find(session, anna, "petr@example.ru") == ["Пётр Иванов"]
    assert await find(session, anna, "2233") == ["Пётр Иванов"]
    event = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "client.merge"))).one()
    assert event.actor_id == anna.id and event.details["merged"] == gone.id
    assert event.details["other"]["company"] == "Другая"
    assert event.details["moved"]["interactions.client_id"] == 1
    # the merged-away record is gone from every view
    with pytest.raises(DomainError):
        await merge_service.merge(session, olga, keep.id, gone.id, 2, NOW)
    assert [c.id for c in (await svc.list_page(session, anna, svc.ListFilter(), 0, NOW)).items] == [keep.id]
    # a phone of the merged record now leads to the survivor
    with pytest.raises(svc.Duplicate) as e:
        await add(session, anna, "Снова", phones=["+79161112233"])
    assert e.value.existing.id == keep.id


async def test_merging_clients_of_two_owners_gives_the_survivors_owner_the_deals(session):
    anna, boris, olga = await people(session)
    kept = await add(session, anna, "Пётр Орлов", company="Вектор")
    gone = await add(session, boris, "Петр Орлов", company="вектор")
    deal = Deal(client_id=gone.id, owner_id=boris.id, title="Поставка", stage="proposal", currency="RUB")
    reminder = Reminder(
        owner_id=boris.id, client_id=gone.id, text="позвонить", due_at=NOW + timedelta(days=1)
    )
    session.add_all([deal, reminder])
    await session.flush()
    await merge_service.merge(session, olga, kept.id, gone.id, kept.version, NOW)
    await session.refresh(deal)
    await session.refresh(reminder)
    assert (deal.client_id, deal.owner_id) == (kept.id, anna.id)
    assert (reminder.client_id, reminder.owner_id) == (kept.id, anna.id)
    events = (await session.scalars(select(DealEvent.kind).where(DealEvent.deal_id == deal.id))).all()
    assert "owner" in events


async def test_merge_only_what_the_actor_can_see(session):
    anna, boris, _ = await people(session)
    mine = await add(session, anna, "Пётр")
    theirs = await add(session, boris, "Пётр")
    with pytest.raises(DomainError) as e:
        await merge_service.merge(session, anna, mine.id, theirs.id, 1, NOW)
    assert e.value.code == "not_found"
    with pytest.raises(DomainError) as e:
        await merge_service.merge(session, anna, mine.id, mine.id, 1, NOW)
    assert e.value.code == "merge_self"


async def test_a_lone_first_name_is_not_called_a_duplicate(session):
    anna, _, _ = await people(session)
    a = await add(session, anna, "Иван")
    await add(session, anna, "иван")
    assert await svc.likely_duplicates(session, anna, a) == []
    b = await add(session, anna, "Иван", company="Ромашка")
    c = await add(session, anna, "Иван", company="ромашка")
    assert [d.id for d in await svc.likely_duplicates(session, anna, b)] == [c.id]


def test_callback_data_of_the_client_base_fits_64_bytes():

    biggest = 2**63 - 1
    for action in CardAction:
        data = ClientCb(action=action, client_id=biggest, version=2**31 - 1, arg=biggest).pack()
        assert len(data.encode()) <= 64, data
    key = "cf." + "я" * ((DIRECT_KEY_BYTES - 3) // 2)
    assert len(key.encode()) <= DIRECT_KEY_BYTES
    assert len(PageCb(key=key, page=2**31 - 1).pack().encode()) <= 64
    assert len(PageCb(key="#cf" + "f" * 12, page=2**31 - 1).pack().encode()) <= 64
    for step in ("add_name", "add_phone", "add_email", "add_company", "add_tags", "find", "edit"):
        assert len(ChoiceCb(step=step, value="cancel").pack().encode()) <= 64


def test_vcard_entries_read_names_orgs_and_reasons():

    today = date(2026, 3, 10)
    name, data = vcard.entry(
        "BEGIN:VCARD\nVERSION:3.0\nN:Петров;Иван;;;\nTEL;TYPE=WORK:tel:+7-999-123-45-67\n"
        "ORG:Ромашка;Отдел продаж\nBDAY:1985-04-12\nNOTE:любит чай\nEND:VCARD",
        "RU",
        today,
    )
    assert name == "Иван Петров"
    assert (data.phones, data.company, data.birthday, data.note) == (
        ["+79991234567"],
        "Ромашка Отдел продаж",
        date(1985, 4, 12),
        "любит чай",
    )
    only_org = vcard.entry("BEGIN:VCARD\nVERSION:3.0\nFN:\nORG:ООО Лютик\nEND:VCARD", "RU", today)[1]
    assert only_org.name == "ООО Лютик"
    with pytest.raises(DomainError) as e:
        vcard.entry("BEGIN:VCARD\nVERSION:3.0\nFN:Кто-то\nEMAIL:not-an-email\nEND:VCARD", "RU", today)
    assert e.value.code == "bad_email" and e.value.params["contact"] == "Кто-то"
    assert vcard.split_cards("garbage") == []
    crlf = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:B\r\nEND:VCARD\r\n"
    assert len(vcard.split_cards(crlf)) == 2


async def test_vcf_import_is_one_transaction_with_a_savepoint_per_contact(session):

    anna, _, _ = await people(session)
    text = "".join(
        f"BEGIN:VCARD\nVERSION:3.0\nFN:Контакт {i}\nTEL:+7 916 000-00-{i % 3:02d}\nEND:VCARD\n"
        for i in range(6)
    )
    report = await vcard.import_vcf(session, anna, text.encode(), NOW, RU)
    assert (report.total, len(report.added), len(report.known), len(report.rejected)) == (6, 3, 3, 0)
    assert all(dup.visible for _, dup in report.known)
    with pytest.raises(DomainError) as e:
        await vcard.import_vcf(session, anna, b"x" * (vcard.MAX_BYTES + 1), NOW, RU)
    assert e.value.code == "vcf_too_big"
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(Client)) == 0


async def test_the_rarest_word_drives_the_search(session):
    anna, _, _ = await people(session)
    for i in range(12):
        await add(session, anna, f"Клиент {i}", company=f"Компания {i}")
    ranked = await search.by_selectivity(session, ["компания", "11"], anna.id)
    assert ranked == ["11", "компания"]
    assert await search.by_selectivity(session, ["компания", "нетаких"], anna.id) is None
    assert await find(session, anna, "компания 11") == ["Клиент 11"]
    assert sorted(await find(session, anna, "компания 1")) == ["Клиент 1", "Клиент 10", "Клиент 11"]


def test_the_fullest_card_and_edit_prompt_fit_in_a_message():

    def full(i: int) -> Client:
        return Client(
            id=i,
            name="Я" * 200,
            company="&" * 200,
            position="<" * 200,
            source="s" * 100,
            email=("e" * 64 + "@" + "d" * 180 + ".ru"),
            birthday=date(1990, 1, 1),
            timezone="America/Argentina/ComodRivadavia",
            language="en",
            note="н" * 4000,
            status=ClientStatus.prospect,
            owner_id=1,
            version=1,
            created_at=NOW,
            last_contact_at=NOW,
            phones=[ClientPhone(e164=f"+7999123456{k}") for k in range(10)],
            tags=[ClientTag(tag=f"{k:02d}" + "т" * 48) for k in range(20)],
        )

    owner = User(id=1, first_name="O" * 128, last_name="W" * 128, role=Role.manager)
    reminder = Reminder(text="r" * 1000, due_at=NOW)
    deals = OpenSummary(
        count=99, sums={"RUB": Decimal("999999999999.99"), "USD": Decimal(5), "EUR": Decimal(7)}
    )
    data = svc.CardData(full(1), owner, reminder, deals, [full(2), full(3)])
    i18n = create_i18n("ru")
    with i18n.context(), i18n.use_locale("ru"):
        text = "✅ Сохранено.\n\n" + views.card_text(data, "Europe/Moscow", "ru")
        assert visible_length(text) <= MESSAGE_LIMIT
        assert "📝 Заметка:" in text  # shortened, not dropped
        for name in svc.EDITABLE:
            if name not in ("phones", "status"):
                prompt = "Слишком длинно: 4001 символов, можно не больше 4000. Пришлите текст короче.\n\n"
                prompt += views.edit_prompt(name, data.client, "Europe/Moscow", "ru")
                assert visible_length(prompt) <= MESSAGE_LIMIT, name
