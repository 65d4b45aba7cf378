"""Webhook mode, Redis-backed dialog state, dialog state that survives a restart, and wiring rules."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.app import create_app
from bot.callbacks import LanguageCb, TeamAction, TeamCb
from bot.middlewares import ROLE_LEVEL
from bot.webhook import start_webhook
from tests.conftest import app_settings, running_app
from tests.support.db import redis_url, unavailable

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_mode_checks_the_secret_on_every_request(tg, db_url, engine, clock):
    port = free_port()
    settings = app_settings(
        tg,
        db_url,
        webhook_url=f"http://127.0.0.1:{port}/tg/hook",
        webhook_secret="s3cret-Token_1",
        webhook_host="127.0.0.1",
        webhook_port=port,
    )
    app = create_app(settings, clock=clock, engine=engine)
    runner = await start_webhook(app, start_scheduler=False)
    try:
        await tg.wait_for_bot()
        assert tg.webhook.config.url == f"http://127.0.0.1:{port}/tg/hook"
        replies = await tg.user(21, "Wendy", language_code="en").send("/start")
        assert "Hello, Wendy!" in replies.last.text
        update = {
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 21, "type": "private"},
                "from": {"id": 21, "is_bot": False, "first_name": "Wendy"},
                "text": "/help",
            }
        }
        assert await tg.post_raw_update(update, secret="wrong") == 401
        assert await tg.post_raw_update(update, secret=None) == 401
        assert await tg.post_raw_update(update) == 200
    finally:
        await runner.cleanup()
        await app.shutdown()


async def test_dialog_state_survives_a_restart_without_redis(tg, db_url, engine, clock):
    key = None
    async with running_app(app_settings(tg, db_url), clock, engine) as app:
        await tg.wait_for_bot()
        p = tg.user(22, "Pat", language_code="en")
        await p.send("/start")
        key = StorageKey(bot_id=app.bot.id, chat_id=22, user_id=22)
        await app.dp.storage.set_state(key, "Dialog:step2")
        await app.dp.storage.set_data(key, {"draft": "half done"})
    async with running_app(app_settings(tg, db_url), clock, None) as app2:
        assert await app2.dp.storage.get_data(key) == {"draft": "half done"}
        assert "Cancelled" in (await tg.user(22, "Pat").send("/cancel")).last.text
        assert await app2.dp.storage.get_state(key) is None


async def test_redis_keeps_dialog_state_for_several_instances(tg, db_url, engine, clock):
    try:
        import redis.asyncio as redis

        client = redis.from_url(redis_url())
        await client.flushdb()
        await client.aclose()
    except Exception as e:
        unavailable("Redis", e)
    async with running_app(app_settings(tg, db_url, redis_url=redis_url()), clock, engine) as app:
        await tg.wait_for_bot()
        assert type(app.dp.storage.inner).__name__ == "RedisStorage"  # held until each update commits
        p = tg.user(23, "Pat", language_code="en")
        key = StorageKey(bot_id=app.bot.id, chat_id=23, user_id=23)
        await app.dp.storage.set_state(key, "Dialog:step1")
        assert "Cancelled" in (await p.send("/cancel")).last.text
        assert await app.dp.storage.get_state(key) is None
        assert "Nothing to cancel" in (await p.send("/cancel")).last.text


def all_handlers(router):
    for name, observer in router.observers.items():
        if name != "update":  # the dispatcher's own entry point
            yield from observer.handlers
    for sub in router.sub_routers:
        yield from all_handlers(sub)


def test_every_handler_declares_its_role(tmp_path):
    from bot.config import load_settings

    url = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    app = create_app(load_settings(bot_token="1:x", database_url=url, _env_file=None))
    handlers = list(all_handlers(app.dp))
    assert len(handlers) > 10
    for handler in handlers:
        assert handler.flags.get("role") in ROLE_LEVEL, f"{handler.callback.__qualname__} has no role flag"


@pytest.mark.parametrize(
    "data",
    [
        TeamCb(action=TeamAction.deactivate, user_id=-(2**63), page=9999),
        TeamCb(action=TeamAction.reactivate, user_id=2**63 - 1, page=9999),
        LanguageCb(code="ru"),
    ],
)
def test_callback_data_fits_64_bytes(data):
    assert len(data.pack().encode()) <= 64


async def test_main_run_starts_migrates_answers_and_stops_on_sigterm(tg, tmp_path):
    """The real entry point, as `make run` starts it: migrate, poll, answer, stop cleanly on SIGTERM."""
    import asyncio
    import os
    import signal
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ADMIN_", "DATABASE_", "REDIS_"))}
    env.update(
        BOT_TOKEN=tg.token,
        TELEGRAM_API_URL=tg.base_url,
        ADMIN_IDS="100",
        LOG_LEVEL="WARNING",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/crm.sqlite3",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "main.py"),
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # a fresh process imports aiogram's ~900 models, the charts library and migrates: give it time
        await tg.wait_for_bot(within=45)
        olga = tg.user(100, "Olga", language_code="ru")
        await olga.send("/start")  # production polling handles updates as tasks: wait for the reply
        for _ in range(100):
            if olga.messages:
                break
            await asyncio.sleep(0.05)
        assert "администратор" in olga.last.text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr and b"ERROR" not in stderr, stderr.decode()
    assert "crm.sqlite3" in os.listdir(tmp_path)
