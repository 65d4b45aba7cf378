"""Add the bonus program to a database already seeded by bench/seed.py: an account per client and
--per-client ledger entries each (1M clients x 20 = 20,000,000 entries), and --linked clients linked to a
Telegram account (a users row each) for bench/balance.py.

    .venv/bin/python bench/seed_loyalty.py --db sqlite+aiosqlite:///data/bench.sqlite3
    .venv/bin/python bench/seed_loyalty.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Each client's entries are one of 64 ledgers simulated the way services/loyalty/ writes them (earned
lots that expire after 365 days, redemptions taking the oldest lots first, so the running balance, the
sum of entries and the open lots agree), spread over the last 360 days; only ids and times differ.
Rows go in through each driver's fast path (bench/seeding.py: sqlite3 executemany, asyncpg COPY) with
the ledger's secondary indexes dropped and built again at the end. Deterministic (--seed).
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
from models.loyalty import LedgerEntry  # noqa: E402

CUSTOMER_BASE = 70_000_000  # a linked client's Telegram id is CUSTOMER_BASE + client id
TEMPLATES = 64
SPAN_DAYS = 360
EXPIRY = timedelta(days=365)
ENTRY_COLUMNS = (
    "id",
    "client_id",
    "at",
    "kind",
    "points",
    "balance_after",
    "remaining",
    "expires_at",
    "idempotency_key",
)
ACCOUNT_COLUMNS = ("client_id", "balance", "total_spend", "purchases", "created_at", "updated_at")
USER_COLUMNS = ("id", "role", "is_active", "first_name", "tg_language", "created_at", "updated_at")
# The ledger's indexes other than the primary and the unique key: dropped for the load, built after.
INDEXES = [ix for ix in LedgerEntry.__table__.indexes]


def simulate(rng: random.Random, n: int) -> tuple[list[tuple[str, int, int, int]], int, int]:
    """One client's ledger: [(kind, points, balance_after, remaining)], final balance, purchases."""
    lots: list[list[int]] = []  # [index, remaining]
    rows: list[list[Any]] = []
    balance = purchases = 0
    for i in range(n):
        if balance > 0 and rng.random() < 0.3:
            take = min(balance, rng.randrange(50, 400))
            left = take
            for lot in lots:
                used = min(left, lot[1])
                lot[1] -= used
                rows[lot[0]][3] = lot[1]
                left -= used
                if not left:
                    break
            balance -= take
            rows.append(["redeem", -take, balance, 0])
        else:
            points = rng.randrange(20, 900)
            balance += points
            purchases += 1
            lots.append([i, points])
            rows.append(["earn" if i else "welcome", points, balance, points])
    return [tuple(r) for r in rows], balance, purchases  # type: ignore[misc]


def rows_for(
    client_ids: list[int], per_client: int, seed: int, sqlite_text: bool
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """(entries, accounts) per chunk of clients, entries in id order (so the keys go in ascending)."""
    rng = random.Random(seed)
    templates = [simulate(rng, per_client) for _ in range(TEMPLATES)]
    step = timedelta(days=SPAN_DAYS) / per_client
    conv = ts if sqlite_text else (lambda v: v)
    created = conv(NOW - timedelta(days=SPAN_DAYS + 1))
    entry_id = 0
    chunk = 20_000
    for start in range(0, len(client_ids), chunk):
        entries: list[tuple[Any, ...]] = []
        accounts: list[tuple[Any, ...]] = []
        for cid in client_ids[start : start + chunk]:
            ledger, balance, purchases = templates[cid % TEMPLATES]
            first = NOW - timedelta(days=SPAN_DAYS, minutes=cid % 1440)
            for j, (kind, points, after, remaining) in enumerate(ledger):
                entry_id += 1
                at = first + step * j
                expires = conv(at + EXPIRY) if points > 0 else None
                entries.append(
                    (entry_id, cid, conv(at), kind, points, after, remaining, expires, f"s:{entry_id:010d}")
                )
            spend = Decimal(purchases * 1000 + cid % 997)
            accounts.append((cid, balance, str(spend) if sqlite_text else spend, purchases, created, created))
        yield entries, accounts


def linked_users(client_ids: list[int], linked: int) -> list[int]:
    step = max(1, len(client_ids) // linked)
    return client_ids[::step][:linked]


async def load(url: str, per_client: int, linked: int, seed: int) -> dict[str, int]:
    async with open_loader(url) as db:
        message = "the database already holds ledger entries; seed one without the bonus program"
        await db.require_empty("loyalty_entries", message)
        client_ids = [r[0] for r in await db.fetch("SELECT id FROM clients ORDER BY id")]
        progress = Progress(len(client_ids) * per_client, "entries")
        async with db.without_indexes(INDEXES):
            for entries, accounts in rows_for(client_ids, per_client, seed, sqlite_text=db.sqlite_text):
                await db.insert("loyalty_entries", ENTRY_COLUMNS, entries)
                await db.insert("loyalty_accounts", ACCOUNT_COLUMNS, accounts)
                await db.commit()
                progress.add(len(entries))
            progress.end()
        users = linked_users(client_ids, linked)
        now = ts(NOW) if db.sqlite_text else NOW
        await db.insert(
            "users",
            USER_COLUMNS,
            [(CUSTOMER_BASE + c, "customer", True, f"Customer {c}", "ru", now, now) for c in users],
        )
        await db.execute_many(
            "UPDATE clients SET telegram_id = ? WHERE id = ?", [(CUSTOMER_BASE + c, c) for c in users]
        )
        await db.finish("loyalty_entries", "loyalty_accounts", "clients", "users", sequence="id")
        return {"entries": progress.done, "accounts": len(client_ids), "linked": len(users)}


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True, help="sqlite+aiosqlite:///path or postgresql+asyncpg://...")
    parser.add_argument("--per-client", type=int, default=20, help="ledger entries per client")
    parser.add_argument("--linked", type=int, default=2000, help="clients linked to a Telegram account")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    started = time.monotonic()
    counts = await load(args.db, args.per_client, args.linked, args.seed)
    print(json.dumps({**counts, "seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    asyncio.run(main())
