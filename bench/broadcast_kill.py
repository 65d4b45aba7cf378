"""A 10,000-recipient broadcast killed with SIGKILL at three points, restarted each time.

    .venv/bin/python bench/broadcast_kill.py [--db URL] [--recipients 10000] [--send-rate 30]
        [--at 0.1,0.5,0.9] [--check]

The set-up is bench/broadcast.py's (seeded consenting customers, the bot as its own process,
`python main.py run`, Telegram's limits in the fake, the admin's real buttons), with a short queue
lease (QUEUE_LEASE_SECONDS 10) so the killed step runs again soon after each restart. The bot is
SIGKILLed the instant the fake accepted the message that makes each share in `--at` of the
recipients (inside the fake's handler, so the bot is dead before it hears the answer). While it is
dead, the delivery rows "sending" are counted: the sends the engine had under way (claimed and
committed, not recorded yet). Then it starts again and goes on.

Prints, per kill, the sent count and the rows in flight; at the end the delivery rows by status, the
chats that got more than one message (duplicates), the chats that got none, and the "unknown" rows
against the rows in flight at the kills. No assertion unless `--check` (0 duplicates, unknown ≤ in
flight at the kills, every row sent or unknown, every sent row's chat got exactly one message).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.fakebot is not an installed package

from sqlalchemy import func, select  # noqa: E402

from bench import dbsetup  # noqa: E402
from bench.broadcast import (  # noqa: E402
    CUSTOMER_BASE,
    Db,
    Deliveries,
    bot_errors,
    common_parser,
    daytime_zone,
    engine_commit,
    fmt_counts,
    make_fake,
    run_cli,
    seed,
    send_now,
    start_bot,
    start_broadcast,
    stop_bot,
)
from models.campaigns import CampaignDelivery, DeliveryStatus  # noqa: E402
from models.clients import Client  # noqa: E402
from tests.conftest import ADMIN_ID  # noqa: E402


@dataclass
class Kills:
    """The sent count at each kill, when it was, and when each chat's message was accepted."""

    sent: list[int] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    arrived: dict[int, float] = field(default_factory=dict)

    def before_a_kill(self, chat: int) -> bool:
        when = self.arrived.get(chat)
        return when is not None and any(when <= k for k in self.at)


def arm_kills(deliveries: Deliveries, marks: list[int], pid: list[int]) -> Kills:
    """Kill the bot (pid[0], updated at each restart) right after the fake accepted the marks-th
    recipient's message."""
    kills = Kills()
    inner = deliveries.tg.api.handlers["sendMessage"]

    def handler(params: dict[str, Any]) -> Any:
        before = deliveries.sent
        result = inner(params)
        if deliveries.sent > before:
            kills.arrived[params["chat_id"]] = time.monotonic()
        if marks and deliveries.sent >= marks[0]:
            marks.pop(0)
            kills.sent.append(deliveries.sent)
            kills.at.append(time.monotonic())
            os.kill(pid[0], signal.SIGKILL)
        return result

    deliveries.tg.api.handlers["sendMessage"] = handler
    return kills


async def in_flight(db: Db, campaign_id: int) -> int:
    async with db.factory() as s:
        q = select(func.count()).where(
            CampaignDelivery.campaign_id == campaign_id, CampaignDelivery.status == DeliveryStatus.sending
        )
        return int(await s.scalar(q) or 0)


