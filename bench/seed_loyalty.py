"""Add the bonus program to a database already seeded by bench/seed.py: an account per client and
--per-client ledger entries each (1M clients x 20 = 20,000,000 entries), and --linked clients linked to a
Telegram account (a users row each) for bench/balance.py.

    .venv/bin/python bench/seed_loyalty.py --db sqlite+aiosqlite:///data/bench.sqlite3
    .venv/bin/python bench/seed_loyalty.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Each client's entries are one of 64 ledgers simulated the way services/loyalty/ writes them (earned
lots that expire after 365 days, redemptions taking the oldest lots first, so the running balance, the
sum of entries and the open lots agree), spread over the last 360 days; only ids and times differ.
Rows go in through each driver's fast path (sqlite3 executemany, asyncpg COPY) with the ledger's
secondary indexes dropped and built again at the end. Deterministic (--seed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.dialects import postgresql, sqlite  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.schema import CreateIndex  # noqa: E402

from bench.seed import NOW  # noqa: E402
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


def ts(value: datetime) -> str:
    """How SQLAlchemy stores an aware UTC datetime in SQLite."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


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


def seed_sqlite(path: str, per_client: int, linked: int, seed: int) -> dict[str, int]:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA foreign_keys=OFF")
    if conn.execute("SELECT count(*) FROM loyalty_entries").fetchone()[0]:
        raise SystemExit("the database already holds ledger entries; seed one without the bonus program")
    client_ids = [r[0] for r in conn.execute("SELECT id FROM clients ORDER BY id")]
    for ix in INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {ix.name}")
    insert_entries = (
        f"INSERT INTO loyalty_entries ({', '.join(ENTRY_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})"
    )
    insert_accounts = (
        f"INSERT INTO loyalty_accounts ({', '.join(ACCOUNT_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(ACCOUNT_COLUMNS))})"
    )
    total = 0
    for entries, accounts in rows_for(client_ids, per_client, seed, sqlite_text=True):
        conn.executemany(insert_entries, entries)
        conn.executemany(insert_accounts, accounts)
        conn.commit()
        total += len(entries)
        progress(total, len(client_ids) * per_client)
    print(file=sys.stderr)
    for ix in INDEXES:
        conn.execute(str(CreateIndex(ix).compile(dialect=sqlite.dialect())))
    users = linked_users(client_ids, linked)
    now = ts(NOW)
    conn.executemany(
        f"INSERT INTO users ({', '.join(USER_COLUMNS)}) VALUES ({', '.join('?' * len(USER_COLUMNS))})",
        [(CUSTOMER_BASE + cid, "customer", True, f"Customer {cid}", "ru", now, now) for cid in users],
    )
    conn.executemany(
        "UPDATE clients SET telegram_id = ? WHERE id = ?", [(CUSTOMER_BASE + c, c) for c in users]
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return {"entries": total, "accounts": len(client_ids), "linked": len(users)}


async def seed_postgres(url: str, per_client: int, linked: int, seed: int) -> dict[str, int]:
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT count(*) FROM loyalty_entries"):
            raise SystemExit("the database already holds ledger entries; seed one without the bonus program")
        client_ids = [r[0] for r in await conn.fetch("SELECT id FROM clients ORDER BY id")]
        for ix in INDEXES:
            await conn.execute(f"DROP INDEX IF EXISTS {ix.name}")
        # Foreign keys are known to hold (ids come from clients): skip their per-row triggers.
        await conn.execute("SET session_replication_role = replica")
        total = 0
        for entries, accounts in rows_for(client_ids, per_client, seed, sqlite_text=False):
            await conn.copy_records_to_table("loyalty_entries", records=entries, columns=list(ENTRY_COLUMNS))
            await conn.copy_records_to_table(
                "loyalty_accounts", records=accounts, columns=list(ACCOUNT_COLUMNS)
            )
            total += len(entries)
            progress(total, len(client_ids) * per_client)
        print(file=sys.stderr)
        await conn.execute("SET session_replication_role = DEFAULT")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for ix in INDEXES:
            await conn.execute(str(CreateIndex(ix).compile(dialect=postgresql.dialect())))
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('loyalty_entries', 'id'), "
            "(SELECT max(id) FROM loyalty_entries))"
        )
        users = linked_users(client_ids, linked)
        await conn.copy_records_to_table(
            "users",
            records=[(CUSTOMER_BASE + c, "customer", True, f"Customer {c}", "ru", NOW, NOW) for c in users],
            columns=list(USER_COLUMNS),
        )
        await conn.executemany(
            "UPDATE clients SET telegram_id = $1 WHERE id = $2", [(CUSTOMER_BASE + c, c) for c in users]
        )
        await conn.execute("VACUUM ANALYZE loyalty_entries")
        await conn.execute("VACUUM ANALYZE loyalty_accounts")
        await conn.execute("ANALYZE clients")
        await conn.execute("ANALYZE users")
        return {"entries": total, "accounts": len(client_ids), "linked": len(users)}
    finally:
        await conn.close()


_started = time.monotonic()


def progress(done: int, total: int) -> None:
    rate = done / max(time.monotonic() - _started, 1e-6)
    print(f"\r{done:>12,} / {total:,} entries ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)


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
    url = make_url(args.db)
    if url.get_backend_name() == "sqlite":
        counts = seed_sqlite(url.database or "", args.per_client, args.linked, args.seed)
    else:
        counts = await seed_postgres(args.db, args.per_client, args.linked, args.seed)
    print(json.dumps({**counts, "seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    asyncio.run(main())
