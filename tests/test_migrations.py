"""An empty database upgrades to head, and the models match the migrations, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine.url import make_url

from bot.db import create_engine
from bot.migrate import upgrade
from models import Base
from tests.db import postgres_url, unavailable


def _diff(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def _check_fresh_database(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            assert set(Base.metadata.tables) <= tables
            assert "alembic_version" in tables
            assert await conn.run_sync(_diff) == []
        await upgrade(engine)  # a second run is a no-op
    finally:
        await engine.dispose()


async def test_sqlite_empty_database_to_head(tmp_path):
    await _check_fresh_database(f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3")


async def test_postgres_empty_database_to_head():
    url = make_url(postgres_url())
    admin = create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    fresh = "crm_migration_test"
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {fresh}"))
            await conn.execute(text(f"CREATE DATABASE {fresh}"))
    except Exception as e:
        await admin.dispose()
        unavailable("PostgreSQL", e)
    try:
        await _check_fresh_database(url.set(database=fresh).render_as_string(hide_password=False))
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {fresh}"))
        await admin.dispose()


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
    from models.users import User

    session.add(User(id=value, first_name="Big"))
    await session.commit()
    assert (await session.get(User, value)).id == value
