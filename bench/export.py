"""Export of 1,000,000 clients: seconds, rows, part sizes and memory growth (target: under 100 MB).

    .venv/bin/python bench/export.py [--db URL ...] [--formats csv xlsx] [--limit N]

Reads the seeded bench databases (read-only: SQLite /work/benchdata/crm1m.sqlite3 and PostgreSQL
bench1m by default) as an admin would export them — every client with phones, tags, owner and the RFM
columns of the latest finished run — through the same code the export job runs
(services/export/requests.write_files: keyset pages of plain rows into the streaming TableWriter), into
a temporary directory that is deleted afterwards. Memory: the process's RSS sampled every 20 ms while
the export runs; growth = peak RSS minus RSS right before it (1 MB = 10^6 bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dbsetup  # noqa: E402
from bot.db import create_engine, create_session_factory  # noqa: E402
from models.users import Role, User  # noqa: E402
from services.export import requests  # noqa: E402
from services.export.datasets import COLUMNS, Dataset, Scope  # noqa: E402
from services.export.files import Format  # noqa: E402

DEFAULT_DBS = (
    "sqlite+aiosqlite:////work/benchdata/crm1m.sqlite3",
    "postgresql+asyncpg://postgres@127.0.0.1:5432/bench1m",
)
TARGET_MB = 100.0
MB = 1_000_000


class PeakRss:
    """The process's RSS sampled in a thread (the export runs on the event loop)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.before = self.process.memory_info().rss
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.before) / MB


async def run_one(url: str, fmt: Format, admin: User) -> dict[str, object]:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    directory = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        async with sessions() as session:
            await session.connection()  # the connection is open before the baseline is taken
            with PeakRss() as rss:
                started = time.perf_counter()
                written = await requests.write_files(
                    session, Dataset.clients, Scope(admin), fmt, list(COLUMNS[Dataset.clients]), directory,
                    stem="clients", tz=ZoneInfo("Europe/Moscow"),
                )  # fmt: skip
                seconds = time.perf_counter() - started
            sizes = [p.stat().st_size for p in written.parts]
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        await engine.dispose()
    return {"seconds": seconds, "rows": written.rows, "parts": sizes, "growth_mb": rss.growth_mb}


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", action="append", help="database URL (repeatable); default: both bench DBs")
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"], choices=["csv", "xlsx"])
    args = parser.parse_args()
    admin = User(id=0, first_name="bench", role=Role.admin, is_active=True)
    worst = 0.0
    for url in args.db or DEFAULT_DBS:
        for fmt in map(Format, args.formats):
            r = await run_one(url, fmt, admin)
            worst = max(worst, float(r["growth_mb"]))  # type: ignore[arg-type]
            parts = ", ".join(f"{s / MB:.1f} MB" for s in r["parts"])  # type: ignore[attr-defined]
            print(
                f"{dbsetup.describe(url)} {fmt.value.upper()}: {r['rows']:,} rows in {r['seconds']:.1f} s "
                f"({r['rows'] / r['seconds']:,.0f} rows/s); parts: {parts}; "
                f"memory growth {r['growth_mb']:.1f} MB",
                flush=True,
            )  # type: ignore[operator]
    verdict = "OK" if worst < TARGET_MB else "OVER"
    print(f"worst memory growth {worst:.1f} MB (target < {TARGET_MB:.0f} MB): {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
