"""Import of 100,000 clients, end to end through the services the import's jobs run: a generated CSV
(UTF-8; names, phones, emails, companies, tags, a status and a note) is read and staged (the read
job), checked (the dry-run job) and applied in the apply job's batches, on a fresh migrated database.
Target (issue 9): under 60 s.

    .venv/bin/python bench/imports.py [--rows 100000] [--known 0.1] [--db URL] [--check]

`--known` is the share of rows whose phone is already stored (seeded before the run, with the
clients service's batch path), so the dry run's matching is measured too. Prints the seconds of each
stage, wall and CPU (the process's, all threads: the honest figure on a shared machine), and the peak
RSS of the process (ru_maxrss).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench import dbsetup  # noqa: E402
from bot.db import create_engine, create_session_factory  # noqa: E402
from models.clients import Client  # noqa: E402
from models.imports import Import  # noqa: E402
from models.users import Role, User  # noqa: E402
from services.clients.create import NewClient, create_many  # noqa: E402
from services.clients.fields import ClientData  # noqa: E402
from services.imports import applying, checking, fields, reading, staging  # noqa: E402

TARGET_S = 60.0
ADMIN = 100
OPTS = {"region": "RU", "zone": ZoneInfo("Europe/Moscow"), "currency": "RUB"}
FIRST = ["Иван", "Пётр", "Анна", "Мария", "Сергей", "Ольга", "Дмитрий", "Елена", "Алексей", "Наталья"]
LAST = ["Иванов", "Петров", "Сидоров", "Смирнов", "Кузнецов", "Попов", "Волков", "Соколов", "Лебедев"]


def phone(i: int) -> str:
    d = f"{i:07d}"
    return f"+7 9{d[0]}{d[1]} {d[2:5]}-{d[5:7]}-0{d[6]}"


def generated_csv(rows: int) -> bytes:
    buffer = io.StringIO()
    w = csv.writer(buffer)
    w.writerow(["ФИО", "Телефон", "Email", "Компания", "Теги", "Статус", "Комментарий"])
    for i in range(rows):
        name = f"{FIRST[i % len(FIRST)]} {LAST[i // len(FIRST) % len(LAST)]} {i}"
        status = ("активный", "потенциальный", "")[i % 3]
        w.writerow([name, phone(i), f"client{i}@example.ru", f"ООО Компания {i % 5000}", "import,bench",
                    status, f"строка {i}"])  # fmt: skip
    return buffer.getvalue().encode()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def seed_known(session_factory, rows: int, share: float, now: datetime) -> int:
    """Every 1/share-th row's phone stored beforehand, so those rows are already known."""
    step = max(int(1 / share), 1) if share > 0 else 0
    if not step:
        return 0
    numbers = [i for i in range(0, rows, step)]
    async with session_factory() as s, s.begin():
        admin = await s.get(User, ADMIN)
        for start in range(0, len(numbers), 5000):
            items = [
                NewClient(
                    ClientData(name=f"Known {i}", phones=[phone(i).replace(" ", "").replace("-", "")]), ADMIN
                )
                for i in numbers[start : start + 5000]
            ]
            await create_many(s, admin, items, now)
    return len(numbers)


async def run(url: str, rows: int, known: float) -> float:
    await dbsetup.prepare(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    now = datetime.now(UTC)
    async with factory() as s, s.begin():
        s.add(User(id=ADMIN, first_name="Admin", role=Role.admin))
    seeded = await seed_known(factory, rows, known, now)
    data = generated_csv(rows)
    print(
        f"{dbsetup.describe(url)}: {rows:,} rows, {len(data) / 1e6:.1f} MB CSV, {seeded:,} phones known",
        file=sys.stderr,
    )
    times: dict[str, tuple[float, float]] = {}
    start, cpu_start = time.perf_counter(), time.process_time()
    t, cpu = start, cpu_start

    def lap(stage_name: str) -> None:
        nonlocal t, cpu
        times[stage_name] = (time.perf_counter() - t, time.process_time() - cpu)
        t, cpu = time.perf_counter(), time.process_time()

    table = await asyncio.to_thread(reading.read, data, "clients.csv")
    lap("read")
    del data
    async with factory() as s, s.begin():
        admin = await s.get(User, ADMIN)
        imp = await staging.stage(s, admin, ADMIN, table, "clients.csv", now)
        staging.choose_kind(imp, imp.version, fields.CLIENTS, now)
        import_id = imp.id
    del table
    lap("stage")
    async with factory() as s, s.begin():
        admin = await s.get(User, ADMIN)
        imp = await staging.get(s, admin, import_id)
        outcome = await checking.dry_run(s, imp, admin, now, **OPTS)
        to_add, already = imp.to_add, imp.known
        await staging.start_apply(s, imp, imp.version, None, now)
    del outcome
    lap("dry run")
    batches = 0
    more = True
    while more:  # as the apply job does: one transaction per batch
        async with factory() as s, s.begin():
            admin = await s.get(User, ADMIN)
            imp = await s.get(Import, import_id)
            more = await applying.apply_batch(s, imp, admin, now, **OPTS)
            batches += 1
    lap("apply")
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    async with factory() as s:
        clients = await s.scalar(select(func.count()).select_from(Client))
    await engine.dispose()
    for stage_name, (seconds, cpu_seconds) in times.items():
        print(f"  {stage_name:8s} {seconds:7.1f} s   CPU {cpu_seconds:5.1f} s")
    print(
        f"  total    {total:7.1f} s   (target {TARGET_S:.0f} s)   CPU {cpu:.1f} s   "
        f"peak RSS {rss_mb():.0f} MB"
    )
    print(
        f"  to add {to_add:,}, already known {already:,}; {batches} batches; {clients:,} clients in the table"
    )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--known", type=float, default=0.1)
    parser.add_argument("--db", default=None, help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite+aiosqlite:///{tmp}/imports.sqlite3"
        total = asyncio.run(run(url, args.rows, args.known))
    if args.check and total > TARGET_S:
        sys.exit(1)


if __name__ == "__main__":
    main()
