"""Add bonus-program purchases to a database already seeded by bench/seed.py, for the analytics
benchmarks (bench/rfm.py, the reports, the export): --purchases rows in loyalty_purchases (10,000,000 by
default), origin "bot", in DEFAULT_CURRENCY, spread over the --days (400) before bench/seed.py's NOW.

    .venv/bin/python bench/seed_purchases.py --db sqlite+aiosqlite:///data/bench.sqlite3
    .venv/bin/python bench/seed_purchases.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/bench

About 15 % of the clients have none; the rest have from 1 to about 3x the average each (so most have
several), at times spread over the window, recorded by the client's owner, with a tier discount of
0-10 %. Rows go in through each driver's fast path (bench/seeding.py: sqlite3 executemany, asyncpg COPY)
with the table's secondary indexes dropped and built again at the end. Deterministic (--seed): the same
arguments give the same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed import NOW  # noqa: E402
from bench.seeding import Progress, open_loader, ts  # noqa: E402
from models.loyalty import Purchase  # noqa: E402

COLUMNS = (
    "id",
    "client_id",
    "manager_id",
    "amount",
    "currency",
    "tier",
    "discount_percent",
    "discounted",
    "points_redeemed",
    "paid",
    "points_earned",
    "idempotency_key",
    "created_at",
    "origin",
)
TIERS = (("Base", 0), ("Silver", 3), ("Gold", 5), ("Platinum", 10))
NONE_SHARE = 0.15  # clients without a purchase
INDEXES = list(Purchase.__table__.indexes)  # secondary indexes: dropped for the load, built after
CHUNK = 20_000  # clients per batch


def counts_for(clients: int, total: int, rng: random.Random) -> list[int]:
    """Purchases per client: NONE_SHARE of them none, the rest 1 .. 2x the mean - 1, adjusted so the
    total is exact."""
    buying = max(1, round(clients * (1 - NONE_SHARE)))
    mean = total / buying
    counts = [
        0 if rng.random() < NONE_SHARE else 1 + int(rng.random() * (2 * mean - 1)) for _ in range(clients)
    ]
    buyers = [i for i, n in enumerate(counts) if n] or list(range(clients))
    diff = total - sum(counts)
    while diff:
        i = rng.choice(buyers)
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 1:
            counts[i] -= 1
            diff += 1
    return counts


def rows_for(
    clients: list[tuple[int, int]], total: int, days: int, currency: str, seed: int, sqlite_text: bool
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows per chunk of clients ((id, owner) in id order); ids and keys ascending."""
    rng = random.Random(seed)
    counts = counts_for(len(clients), total, rng)
    span = days * 86_400
    start = NOW - timedelta(days=days)
    cent = Decimal("0.01")
    purchase_id = 0
    for first in range(0, len(clients), CHUNK):
        rows: list[tuple[Any, ...]] = []
        for (cid, owner), n in zip(
            clients[first : first + CHUNK], counts[first : first + CHUNK], strict=True
        ):
            base = rng.uniform(500, 20_000)  # a client's typical purchase
            tier, discount = TIERS[cid % len(TIERS)]
            for at_s in sorted(rng.randrange(span) for _ in range(n)):
                purchase_id += 1
                amount = Decimal(round(base * (0.5 + rng.random()), 2)).quantize(cent)
                discounted = (amount * (100 - discount) / 100).quantize(cent)
                values: tuple[Any, ...] = (amount, Decimal(discount), discounted)
                if sqlite_text:
                    values = tuple(str(v) for v in values)
                at = start + timedelta(seconds=at_s)
                rows.append(
                    (
                        purchase_id,
                        cid,
                        owner,
                        values[0],
                        currency,
                        tier,
                        values[1],
                        values[2],
                        0,
                        values[2],
                        int(discounted) // 20,
                        f"bench:{purchase_id:010d}",
                        ts(at) if sqlite_text else at,
                        "bot",
                    )
                )
        yield rows


async def load(url: str, total: int, days: int, currency: str, seed: int) -> int:
    async with open_loader(url) as db:
        await db.require_empty("loyalty_purchases", "the database already holds purchases")
        clients = [(r[0], r[1]) for r in await db.fetch("SELECT id, owner_id FROM clients ORDER BY id")]
        progress = Progress(total, "purchases")
        async with db.without_indexes(INDEXES):
            for rows in rows_for(clients, total, days, currency, seed, sqlite_text=db.sqlite_text):
                await db.insert("loyalty_purchases", COLUMNS, rows)
                await db.commit()
                progress.add(len(rows))
            progress.end()
        await db.finish("loyalty_purchases", sequence="id")
        return progress.done


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True, help="sqlite+aiosqlite:///path or postgresql+asyncpg://...")
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=400, help="spread over this many days before NOW")
    parser.add_argument("--currency", default="RUB", help="DEFAULT_CURRENCY of the benchmarked bot")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.purchases < 1 or args.days < 1:
        parser.error("--purchases and --days must be positive")
    started = time.monotonic()
    done = await load(args.db, args.purchases, args.days, args.currency, args.seed)
    print(json.dumps({"purchases": done, "seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    asyncio.run(main())
