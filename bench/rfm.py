"""The nightly RFM + ABC run and /rfm's reads at scale: 1,000,000 clients, 10,000,000 purchases.

    .venv/bin/python bench/seed.py --clients 1000000 --db URL          # once
    .venv/bin/python bench/seed_purchases.py --db URL                   # once: 10M purchases
    .venv/bin/python bench/rfm.py --db URL [--runs 2] [--n 50]

Migrates the database to head (the run's covering index and summary column come with migration
0009: build them on a copy, not on a database others use), then runs services/analytics/rfm.run
--runs times, dated the seed's day and the days after it (the second run has a previous one, so the
movement is computed too), printing each run's seconds per step and the process's peak RSS and its
growth over the run. Then times what /rfm reads per request — the latest two runs, the distribution
with ABC and the Pareto check, the movement, the first page of a segment — for the admin (the whole
base: from the run's summary) and for a manager (their own clients, live), --n times each, p50/p99.
Targets (issue 9): the run under 60 s on SQLite and PostgreSQL with memory flat; /rfm under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed import BENCH_MANAGER_BASE, NOW  # noqa: E402
from bot.db import create_engine, create_session_factory  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from services.analytics import rfm  # noqa: E402
from services.analytics.segments import Segment  # noqa: E402


def rss_mb() -> float:
    """The current resident set size (MB), from /proc."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


async def rfm_view(session_factory, owner: int | None) -> None:
    """What handlers/analytics/rfm.overview and one segment page read."""
    async with session_factory() as s:
        run, previous = await rfm.latest_runs(s)
        assert run is not None
        await rfm.distribution(s, run, owner)
        await rfm.movement(s, run, previous, owner)
        await rfm.segment_clients(s, run, Segment.AT_RISK, owner, 0)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--n", type=int, default=50, help="timed /rfm reads per viewer")
    parser.add_argument("--currency", default="RUB")
    args = parser.parse_args()
    engine = create_engine(args.db)
    started = time.monotonic()
    await upgrade(engine)
    print(f"migrated in {time.monotonic() - started:.1f} s", file=sys.stderr)
    out: dict[str, object] = {"runs": []}
    for i in range(args.runs):
        as_of = NOW.date() + timedelta(days=i)
        base = rss_mb()
        cpu = time.process_time()
        started = time.monotonic()
        result = await rfm.run(engine, as_of=as_of, currency=args.currency, now=datetime.now(UTC), keep=35)
        seconds = round(time.monotonic() - started, 1)
        row = {
            "as_of": as_of.isoformat(),
            "seconds": seconds,
            # this process's CPU: on SQLite the whole computation (it runs in-process), on PostgreSQL
            # only the client's side
            "cpu_seconds": round(time.process_time() - cpu, 1),
            "steps": result.seconds,
            "population": result.population,
            "rss_before_mb": round(base, 1),
            "rss_after_mb": round(rss_mb(), 1),
            "peak_rss_mb": round(peak_mb(), 1),
        }
        out["runs"].append(row)  # type: ignore[union-attr]
        print(json.dumps(row), file=sys.stderr)
    factory = create_session_factory(engine)
    for name, owner in (("admin", None), ("manager", BENCH_MANAGER_BASE + 1)):
        await rfm_view(factory, owner)  # warm-up
        times = []
        for _ in range(args.n):
            t = time.perf_counter()
            await rfm_view(factory, owner)
            times.append((time.perf_counter() - t) * 1000)
        out[f"rfm_{name}_ms"] = {"p50": round(pct(times, 0.5), 1), "p99": round(pct(times, 0.99), 1)}
        print(name, out[f"rfm_{name}_ms"], file=sys.stderr)
    await engine.dispose()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
