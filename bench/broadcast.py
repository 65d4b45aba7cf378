"""A broadcast to 100,000 consenting customers at SEND_RATE, with a manager's /find measured beside it.

    .venv/bin/python bench/broadcast.py [--db URL] [--recipients 100000] [--send-rate 30]
        [--find-rate 2] [--idle-n 100] [--during-n N] [--check]

Seeds a fresh database (SQLite in a temp dir by default; a PostgreSQL URL gets its schema reset) with
bulk inserts: N customers linked to the bot (a `users` row and a client with its Telegram id each),
offers consent given (the `client_consents` row `core.claim` reads through `consent.allowed`, and its
`consent_events` row), one admin, and one manager who owns `--manager-clients` clients written by
the app's own `clients.create` (search terms and all), the ones the manager's /find finds.

The bot is a separate OS process, `python main.py run` (what production runs: polling, the scheduler
on, SEND_RATE from the environment), forked from a server that preloaded the app
(tests/support/crash_support.py). The fake Bot API (tests/fakebot) runs in this process with
Telegram's limits: 30 messages a second overall and one a second per chat, 429 with retry_after past
them. The manager's chat alone may get `2 × --find-rate` replies a second (the measuring rate is above
what one chat may get from Telegram; every recipient keeps 1/s).

The bot runs on the system clock, so the recipients live in a fixed-offset zone where it is 12:xx now
(printed): their 10:00-21:00 daytime covers at least the next 8 hours, and quiet hours hold nothing
back. Then:

1. the manager's /find, `--idle-n` round trips at `--find-rate` a second (after 10 warm-up), idle;
2. the admin starts the broadcast the way a person does: /broadcast, 👥 All customers, the text, Skip
   (no second language), 🚀 Send now, through the buttons;
3. once 10 % are sent, the manager's /find again (`--during-n`, default `--idle-n`);
4. it waits until the campaign is done.

Every recipient's message is timed as the fake accepts it. Prints the recipients, the seconds from the
press of Send now to the last recipient's message, the ceiling N / SEND_RATE and the share of it
achieved, the steady-state rate (between 5 % and 95 % sent), the fake's 429s (all, and in the steady
state), the delivery rows by status, duplicates (chats that got more than one message), /find p50/p99
idle and during and their ratio, and the load average at the start, the highest during and the end.
No assertion unless `--check` (share ≥ 99 %, no 429 in the steady state, no duplicate, every
recipient sent, during p99 ≤ 2 × idle p99).

`--paid-rate R` runs a paid broadcast instead: the bot gets PAID_BROADCAST_RATE=R, the admin turns on
⭐ Paid broadcast in the preview (the bot shows its Stars estimate, printed), and the fake lets paid
messages through at Telegram's 1000 a second (their own bucket; 1/s per chat as ever). The ceiling is
then N / R, and the target (with `--check`) a steady state of at least 500/s and no duplicate.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.fakebot is not an installed package

from sqlalchemy import func, insert, select  # noqa: E402

from bench import dbsetup  # noqa: E402
from bench.flood import MANAGER, WORDS, manager_series  # noqa: E402
from bench.roundtrip import Series  # noqa: E402
from bot.db import create_engine, create_session_factory  # noqa: E402
from models.campaigns import Campaign, CampaignDelivery, CampaignStatus  # noqa: E402
from models.clients import Client  # noqa: E402
from models.consent import ClientConsent, ConsentEvent, ConsentSource, Purpose  # noqa: E402
from models.users import Role, User  # noqa: E402
from services import clients as clients_service  # noqa: E402
from tests.conftest import ADMIN_ID  # noqa: E402
from tests.fakebot import FakeTelegram, FakeUser  # noqa: E402
from tests.support.crash_support import CrashBot, fork_server  # noqa: E402

CUSTOMER_BASE = 1_000_000  # recipients' Telegram ids: CUSTOMER_BASE + i
CHUNK = 2000
TEXT = "Акция для {first_name}: скидка 20 % до воскресенья"
SENT_MARK = "Акция для "


def daytime_zone(now: datetime) -> str:
    """A fixed-offset zone where it is 12:xx now: daytime (10:00-21:00) for at least 8 more hours."""
    offset = 12 - now.astimezone(UTC).hour  # -11..12, all of them Etc zones
    return f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is UTC+3


def engine_commit() -> str:
    """The code measured: HEAD of this checkout (and whether it has uncommitted changes)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


