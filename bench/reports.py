"""/reports at size: the rollup job over a seeded database, then each report's figures, text and chart
for an admin and for a manager, p50/p99 (target: each report under 1 s, chart included).

    .venv/bin/python bench/reports.py --db sqlite+aiosqlite:////work/benchdata/h4.sqlite3
    .venv/bin/python bench/reports.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/bench1m_h4

The database must be a copy you may write to: it is migrated to head (the rollup tables) and the rollup
fills them. Its first run rolls the last 400 days (in runs of 62 days, each its own transaction, as
the job does); a second run shows the nightly case (nothing new: the watermarks hold); then one
closed day is rolled again as the night does it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from bench.dbsetup import describe
from bot.db import create_engine, create_session_factory
from bot.i18n import create_i18n
from bot.migrate import upgrade
from bot.views import charts
from bot.views import reports as views
from models.clients import Client
from models.loyalty import Purchase
from models.reports import ClientFirstPurchase, ReportDaily, ReportState, ReportWeekly
from models.users import Role, User
from services.analytics.reports import build, rollup
from services.analytics.reports.periods import Period

TZ = "Europe/Moscow"
STAGES = ("new", "qualification", "proposal", "negotiation", "won", "lost")
BUILDERS = {
    build.Report.funnel: build.funnel,
    build.Report.revenue: build.revenue,
    build.Report.activity: build.activity,
    build.Report.sources: build.sources,
    build.Report.satisfaction: build.satisfaction_report,
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def roll(factory, now: datetime) -> tuple[float, int]:
    started, runs = time.perf_counter(), 0
    while True:
        async with factory() as s, s.begin():
            result = await rollup.roll_up(s, now, TZ, "RUB")
        runs += 1
        print(f"  run {runs}: {result}", flush=True)
        if not result.more:
            return time.perf_counter() - started, runs


async def one_report(factory, user: User, report: build.Report, period: Period, now: datetime) -> float:
    started = time.perf_counter()
    async with factory() as s:
        req = build.Request(user, period, now, TZ, TZ, "RUB", STAGES)
        data = await BUILDERS[report](s, req)
    text, chart, _table = views.render(report, data, "ru")
    png = await asyncio.to_thread(charts.render, chart)
    assert text and png.startswith(b"\x89PNG")
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> None:
    engine = create_engine(args.db)
    print(describe(args.db))
    await upgrade(engine)
    factory = create_session_factory(engine)
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    async with factory() as s:
        purchases = await s.scalar(select(func.max(Purchase.id))) or 0
        clients = await s.scalar(select(func.max(Client.id))) or 0
        admin = await s.scalar(select(User).where(User.role == Role.admin).limit(1))
        owner = (
            await s.scalar(
                select(Client.owner_id).group_by(Client.owner_id).order_by(func.count().desc()).limit(1)
            )
            if args.busiest
            else await s.scalar(select(User.id).where(User.role == Role.manager).limit(1))
        )
        manager = await s.get(User, owner)
    print(
        f"clients ~{clients:,}, purchases ~{purchases:,}; admin {admin.id if admin else None}, "
        f"manager {owner}"
    )
    if args.fresh:
        async with factory() as s, s.begin():
            await s.execute(delete(ReportDaily))
            await s.execute(delete(ReportWeekly))
            await s.execute(delete(ReportState))
            await s.execute(delete(ClientFirstPurchase))
    if args.skip_rollup:
        await timings(factory, admin, manager, now, args.n)
        await engine.dispose()
        return
    print("rollup, first run (the last 400 days):")
    seconds, runs = await roll(factory, now)
    print(f"  {seconds:.1f} s in {runs} runs")
    print("rollup, again (nothing new):")
    seconds, _runs = await roll(factory, now)
    print(f"  {seconds:.2f} s")
    print("rollup, the next night (one closed day):")
    async with factory() as s, s.begin():
        state = await s.get(ReportState, 1)
        state.rolled_until -= timedelta(days=1)
    seconds, _runs = await roll(factory, now)
    print(f"  {seconds:.2f} s")
    async with factory() as s:
        rows = await s.scalar(select(func.count()).select_from(ReportDaily))
        weekly = await s.scalar(select(func.count()).select_from(ReportWeekly))
    print(f"report_daily rows: {rows:,}, report_weekly rows: {weekly:,}")

    await timings(factory, admin, manager, now, args.n)
    await engine.dispose()


async def timings(factory, admin: User, manager: User, now: datetime, n: int) -> None:
    i18n = create_i18n("ru")
    print(f"{'report':14} {'who':8} {'period':9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    with i18n.context(), i18n.use_locale("ru"):
        for report in build.Report:
            for who, user in (("admin", admin), ("manager", manager)):
                for period in (Period.this_month, Period.months12):
                    await one_report(factory, user, report, period, now)  # warm-up
                    times = [await one_report(factory, user, report, period, now) for _ in range(n)]
                    ms = [t * 1000 for t in times]
                    print(
                        f"{report.value:14} {who:8} {period.name:9} {statistics.median(ms):8.0f} "
                        f"{pct(ms, 0.99):8.0f} {max(ms):8.0f}",
                        flush=True,
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a database you may write to (a copy)")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--fresh", action="store_true", help="drop the rollup tables' rows first")
    parser.add_argument("--now", help="the reports' clock, ISO 8601 with a zone (default: now)")
    parser.add_argument("--skip-rollup", action="store_true", help="only time the reports")
    parser.add_argument("--busiest", action="store_true", help="the manager who owns most clients")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