async def run(args: argparse.Namespace) -> bool:
    n, rate = args.recipients, args.send_rate
    shares = [float(x) for x in args.at.split(",")]
    tmp = tempfile.TemporaryDirectory(prefix="bench-broadcast-kill-")
    url = args.db or f"sqlite+aiosqlite:///{tmp.name}/crm.sqlite3"
    zone = daytime_zone(datetime.now(UTC))
    print(f"database: {dbsetup.describe(url)}; recipients: {n:,}; SEND_RATE {rate:g}/s; kills at {args.at}")
    print(f"code: {engine_commit()}")
    await dbsetup.prepare(url)
    print(f"seeded in {await seed(url, n, zone, 10):.1f} s", flush=True)

    tg = make_fake(n, 1.0)
    deliveries = Deliveries(tg, n)
    deliveries.install()
    pid = [0]
    kills = arm_kills(deliveries, [max(1, round(n * share)) for share in shares], pid)
    await tg.start()
    bot = start_bot(tg, url, Path(tmp.name), rate, QUEUE_TICK_SECONDS="0.2", QUEUE_LEASE_SECONDS="10")
    db = Db(url)
    flights: list[int] = []
    started = time.monotonic()
    try:
        await bot.start()
        pid[0] = bot.pid
        olga = tg.user(ADMIN_ID, "Olga", language_code="ru")
        await start_broadcast(bot, olga)
        await bot.step(send_now(olga), "🚀", olga)
        campaign = await db.campaign()
        assert campaign is not None
        while len(flights) < len(shares):
            while bot.process.alive:  # noqa: ASYNC110 (until the next kill: another process's state)
                await asyncio.sleep(0.05)
            await bot.process.wait_dead()
            flights.append(await in_flight(db, campaign.id))
            print(
                f"  killed at {kills.sent[-1]:,} sent ({time.monotonic() - started:.0f} s): "
                f"{flights[-1]} rows in flight",
                flush=True,
            )
            await bot.restart()
            pid[0] = bot.pid
        campaign = await db.wait_done(n / rate * 2 + 600)
        assert campaign is not None
        counts = await db.counts(campaign.id)
        async with db.factory() as s:
            rows = (
                await s.execute(
                    select(Client.telegram_id, CampaignDelivery.status)
                    .join(Client, Client.id == CampaignDelivery.client_id)
                    .where(CampaignDelivery.campaign_id == campaign.id)
                )
            ).all()
        errors = bot_errors(bot)
    finally:
        await stop_bot(bot)
        await db.close()
        await tg.stop()

    print()
    took = time.monotonic() - started
    print(f"campaign {campaign.status} after {took:.0f} s; delivery rows: {fmt_counts(counts)}")
    unknown = counts.get("unknown", 0)
    got = deliveries.per_chat
    sent_chats = [chat for chat, status in rows if status == DeliveryStatus.sent]
    unknown_chats = [chat for chat, status in rows if status == DeliveryStatus.unknown]
    arrived = sum(1 for chat in unknown_chats if kills.before_a_kill(chat))
    after = sum(1 for chat in unknown_chats if got.get(chat, 0) > 0 and not kills.before_a_kill(chat))
    wrong = sum(1 for chat in sent_chats if got.get(chat, 0) != 1)
    print(
        f"duplicates (chats with more than one message): {deliveries.duplicates()}; chats with none: "
        f"{sum(1 for i in range(n) if got.get(CUSTOMER_BASE + i, 0) == 0)}"
    )
    print(
        f"unknown: {unknown} ({arrived} of them had arrived before a kill, {after} after one); "
        "rows in flight at the "
        f"kills: {' + '.join(map(str, flights))} = {sum(flights)}; sent rows whose chat didn't get "
        f"exactly one message: {wrong}"
    )
    print(f"errors in the bot's logs: {len(errors)}")
    for line in errors[:5]:
        print(f"    {line[:200]}")
    ok = (
        deliveries.duplicates() == 0
        and unknown <= sum(flights)
        and counts.get("sent", 0) + unknown == n
        and wrong == 0
        and after == 0
        and len(flights) == len(shares)
    )
    print(
        "targets (0 duplicates, unknown ≤ in flight at the kills, the rest sent):", "MET" if ok else "NOT MET"
    )
    tmp.cleanup()
    return ok


def main() -> None:
    parser = common_parser(__doc__, 10_000)
    parser.add_argument("--at", default="0.1,0.5,0.9", help="the shares sent at which the bot is killed")
    run_cli(parser, run)


if __name__ == "__main__":
    main()