def load() -> float:
    return os.getloadavg()[0]


# --- seeding ---


async def seed(url: str, n: int, zone: str, manager_clients: int) -> float:
    """The admin, the manager with their clients, and N linked customers who agreed to offers (bulk
    inserts of CHUNK rows per table and transaction). Returns the seconds taken."""
    began = time.perf_counter()
    now = datetime.now(UTC)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    try:
        async with factory() as s, s.begin():
            s.add(User(id=ADMIN_ID, first_name="Olga", role=Role.admin, tg_language="ru", language="ru"))
            s.add(User(id=MANAGER, first_name="Anna", role=Role.manager, tg_language="ru", language="ru"))
            await s.flush()
            owner = await s.get(User, MANAGER)
            assert owner is not None
            for i in range(manager_clients):
                name = f"{WORDS[i % len(WORDS)]} Клиент{i}"
                data = clients_service.ClientData(name=name, phones=[f"+7916{i:07d}"])
                await clients_service.create(s, owner, data, now)
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
                            "first_name": f"Покупатель{i}",
                            "tg_language": "ru",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in ids
                    ],
                )
                linked = (
                    await s.execute(
                        insert(Client).returning(Client.id, Client.telegram_id),
                        [
                            {
                                "name": f"Покупатель{i} Бенчев",
                                "telegram_id": CUSTOMER_BASE + i,
                                "timezone": zone,
                                "owner_id": ADMIN_ID,
                                "created_by": ADMIN_ID,
                                "created_at": now,
                                "updated_at": now,
                            }
                            for i in ids
                        ],
                    )
                ).all()
                await s.execute(
                    insert(ClientConsent),
                    [
                        {"client_id": c, "purpose": Purpose.marketing, "granted": True, "updated_at": now}
                        for c, _tg in linked
                    ],
                )
                await s.execute(
                    insert(ConsentEvent),
                    [
                        {
                            "client_id": c,
                            "purpose": Purpose.marketing,
                            "granted": True,
                            "at": now,
                            "source": ConsentSource.button,
                            "actor_id": tg,
                            "text_version": "bench",
                        }
                        for c, tg in linked
                    ],
                )
            if first and first % 20_000 == 0:
                print(f"  seeded {first:,} / {n:,}", flush=True)
    finally:
        await engine.dispose()
    return time.perf_counter() - began


# --- the fake's side: every recipient's message timed as it is accepted ---


@dataclass
class Deliveries:
    """Recipients' messages as the fake accepts them (after its rate limits): when, and per chat."""

    tg: FakeTelegram
    n: int
    times: list[float] = field(default_factory=list)
    per_chat: Counter[int] = field(default_factory=Counter)
    s429_at: dict[int, int] = field(default_factory=dict)  # sent count -> the fake's 429s by then

    def install(self) -> None:
        marks = {max(1, round(self.n * p)) for p in (0.05, 0.95)} | {self.n}
        inner = self.tg.api.handlers["sendMessage"]

        def timed(params: dict[str, Any]) -> Any:
            result = inner(params)  # raises for a refused call: not counted
            chat = params.get("chat_id")
            if isinstance(chat, int) and chat >= CUSTOMER_BASE and SENT_MARK in str(params.get("text")):
                self.times.append(time.monotonic())
                self.per_chat[chat] += 1
                if len(self.times) in marks:
                    self.s429_at[len(self.times)] = self.tg.stats["429"]
            return result

        self.tg.api.handlers["sendMessage"] = timed

    @property
    def sent(self) -> int:
        return len(self.times)

    def at_share(self, share: float) -> float:
        return self.times[max(1, round(self.n * share)) - 1]

    def duplicates(self) -> int:
        return sum(1 for count in self.per_chat.values() if count > 1)


def make_fake(n: int, find_rate: float, update_timeout: float = 60.0) -> FakeTelegram:
    """Telegram's limits (30/s overall, 1/s per chat), N recipients who started the bot, the manager
    allowed 2 × find_rate replies a second."""
    tg = FakeTelegram(global_rate=30, per_chat_rate=1, update_timeout=update_timeout)
    tg.rate_limiter.set_chat_limit(MANAGER, max(1.0, 2 * find_rate))
    for i in range(n):
        tg.user(CUSTOMER_BASE + i, f"Покупатель{i}", language_code="ru", started=True)
    return tg


