"""Fill a database with realistic CRM data for the benchmarks.

    .venv/bin/python bench/seed.py --clients 1000000 --db sqlite+aiosqlite:///data/bench.sqlite3
    .venv/bin/python bench/seed.py --clients 1000000 --db postgresql+asyncpg://postgres@127.0.0.1:5432/bench

N clients spread over --managers managers (names in Russian and English, companies, phones, emails,
tags), 10 logged contacts each, a deal for about a third of them, a pending reminder for about half.
The database is migrated to head first and must hold no clients yet (PostgreSQL: --reset drops and
recreates the schema). Search terms and reversed phone digits come from the app's own functions, so
/find sees exactly what it would have written itself.

Rows go in through each driver's fast path (sqlite3 executemany, asyncpg COPY); the generator is
deterministic (--seed).
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from bench.dbsetup import is_postgres, reset_postgres  # noqa: E402
from bot.db import create_engine  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from services.phones import digits_reversed  # noqa: E402
from services.search import duplicate_key, terms_of  # noqa: E402

BENCH_MANAGER_BASE = 10_000_000  # managers are BENCH_MANAGER_BASE + 1 .. + M
ADMIN_ID = 100
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

RU_MALE = (
    "Иван Пётр Алексей Сергей Дмитрий Андрей Михаил Николай Владимир Артём Егор Илья Максим Олег Павел"
).split()
RU_FEMALE = (
    "Анна Мария Елена Ольга Наталья Татьяна Ирина Светлана Юлия Екатерина Алёна Дарья Ксения Полина".split()
)
RU_SURNAMES = (
    "Иванов Петров Сидоров Смирнов Кузнецов Попов Васильев Соколов Михайлов Новиков Фёдоров Морозов "
    "Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Зайцев"
).split()
EN_FIRST = (
    "John Mary James Patricia Robert Jennifer Michael Linda David Elizabeth Daniel Susan Mark Karen".split()
)
EN_LAST = (
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Lee".split()
)
RU_COMPANY_WORDS = (
    "Ромашка Вектор Альфа Сибирь Восток Техно Строй Логистик Трейд Маркет Сервис Групп"
).split()
EN_COMPANY_WORDS = (
    "Acme Globex Initech Umbrella Stark Wayne Hooli Vandelay Soylent Cyberdyne Tyrell"
).split()
TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh sch  y  e yu ya".split(" "),
        strict=True,
    )
)
TAGS = ["vip", "b2b", "retail", "wholesale", "partner", "lead-2026", "newsletter", "regular"]
KINDS = ["call", "meeting", "message", "email", "other"]
OUTCOMES = ["reached", "no_answer", "agreed", "declined", "other"]
STAGES = ["new", "qualification", "proposal", "negotiation", "won", "lost"]
STATUSES = ["prospect", "active", "inactive"]
NOTES = [
    None,
    None,
    "Перезвонить после обеда",
    "Asked for a quote",
    "Обсудили условия доставки",
    "Sent the catalog",
]


def translit(text: str) -> str:
    return "".join(TRANSLIT.get(c, c) for c in text.lower())


def person(rng: random.Random) -> tuple[str, str]:
    """(display name, email local part)."""
    if rng.random() < 0.7:
        female = rng.random() < 0.5
        first = rng.choice(RU_FEMALE if female else RU_MALE)
        last = rng.choice(RU_SURNAMES) + ("а" if female else "")
        return f"{first} {last}", f"{translit(first)}.{translit(last)}"
    first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
    return f"{first} {last}", f"{first}.{last}".lower()


def company(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.45:
        return f"ООО «{rng.choice(RU_COMPANY_WORDS)} {rng.choice(RU_COMPANY_WORDS)}»"
    if roll < 0.6:
        return f"ИП {rng.choice(RU_SURNAMES)}"
    if roll < 0.85:
        return f"{rng.choice(EN_COMPANY_WORDS)} {rng.choice(['LLC', 'Inc', 'Ltd'])}"
    return None


def iso(value: datetime | None) -> str | None:
    """How SQLAlchemy stores an aware UTC datetime in SQLite (naive UTC text)."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


