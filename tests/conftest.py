"""Shared fixtures. Every test that takes `db_url` (directly or through `engine`, `app`...) runs twice:
on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import create_engine, create_session_factory
from services.clock import FakeClock
from tests.db import Databases, truncate_all

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Databases:
    return Databases(tmp_path_factory.mktemp("db"))


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, databases: Databases, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return await databases.sqlite_url(tmp_path)
    return await databases.postgres_url()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    if engine.dialect.name == "postgresql":
        await truncate_all(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
