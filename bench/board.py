"""The Mini App at scale: the board's data for a manager with 300 open deals, the client list's
search, and what one page weighs.

    .venv/bin/python bench/board.py --db URL [--n 300]

URL is a database seeded by bench/seed.py (1,000,000 clients, 330,000 deals) that this script may
write to: a copy, never the shared one (cp the SQLite file; PostgreSQL: CREATE DATABASE ... TEMPLATE).
Once, it adds a manager (BOARD_MANAGER) with 300 clients, 300 open deals spread over the open stages
(half with a next step, some overdue) and 60 closed ones; the seeded managers have ~4,400 open deals
each. Then it calls the Mini App's aiohttp handlers in-process (aiohttp's test server, initData
signed with the bench token) and reads each answer's Server-Timing header: the server's time from
the request's arrival to the answer (auth, the transaction, the queries, the HTML).
Targets (issue 11): board p99 < 100 ms, search p99 < 50 ms, page HTML+JS+CSS < 100 KB.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import re
import statistics
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench import dbsetup  # noqa: E402
from bench.seed import BENCH_MANAGER_BASE  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.webapp import server  # noqa: E402
from models.clients import Client, ClientPhone  # noqa: E402
from models.deals import Deal  # noqa: E402
from models.reminders import Reminder  # noqa: E402
from models.users import Role, User  # noqa: E402
from services import search  # noqa: E402
from tests.support.webapp import auth_header, sign_init_data  # noqa: E402

TOKEN = "123456:BENCH"
BOARD_MANAGER = 20_000_001
OPEN_DEALS = 300
CLOSED_DEALS = 60
BOARD_MS, SEARCH_MS, PAGE_KB = 100.0, 50.0, 100.0
QUERIES = ["иван", "Петров", "ольга", "smith", "Kuznetsov", "анна сидорова", "john", "алёна", "ромашка"]
FIRST = ["Иван", "Ольга", "Пётр", "Анна", "John", "Maria", "Сергей", "Елена"]
LAST = ["Петров", "Смирнова", "Кузнецов", "Попова", "Smith", "Brown", "Волков", "Соколова"]


async def ensure_board_manager(app) -> None:
    """The manager with 300 open deals (and their clients), added once."""
    now = datetime.now(UTC)
    async with app.session_factory() as s, s.begin():
        if await s.get(User, BOARD_MANAGER) is not None:
            return
        s.add(
            User(id=BOARD_MANAGER, role=Role.manager, first_name="Board", last_name="Bench", tg_language="ru")
        )
        await s.flush()
        open_stages = [st for st in app.settings.deal_stages if st not in ("won", "lost")]
        for i in range(OPEN_DEALS + CLOSED_DEALS):
            name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i}"
            client = Client(name=name, company=f"ООО Доска {i % 40}", owner_id=BOARD_MANAGER, created_at=now)
            s.add(client)
            await s.flush()
            s.add(ClientPhone(client_id=client.id, e164=f"+7999{BOARD_MANAGER % 1000:03d}{i:04d}",
                              digits_reversed=f"7999{BOARD_MANAGER % 1000:03d}{i:04d}"[::-1]))  # fmt: skip
            await search.rebuild_terms(s, client, [])
            closed = i >= OPEN_DEALS
            stage = ("won", "lost")[i % 2] if closed else open_stages[i % len(open_stages)]
            deal = Deal(
                client_id=client.id, owner_id=BOARD_MANAGER, title=f"Поставка оборудования №{i}",
                amount=Decimal(1000 + i * 37), currency="RUB" if i % 5 else "USD", stage=stage, version=1,
                created_by=BOARD_MANAGER, created_at=now, updated_at=now,
                last_activity_at=now - timedelta(minutes=i), closed_at=now if closed else None,
                lost_reason="Дорого" if stage == "lost" else None,
            )  # fmt: skip
            s.add(deal)
            await s.flush()
            if not closed and i % 2 == 0:
                s.add(Reminder(owner_id=BOARD_MANAGER, client_id=client.id, deal_id=deal.id,
                               text="Позвонить и отправить КП", due_at=now + timedelta(hours=i - 100),
                               created_by=BOARD_MANAGER, created_at=now))  # fmt: skip


def timing(response) -> float:
    match = re.search(r"app;dur=([\d.]+)", response.headers.get("Server-Timing", ""))
    if match is None:
        raise SystemExit(f"no Server-Timing on {response.url} ({response.status})")
    return float(match.group(1))


async def measure(
    http: TestClient, paths: list[str], headers: dict[str, str], n: int, warmup: int
) -> list[float]:
    samples = []
    for i in range(warmup + n):
        response = await http.get(paths[i % len(paths)], headers=headers)
        body = await response.read()
        if response.status != 200:
            raise SystemExit(f"{paths[i % len(paths)]}: {response.status} {body[:200]!r}")
        if i >= warmup:
            samples.append(timing(response))
    return samples


def line(label: str, samples: list[float], target: float) -> str:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    verdict = "met" if q[98] < target else "NOT met"
    figures = f"min {min(samples):5.1f}  p50 {q[49]:6.1f}  p99 {q[98]:6.1f}  max {max(samples):6.1f} ms"
    return f"{label:<44} {figures}  (target p99 < {target:.0f} ms: {verdict})"


async def run(db_url: str, n: int, warmup: int) -> None:
    settings = load_settings(
        _env_file=None, bot_token=TOKEN, database_url=db_url, webapp_url="https://crm.example.com/app"
    )
    app = create_app(settings)
    try:
        await ensure_board_manager(app)
        async with app.session_factory() as s:
            open_count = await s.scalar(
                select(func.count())
                .select_from(Deal)
                .where(Deal.owner_id == BOARD_MANAGER, Deal.stage.not_in(("won", "lost")))
            )
            seeded = BENCH_MANAGER_BASE + 1
            seeded_clients = await s.scalar(
                select(func.count()).select_from(Client).where(Client.owner_id == seeded)
            )
        now = datetime.now(UTC)
        board_auth = auth_header(sign_init_data(TOKEN, BOARD_MANAGER, now))
        seeded_auth = auth_header(sign_init_data(TOKEN, seeded, now))
        http = TestClient(TestServer(_root(app)))
        await http.start_server()
        try:
            print(
                f"{dbsetup.describe(db_url)}; n = {n} after {warmup} warm-up; "
                "times are Server-Timing (in-process)"
            )
            board = await measure(http, ["/app/f/board"], board_auth, n, warmup)
            print(line(f"board, manager with {open_count} open deals", board, BOARD_MS))
            queries = [f"/app/f/clients?q={q}" for q in QUERIES]
            found = await measure(http, queries, seeded_auth, n, warmup)
            print(line(f"client search, manager with {seeded_clients:,} clients", found, SEARCH_MS))
            everyone = await measure(http, queries, auth_header(sign_init_data(TOKEN, 100, now)), n, warmup)
            print(line("client search, admin (all 1M clients)", everyone, SEARCH_MS))
            listing = await measure(
                http, ["/app/f/clients", "/app/f/clients?status=active&stale=30"], seeded_auth, n, warmup
            )
            print(line("client list, first page / filtered", listing, SEARCH_MS))
            await page_weight(http, board_auth)
        finally:
            await http.close()
    finally:
        await app.shutdown()


def _root(app):
    from aiohttp import web

    root = web.Application()
    server.mount(root, app.deps)
    return root


async def page_weight(http: TestClient, headers: dict[str, str]) -> None:
    shell = await (await http.get("/app/")).read()
    assets = re.findall(rb"(/app/static/[\w.]+\?v=\w+)", shell)
    parts = {"page": shell}
    for path in assets:
        parts[path.decode().split("/")[-1].split("?")[0]] = await (await http.get(path.decode())).read()
    parts["board (300 open deals)"] = await (await http.get("/app/f/board", headers=headers)).read()
    total = sum(len(b) for b in parts.values())
    zipped = sum(len(gzip.compress(b)) for b in parts.values())
    detail = ", ".join(f"{k} {len(v) / 1024:.1f}" for k, v in parts.items())
    verdict = "met" if total / 1024 < PAGE_KB else "NOT met"
    print(
        f"page weight: {total / 1024:.1f} KB ({detail}); gzip {zipped / 1024:.1f} KB "
        f"(target < {PAGE_KB:.0f} KB: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True, help="a seeded database this script may write to (a copy)")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.db, args.n, args.warmup))


if __name__ == "__main__":
    main()