class Generator:
    """Yields rows per table, in the column order of COLUMNS."""

    COLUMNS: ClassVar[dict[str, tuple[str, ...]]] = {
        "users": (
            "id",
            "role",
            "is_active",
            "first_name",
            "language",
            "timezone",
            "created_at",
            "updated_at",
        ),
        "clients": (
            "id",
            "name",
            "company",
            "position",
            "source",
            "email",
            "status",
            "owner_id",
            "created_by",
            "updated_by",
            "created_at",
            "updated_at",
            "version",
            "last_contact_at",
            "dup_key",
        ),
        "client_phones": ("id", "client_id", "e164", "digits_reversed"),
        "client_tags": ("client_id", "tag"),
        "client_search_terms": ("id", "client_id", "owner_id", "term"),
        "interactions": (
            "id",
            "client_id",
            "author_id",
            "kind",
            "outcome",
            "note",
            "occurred_at",
            "created_at",
        ),
        "deals": (
            "id",
            "client_id",
            "owner_id",
            "title",
            "amount",
            "currency",
            "stage",
            "version",
            "created_by",
            "created_at",
            "updated_at",
            "last_activity_at",
        ),
        "reminders": (
            "id",
            "owner_id",
            "client_id",
            "text",
            "due_at",
            "status",
            "version",
            "created_by",
            "created_at",
        ),
    }

    def __init__(self, clients: int, managers: int, seed: int) -> None:
        self.n = clients
        self.managers = managers
        self.seed = seed
        self.ids = dict.fromkeys(
            ("client_phones", "client_search_terms", "interactions", "deals", "reminders"), 0
        )

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def users(self) -> list[tuple[Any, ...]]:
        rows = [(ADMIN_ID, "admin", True, "Admin", "ru", None, NOW, NOW)]
        for m in range(1, self.managers + 1):
            rows.append((BENCH_MANAGER_BASE + m, "manager", True, f"Manager {m}", "ru", None, NOW, NOW))
        return rows

    def chunks(self, size: int) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        """Rows for `size` clients at a time (and everything hanging on them)."""
        rng = random.Random(self.seed)
        for start in range(1, self.n + 1, size):
            out: dict[str, list[tuple[Any, ...]]] = {t: [] for t in self.COLUMNS if t != "users"}
            for cid in range(start, min(start + size, self.n + 1)):
                self._client(rng, cid, out)
            yield out

    def _client(self, rng: random.Random, cid: int, out: dict[str, list[tuple[Any, ...]]]) -> None:
        owner = BENCH_MANAGER_BASE + 1 + (cid - 1) % self.managers
        name, local = person(rng)
        comp = company(rng)
        email = f"{local}{cid}@{rng.choice(['mail.ru', 'yandex.ru', 'gmail.com', 'example.com'])}"
        created = NOW - timedelta(days=rng.randint(1, 900), minutes=rng.randint(0, 1440))
        contacts = sorted(created + timedelta(days=rng.uniform(0, (NOW - created).days)) for _ in range(10))
        tags = rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2]))
        out["clients"].append(
            (
                cid,
                name,
                comp,
                None,
                rng.choice(["site", "referral", "call", None]),
                email,
                rng.choice(STATUSES),
                owner,
                owner,
                owner,
                created,
                created,
                1,
                contacts[-1],
                duplicate_key(name, comp),
            )
        )
        phones = [f"+79{(cid * 7919) % 10**9:09d}"]
        if rng.random() < 0.3:
            phones.append(f"+1415{(cid * 104729) % 10**7:07d}")
        for e164 in phones:
            out["client_phones"].append((self.next_id("client_phones"), cid, e164, digits_reversed(e164)))
        for tag in tags:
            out["client_tags"].append((cid, tag))
        shape = SimpleNamespace(name=name, company=comp, email=email)
        for term in sorted(terms_of(shape, tags)):  # type: ignore[arg-type]
            out["client_search_terms"].append((self.next_id("client_search_terms"), cid, owner, term))
        for at in contacts:
            out["interactions"].append(
                (
                    self.next_id("interactions"),
                    cid,
                    owner,
                    rng.choice(KINDS),
                    rng.choice(OUTCOMES),
                    rng.choice(NOTES),
                    at,
                    at,
                )
            )
        if rng.random() < 0.33:
            amount = round(rng.uniform(1_000, 2_000_000), 2)
            out["deals"].append(
                (
                    self.next_id("deals"),
                    cid,
                    owner,
                    f"Поставка #{cid}",
                    amount,
                    "RUB",
                    rng.choice(STAGES),
                    1,
                    owner,
                    created,
                    created,
                    contacts[-1],
                )
            )
        if rng.random() < 0.5:
            due = NOW + timedelta(hours=rng.uniform(-24 * 10, 24 * 30))
            out["reminders"].append(
                (
                    self.next_id("reminders"),
                    owner,
                    cid,
                    "Перезвонить по предложению",
                    due,
                    "pending",
                    1,
                    owner,
                    NOW,
                )
            )


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def seed_sqlite(path: str, gen: Generator, chunk: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA foreign_keys=OFF")
    if conn.execute("SELECT count(*) FROM clients").fetchone()[0]:
        raise SystemExit("the database already holds clients; seed an empty one")

    def insert(table: str, rows: list[tuple[Any, ...]]) -> None:
        cols = Generator.COLUMNS[table]
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        conn.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in rows])

    insert("users", gen.users())
    run_chunks(gen, chunk, insert, conn.commit)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


