"""Shared fixtures. Every test that takes `db_url` (directly or through `engine`, `app`...) runs twice:
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import App, create_app
from bot.config import Settings, load_settings
from bot.db import create_engine, create_session_factory
from services.clock import FakeClock
from tests.fakebot import FakeTelegram, FakeUser
from tests.support.db import Databases, truncate_all

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
async def pg_url(databases: Databases) -> str:
    """PostgreSQL only: for properties SQLite doesn't have (row locks, SKIP LOCKED)."""
    return await databases.postgres_url()


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_url)
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


# --- end-to-end: the real app against the fake Telegram Bot API ---

ADMIN_ID = 100


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    # 30 messages/s sustained like Telegram, with room for the short bursts a scripted person makes
    # (a test clicks through a dialog far faster than a thumb). Pacing tests use a strict server.
    server = FakeTelegram(global_rate=30, global_burst=300)
    await server.start()
    yield server
    await server.stop()


def app_settings(tg: FakeTelegram, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": tg.token,
        "telegram_api_url": tg.base_url,
        "database_url": db_url,
        "admin_ids": str(ADMIN_ID),
        "default_language": "ru",
        "default_timezone": "Europe/Moscow",
        "send_rate": 30,
        # A scripted person clicks far faster than a thumb; the flood tests set realistic limits.
        "flood_rate": 1000,
        "flood_burst": 10_000,
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)


@asynccontextmanager
async def running_app(settings: Settings, clock: FakeClock, engine: AsyncEngine | None = None):
    """The real app, polling the fake server one update at a time (so replies are deterministic)."""
    app = create_app(settings, clock=clock, engine=engine)
    await app.startup(start_scheduler=False)
    polling = asyncio.create_task(
        app.dp.start_polling(
            app.bot,
            handle_as_tasks=False,
            polling_timeout=1,
            handle_signals=False,
            close_bot_session=False,
            allowed_updates=app.dp.resolve_used_update_types(),
        )
    )
    try:
        yield app
    finally:
        await app.dp.stop_polling()
        await asyncio.wait_for(polling, 10)
        await app.shutdown()


@asynccontextmanager
async def polling_app(settings: Settings, clock: FakeClock, engine: AsyncEngine | None = None):
    """The real app on its production polling (bot/polling.py, what `python main.py run` does):
    updates run as concurrent tasks (one at a time per chat), and each is confirmed to the fake only
    once it was handled, so an update's replies are all there when the fake reports it confirmed."""
    app = create_app(settings, clock=clock, engine=engine)
    await app.startup(start_scheduler=False)
    try:
        async with app.polling(long_poll_seconds=1):
            yield app
    finally:
        await app.shutdown()


@pytest.fixture
async def app(tg: FakeTelegram, db_url: str, engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[App]:
    async with running_app(app_settings(tg, db_url), clock, engine) as running:
        await tg.wait_for_bot()
        yield running


@pytest.fixture
def admin(tg: FakeTelegram) -> FakeUser:
    return tg.user(ADMIN_ID, "Olga", last_name="Admin", username="olga_admin", language_code="ru")