def start_bot(tg: FakeTelegram, url: str, workdir: Path, send_rate: float, **env: str) -> CrashBot:
    forks = fork_server()
    overrides = {
        "SEND_RATE": f"{send_rate:g}",
        "LOG_LEVEL": "WARNING",
        "FLOOD_RATE": str(dbsetup.NO_FLOOD_GUARD["flood_rate"]),
        "FLOOD_BURST": str(dbsetup.NO_FLOOD_GUARD["flood_burst"]),
        **env,
    }
    bot = CrashBot(forks, tg, url, workdir, **overrides)
    bot.forks_owned = forks  # type: ignore[attr-defined]
    return bot


async def stop_bot(bot: CrashBot) -> None:
    if bot.runs and bot.process.alive:
        await bot.process.terminate()
    await bot.stop()
    bot.forks_owned.close()  # type: ignore[attr-defined]


def bot_errors(bot: CrashBot) -> list[str]:
    lines: list[str] = []
    for run in bot.runs:
        try:
            text = run.log_path.read_text(errors="replace")
        except FileNotFoundError:
            continue
        lines += [line for line in text.splitlines() if line.startswith(("ERROR", "CRITICAL", "Traceback"))]
    return lines


async def start_broadcast(bot: CrashBot, olga: FakeUser, paid: bool = False) -> str:
    """The admin's way: /broadcast, 👥 All customers, the text, Skip (with `paid`, ⭐ Paid broadcast
    on), then 🚀 Send now (its press is left to the caller: `send_now(...)`). Returns the reachable
    count the bot showed (and the Stars estimate)."""
    await bot.step(olga.send("/start"), None, olga)
    await bot.step(olga.send("/broadcast"), "Кому отправить", olga)
    await bot.step(olga.press("👥 Все клиенты"), "Доступно сейчас", olga)
    texts = [m.text or "" for m in reversed(olga.messages)]
    line = next((line for t in texts for line in t.splitlines() if "Доступно сейчас" in line), "?")
    await bot.step(olga.send(TEXT), "Пропустить", olga)
    await bot.step(olga.press("Пропустить"), "Предпросмотр", olga)
    if paid:
        await bot.step(olga.press("▫️ ⭐ Платная рассылка (быстрее)"), "Платная рассылка:", olga)
        text = next(m.text or "" for m in reversed(olga.messages) if "Платная рассылка:" in (m.text or ""))
        line += " " + next(x for x in text.splitlines() if "Платная рассылка:" in x)
    return line.strip()


def send_now(olga: FakeUser) -> Any:
    return olga.press("🚀 Отправить сейчас")


@dataclass
class Db:
    url: str

    def __post_init__(self) -> None:
        self.engine = create_engine(self.url)
        self.factory = create_session_factory(self.engine)

    async def campaign(self) -> Campaign | None:
        async with self.factory() as s:
            return await s.scalar(select(Campaign).order_by(Campaign.id.desc()).limit(1))

    async def counts(self, campaign_id: int) -> dict[str, int]:
        async with self.factory() as s:
            rows = await s.execute(
                select(CampaignDelivery.status, func.count())
                .where(CampaignDelivery.campaign_id == campaign_id)
                .group_by(CampaignDelivery.status)
            )
            return {str(status): int(count) for status, count in rows.all()}

    async def wait_done(
        self, within: float, report: Callable[[], None] | None = None, every: float = 60.0
    ) -> Campaign | None:
        """Until the latest campaign is no longer sending (or the timeout), `report` every `every` s."""
        deadline = time.monotonic() + within
        next_report = time.monotonic() + every
        campaign = await self.campaign()
        while time.monotonic() < deadline:
            campaign = await self.campaign()
            if campaign is not None and campaign.status not in (CampaignStatus.sending, CampaignStatus.draft):
                return campaign
            if report is not None and time.monotonic() >= next_report:
                report()
                next_report += every
            await asyncio.sleep(1.0)
        return campaign

    async def close(self) -> None:
        await self.engine.dispose()


def too_many_by_chat(tg: FakeTelegram) -> str:
    """The fake's 429 answers by whose chat the call was for."""
    names = {ADMIN_ID: "the admin", MANAGER: "the manager"}
    chats = Counter(
        names.get(
            e.params.get("chat_id"), "recipients" if isinstance(e.params.get("chat_id"), int) else "other"
        )
        for e in tg.errors
        if e.error_code == 429
    )
    return ", ".join(f"{who} {count}" for who, count in chats.most_common()) or "none"