async def seed_postgres(url: str, gen: Generator, chunk: int) -> None:
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT count(*) FROM clients"):
            raise SystemExit("the database already holds clients; seed an empty one (or pass --reset)")
        pending: list[tuple[str, list[tuple[Any, ...]]]] = []

        def insert(table: str, rows: list[tuple[Any, ...]]) -> None:
            pending.append((table, rows))

        async def flush() -> None:
            for table, rows in pending:
                await conn.copy_records_to_table(table, records=rows, columns=list(Generator.COLUMNS[table]))
            pending.clear()

        insert("users", gen.users())
        await flush()
        for tables in gen.chunks(chunk):
            for table, rows in tables.items():
                insert(table, rows)
            await flush()
            progress(gen, tables)
        for table, column in (
            ("client_phones", "id"),
            ("client_search_terms", "id"),
            ("interactions", "id"),
            ("deals", "id"),
            ("reminders", "id"),
            ("clients", "id"),
        ):
            sequence = f"pg_get_serial_sequence('{table}', '{column}')"
            await conn.execute(f"SELECT setval({sequence}, (SELECT max({column}) FROM {table}))")
        # VACUUM as well: autovacuum (off on some servers) would have set the visibility map of a
        # database that has been in use, so index-only scans (counts) don't visit the heap.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


_started = time.monotonic()
_done = 0


def progress(gen: Generator, tables: dict[str, list[tuple[Any, ...]]]) -> None:
    global _done
    _done += len(tables["clients"])
    rate = _done / max(time.monotonic() - _started, 1e-6)
    print(f"\r{_done:>10,} / {gen.n:,} clients ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)


def run_chunks(gen: Generator, chunk: int, insert: Any, commit: Any) -> None:
    for tables in gen.chunks(chunk):
        for table, rows in tables.items():
            insert(table, rows)
        commit()
        progress(gen, tables)


async def prepare_database(url: str, *, reset: bool) -> None:
    """Migrate to head (PostgreSQL with --reset: from an empty schema)."""
    if is_postgres(url) and reset:
        await reset_postgres(url)
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--db", required=True, help="sqlite+aiosqlite:///path or postgresql+asyncpg://...")
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reset", action="store_true", help="PostgreSQL: drop and recreate the schema first")
    args = parser.parse_args()
    if args.clients < 1 or args.managers < 1:
        parser.error("--clients and --managers must be positive")

    await prepare_database(args.db, reset=args.reset)
    gen = Generator(args.clients, args.managers, args.seed)
    started = time.monotonic()
    url = make_url(args.db)
    if url.get_backend_name() == "sqlite":
        seed_sqlite(url.database or "", gen, args.chunk)
    else:
        await seed_postgres(args.db, gen, args.chunk)
    elapsed = time.monotonic() - started
    print(file=sys.stderr)
    counts = {t: (gen.ids.get(t) or "") for t in gen.ids}
    print(
        json.dumps(
            {"clients": args.clients, "managers": args.managers, "seconds": round(elapsed, 1), **counts}
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
