"""Benchmark databases: a fresh SQLite file, or a PostgreSQL database created if missing and emptied."""

from __future__ import annotations

import re

from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db import create_engine
from bot.migrate import upgrade
from models.updates import ProcessedUpdate


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def describe(url: str) -> str:
    if is_postgres(url):
        return f"PostgreSQL ({make_url(url).render_as_string(hide_password=True)})"
    return f"SQLite ({make_url(url).database})"


async def reset_postgres(url: str) -> None:
    """Create the database if missing (AUTOCOMMIT, from the ``postgres`` database); drop its schema."""
    parsed = make_url(url)
    name = parsed.database or ""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SystemExit(f"database name {name!r} must be a plain identifier")
    server = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await server.dispose()
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def prepare(url: str, *, migrate: bool = True) -> None:
    """An empty database behind ``url`` (PostgreSQL: schema reset), migrated to head if ``migrate``."""
    if is_postgres(url):
        await reset_postgres(url)
    if not migrate:
        return
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def forget_handled_updates(session_factory) -> None:
    """The fake Bot API numbers updates from 1 in every run, where Telegram never repeats an id: a
    database reused from an earlier run would take the new updates for ones already handled."""
    async with session_factory() as session, session.begin():
        await session.execute(delete(ProcessedUpdate))


# A measuring script sends far faster than any person types; the flood guard would rightly ignore
# it. Latency benchmarks turn it off with these settings (bench/flood.py measures the guard itself).
NO_FLOOD_GUARD = {"flood_rate": 1000, "flood_burst": 10_000}