def fmt_counts(counts: dict[str, int]) -> str:
    order = ["sent", "unknown", "blocked", "no_consent", "capped", "failed", "queued", "sending"]
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return ", ".join(f"{k} {counts[k]:,}" for k in keys) or "none"


# --- the benchmark ---


async def run(args: argparse.Namespace) -> bool:
    n, rate = args.recipients, args.paid_rate or args.send_rate
    paid = bool(args.paid_rate)
    tmp = tempfile.TemporaryDirectory(prefix="bench-broadcast-")
    url = args.db or f"sqlite+aiosqlite:///{tmp.name}/crm.sqlite3"
    zone = daytime_zone(datetime.now(UTC))
    mode = f"paid broadcast at {rate:g}/s (SEND_RATE {args.send_rate:g})" if paid else f"SEND_RATE {rate:g}/s"
    print(f"database: {dbsetup.describe(url)}; recipients: {n:,}; {mode}")
    print(f"code: {engine_commit()}")
    print(f"recipients' time zone: {zone} (12:xx there now; the bot runs on the system clock)")
    await dbsetup.prepare(url)
    print(f"seeded in {await seed(url, n, zone, args.manager_clients):.1f} s", flush=True)

    tg = make_fake(n, args.find_rate)
    deliveries = Deliveries(tg, n)
    deliveries.install()
    await tg.start()
    workdir = Path(tmp.name)
    extra = {"PAID_BROADCAST_RATE": f"{rate:g}"} if paid else {}
    bot = start_bot(tg, url, workdir, args.send_rate, **extra)
    db = Db(url)
    loads = [load()]
    ok = False
    try:
        await bot.start()
        olga = tg.user(ADMIN_ID, "Olga", language_code="ru")
        await manager_series(tg, 10, args.find_rate)  # warm-up
        idle = await manager_series(tg, args.idle_n, args.find_rate)
        print(f"/find idle: p50 {idle.p50:.1f} ms, p99 {idle.p99:.1f} ms", flush=True)
        shown = await start_broadcast(bot, olga, paid)
        load_start = load()
        print(f"admin saw: {shown}; load average at the start: {load_start:.2f}", flush=True)
        pressed = time.monotonic()
        await bot.step(send_now(olga), "🚀", olga)
        started_in = time.monotonic() - pressed
        print(f"'Send now' answered in {started_in:.1f} s", flush=True)

        during = Series()
        window: list[int] = []

        async def measure_during() -> None:
            while deliveries.sent < n * 0.10:  # noqa: ASYNC110 (a count the fake's handler bumps)
                await asyncio.sleep(0.2)
            window.append(deliveries.sent)
            series = await manager_series(tg, args.during_n or args.idle_n, args.find_rate)
            during.samples, during.problems = series.samples, series.problems
            window.append(deliveries.sent)

        measuring = asyncio.create_task(measure_during())

        def report() -> None:
            loads.append(load())
            elapsed = time.monotonic() - pressed
            print(
                f"  {elapsed:6.0f} s: {deliveries.sent:,} sent ({deliveries.sent / elapsed:.2f}/s), "
                f"429: {tg.stats['429']}, load {loads[-1]:.2f}",
                flush=True,
            )

        campaign = await db.wait_done(n / rate * 2 + 600, report, every=args.report_every)
        done_at = time.monotonic()
        await asyncio.wait_for(measuring, 120)
        loads.append(load())
        load_end = load()
        assert campaign is not None
        counts = await db.counts(campaign.id)
        errors = bot_errors(bot)
    finally:
        await stop_bot(bot)
        await db.close()
        await tg.stop()

    ceiling = n / rate
    steady = 0.0
    last = deliveries.times[-1] if deliveries.times else done_at
    total = last - pressed
    print()
    print(f"recipients: {n:,}; campaign {campaign.status}; delivery rows: {fmt_counts(counts)}")
    print(
        f"total: {total:.1f} s from the press of Send now to the last recipient's message "
        f"(campaign marked done after {done_at - pressed:.1f} s)"
    )
    share = ceiling / total if total > 0 else 0.0
    what = "N / PAID_BROADCAST_RATE" if paid else "N / SEND_RATE"
    print(f"ceiling: {ceiling:.1f} s ({what}); achieved: {share:.1%} of it ({n / total:.2f}/s)")
    if deliveries.sent >= n:
        t5, t95 = deliveries.at_share(0.05), deliveries.at_share(0.95)
        steady = (round(n * 0.95) - round(n * 0.05)) / (t95 - t5)
        first_to_last = deliveries.times[-1] - deliveries.times[0]
        marks = sorted(deliveries.s429_at)
        s429_steady = deliveries.s429_at[marks[1]] - deliveries.s429_at[marks[0]]
        print(
            f"steady state (5 % to 95 % sent): {steady:.2f}/s ({steady / rate:.1%} of the rate); "
            f"first to last message {first_to_last:.1f} s for {n - 1:,} intervals "
            f"({(n - 1) / first_to_last:.2f}/s)"
        )
    else:
        s429_steady = -1
        print(f"only {deliveries.sent:,} of {n:,} recipients got their message")
    print(
        f"429 from the fake: {tg.stats['429']} in all ({too_many_by_chat(tg)}), "
        f"{s429_steady} in the steady state"
    )
    missing = n - len(deliveries.per_chat)
    print(
        f"duplicates (chats with more than one message): {deliveries.duplicates()}; "
        f"chats with none: {missing}"
    )
    ratio = during.p99 / idle.p99 if idle.p99 else float("nan")
    print(
        f"/find at {args.find_rate:g}/s, {args.manager_clients} clients of the manager: "
        f"idle p50 {idle.p50:.1f} / p99 {idle.p99:.1f} ms (n={len(idle.samples)}); "
        f"during p50 {during.p50:.1f} / p99 {during.p99:.1f} ms (n={len(during.samples)}, "
        f"while {window[0]:,} → {window[-1]:,} were sent); p99 ratio {ratio:.2f}×"
        if window
        else "/find during: not measured"
    )
    for problem in (idle.problems + during.problems)[:5]:
        print(f"    ! {problem}")
    print(
        f"load average (1 min): start {load_start:.2f}, highest sampled {max(loads):.2f}, end {load_end:.2f}"
    )
    print(f"errors in the bot's log: {len(errors)}")
    for line in errors[:5]:
        print(f"    {line[:200]}")
    if paid:
        ok = steady >= 500 and deliveries.duplicates() == 0 and counts.get("sent", 0) == n
        print(
            "targets (a steady state ≥ 500/s, no duplicate, every recipient sent):",
            "MET" if ok else "NOT MET",
        )
        tmp.cleanup()
        return ok
    ok = (
        share >= 0.99
        and s429_steady == 0
        and deliveries.duplicates() == 0
        and counts.get("sent", 0) == n
        and ratio <= 2
    )
    print("targets (≥ 99 % of the ceiling, no 429 in the steady state, no duplicate, /find p99 ≤ 2×):",
          "MET" if ok else "NOT MET")  # fmt: skip
    tmp.cleanup()
    return ok


def common_parser(doc: str, recipients: int) -> argparse.ArgumentParser:
    """The options every broadcast benchmark takes."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--recipients", type=int, default=recipients)
    parser.add_argument("--send-rate", type=float, default=30.0, help="SEND_RATE (messages/s, at most 30)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser


def run_cli(parser: argparse.ArgumentParser, bench: Callable[[argparse.Namespace], Any]) -> None:
    """Parse, run the benchmark, and exit 1 under --check when it missed a target."""
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ok = asyncio.run(bench(args))
    if args.check and not ok:
        raise SystemExit(1)


def main() -> None:
    parser = common_parser(__doc__, 100_000)
    parser.add_argument("--find-rate", type=float, default=2.0, help="the manager's /find per second")
    parser.add_argument("--idle-n", type=int, default=100, help="/find round trips measured idle")
    parser.add_argument("--during-n", type=int, default=0, help="... and during (default: --idle-n)")
    parser.add_argument("--paid-rate", type=float, default=0, help="a paid broadcast at this rate (≤ 1000)")
    parser.add_argument("--manager-clients", type=int, default=1000)
    parser.add_argument("--report-every", type=float, default=60.0, help="seconds between progress lines")
    run_cli(parser, run)


if __name__ == "__main__":
    main()
