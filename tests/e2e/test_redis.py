"""With Redis (dialog state and the cross-instance chat lock there): the updates of one chat are
handled one at a time in arrival order, by one instance polling a batch and by two instances that
share the database and Redis and get the two updates at the same moment. Every test runs on SQLite
and PostgreSQL, and is skipped when Redis is unreachable (failed in CI)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import BaseMiddleware
from aiogram.types import Update
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App, create_app
from models.clients import Client, ClientPhone
from services.clock import FakeClock
from tests.conftest import ADMIN_ID, app_settings, polling_app
from tests.fakebot import FakeTelegram, FakeUser
from tests.support.checks import answered, no_apology
from tests.support.db import redis_url, unavailable


@pytest.fixture
async def redis() -> str:
    """The test Redis database, emptied; the test is skipped (failed in CI) when it is unreachable."""
    try:
        import redis.asyncio as aioredis

        client = aioredis.from_url(redis_url())
        await client.flushdb()
        await client.aclose()
    except Exception as e:
        unavailable("Redis", e)
    return redis_url()


async def the_client(app: App) -> tuple[Client, list[str]]:
    async with app.session_factory() as s:
        [client] = (await s.scalars(select(Client))).all()
        phones = (await s.scalars(select(ClientPhone.e164).where(ClientPhone.client_id == client.id))).all()
    return client, list(phones)


async def test_one_instance_with_redis_handles_a_dialog_batch_in_order(
    tg, db_url, engine, clock, redis, admin
):
    async with polling_app(app_settings(tg, db_url, redis_url=redis), clock, engine) as app:
        await tg.wait_for_bot()
        assert type(app.dp.storage.inner).__name__ == "RedisStorage"
        await admin.send("/add")
        steps = await tg.send_batch(admin.send("Иван Петров"), admin.send("+7 999 123-45-67"))
        assert "Шаг 3 из 5" in admin.last.text
        skipped = await tg.send_batch(admin.press("⏭ Пропустить"), admin.press("⏭ Пропустить"))
        assert "Шаг 4 из 5" in admin.last.text  # one step skipped, not two
        rest = await tg.send_batch(admin.send("ООО Ромашка"), admin.send("vip"))
        assert admin.last.text.startswith("✅ Клиент добавлен.") and "🏷 #vip" in admin.last.text
        client, phones = await the_client(app)
        assert (client.name, client.company, phones) == ("Иван Петров", "ООО Ромашка", ["+79991234567"])
        answered(tg, *skipped)
        no_apology(tg, admin, *steps, *skipped, *rest)


# --- two instances ---


class HoldInside(BaseMiddleware):
    """The innermost outer middleware of one instance: once an update got there (its chat is locked
    and its transaction open), it says so and keeps the update a moment, so the other instance's
    update surely arrives while this one is being handled."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.inside = asyncio.Event()

    async def __call__(self, handler: Any, event: Any, data: dict[str, Any]) -> Any:
        self.inside.set()
        await asyncio.sleep(self.seconds)
        return await handler(event, data)


def message(person: FakeUser, update_id: int, text: str) -> Update:
    payload = person.new_message(text=text)
    if text.startswith("/"):
        payload["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return Update.model_validate({"update_id": update_id, "message": payload})


@pytest.fixture
async def two_apps(
    tg: FakeTelegram, db_url: str, engine: AsyncEngine, clock: FakeClock, redis: str
) -> AsyncIterator[tuple[App, App]]:
    """Two instances of the app on the same database and Redis, each with its own engine, bot
    session and dispatcher (the multi-instance deployment). Tests feed them updates directly."""
    settings = app_settings(tg, db_url, redis_url=redis)
    first = create_app(settings, clock=clock, engine=engine)
    second = create_app(settings, clock=clock)
    for app in (first, second):
        await app.startup(start_scheduler=False)
    try:
        yield first, second
    finally:
        for app in (first, second):
            await app.shutdown()


def fed_to_both(first: App, second: App, one: Update, other: Update, seconds: float = 0.3):
    """`one` to the first instance and `other` to the second at the same moment; the second arrives
    while the first instance is inside `one` (held there `seconds`)."""
    hold = HoldInside(seconds)
    first.dp.update.outer_middleware(hold)

    async def second_arrives() -> None:
        await hold.inside.wait()
        await second.dp.feed_update(second.bot, other)

    async def run() -> float:
        started = time.monotonic()
        try:
            await asyncio.wait_for(asyncio.gather(first.dp.feed_update(first.bot, one), second_arrives()), 10)
        finally:
            first.dp.update.outer_middleware.unregister(hold)
        return time.monotonic() - started

    return run()


async def test_two_instances_handle_one_chats_updates_one_after_the_other(two_apps, tg, admin, caplog):
    first, second = two_apps
    tg.user(ADMIN_ID, "Olga", started=True)
    caplog.set_level(logging.WARNING)
    await first.dp.feed_update(first.bot, message(admin, 1, "/add"))
    assert "шаг 1 из 5" in admin.last.text

    # the name to one instance, the phone to the other: two steps, in order
    await fed_to_both(first, second, message(admin, 2, "Иван Петров"), message(admin, 3, "+7 999 123-45-67"))
    assert "Шаг 3 из 5" in admin.last.text, admin.last.text
    # and the other way round: the email to the second instance, the company to the first
    await fed_to_both(second, first, message(admin, 4, "ivan@example.ru"), message(admin, 5, "ООО Ромашка"))
    assert "Шаг 5 из 5" in admin.last.text, admin.last.text
    await second.dp.feed_update(second.bot, message(admin, 6, "vip"))
    assert admin.last.text.startswith("✅ Клиент добавлен."), admin.last.text

    client, phones = await the_client(first)
    assert (client.name, client.email, client.company, phones) == (
        "Иван Петров",
        "ivan@example.ru",
        "ООО Ромашка",
        ["+79991234567"],
    )
    no_apology(tg, admin)
    assert not tg.errors, tg.errors
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or "StaleData" in r.getMessage()]
    assert not problems, [r.getMessage() for r in problems]
