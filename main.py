"""Entry point.

python main.py [run]          migrate, then run the bot (long polling, or webhook if WEBHOOK_URL is set)
python main.py migrate        apply database migrations and exit
python main.py check          validate the settings and exit
python main.py make-admin ID  make a Telegram user id an admin (when you locked yourself out)
python main.py queue          how many jobs are pending, running, failed
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.config import Settings, load_or_exit

SETUP_HELP = """BOT_TOKEN is not set.

To get one: open Telegram, talk to @BotFather, send /newbot and follow the steps.
Then put the token into .env next to this file:

    BOT_TOKEN=123456789:AA...your-token...
    ADMIN_IDS=your numeric Telegram id (ask @userinfobot)

and run `make run` again."""


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiogram.event").setLevel(max(logging.getLevelName(level), logging.WARNING))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


async def _migrate(settings: Settings) -> None:
    from bot.db import create_engine
    from bot.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _run(settings: Settings) -> None:
    from bot.app import create_app
    from bot.webhook import run_webhook

    await _migrate(settings)
    app = create_app(settings)
    log = logging.getLogger("main")
    log.info("starting in %s mode", "webhook" if settings.webhook_url else "polling")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, app.request_stop)
    if settings.webhook_url:
        await run_webhook(app)
    else:
        await app.run_polling()
    log.info("stopped")


async def _make_admin(settings: Settings, user_id: int) -> None:
    from bot.db import create_engine, create_session_factory
    from services import users
    from services.clock import SystemClock

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await users.ensure_admins(session, (user_id,), SystemClock().now())
    finally:
        await engine.dispose()
    print(f"{user_id} is an admin now.")


async def _queue_stats(settings: Settings) -> None:
    from sqlalchemy import func, select

    from bot.db import create_engine, create_session_factory
    from models.jobs import Job

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            rows = (await session.execute(select(Job.status, func.count()).group_by(Job.status))).all()
    finally:
        await engine.dispose()
    for status, n in sorted(rows):
        print(f"{status.value:10} {n}")


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "run"
    settings = load_or_exit()
    setup_logging(settings.log_level)
    if command == "run":
        if not settings.bot_token:
            print(SETUP_HELP, file=sys.stderr)
            return 2
        asyncio.run(_run(settings))
    elif command == "migrate":
        asyncio.run(_migrate(settings))
        print("database is up to date")
    elif command == "check":
        print("settings are valid")
    elif command == "make-admin":
        if len(argv) != 3 or not argv[2].lstrip("-").isdigit():
            print("usage: python main.py make-admin TELEGRAM_USER_ID", file=sys.stderr)
            return 2
        asyncio.run(_make_admin(settings, int(argv[2])))
    elif command == "queue":
        asyncio.run(_queue_stats(settings))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
