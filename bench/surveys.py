"""10,000 due surveys through the real queue and sender, against the fake Bot API's rate limits.

    .venv/bin/python bench/surveys.py [--n 10000] [--rate 25] [--db URL]
        [--margin 0.05] [--check]

Seeds a fresh database (SQLite in a temp dir by default; a PostgreSQL URL gets its schema reset) with
N linked customers (a Telegram account each, survey consent granted, a contact logged by one manager)
and one planned survey each whose `survey.send` job is due now, exactly the rows services/surveys.after
writes. Then it starts the app the way `main.py run` does (the queue ticks every QUEUE_TICK_SECONDS,
batches of QUEUE_BATCH_SIZE, the one paced Sender at SEND_RATE) against a FakeTelegram that enforces
Telegram's limits (30 messages/s overall, answering 429 past them), and waits until every job is done.

Every job checks all the rules again at send time (link, trigger on, 14-day limit, consent, the
customer's daytime), so this measures the full send path. The app's clock is real time moved to a
weekday noon in Moscow, so the quiet hours never hold a survey back whenever the benchmark runs.

Prints the elapsed time from the first tick to the last job done, messages per second, the 429s the
fake server answered, and how that compares to the ceiling N / SEND_RATE (plus the margin).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.fakebot is not an installed package

from sqlalchemy import func, insert, select  # noqa: E402

from bench import dbsetup  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.db import create_engine, create_session_factory  # noqa: E402
from models.clients import Client  # noqa: E402
from models.consent import ClientConsent, ConsentEvent, ConsentSource, Purpose  # noqa: E402
from models.interactions import Interaction, InteractionKind, InteractionOutcome  # noqa: E402
from models.jobs import Job, JobStatus  # noqa: E402
from models.surveys import Survey, SurveyStatus, SurveyTrigger  # noqa: E402
from models.users import Role, User  # noqa: E402
from services import surveys as surveys_service  # noqa: E402
from tests.fakebot import FakeTelegram  # noqa: E402

ADMIN_ID = 100
MANAGER_ID = 200
CUSTOMER_BASE = 1_000_000
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # Tuesday, 12:00 in Moscow
CHUNK = 1000


class RunningClock:
    """Real time, shifted so that the run starts at START (the customers' daytime)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


async def seed(url: str, n: int, now: datetime) -> float:
    """N linked, consenting customers with a contact each and a due survey; returns seconds taken."""
    began = time.perf_counter()
    engine = create_engine(url)
    factory = create_session_factory(engine)
    try:
        async with factory() as s, s.begin():
            s.add(User(id=MANAGER_ID, first_name="Anna", role=Role.manager, tg_language="ru"))
            await s.flush()
        for first in range(0, n, CHUNK):
            ids = range(first, min(first + CHUNK, n))
            async with factory() as s, s.begin():
                await s.execute(
                    insert(User),
                    [
                        {
                            "id": CUSTOMER_BASE + i,
                            "role": Role.customer,
                            "is_active": True,
                            "first_name": f"Customer {i}",
                            "tg_language": "ru",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in ids
                    ],
                )
                client_ids = (
                    await s.scalars(
                        insert(Client).returning(Client.id),
                        [
                            {
                                "name": f"Customer {i}",
                                "telegram_id": CUSTOMER_BASE + i,
                                "owner_id": MANAGER_ID,
                                "created_by": MANAGER_ID,
                                "created_at": now,
                                "updated_at": now,
                                "last_contact_at": now - timedelta(hours=2),
                            }
                            for i in ids
                        ],
                    )
                ).all()
                consent = [{"client_id": c, "purpose": Purpose.surveys, "granted": True} for c in client_ids]
                await s.execute(insert(ClientConsent), [{**row, "updated_at": now} for row in consent])
                await s.execute(
                    insert(ConsentEvent),
                    [
                        {**row, "at": now, "source": ConsentSource.button, "text_version": "bench"}
                        for row in consent
                    ],
                )
                contact_ids = (
                    await s.scalars(
                        insert(Interaction).returning(Interaction.id),
                        [
                            {
                                "client_id": c,
                                "author_id": MANAGER_ID,
                                "kind": InteractionKind.call,
                                "outcome": InteractionOutcome.reached,
                                "occurred_at": now - timedelta(hours=2),
                                "created_at": now - timedelta(hours=2),
                            }
                            for c in client_ids
                        ],
                    )
                ).all()
                survey_ids = (
                    await s.scalars(
                        insert(Survey).returning(Survey.id),
                        [
                            {
                                "client_id": c,
                                "manager_id": MANAGER_ID,
                                "trigger": SurveyTrigger.contact,
                                "ref_id": ref,
                                "status": SurveyStatus.planned,
                                "planned_at": now - timedelta(hours=2),
                                "due_at": now,
                            }
                            for c, ref in zip(client_ids, contact_ids, strict=True)
                        ],
                    )
                ).all()
                await s.execute(
                    insert(Job),
                    [
                        {
                            "kind": surveys_service.SEND_JOB,
                            "payload": {"survey_id": sid},
                            "due_at": now,
                            "status": JobStatus.pending,
                            "attempts": 0,
                            "max_attempts": 8,
                            "idempotency_key": surveys_service.job_key(sid),
                            "created_at": now,
                            "updated_at": now,
                        }
                        for sid in survey_ids
                    ],
                )
    finally:
        await engine.dispose()
    return time.perf_counter() - began


async def count_left(factory) -> tuple[int, dict[str, int]]:
    async with factory() as s:
        left = await s.scalar(
            select(func.count())
            .select_from(Job)
            .where(
                Job.kind == surveys_service.SEND_JOB, Job.status.in_([JobStatus.pending, JobStatus.running])
            )
        )
        outcomes = dict(
            (
                await s.execute(
                    select(Job.outcome, func.count())
                    .where(Job.kind == surveys_service.SEND_JOB, Job.status == JobStatus.done)
                    .group_by(Job.outcome)
                )
            ).all()
        )
        return int(left or 0), {str(k): int(v) for k, v in outcomes.items()}


async def run(args: argparse.Namespace) -> bool:
    tmp = tempfile.TemporaryDirectory(prefix="bench-surveys-")
    url = args.db or f"sqlite+aiosqlite:///{tmp.name}/surveys.sqlite3"
    print(f"database: {dbsetup.describe(url)}; surveys: {args.n}; SEND_RATE: {args.rate}/s")
    await dbsetup.prepare(url)
    seeded = await seed(url, args.n, START)
    print(f"seeded in {seeded:.1f} s")

    tg = FakeTelegram()  # Telegram's limits: 30 messages/s overall, 429 with retry_after past them
    await tg.start()
    for i in range(args.n):
        tg.user(CUSTOMER_BASE + i, f"Customer {i}", language_code="ru", started=True)
    settings = load_settings(
        bot_token=tg.token,
        telegram_api_url=tg.base_url,
        database_url=url,
        admin_ids=str(ADMIN_ID),
        send_rate=args.rate,
        log_level="WARNING",
        _env_file=None,
    )
    clock = RunningClock(START)
    app = create_app(settings, clock=clock)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    ok = False
    try:
        began = time.perf_counter()
        await app.startup(start_scheduler=True)
        last_report = began
        while True:
            await asyncio.sleep(0.5)
            left, outcomes = await count_left(factory)
            if time.perf_counter() - last_report >= 30:
                last_report = time.perf_counter()
                print(f"  {time.perf_counter() - began:6.0f} s: {args.n - left} done, {left} left")
            if left == 0:
                break
        elapsed = time.perf_counter() - began
        sent = outcomes.get("sent", 0)
        too_many = tg.stats["429"]
        other_errors = [e for e in tg.errors if e.error_code != 429]
        ceiling = args.n / args.rate
        limit = ceiling * (1 + args.margin)
        async with factory() as s:
            delivered = await s.scalar(
                select(func.count()).select_from(Survey).where(Survey.status == SurveyStatus.sent)
            )
        print(f"elapsed: {elapsed:.1f} s for {args.n} jobs; sent: {sent}; outcomes: {outcomes}")
        messages = sum(1 for c in tg.calls if c.method == "sendMessage")
        print(f"surveys marked sent: {delivered}; sendMessage calls at the fake server: {messages}")
        print(f"messages/s: {sent / elapsed:.2f} (SEND_RATE {args.rate}/s)")
        print(f"429 answers: {too_many}; other failed calls: {len(other_errors)}")
        print(f"ceiling: {ceiling:.1f} s (N / SEND_RATE); with {args.margin:.0%} margin: {limit:.1f} s")
        ok = sent == args.n and too_many == 0 and not other_errors and elapsed <= limit
        print("PASS" if ok else "FAIL")
    finally:
        await app.shutdown()
        await engine.dispose()
        await tg.stop()
        tmp.cleanup()
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="SEND_RATE (messages/s, at most 30)")
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--margin", type=float, default=0.05, help="allowed over N / SEND_RATE")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # A tick that drains for minutes makes APScheduler skip the next ones, and say so every second.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    ok = asyncio.run(run(args))
    if args.check and not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
