"""Ids for rows inserted many at a time: a multi-row INSERT with RETURNING in parameter order costs
one statement per row on SQLite, so batch writers reserve the ids first and insert them explicitly
(then one executemany writes the batch)."""

from __future__ import annotations

from collections.abc import Sequence
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
    """Plain values (no SQL types to process: ints, strings, None) into `columns` of `table`.

    PostgreSQL: one statement per call, the columns as arrays (INSERT ... SELECT FROM unnest), instead
    of a round trip per row. SQLite: the driver's executemany, without SQLAlchemy's per-row work."""
    if not rows:
        return
    conn = await session.connection()
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        types = [table.c[c].type.compile(dialect=conn.dialect).split(" COLLATE")[0] for c in columns]
        arrays = ", ".join(f"CAST(:c{i} AS {t}[])" for i, t in enumerate(types))
        params = {f"c{i}": [row[i] for row in rows] for i in range(len(columns))}
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608  (our names)
        await conn.execute(text(sql), params)
        return
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608  (our names)
    await conn.exec_driver_sql(sql, [tuple(r) for r in rows])
