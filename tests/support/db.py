"""Test databases: SQLite files copied from a migrated template, and one PostgreSQL database migrated
once per session and truncated between tests. PostgreSQL is required when CI is set."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine
from bot.migrate import upgrade
from models import Base

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def postgres_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG)


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)


def unavailable(what: str, error: BaseException) -> None:
    reason = f"{what} is unreachable ({type(error).__name__}: {error})"
    if in_ci():
        pytest.fail(f"{reason}; CI requires it", pytrace=False)
    pytest.skip(f"{reason}; set TEST_POSTGRES_URL / TEST_REDIS_URL or start it to run these tests")


async def _probe_postgres(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with asyncio.timeout(5), engine.connect() as conn:
            await conn.execute(text("select 1"))
    finally:
        await engine.dispose()


async def reset_postgres_schema(url: str) -> None:
    """Drop everything and migrate to head (once per session)."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
    finally:
        await engine.dispose()


async def truncate_all(engine: AsyncEngine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


class Databases:
    """Per-session state: the SQLite template and whether PostgreSQL was prepared."""

    def __init__(self, tmp_root: Path) -> None:
        self.tmp_root = tmp_root
        self.sqlite_template: Path | None = None
        self.pg_ready: BaseException | bool = False

    async def sqlite_url(self, dest_dir: Path) -> str:
        if self.sqlite_template is None:
            template = self.tmp_root / "template.sqlite3"
            engine = create_engine(f"sqlite+aiosqlite:///{template}")
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()
            self.sqlite_template = template
        path = dest_dir / "crm.sqlite3"
        shutil.copyfile(self.sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"

    async def postgres_url(self) -> str:
        url = postgres_url()
        if self.pg_ready is False:
            try:
                await _probe_postgres(url)
                await reset_postgres_schema(url)
                self.pg_ready = True
            except Exception as e:  # whatever it was, report it
                self.pg_ready = e
        if self.pg_ready is not True:
            unavailable("PostgreSQL", self.pg_ready)  # type: ignore[arg-type]
        return url


async def query_plans(session, statements: list[tuple[str, object]]) -> list[str]:
    """The plan of each captured (statement, parameters), one line each. PostgreSQL is told to avoid
    sequential scans and sorts, so a plan that still has one really has no index to use."""
    conn = await session.connection()
    plans = []
    for statement, parameters in statements:
        if conn.dialect.name == "sqlite":
            raw = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append(" | ".join(str(r[-1]) for r in raw.all()))
        else:
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            await conn.exec_driver_sql("SET LOCAL enable_sort = off")
            raw = await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            plans.append(" | ".join(r[0] for r in raw.all()))
    return plans
