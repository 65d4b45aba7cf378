"""One person's flood against everyone else's latency.

    .venv/bin/python bench/flood.py [--db URL] [--n 100] [--rate 2] [--flood 300]

The real app polls the fake Bot API the way production does (bot/polling.py: updates handled as
concurrent tasks, each confirmed once handled),
with Telegram's overall limit of 30 messages a second enforced by the fake. A manager runs /find at
`--rate` a second and the script measures each round trip, first with nobody else around, then while
a stranger sends `--flood` messages at once and keeps sending 50 a second. It prints the manager's
p50 / p99 in both phases, what the stranger got back, how many calls Telegram refused with 429, and
how many errors were logged. No assertion: the figures are for the README.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dbsetup  # noqa: E402
from bench.roundtrip import Collect, Series  # noqa: E402
from bot.app import App, create_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from models.users import Role, User  # noqa: E402
from services import clients as clients_service  # noqa: E402
from tests.fakebot import FakeTelegram  # noqa: E402

MANAGER, STRANGER, ADMIN = 201, 666, 100
WORDS = ["Иван", "Пётр", "Анна", "Ольга", "Smith", "John", "Мария", "Алексей"]


async def seed(app: App, clients: int) -> None:
    async with app.session_factory() as s, s.begin():
        s.add(User(id=MANAGER, first_name="Anna", role=Role.manager, tg_language="ru", language="ru"))
        await s.flush()
        owner = await s.get(User, MANAGER)
        now = app.clock.now()
        for i in range(clients):
            name = f"{WORDS[i % len(WORDS)]} Клиент{i}"
            data = clients_service.ClientData(name=name, phones=[f"+7916{i:07d}"])
            await clients_service.create(s, owner, data, now)


async def find(tg: FakeTelegram, anna, text: str) -> str | None:
    """Send /find and wait for the answer to appear in the chat (updates run as tasks, so the fake's
    "confirmed" comes before the answer)."""
    mark = len(anna.messages)
    command = text.split()[0]
    entity = {"type": "bot_command", "offset": 0, "length": len(command)}
    tg.submit(anna, "message", anna.new_message(text=text, entities=[entity]))
    if not await tg.signal.wait_until(lambda: len(anna.messages) > mark, 10):
        return None
    return anna.messages[-1].text


async def manager_series(tg: FakeTelegram, n: int, rate: float) -> Series:
    anna = tg.user(MANAGER, "Anna", language_code="ru", started=True)
    series = Series()
    for i in range(n):
        started = time.perf_counter()
        text = await find(tg, anna, f"/find {WORDS[i % len(WORDS)]}")
        elapsed = (time.perf_counter() - started) * 1000
        if text is None or "Найдено" not in text:
            series.problems.append(f"#{i}: {text or 'no reply'}")
        series.samples.append(elapsed)
        await asyncio.sleep(max(0.0, 1 / rate - elapsed / 1000))
    return series


async def flood(tg: FakeTelegram, first: int, stop: asyncio.Event) -> int:
    stranger = tg.user(STRANGER, "Flood", language_code="en")
    sent = 0
    for i in range(first):
        tg.submit(stranger, "message", stranger.new_message(text=f"spam {i}"))
        sent += 1
    while not stop.is_set():
        tg.submit(stranger, "message", stranger.new_message(text=f"more spam {sent}"))
        sent += 1
        await asyncio.sleep(0.02)
    return sent


async def run(args: argparse.Namespace) -> None:
    collect = Collect()
    logging.getLogger().addHandler(collect)
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
        db_url = args.db or f"sqlite+aiosqlite:///{Path(tmp) / 'crm.sqlite3'}"
        await dbsetup.prepare(db_url)
        tg = FakeTelegram(global_rate=30, global_burst=30)
        await tg.start()
        settings = load_settings(
            _env_file=None, bot_token=tg.token, telegram_api_url=tg.base_url, database_url=db_url,
            admin_ids=str(ADMIN), log_level="WARNING",
        )  # fmt: skip
        app = create_app(settings)
        try:
            await seed(app, args.clients)
            await app.startup(start_scheduler=False)
            async with app.polling(long_poll_seconds=1):
                await tg.wait_for_bot()
                await manager_series(tg, 10, args.rate)  # warm-up
                idle = await manager_series(tg, args.n, args.rate)
                errors_before, s429_before = len(collect.records), tg.stats["429"]
                stop = asyncio.Event()
                flooding = asyncio.create_task(flood(tg, args.flood, stop))
                loaded = await manager_series(tg, args.n, args.rate)
                stop.set()
                sent = await flooding
                await asyncio.sleep(1)
        finally:
            await app.shutdown()
            await tg.stop()
    stranger_replies = [m.text or "" for m in tg.user(STRANGER, "Flood").messages]
    print(f"one person's flood vs a manager's /find; db={dbsetup.describe(db_url) if args.db else 'SQLite'}")
    print(f"manager: /find at {args.rate:g}/s, n={args.n} per phase; {args.clients} clients")
    print(f"{'phase':28} {'p50 ms':>8} {'p99 ms':>8}  problems")
    for label, series in (("idle", idle), (f"during a {args.flood}-message flood", loaded)):
        print(f"{label:28} {series.p50:8.2f} {series.p99:8.2f}  {len(series.problems)}")
        for problem in series.problems[:3]:
            print(f"    ! {problem}")
    slow = sum("Too many messages" in t for t in stranger_replies)
    print(
        f"stranger: sent {sent}, got {len(stranger_replies)} replies ({slow} 'slow down' notices); "
        f"429 during the flood: {tg.stats['429'] - s429_before}; "
        f"errors logged: {sum(r.startswith('ERROR') for r in collect.records[errors_before:])}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file); PostgreSQL is reset")
    parser.add_argument("--n", type=int, default=100, help="measured /find per phase (100)")
    parser.add_argument("--rate", type=float, default=2, help="the manager's /find per second (2)")
    parser.add_argument("--flood", type=int, default=300, help="messages the stranger sends at once (300)")
    parser.add_argument("--clients", type=int, default=2000, help="clients of the manager (2000)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
