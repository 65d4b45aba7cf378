"""An empty database upgrades to head, and the models match the migrations, on both backends; instances
started together on a fresh PostgreSQL database all come up, one migrating while the others wait."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine.url import make_url

from bot.db import create_engine
from bot.migrate import ROOT, alembic_config, upgrade
from models import Base
from models.users import User
from tests.support.db import postgres_url, unavailable
from tests.support.people import add_user

INSTANCES = 6
INSTANCE = """
import asyncio, sys
from bot.db import create_engine
from bot.migrate import upgrade

async def main(url):
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()

asyncio.run(main(sys.argv[1]))
"""


def _diff(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def _check_at_head(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            assert set(Base.metadata.tables) <= tables
            assert "alembic_version" in tables
            assert await conn.run_sync(_diff) == []
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        assert versions == [ScriptDirectory.from_config(alembic_config()).get_current_head()]
    finally:
        await engine.dispose()


async def _upgrade(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _check_fresh_database(url: str) -> None:
    await _upgrade(url)
    await _check_at_head(url)
    await _upgrade(url)  # a second run is a no-op
    await _check_at_head(url)


@pytest.fixture
async def fresh_pg_url() -> AsyncIterator[str]:
    """A new, uniquely named PostgreSQL database on the test server, dropped afterwards."""
    url = make_url(postgres_url())
    admin = create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    name = f"crm_migrations_{uuid.uuid4().hex[:12]}"
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:
        await admin.dispose()
        unavailable("PostgreSQL", e)
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_sqlite_empty_database_to_head(tmp_path):
    await _check_fresh_database(f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3")


async def test_postgres_empty_database_to_head(fresh_pg_url):
    await _check_fresh_database(fresh_pg_url)


async def _weekly_sums_filled_from_rolled_days(url: str) -> None:
    """0013 splits the contacts by kind and by outcome and fills report_weekly from the days rolled before
    it: each week's sums."""
    types = dict(day=sa.Date, week=sa.Date, month=sa.Date, manager_id=sa.BigInteger, metric=sa.String)
    types.update(key=sa.String, count=sa.Integer, amount=sa.Numeric(18, 2))
    daily = sa.table("report_daily", *(sa.column(name, t) for name, t in types.items()))
    weekly = sa.table("report_weekly", *(sa.column(name, types[name]) for name in types if name != "day"))
    march, key = date(2026, 3, 1), "call:reached"
    rows = [  # Monday 2 March, Sunday 8 March (its week) and Monday 9 March 2026
        (date(2026, 3, 2), date(2026, 3, 2), 200, 2, Decimal("10.50")),
        (date(2026, 3, 8), date(2026, 3, 2), 200, 3, Decimal("1.25")),
        (date(2026, 3, 8), date(2026, 3, 2), 201, 1, Decimal(0)),
        (date(2026, 3, 9), date(2026, 3, 9), 200, 4, Decimal(0)),
    ]
    engine = create_engine(url)
    try:
        await upgrade(engine, "0012")
        async with engine.begin() as conn:
            await conn.execute(
                daily.insert(),
                [
                    dict(
                        day=d,
                        week=w,
                        month=march,
                        manager_id=m,
                        metric="contacts",
                        key=key,
                        count=n,
                        amount=a,
                    )
                    for d, w, m, n, a in rows
                ],
            )
        await upgrade(engine)
        async with engine.connect() as conn:
            c = weekly.c
            q = sa.select(c.week, c.month, c.manager_id, c.metric, c.key, c.count, c.amount)
            got = [tuple(r) for r in await conn.execute(q.order_by(c.week, c.manager_id, c.metric))]
        # "contacts" keyed kind:outcome became "contacts" by kind and "outcomes" by outcome
        assert got == [
            (date(2026, 3, 2), march, 200, "contacts", "call", 5, Decimal(0)),
            (date(2026, 3, 2), march, 200, "outcomes", "reached", 5, Decimal(0)),
            (date(2026, 3, 2), march, 201, "contacts", "call", 1, Decimal(0)),
            (date(2026, 3, 2), march, 201, "outcomes", "reached", 1, Decimal(0)),
            (date(2026, 3, 9), march, 200, "contacts", "call", 4, Decimal(0)),
            (date(2026, 3, 9), march, 200, "outcomes", "reached", 4, Decimal(0)),
        ]
    finally:
        await engine.dispose()


async def test_sqlite_weekly_sums_filled_from_rolled_days(tmp_path):
    await _weekly_sums_filled_from_rolled_days(f"sqlite+aiosqlite:///{tmp_path}/weekly.sqlite3")


async def test_postgres_weekly_sums_filled_from_rolled_days(fresh_pg_url):
    await _weekly_sums_filled_from_rolled_days(fresh_pg_url)


async def _instance(url: str) -> tuple[int, str]:
    """One process that migrates the database the way `python main.py` does at start."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        INSTANCE,
        url,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


async def test_postgres_instances_started_together_all_migrate(fresh_pg_url):
    """Several processes upgrade a fresh database at the same moment: one takes the migration lock,
    the others wait for its commit and find nothing left to do; none fails."""
    async with asyncio.timeout(120):
        results = await asyncio.gather(*(_instance(fresh_pg_url) for _ in range(INSTANCES)))
    assert [out for code, out in results if code != 0] == []
    await _check_at_head(fresh_pg_url)


async def test_sqlite_is_configured_for_concurrency(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/p.sqlite3")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
    finally:
        await engine.dispose()


@pytest.mark.parametrize("value", [9007199254740993, -1001234567890123])
async def test_telegram_ids_are_64_bit(session, value):
    await add_user(session, value, "Big")
    await session.commit()
    assert (await session.get(User, value)).id == value
