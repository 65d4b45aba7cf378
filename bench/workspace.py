"""Manager workspace at scale: /find by name part and by phone fragment, the client card, /today.

    .venv/bin/python bench/seed.py --clients 1000000 --db URL        # once
    .venv/bin/python bench/workspace.py --db URL [--n 300] [--check]

Drives the real app (dispatcher, middlewares, database) through the fake Bot API against a seeded
database, as a manager who owns 1/50 of the clients and as an admin who sees all of them, and
measures a bare aiogram bot in the same run. Target (issue 3): p99 under 30 ms for each case.
It also prints the SQL statements the app sent per measured update (noise-free, unlike the times).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select  # noqa: E402

from bench import dbsetup  # noqa: E402
from bench.roundtrip import Series, bare_dispatcher, bot_for, polling, timed  # noqa: E402
from bench.seed import ADMIN_ID, BENCH_MANAGER_BASE  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.callbacks import CardAction, ClientCb, LanguageCb  # noqa: E402
from bot.config import load_settings  # noqa: E402
from models.clients import Client, ClientPhone  # noqa: E402
from tests.fakebot import FakeTelegram, FakeUser  # noqa: E402

TARGET_MS = 30.0
NAME_PARTS = [
    "иван",
    "Петров",
    "ольга",
    "smith",
    "Kuznetsov",
    "анна сидорова",
    "john",
    "алёна",
    "ромашка",
    "mail",
]


async def sample_clients(app, owner_id: int, k: int) -> list[tuple[int, int, str]]:
    """(client id, version, last 4 digits of a phone) of some of the owner's clients."""
    async with app.session_factory() as session:
        rows = (
            await session.execute(
                select(Client.id, Client.version, ClientPhone.e164)
                .join(ClientPhone, ClientPhone.client_id == Client.id)
                .where(Client.owner_id == owner_id)
                .limit(k)
            )
        ).all()
    return [(cid, version, e164[-4:]) for cid, version, e164 in rows]


class Statements:
    """SQL statements the app sends per update: a count free of the machine's noise."""

    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        self.count += 1


@dataclass
class Case(Series):
    statements: float = float("nan")  # SQL statements per measured update


async def measure(label: str, n: int, warmup: int, action, statements: Statements | None = None) -> Case:
    series = Case()
    for i in range(warmup + n):
        if i == warmup and statements is not None:
            statements.count = 0
        elapsed, replies = await timed(lambda i=i: action(i))
        if not replies:
            series.problems.append(f"{label} #{i}: no reply")
        if i >= warmup:
            series.samples.append(elapsed)
    if statements is not None:
        series.statements = statements.count / n
    return series


async def bench_app(server: FakeTelegram, db_url: str, n: int, warmup: int) -> dict[str, Case]:
    settings = load_settings(
        _env_file=None, bot_token=server.token, telegram_api_url=server.base_url, database_url=db_url,
        admin_ids=str(ADMIN_ID), **dbsetup.NO_FLOOD_GUARD,
    )  # fmt: skip
    app = create_app(settings)
    await dbsetup.forget_handled_updates(app.session_factory)
    await app.startup(start_scheduler=False)
    manager = server.user(BENCH_MANAGER_BASE + 1, "Manager 1", language_code="ru", started=True)
    admin = server.user(ADMIN_ID, "Admin", language_code="ru", started=True)
    rng = random.Random(7)
    statements = Statements(app.engine)
    try:
        async with polling(server, app.dp, app.bot):
            sample = await sample_clients(app, manager.id, 200)
            card_message = (await manager.send("/start")).last
            results: dict[str, Case] = {}

            def find_name(who: FakeUser):
                return lambda i: who.send(f"/find {NAME_PARTS[i % len(NAME_PARTS)]}")

            results["/find name part (manager)"] = await measure(
                "find", n, warmup, find_name(manager), statements
            )
            results["/find name part (admin, all)"] = await measure(
                "find", n, warmup, find_name(admin), statements
            )
            results["/find phone fragment"] = await measure(
                "phone", n, warmup, lambda i: manager.send(f"/find {sample[i % len(sample)][2]}"), statements
            )
            cards = list({cid: version for cid, version, _ in sample}.items())
            shown: list[int] = [-1]

            def open_card(i: int):
                # Never the card already shown: every press really edits the message.
                cid, version = rng.choice([card for card in cards if card[0] != shown[0]])
                shown[0] = cid
                data = ClientCb(action=CardAction.open, client_id=cid, version=version).pack()
                return manager.press_data(data, message=card_message)

            results["client card"] = await measure("card", n, warmup, open_card, statements)
            results["/today"] = await measure(
                "today", n, warmup, lambda i: manager.send("/today"), statements
            )
            return results
    finally:
        await app.shutdown()


async def bench_bare(server: FakeTelegram, n: int, warmup: int) -> dict[str, Series]:
    person = server.user(30_001, "Bare", language_code="ru", started=True)
    bot = bot_for(server)
    try:
        async with polling(server, bare_dispatcher(), bot):
            text = await measure("echo", n, warmup, lambda i: person.send(f"/find {NAME_PARTS[i % 10]}"))
            menu = (await person.send("/language")).last
            codes = ("ru", "en")  # alternate, so every press really edits the message
            press = await measure(
                "press",
                n,
                warmup,
                lambda i: person.press_data(LanguageCb(code=codes[i % 2]).pack(), message=menu),
            )
            return {"bare text": text, "bare callback": press}
    finally:
        await bot.session.close()


async def run(args: argparse.Namespace) -> bool:
    server = FakeTelegram(global_rate=None)
    await server.start()
    try:
        bare = await bench_bare(server, args.n, args.warmup)
        app = await bench_app(server, args.db, args.n, args.warmup)
    finally:
        await server.stop()
    print(f"manager workspace round trip, ms; n={args.n} after {args.warmup} warm-up; db={args.db}")
    print(f"{'case':32} {'p50':>7} {'p99':>7}   target p99 < {TARGET_MS:g} ms   SQL statements/update")
    ok = True
    for name, series in app.items():
        passed = series.p99 < TARGET_MS
        ok &= passed
        verdict = "PASS" if passed else "FAIL"
        print(f"{name:32} {series.p50:7.2f} {series.p99:7.2f}   {verdict:22} {series.statements:.2f}")
        for problem in series.problems[:3]:
            print(f"    ! {problem}")
    for name, series in bare.items():
        print(f"{name:32} {series.p50:7.2f} {series.p99:7.2f}   (bare aiogram bot, same run)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args()
    ok = asyncio.run(run(args))
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
