"""The manager workspace's cost per update, counted rather than timed (issue 3's 1M-client target).

Counting is free of noise: /find, the card button and /today each take one connection, four
statements (dialog state, the sender, the work itself, and the record that the update was handled,
so a redelivery after a crash is skipped) and a commit, on SQLite and PostgreSQL. Also:
no filter runs in a worker thread, the likely-duplicates key follows every write of a name or a
company, and migration 0006 fills it for clients that exist already.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import column as sql_column
from sqlalchemy import event, insert, select, table, text
from sqlalchemy.engine.url import make_url

from bot.db import create_engine
from bot.migrate import upgrade
from models.clients import Client
from models.users import Role, User
from services import card as card_service
from services import clients as svc
from services import deals as deals_service
from services import merge as merge_service
from services import reminders as reminders_service
from services.search import duplicate_key
from tests.support.db import postgres_url, unavailable
from tests.support.people import add_user, manager_via_invite
from tests.support.workspace import card_cb

ANNA = 200
STATEMENTS = 4  # dialog state, the sender, the work, the handled update

RU = "RU"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@contextmanager
def counting(app):
    """Statements and connection checkouts while the block runs."""
    seen = {"statements": [], "checkouts": 0}

    def statement(conn, cursor, sql, parameters, context, executemany):
        seen["statements"].append(sql.split()[0].upper() + " " + sql[:80])

    def checkout(*_args):
        seen["checkouts"] += 1

    sync_engine = app.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", statement)
    event.listen(sync_engine.pool, "checkout", checkout)
    try:
        yield seen
    finally:
        event.remove(sync_engine, "before_cursor_execute", statement)
        event.remove(sync_engine.pool, "checkout", checkout)


async def seed_anna(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, ANNA, "Anna")
    async with app.session_factory() as s, s.begin():
        user = await s.get(User, ANNA)
        now = app.clock.now()
        data = svc.ClientData(
            name="Иван Петров", phones=["+79991234567"], company="ООО «Ромашка»", tags=["vip"]
        )
        ivan = await svc.create(s, user, data, now)
        twin = await svc.create(s, user, svc.ClientData(name="иван петров", company="ооо ромашка"), now)
        for i in range(12):
            await svc.create(
                s, user, svc.ClientData(name=f"Пётр Петров{i}", phones=[f"+7916000{i:04d}"]), now
            )
        draft = deals_service.Draft(title="Поставка", stage="proposal", amount=Decimal("150000"))
        deal = await deals_service.create(s, user, ivan.id, draft, app.settings.deal_stages, now)
        await reminders_service.create(s, ANNA, "Позвонить", now + timedelta(hours=2), now, client_id=ivan.id)
        await reminders_service.create(s, ANNA, "Вчерашнее", now - timedelta(days=1), now, client_id=twin.id)
    return anna, ivan.id, twin.id, deal.id


async def test_find_card_and_today_are_four_statements_on_one_connection(app, tg, admin):
    anna, ivan, _twin, _deal = await seed_anna(app, tg, admin)

    with counting(app) as seen:
        found = await anna.send("/find петров")
    assert "Найдено" in found.last.text and found.last.labels[-2:] == ["1", "▶"]  # 8 a page, more behind
    assert seen["checkouts"] == 1, seen
    assert len(seen["statements"]) == STATEMENTS, seen["statements"]

    with counting(app) as seen:
        card = (await anna.press_data(card_cb("open", ivan), message=found.last)).last
    assert seen["checkouts"] == 1, seen
    assert len(seen["statements"]) == STATEMENTS, seen["statements"]
    # everything the card shows came with that one statement
    assert "+7 999 123-45-67" in card.text and "#vip" in card.text
    assert "Позвонить" in card.text  # the next reminder
    assert "Открытых сделок: 1" in card.text and "150\xa0000" in card.text
    assert "Похоже на дубликат" in card.text and any(label.startswith("🔀") for label in card.labels)

    with counting(app) as seen:
        today = (await anna.send("/today")).last
    assert seen["checkouts"] == 1, seen
    assert len(seen["statements"]) == STATEMENTS, seen["statements"]
    assert "Вчерашнее" in today.text and "Позвонить" in today.text

    with counting(app) as seen:  # one match: the card itself, one more statement
        single = (await anna.send("/find 4567")).last
    assert "Иван Петров" in single.text and "Позвонить" in single.text
    assert len(seen["statements"]) == STATEMENTS + 1, seen["statements"]


async def test_another_managers_card_is_not_found_in_one_statement(app, tg, admin):
    _anna, ivan, _twin, _deal = await seed_anna(app, tg, admin)
    boris = await manager_via_invite(app, tg, admin, ANNA + 1, "Boris")
    menu = (await boris.send("/start")).last
    with counting(app) as seen:
        replies = await boris.press_data(card_cb("open", ivan), message=menu)
    assert replies.callback_answer is not None and "Не найдено" in replies.callback_answer.text
    assert len(seen["statements"]) == STATEMENTS and seen["checkouts"] == 1


async def test_no_filter_waits_for_a_worker_thread(app):
    plain = []
    for router in app.dp.chain_tail:
        for name, observer in router.observers.items():
            for handler in (observer._handler, *observer.handlers):
                plain += [(router.name, name) for f in handler.filters or () if not f.awaitable]
    assert plain == []


async def test_the_duplicate_key_follows_names_companies_and_merges(session):
    anna = await add_user(session, 1, "Anna", role=Role.manager, created_at=NOW)
    now = NOW
    a = await svc.create(session, anna, svc.ClientData(name="Пётр Иванов", company="Ромашка"), now)
    b = await svc.create(session, anna, svc.ClientData(name="Петр Сидоров"), now)
    lone = await svc.create(session, anna, svc.ClientData(name="Пётр"), now)
    assert a.dup_key == duplicate_key("петр иванов", "ромашка") and lone.dup_key is None
    assert await svc.likely_duplicates(session, anna, a) == []

    await svc.set_field(session, anna, b, b.version, "name", "пётр  иванов", now, region=RU, today=now.date())
    assert b.dup_key == duplicate_key("Пётр Иванов", None)
    assert await svc.likely_duplicates(session, anna, a) == []  # no company yet
    await svc.set_field(session, anna, b, b.version, "company", "«Ромашка»", now, region=RU, today=now.date())
    assert b.dup_key == a.dup_key
    assert [d.id for d in await svc.likely_duplicates(session, anna, a)] == [b.id]
    data = await card_service.card(session, anna, a)
    assert [(d.id, d.name) for d in data.duplicates] == [(b.id, "пётр иванов")]

    # merging fills the survivor's empty company from the other: its key follows
    c = await svc.create(session, anna, svc.ClientData(name="Анна Смирнова"), now)
    d = await svc.create(session, anna, svc.ClientData(name="Анна Смирнова", company="Вектор"), now)
    await merge_service.merge(session, anna, c.id, d.id, c.version, now)
    assert c.company == "Вектор" and c.dup_key == duplicate_key("Анна Смирнова", "Вектор")
    assert await svc.likely_duplicates(session, anna, c) == []  # the merged-away record doesn't count
    stored = await session.scalar(select(Client.dup_key).where(Client.id == c.id))
    assert stored == c.dup_key


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_migration_0006_fills_the_key_of_existing_clients(backend, tmp_path):
    if backend == "sqlite":
        url, admin = f"sqlite+aiosqlite:///{tmp_path}/m.sqlite3", None
    else:
        base = make_url(postgres_url())
        fresh = f"{base.database}_dupkey"
        admin = create_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}"'))
                await conn.execute(text(f'CREATE DATABASE "{fresh}"'))
        except Exception as e:
            await admin.dispose()
            unavailable("PostgreSQL", e)
        url = base.set(database=fresh).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        await upgrade(engine, "0005")
        users = table(
            "users",
            *(sql_column(c) for c in ("id", "role", "is_active", "first_name", "created_at", "updated_at")),
        )
        clients = table(
            "clients",
            *(sql_column(c) for c in ("id", "name", "company", "status", "owner_id", "version")),
            *(sql_column(c) for c in ("created_at", "updated_at")),
        )
        names = [("Иван Петров", "ООО «Ромашка»"), ("ИВАН петров", "ооо ромашка"), ("Иван", None)]
        async with engine.begin() as conn:
            now = NOW
            at = now.replace(tzinfo=None) if backend == "sqlite" else now
            await conn.execute(
                insert(users).values(
                    id=1, role="manager", is_active=True, first_name="A", created_at=at, updated_at=at
                )
            )
            await conn.execute(
                insert(clients),
                [
                    {"id": i, "name": n, "company": c, "status": "prospect", "owner_id": 1, "version": 1}
                    | {"created_at": at, "updated_at": at}
                    for i, (n, c) in enumerate(names, start=1)
                ],
            )
        await upgrade(engine)
        async with engine.connect() as conn:
            keys = (await conn.execute(text("SELECT dup_key FROM clients ORDER BY id"))).scalars().all()
        assert keys == [duplicate_key("Иван Петров", "ООО «Ромашка»")] * 2 + [None]
    finally:
        await engine.dispose()
        if admin is not None:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}"'))
            await admin.dispose()
