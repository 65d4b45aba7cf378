"""Deals service: amounts, creation, stage changes with the version guard, the pipeline in one query,
index-driven lists, history, the stale-deal selection and access."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, insert, select, text

from bot.callbacks import ChoiceCb, ClientCb, DealCb, PipelineCb
from models.deals import Deal, DealEvent
from models.reminders import Reminder
from models.users import Role, User
from services import deals
from services.deals import Draft, parse_amount
from services.errors import DomainError, NotFound
from tests.support.db import query_plans
from tests.support.people import add_client_row, add_user

STAGES = ("new", "qualification", "proposal", "negotiation", "won", "lost")
NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


# --- amounts ---


@pytest.mark.parametrize(
    ("typed", "amount", "currency"),
    [
        ("150000", "150000", "RUB"),
        ("150 000 ₽", "150000", "RUB"),
        ("150\u00a0000\u00a0₽", "150000", "RUB"),
        ("1 500,50 USD", "1500.50", "USD"),
        ("$2,000", "2000", "USD"),
        ("$ 2,000.5", "2000.50", "USD"),
        ("2 000 000,5", "2000000.50", "RUB"),
        ("1.500.000", "1500000", "RUB"),
        ("1.234,56 €", "1234.56", "EUR"),
        ("€1,234.56", "1234.56", "EUR"),
        ("1'000 CHF", "1000", "CHF"),
        ("100 usd", "100", "USD"),
        ("EUR 99.90", "99.90", "EUR"),
        ("5000 руб.", "5000", "RUB"),
        ("7 тенге", "7", "KZT"),
        ("1,5", "1.50", "RUB"),
        ("0", "0", "RUB"),
        ("-0", "0", "RUB"),
        ("999 999 999 999,99", "999999999999.99", "RUB"),
    ],
)
def test_amounts_people_type(typed: str, amount: str, currency: str):
    assert parse_amount(typed, "RUB") == (Decimal(amount).quantize(Decimal("0.01")), currency)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("сто", "amount_invalid"),
        ("", "amount_invalid"),
        ("1,5000", "amount_invalid"),
        ("1,2,3", "amount_invalid"),
        ("12,34,567", "amount_invalid"),
        ("1.2.3,4,5", "amount_invalid"),
        ("1e5", "amount_invalid"),
        ("1,234.567", "amount_invalid"),
        ("١٢٣", "amount_invalid"),
        ("5 $ 6", "amount_invalid"),
        ("$5 USD", "amount_invalid"),
        ("-5", "amount_negative"),
        ("− 100 ₽", "amount_negative"),
        ("1 000 000 000 000", "amount_too_large"),
        ("999 999 999 999,999", "amount_invalid"),
        ("100 XYZ", "currency_unknown"),
        ("100 тугриков", "currency_unknown"),
        ("150к", "currency_unknown"),
    ],
)
def test_amounts_that_are_refused(typed: str, code: str):
    with pytest.raises(DomainError) as e:
        parse_amount(typed, "RUB")
    assert e.value.code == code


@pytest.mark.parametrize(
    "data",
    [
        DealCb(action="history", deal_id=2**63 - 1, version=2**31 - 1, arg=99999),
        DealCb(action="stage", deal_id=2**63 - 1, version=2**31 - 1, arg=11),
        ClientCb(action="newdeal", client_id=2**63 - 1, version=2**31 - 1, page=9999),
        ClientCb(action="deals", client_id=2**63 - 1, version=2**31 - 1, page=99999),
        PipelineCb(scope="mine", stage=11, page=99999),
        ChoiceCb(step="nd.client", value=str(2**63 - 1)),
        ChoiceCb(step="de.amount", value="clear"),
    ],
)
def test_callback_data_fits_64_bytes(data):
    assert len(data.pack().encode()) <= 64


def test_default_currency_applies_without_one():
    assert parse_amount("10", "USD") == (Decimal("10.00"), "USD")


def test_titles_and_texts():
    assert deals.clean_title("  Поставка \n станков  ") == "Поставка станков"
    with pytest.raises(DomainError) as e:
        deals.clean_title("   ")
    assert e.value.code == "empty"
    with pytest.raises(DomainError) as e:
        deals.clean_title("x" * 201)
    assert (e.value.code, e.value.params["limit"]) == ("too_long", 200)
    assert deals.clean_title("x" * 200) == "x" * 200


# --- the database ---


@pytest.fixture
async def people(session):
    """An admin, two managers and a client of each manager; returns them by name."""
    admin = await add_user(session, 1, "Olga", role=Role.admin)
    anna = await add_user(session, 2, "Anna", role=Role.manager)
    boris = await add_user(session, 3, "Boris", role=Role.manager)
    ivan = await add_client_row(
        session, anna.id, "Иван Петров", search_terms=True, company="Ромашка", created_at=NOW, updated_at=NOW
    )
    petr = await add_client_row(
        session, boris.id, "Пётр Сидоров", search_terms=True, created_at=NOW, updated_at=NOW
    )
    await session.commit()
    return {"admin": admin, "anna": anna, "boris": boris, "ivan": ivan, "petr": petr}


async def new_deal(session, user, client, title="Поставка", now=NOW, **kw) -> Deal:
    kw.setdefault("stage", "new")
    deal = await deals.create(session, user, client.id, Draft(title=title, **kw), STAGES, now)
    await session.commit()
    return deal


async def test_create_records_the_event_and_the_next_step(session, people):
    anna, ivan = people["anna"], people["ivan"]
    deal = await deals.create(
        session,
        anna,
        ivan.id,
        Draft(title=" Поставка ", stage="proposal", amount=Decimal("10.50"), currency="USD"),
        STAGES,
        NOW,
        step=("Позвонить", NOW + timedelta(days=1)),
    )
    await session.commit()
    assert (deal.title, deal.owner_id, deal.created_by, deal.version) == ("Поставка", anna.id, anna.id, 1)
    assert deal.last_activity_at == NOW and deal.closed_at is None
    event_row = await session.scalar(select(DealEvent).where(DealEvent.deal_id == deal.id))
    assert (event_row.kind, event_row.actor_id, event_row.new_value) == ("created", anna.id, "Поставка")
    assert event_row.details["amount"] == "10.50 USD" and event_row.details["stage"] == "proposal"
    reminder = await session.scalar(select(Reminder))
    assert (reminder.deal_id, reminder.client_id, reminder.text) == (deal.id, ivan.id, "Позвонить")


async def test_create_is_refused_for_bad_stages_and_other_managers_clients(session, people):
    anna, boris, ivan = people["anna"], people["boris"], people["ivan"]
    for stage in ("lost", "nonsense"):
        with pytest.raises(DomainError) as e:
            await deals.create(session, anna, ivan.id, Draft(title="x", stage=stage), STAGES, NOW)
        assert e.value.code == "deal_bad_stage"
    with pytest.raises(NotFound):
        await deals.create(session, boris, ivan.id, Draft(title="x", stage="new"), STAGES, NOW)
    with pytest.raises(DomainError):
        await deals.create(
            session, anna, ivan.id, Draft(title="x", stage="new", amount=Decimal(-1)), STAGES, NOW
        )
    await session.rollback()
    assert await session.scalar(select(Deal)) is None


async def test_an_admin_creates_a_deal_that_belongs_to_the_clients_owner(session, people):
    deal = await new_deal(session, people["admin"], people["ivan"], stage="won")
    assert deal.owner_id == people["anna"].id and deal.created_by == people["admin"].id
    assert deal.closed_at == NOW  # created as won


async def test_stage_changes_close_reopen_and_are_guarded_by_the_version(session, people):
    anna = people["anna"]
    deal = await new_deal(session, anna, people["ivan"])
    later = NOW + timedelta(days=3)
    deal.nudged_at = NOW
    await session.commit()

    await deals.change_stage(session, anna, deal.id, 1, "proposal", STAGES, later)
    assert (deal.stage, deal.version, deal.last_activity_at, deal.nudged_at) == ("proposal", 2, later, None)
    with pytest.raises(DomainError) as e:  # a stale button
        await deals.change_stage(session, anna, deal.id, 1, "won", STAGES, later)
    assert e.value.code == "deal_changed"
    with pytest.raises(DomainError) as e:
        await deals.change_stage(session, anna, deal.id, 2, "proposal", STAGES, later)
    assert e.value.code == "deal_same_stage"
    with pytest.raises(DomainError) as e:
        await deals.change_stage(session, anna, deal.id, 2, "archived", STAGES, later)
    assert e.value.code == "deal_bad_stage"
    with pytest.raises(DomainError) as e:  # lost needs a reason
        await deals.change_stage(session, anna, deal.id, 2, "lost", STAGES, later, reason="  ")
    assert e.value.code == "empty"

    await deals.change_stage(session, anna, deal.id, 2, "lost", STAGES, later, reason="Дорого")
    assert (deal.stage, deal.lost_reason, deal.closed_at) == ("lost", "Дорого", later)
    await deals.change_stage(session, anna, deal.id, 3, "won", STAGES, later + timedelta(hours=1))
    assert (deal.lost_reason, deal.closed_at) == (None, later + timedelta(hours=1))
    await deals.change_stage(session, anna, deal.id, 4, "new", STAGES, later)
    assert deal.closed_at is None and deal.version == 5
    await session.commit()
    rows = (
        await session.scalars(select(DealEvent).where(DealEvent.deal_id == deal.id).order_by(DealEvent.id))
    ).all()
    assert [(r.kind, r.old_value, r.new_value) for r in rows] == [
        ("created", None, "Поставка"),
        ("stage", "new", "proposal"),
        ("stage", "proposal", "lost"),
        ("lost_reason", None, "Дорого"),
        ("stage", "lost", "won"),
        ("lost_reason", "Дорого", None),
        ("stage", "won", "new"),
    ]
    assert rows[-1].details == {"reopened": True} and all(r.actor_id == anna.id for r in rows)


async def test_another_manager_can_neither_see_nor_change_a_deal(session, people):
    deal = await new_deal(session, people["anna"], people["ivan"])
    boris = people["boris"]
    for call in (
        deals.visible_deal(session, boris, deal.id),
        deals.change_stage(session, boris, deal.id, 1, "won", STAGES, NOW),
        deals.set_title(session, boris, deal.id, 1, "Мой", NOW),
        deals.history(session, boris, deal.id),
        deals.client_deals(session, boris, people["ivan"].id),
    ):
        with pytest.raises(NotFound):
            await call
    await deals.visible_deal(session, people["admin"], deal.id)  # admins see everything
    await session.refresh(deal)
    assert (deal.stage, deal.title, deal.version) == ("new", "Поставка", 1)


async def test_edits_are_recorded_and_a_no_change_is_not(session, people):
    anna = people["anna"]
    deal = await new_deal(session, anna, people["ivan"])
    await deals.set_title(session, anna, deal.id, 1, "Поставка", NOW)  # the same: nothing happens
    assert deal.version == 1
    await deals.set_title(session, anna, deal.id, 1, "Поставка 2", NOW)
    await deals.set_amount(session, anna, deal.id, 2, Decimal("5"), "EUR", NOW)
    await deals.set_amount(session, anna, deal.id, 3, None, None, NOW)
    await deals.set_expected_close(session, anna, deal.id, 4, date(2026, 5, 1), NOW)
    with pytest.raises(DomainError):
        await deals.set_expected_close(session, anna, deal.id, 4, None, NOW)
    await session.commit()
    deal_, page = await deals.history(session, anna, deal.id)
    assert [(e.kind, e.old_value, e.new_value) for e, _ in page.items] == [
        ("close_date", None, "2026-05-01"),
        ("amount", "5.00 EUR", None),
        ("amount", None, "5.00 EUR"),
        ("title", "Поставка", "Поставка 2"),
        ("created", None, "Поставка"),
    ]
    assert all(actor == "Anna" for _, actor in page.items)
    assert deal.currency == "EUR" and deal.amount is None and deal_.version == 5


async def test_the_pipeline_is_one_group_by_with_sums_per_currency(session, people, engine):
    anna, admin = people["anna"], people["admin"]
    await new_deal(session, anna, people["ivan"], amount=Decimal("100.50"), currency="RUB")
    await new_deal(session, anna, people["ivan"], amount=Decimal("200"), currency="RUB")
    await new_deal(session, anna, people["ivan"], amount=Decimal("7"), currency="USD")
    await new_deal(session, anna, people["ivan"])  # no amount
    await new_deal(session, people["boris"], people["petr"], stage="won", amount=Decimal(1), currency="RUB")
    await session.execute(text("UPDATE deals SET stage = 'archived' WHERE currency = 'USD'"))
    await session.commit()

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        mine = await deals.pipeline(session, anna.id, STAGES)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "GROUP BY" in statements[0]
    by_stage = {row.stage: row for row in mine}
    assert list(by_stage) == [*STAGES, "archived"]  # a stage no longer configured still shows
    assert (by_stage["new"].count, by_stage["new"].sums) == (3, {"RUB": Decimal("300.50")})
    assert (by_stage["archived"].count, by_stage["archived"].sums) == (1, {"USD": Decimal("7")})
    assert by_stage["won"].count == 0
    everyone = {row.stage: row for row in await deals.pipeline(session, None, STAGES)}
    assert (everyone["won"].count, everyone["won"].sums) == (1, {"RUB": Decimal("1")})
    assert admin  # the admin's own deals are none


async def test_stage_lists_are_paged_most_recently_active_first(session, people):
    anna = people["anna"]
    ids = []
    for i in range(10):
        ids.append(
            (await new_deal(session, anna, people["ivan"], f"D{i}", now=NOW + timedelta(minutes=i))).id
        )
    await new_deal(session, people["boris"], people["petr"], "Чужая", now=NOW + timedelta(hours=1))
    first = await deals.stage_deals(session, anna.id, "new", 0)
    assert first.total == 10 and first.pages == 2
    assert [d.id for d, _name in first.items] == ids[::-1][:8]
    assert {name for _d, name in first.items} == {"Иван Петров"}
    last = await deals.stage_deals(session, anna.id, "new", 99)  # past the end: the last page
    assert last.page == 1 and [d.id for d, _ in last.items] == ids[1::-1]
    everyone = await deals.stage_deals(session, None, "new", 0)
    assert everyone.total == 11 and everyone.items[0][0].title == "Чужая"
    assert (await deals.stage_deals(session, anna.id, "won", 0)).total == 0


async def test_stage_lists_read_the_index_in_order(session, people, engine):
    """A manager's stage list is a range of (owner_id, stage, last_activity_at), everyone's of
    (stage, last_activity_at): no sort, no full scan."""
    anna, boris = people["anna"], people["boris"]
    for i in range(3):
        await new_deal(session, anna, people["ivan"], f"D{i}", now=NOW + timedelta(minutes=i))
    other = {"client_id": people["petr"].id, "owner_id": boris.id, "currency": "RUB", "version": 1}
    rows = [
        {**other, "title": f"B{i}", "stage": STAGES[i % 4], "last_activity_at": NOW - timedelta(hours=i)}
        for i in range(400)
    ]
    await session.execute(insert(Deal), rows)
    await session.commit()
    if engine.dialect.name == "postgresql":
        await session.execute(text("ANALYZE deals"))
    else:
        await session.execute(text("ANALYZE"))
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, *args):
        if "ORDER BY deals.last_activity_at DESC" in statement:
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        await deals.stage_deals(session, anna.id, "new", 0)
        await deals.stage_deals(session, None, "new", 0)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    assert len(captured) == 2
    plans = await query_plans(session, captured)
    mine, everyone = plans
    assert "ix_deals_owner_stage_activity" in mine, mine
    assert "ix_deals_stage_activity" in everyone, everyone
    for plan in plans:
        assert "TEMP B-TREE" not in plan and "Sort" not in plan.replace("Sort Key", ""), plan


async def test_client_deals_open_first(session, people):
    anna, ivan = people["anna"], people["ivan"]
    won = await new_deal(session, anna, ivan, "Старая", stage="won")
    fresh = await new_deal(session, anna, ivan, "Новая", now=NOW + timedelta(minutes=1))
    older = await new_deal(session, anna, ivan, "Ранняя", now=NOW - timedelta(minutes=1))
    client, page = await deals.client_deals(session, anna, ivan.id)
    assert client.id == ivan.id and [d.id for d in page.items] == [fresh.id, older.id, won.id]
    summary = await deals.open_summary(session, ivan.id)
    assert summary.count == 2


async def test_quiet_deals_are_found_once_until_something_happens(session, people):
    anna, ivan = people["anna"], people["ivan"]
    quiet = await new_deal(session, anna, ivan, "Тихая")
    await new_deal(session, anna, ivan, "Закрытая", stage="won")
    await new_deal(session, anna, ivan, "Свежая", now=NOW + timedelta(days=2))
    later = NOW + timedelta(days=7)
    assert [(i, at) for i, at, _tz in await deals.stale_deals(session, later, 7)] == [(quiet.id, NOW)]
    assert await deals.stale_deals(session, later - timedelta(seconds=1), 7) == []
    assert deals.nudge_key(quiet.id, NOW) == f"nudge:{quiet.id}:2026-03-10T07:00:00+00:00"

    await deals.mark_nudged(session, quiet, later, 7)
    await session.commit()
    assert await deals.stale_deals(session, later + timedelta(days=30), 7) != []  # the other one
    assert quiet.id not in [i for i, *_ in await deals.stale_deals(session, later + timedelta(days=30), 7)]

    await deals.touch_client_deals(session, ivan.id, later)  # a logged contact
    await session.commit()
    await session.refresh(quiet)
    assert quiet.nudged_at is None and quiet.last_activity_at == later
    found = await deals.stale_deals(session, later + timedelta(days=7), 7)
    assert quiet.id in [i for i, *_ in found]


async def test_find_clients_sees_only_the_managers_own(session, people):
    anna, admin = people["anna"], people["admin"]
    clients, more = await deals.find_clients(session, anna, "пет", "RU")
    assert [c.name for c in clients] == ["Иван Петров"] and not more
    assert (await deals.find_clients(session, anna, "сидоров", "RU"))[0] == []
    assert {c.name for c in (await deals.find_clients(session, admin, "пет", "RU"))[0]} == {
        "Иван Петров",
        "Пётр Сидоров",
    }
    assert (await deals.find_clients(session, anna, "  ", "RU"))[0] == []


async def test_two_people_pressing_stage_buttons_at_once_change_it_once(pg_engine):
    """On PostgreSQL, truly concurrently: the version compare-and-set lets exactly one through."""
    from bot.db import create_session_factory

    factory = create_session_factory(pg_engine)
    async with factory() as s:
        anna = await add_user(s, 2, "Anna", role=Role.manager)
        ivan = await add_client_row(s, 2, "Иван", created_at=NOW, updated_at=NOW)
        deal = await deals.create(s, anna, ivan.id, Draft(title="x", stage="new"), STAGES, NOW)
        await s.commit()
        deal_id = deal.id

    async def press(stage: str) -> str:
        async with factory() as s, s.begin():
            user = await s.get(User, 2)
            try:
                await deals.change_stage(s, user, deal_id, 1, stage, STAGES, NOW)
                await asyncio.sleep(0.2)  # hold the row while the other one tries
            except DomainError as e:
                return e.code
            return "ok"

    results = await asyncio.gather(press("won"), press("proposal"))
    assert sorted(results) == ["deal_changed", "ok"]
    async with factory() as s:
        deal = await s.get(Deal, deal_id)
        assert deal.version == 2
        kinds = (await s.scalars(select(DealEvent.kind).where(DealEvent.deal_id == deal_id))).all()
        assert list(kinds).count("stage") == 1
