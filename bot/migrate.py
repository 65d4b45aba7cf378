"""Apply Alembic migrations from code (at start, `python main.py migrate`, tests).

Any number of instances may start together on one database: on PostgreSQL each upgrade first takes a
transaction-scoped advisory lock (migrations/env.py calls `lock_for_migrations`), so one instance
migrates while the others wait for its commit, then find the schema at head and do nothing. SQLite
is one process by design (its file lock serialises writers), so it needs no lock of its own.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
# pg_advisory_xact_lock's key: any fixed 64-bit number no other part of the bot uses ("tgcrm" + 1).
MIGRATION_LOCK_KEY = 0x7467_6372_6D_01


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database behind `engine` in one transaction."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_sync, revision)


def _upgrade_sync(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def lock_for_migrations(connection: Connection) -> None:
    """Wait until no other instance is migrating this database; held until this transaction ends.

    Taken before Alembic reads or creates `alembic_version`, so two instances never both create it.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
