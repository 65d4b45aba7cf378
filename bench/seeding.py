"""What the add-on seeders (seed_loyalty.py, seed_purchases.py) share: a bulk loader over each driver's
fast path and a progress line.

`open_loader(url)` gives a `Loader` for the database behind the URL — SQLite through sqlite3 (WAL,
synchronous and foreign keys off, executemany, a commit per batch) or PostgreSQL through asyncpg
(COPY, with the foreign keys' per-row triggers skipped while loading: the seeders take their ids from
rows already there). The same seeding code then runs on both:

    async with open_loader(url) as db:
        await db.require_empty("loyalty_purchases", "the database already holds purchases")
        async with db.without_indexes(INDEXES):
            for rows in batches:
                await db.insert("loyalty_purchases", COLUMNS, rows)
        await db.finish("loyalty_purchases", sequence="id")

Secondary indexes are dropped for the load and built again after it (much faster than keeping them
up to date row by row); `finish` moves the table's id sequence past the rows written (PostgreSQL) and
refreshes the planner's statistics.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex


def ts(value: datetime) -> str:
    """How SQLAlchemy stores an aware UTC datetime in SQLite."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Progress:
    """A line on stderr rewritten as rows go in: done / total and the rate since the start."""

    def __init__(self, total: int, noun: str, width: int = 12) -> None:
        self.total = total
        self.noun = noun
        self.width = width
        self.done = 0
        self.started = time.monotonic()

    def add(self, rows: int) -> None:
        self.done += rows
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        print(
            f"\r{self.done:>{self.width},} / {self.total:,} {self.noun} ({rate:,.0f}/s)",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def end(self) -> None:
        print(file=sys.stderr)


class Loader(ABC):
    """Bulk writes to one database; `sqlite_text` says whether times and decimals go in as text (the
    way SQLAlchemy stores them in SQLite) rather than as Python objects (asyncpg's COPY)."""

    sqlite_text: bool

    @abstractmethod
    async def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows a query returns."""

    async def count(self, table: str) -> int:
        return int((await self.fetch(f"SELECT count(*) FROM {table}"))[0][0])

    async def require_empty(self, table: str, message: str) -> None:
        if await self.count(table):
            raise SystemExit(message)

    @abstractmethod
    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """A batch of rows, values in the order of `columns`."""

    @abstractmethod
    async def commit(self) -> None:
        """The rows inserted so far are saved."""

    @abstractmethod
    async def execute(self, sql: str) -> None:
        """One statement without parameters."""

    @abstractmethod
    async def execute_many(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        """`sql` with "?" placeholders, once per tuple of params."""

    async def drop_indexes(self, indexes: Iterable[Index]) -> None:
        for ix in indexes:
            await self.execute(f"DROP INDEX IF EXISTS {ix.name}")

    @abstractmethod
    async def create_indexes(self, indexes: Iterable[Index]) -> None:
        """The indexes built as the models define them, in this database's dialect."""

    @asynccontextmanager
    async def without_indexes(self, indexes: Sequence[Index]) -> AsyncIterator[None]:
        """The indexes dropped for what the block loads, and built again after it (once it succeeded)."""
        await self.drop_indexes(indexes)
        await self.loading(True)
        yield
        await self.commit()
        await self.loading(False)
        await self.create_indexes(indexes)

    @abstractmethod
    async def loading(self, on: bool) -> None:
        """Foreign keys known to hold aren't checked row by row while loading (`on`), then are again."""

    @abstractmethod
    async def finish(self, *tables: str, sequence: str | None = None) -> None:
        """Everything saved; the first table's `sequence` column's sequence set past its rows
        (PostgreSQL), then fresh statistics for every table given."""

    @abstractmethod
    async def close(self) -> None:
        """The connection closed."""


class SqliteLoader(Loader):
    sqlite_text = True

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA foreign_keys=OFF")

    async def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql).fetchall()

    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        self.conn.executemany(sql, rows)

    async def commit(self) -> None:
        self.conn.commit()

    async def loading(self, on: bool) -> None:
        return  # foreign keys are off for this connection from the start (see __init__)

    async def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    async def execute_many(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        self.conn.executemany(sql, params)

    async def create_indexes(self, indexes: Iterable[Index]) -> None:
        for ix in indexes:
            self.conn.execute(str(CreateIndex(ix).compile(dialect=sqlite.dialect())))

    async def finish(self, *tables: str, sequence: str | None = None) -> None:
        self.conn.commit()
        for table in tables:
            self.conn.execute(f"ANALYZE {table}")
        self.conn.commit()

    async def close(self) -> None:
        self.conn.close()


class PostgresLoader(Loader):
    sqlite_text = False

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.conn.fetch(sql)]

    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def commit(self) -> None:
        return  # each COPY is a statement of its own, saved when it ends

    async def execute(self, sql: str) -> None:
        await self.conn.execute(sql)

    async def execute_many(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        parts = sql.split("?")
        numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))
        await self.conn.executemany(numbered, params)

    async def loading(self, on: bool) -> None:
        await self.conn.execute(f"SET session_replication_role = {'replica' if on else 'DEFAULT'}")

    async def create_indexes(self, indexes: Iterable[Index]) -> None:
        await self.conn.execute("SET maintenance_work_mem = '512MB'")
        for ix in indexes:
            await self.conn.execute(str(CreateIndex(ix).compile(dialect=postgresql.dialect())))

    async def finish(self, *tables: str, sequence: str | None = None) -> None:
        if sequence is not None:
            first = tables[0]
            await self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{first}', '{sequence}'), "
                f"(SELECT max({sequence}) FROM {first}))"
            )
        for table in tables:
            await self.conn.execute(f"VACUUM ANALYZE {table}")

    async def close(self) -> None:
        await self.conn.close()


@asynccontextmanager
async def open_loader(url: str) -> AsyncIterator[Loader]:
    """A loader for the database behind a SQLAlchemy URL (sqlite+aiosqlite:/// or postgresql+asyncpg://)."""
    parsed = make_url(url)
    loader: Loader
    if parsed.get_backend_name() == "sqlite":
        loader = SqliteLoader(parsed.database or "")
    else:
        import asyncpg

        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        loader = PostgresLoader(await asyncpg.connect(dsn))
    try:
        yield loader
    finally:
        await loader.close()
