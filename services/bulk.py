"""Rows inserted many at a time. Ids: a multi-row INSERT with RETURNING in parameter order costs one
statement per row on SQLite, so batch writers reserve the ids first and insert them explicitly. Rows:
written below the ORM and SQLAlchemy's per-row parameter handling (one executemany on SQLite, one
INSERT ... SELECT FROM unnest on PostgreSQL), each column's type still turning its values into what the
driver takes."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession


async def reserve_ids(session: AsyncSession, table, n: int) -> list[int]:
    """`n` new ids of `table` (whose primary key is `id`), in the caller's transaction.

    PostgreSQL: taken from the table's own sequence, so concurrent inserts never collide. SQLite: after
    the largest id, once the transaction holds the write lock (a write that changes nothing takes it),
    so no other writer can insert meanwhile."""
    if n <= 0:
        return []
    if session.bind.dialect.name == "postgresql":
        rows = await session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": n},
        )
        return [r[0] for r in rows]
    await session.execute(text(f"UPDATE {table.name} SET id = id WHERE 0 = 1"))  # noqa: S608  (a table name of ours)
    top = await session.scalar(select(func.max(table.c.id))) or 0
    return list(range(top + 1, top + 1 + n))


async def insert_rows(
    session: AsyncSession, table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Rows of values into `columns` of `table`, each value as the ORM would take it (a datetime, a
    date, an enum member, a dict for JSON...): the column's type processes it for the driver, as
    SQLAlchemy would, but once per object (a batch's `now` is processed once). Columns left out get
    NULL: no Python-side defaults are applied here.

    PostgreSQL: one statement per call, the columns as arrays (INSERT ... SELECT FROM unnest), instead
    of a round trip per row. SQLite: the driver's executemany, without SQLAlchemy's per-row work."""
    if not rows:
        return
    conn = await session.connection()
    dialect = conn.dialect
    names = ", ".join(columns)
    processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    if dialect.name == "postgresql":
        types = [table.c[c].type.compile(dialect=dialect).split(" COLLATE")[0] for c in columns]
        arrays = ", ".join(f"CAST(:c{i} AS {t}[])" for i, t in enumerate(types))
        params = {f"c{i}": _processed([row[i] for row in rows], p) for i, p in enumerate(processors)}
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608  (our names)
        await conn.execute(text(sql), params)
        return
    if any(processors):  # else the rows go to the driver as they are
        values = [_processed([row[i] for row in rows], p) for i, p in enumerate(processors)]
        rows = list(zip(*values, strict=True))
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608  (our names)
    await conn.exec_driver_sql(sql, rows if isinstance(rows, list) else list(rows))


def _processed(column: list[Any], process: Callable[[Any], Any] | None) -> list[Any]:
    """A column's values for the driver, each object processed once (the same `now`, enum member or
    dict in every row of a batch costs one call; `column` holds them all, so their ids stay theirs)."""
    if process is None:
        return column
    done: dict[int, Any] = {}
    out = []
    for value in column:
        key = id(value)
        if key not in done:
            done[key] = process(value)
        out.append(done[key])
    return out


_pauses = 0  # batches running with the collector paused (they may interleave at their awaits)
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch runs (a dry run's check of the whole file, one apply
    batch: seconds, not minutes). Such a batch makes hundreds of thousands of small objects while the
    parsed rows of a big file stay alive around them, and the collector's passes over those, started
    every few hundred new objects, cost an import a sixth of its CPU. Plain reference counting still
    frees almost everything at once; cycles wait for the collector, which runs again as usual once the
    last paused batch ends (batches of several jobs may overlap: the pause lasts until the last one)."""
    global _pauses, _was_enabled
    if _pauses == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _pauses += 1
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0 and _was_enabled:
            gc.enable()


async def refresh_statistics(session: AsyncSession, *tables: str) -> None:
    """PostgreSQL: ANALYZE `tables` after a batch grew them. A table that was nearly empty when a
    statement was first planned keeps a cached plan for an empty table (a sequential scan for an
    `email IN (...)` lookup), which a growing import pays for in every batch; fresh statistics
    invalidate such plans. SQLite plans each statement anew: nothing to do."""
    if session.bind.dialect.name != "postgresql":
        return
    for table in tables:
        await session.execute(text(f"ANALYZE {table}"))
