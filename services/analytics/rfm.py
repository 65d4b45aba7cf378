"""RFM scores and ABC classes: the run, and what /rfm and the card read from it.

The run (exact definitions; README "RFM, ABC and VIP"):
- the window is the 365 days before the run's date (UTC): [as_of - 365 d, as_of 00:00 UTC);
- purchases are services/analytics/purchases.purchases(): bonus-program purchases (their discounted
  value; an imported one: as given) and deals won in the run's currency; other currencies stay out;
- population: clients (not merged away) with at least one purchase in the window;
- R = days from the last purchase's date to as_of, F = purchases, M = their sum;
  r = NTILE(5) OVER (ORDER BY last_purchase_at, client_id), f = NTILE(5) OVER (ORDER BY frequency,
  client_id), m = NTILE(5) OVER (ORDER BY monetary, client_id); the segment is services.analytics
  .segments.CELLS of (r, f);
- ABC: clients with revenue > 0 by revenue descending, ties by client id; the running sum of those
  before a client, as a share of the total: < 80 % A, < 95 % B, else C; no revenue, no class.

Everything is computed in SQL, rows never pass through Python: the scores are built in a temporary
table (reads only, so on SQLite the bot keeps writing meanwhile), the whole base's summary is read from
it, and one short write transaction inserts the run, copies the rows, marks it finished and drops the
runs past the retention. A run that fails leaves nothing behind: its run row is written with its scores
in that one transaction.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from time import monotonic
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased

from models.analytics import RfmRun, RfmScore
from models.base import UTCDateTime
from models.clients import Client
from models.jobs import Job, JobStatus
from models.loyalty import Purchase
from services.analytics.purchases import bonus_purchases, won_deals
from services.analytics.segments import CELLS, Segment
from services.queue import enqueue

NIGHTLY_JOB, MANUAL_JOB = "rfm_nightly", "rfm_manual"  # the queue's kinds (scheduler/analytics.py)
WINDOW_DAYS = 365
A_SHARE, B_SHARE = 80, 95  # percent
TOP_SHARE = Decimal("0.2")  # the Pareto check: the top 20 % of clients
ABC = ("A", "B", "C")
MOVES_SHOWN = 8
SQLITE_CACHE_KB = 16 * 1024  # the run's page cache on SQLite (main and temp), KiB
PAGE = 8

_work_meta = MetaData()
# The run's rows before they are copied into rfm_scores (one per scored client; TEMPORARY: private to
# the run's connection).
WORK = Table(
    "rfm_work",
    _work_meta,
    Column("client_id", BigInteger),
    Column("owner_id", BigInteger),
    Column("last_purchase_at", UTCDateTime),
    Column("recency_days", Integer),
    Column("frequency", Integer),
    Column("monetary", Numeric(18, 2)),
    Column("r", Integer),
    Column("f", Integer),
    Column("m", Integer),
    Column("segment", String(24)),
    Column("abc_class", String(1)),
    prefixes=["TEMPORARY"],
)
SCORE_COLUMNS = [c.name for c in WORK.columns]


def window(as_of: date) -> tuple[datetime, datetime]:
    """[since, until) of a run dated as_of: the 365 days before its date, UTC."""
    until = datetime.combine(as_of, time(0), UTC)
    return until - timedelta(days=WINDOW_DAYS), until


def _days_to(as_of: date, at: Any, dialect: str) -> Any:
    """Whole days from the date (UTC) of `at` to as_of, in SQL."""
    if dialect == "postgresql":
        return cast(literal(as_of, Date), Date) - cast(func.timezone("UTC", at), Date)
    return cast(func.julianday(as_of.isoformat()) - func.julianday(func.date(at)), Integer)


def _segment_case(r: Any, f: Any) -> Any:
    return case(
        *[
            (and_(r.between(r_lo, r_hi), f.between(f_lo, f_hi)), literal(seg.value))
            for seg, r_lo, r_hi, f_lo, f_hi in CELLS
        ],
        else_=literal(Segment.NO_RECENT.value),  # unreachable: CELLS cover the 25 cells
    )


def scores_select(currency: str, as_of: date, dialect: str) -> Any:
    """One SELECT of every scored client's row (the columns of WORK)."""
    since, until = window(as_of)
    # Each source is aggregated on its own, then the two are added up per client: the bonus program's
    # side reads ix_loyalty_purchases_rfm alone (currency, client_id, created_at, discounted: grouped
    # in index order, no table lookups, no sort). On SQLite the window's bounds are marked likely(),
    # or the planner takes the period index for them and fetches 10M rows one by one.
    at = Purchase.created_at
    in_window = [at >= since, at < until]
    if dialect == "sqlite":
        in_window = [func.likely(c) for c in in_window]
    b = bonus_purchases(currency).where(*in_window).subquery("b")
    d = won_deals(currency, since, until).subquery("d")
    parts = union_all(
        *(
            select(
                x.c.client_id,
                func.max(x.c.at).label("last_at"),
                func.count().label("frequency"),
                func.sum(x.c.value).label("monetary"),
            ).group_by(x.c.client_id)
            for x in (b, d)
        )
    ).subquery("parts")
    agg = (
        select(
            parts.c.client_id,
            func.max(parts.c.last_at).label("last_at"),
            func.sum(parts.c.frequency).label("frequency"),
            func.sum(parts.c.monetary).label("monetary"),
        )
        .group_by(parts.c.client_id)
        .subquery("agg")
    )
    live = (
        select(agg, Client.owner_id)
        .join(Client, Client.id == agg.c.client_id)
        .where(Client.merged_into_id.is_(None))
        .subquery("live")
    )
    positive = case((live.c.monetary > 0, live.c.monetary), else_=0)
    by_revenue = [live.c.monetary.desc(), live.c.client_id]
    scored = select(
        live.c.client_id,
        live.c.owner_id,
        live.c.last_at,
        live.c.frequency,
        live.c.monetary,
        func.ntile(5).over(order_by=[live.c.last_at, live.c.client_id]).label("r"),
        func.ntile(5).over(order_by=[live.c.frequency, live.c.client_id]).label("f"),
        func.ntile(5).over(order_by=[live.c.monetary, live.c.client_id]).label("m"),
        func.coalesce(func.sum(positive).over(order_by=by_revenue, rows=(None, -1)), 0).label("before"),
        func.sum(positive).over().label("total"),
    ).subquery("scored")
    s = scored.c
    abc = case(
        (s.monetary <= 0, None),
        (s.before * 100 < s.total * A_SHARE, literal("A")),
        (s.before * 100 < s.total * B_SHARE, literal("B")),
        else_=literal("C"),
    )
    return select(
        s.client_id,
        s.owner_id,
        s.last_at,
        _days_to(as_of, s.last_at, dialect),
        s.frequency,
        s.monetary,
        s.r,
        s.f,
        s.m,
        _segment_case(s.r, s.f),
        abc,
    ).order_by(s.client_id)  # in key order: the work table's index and the copy into rfm_scores append


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: int
    population: int
    revenue: Decimal
    dropped: int  # old runs deleted by the retention
    seconds: dict[str, float]  # how long each step took (the bench prints them)


async def run(
    engine: AsyncEngine,
    *,
    as_of: date,
    currency: str,
    now: datetime,
    started_by: int | None = None,
    keep: int = 35,
) -> RunResult:
    """Compute a run dated as_of on a connection of its own (see the module's docstring)."""
    async with engine.connect() as conn:
        dialect = conn.dialect.name
        steps: dict[str, float] = {}
        mark = monotonic()

        def step(name: str) -> None:
            nonlocal mark
            steps[name] = round(monotonic() - mark, 2)
            mark = monotonic()

        try:
            if dialect == "sqlite":  # sorts and index inserts over ~1M rows: a page cache that holds them
                await conn.execute(text(f"PRAGMA main.cache_size = -{SQLITE_CACHE_KB}"))
                await conn.execute(text(f"PRAGMA temp.cache_size = -{SQLITE_CACHE_KB}"))
            await _drop_work(conn)
            await conn.run_sync(lambda sync: WORK.create(sync))
            await conn.execute(
                insert(WORK).from_select(SCORE_COLUMNS, scores_select(currency, as_of, dialect))
            )
            await conn.execute(text("CREATE INDEX rfm_work_client ON rfm_work (client_id)"))
            step("score")
            previous = await _latest_finished_id(conn)
            summary = await _work_summary(conn, previous)
            await conn.commit()  # the reads so far: nothing of the run is written yet
            step("summary")
            run_id = await _write(conn, as_of, currency, now, started_by, summary)
            step("write")
            dropped = await _drop_old_runs(conn, keep)
            await conn.commit()
            step("retention")
            return RunResult(run_id, summary["population"], Decimal(summary["revenue"]), dropped, steps)
        finally:
            try:
                await conn.rollback()
                await _drop_work(conn)
                await conn.commit()
                if dialect == "sqlite":  # the pooled connection goes back with SQLite's default cache
                    await conn.execute(text("PRAGMA main.cache_size = -2000"))
                    await conn.execute(text("PRAGMA temp.cache_size = -2000"))
            except Exception:  # noqa: S110 - the connection is gone; so is its temporary table
                pass


async def _drop_work(conn: AsyncConnection) -> None:
    await conn.execute(text("DROP TABLE IF EXISTS rfm_work"))


async def _latest_finished_id(conn: AsyncConnection | AsyncSession) -> int | None:
    return await conn.scalar(
        select(RfmRun.id).where(RfmRun.finished_at.is_not(None)).order_by(RfmRun.id.desc()).limit(1)
    )


async def _work_summary(conn: AsyncConnection, previous: int | None) -> dict[str, Any]:
    """The run's figures for the whole base: the owners' figures added up (each scored client, each
    client and each move belongs to exactly one owner), and the Pareto check over all scored clients."""
    w = WORK.c
    owners = await _owner_summaries(conn, previous)
    segments: dict[str, int] = defaultdict(int)
    abc: dict[str, int] = defaultdict(int)
    moves: dict[tuple[str, str], int] = defaultdict(int)
    clients = population = 0
    revenue = Decimal(0)
    for o in owners.values():
        clients += o["clients"]
        population += o["population"]
        revenue += Decimal(o["revenue"])
        for k, n in o["segments"].items():
            segments[k] += n
        for k, n in o["abc"].items():
            abc[k] += n
        for a, b, n in o["moves"]:
            moves[(a, b)] += n
    top = select(w.monetary).order_by(w.monetary.desc(), w.client_id).limit(top_count(population)).subquery()
    top_sum = await conn.scalar(select(func.coalesce(func.sum(top.c.monetary), 0)))
    return {
        "owners": owners,
        "clients": clients,
        "population": population,
        "revenue": str(revenue.quantize(Decimal("0.01"))),
        "segments": dict(segments),
        "abc": dict(abc),
        "moves": sorted(([a, b, n] for (a, b), n in moves.items()), key=lambda m: (-m[2], m[0], m[1])),
        "top20_revenue": str(Decimal(str(top_sum)).quantize(Decimal("0.01"))),
        "previous_run_id": previous,
    }


async def _owner_summaries(conn: AsyncConnection, previous: int | None) -> dict[str, dict[str, Any]]:
    """Each owner's figures in the run, keyed by the owner's id (as a string): their clients, segment
    and class counts, revenue, the top 20 % of their clients' revenue and the moves since the previous
    run, so a manager's /rfm reads a few numbers instead of looking up each of their clients. Clients
    count for the owner they had at the time of the run (a reassigned client moves at the next run)."""
    w = WORK.c
    owners: dict[str, dict[str, Any]] = {}

    def of(owner_id: Any) -> dict[str, Any]:
        return owners.setdefault(
            str(owner_id),
            {"clients": 0, "population": 0, "revenue": Decimal(0), "segments": {}, "abc": {}, "moves": []},
        )

    clients_q = (
        select(Client.owner_id, func.count()).where(Client.merged_into_id.is_(None)).group_by(Client.owner_id)
    )
    for owner_id, n in await conn.execute(clients_q):
        of(owner_id)["clients"] = int(n)
    grouped = select(w.owner_id, w.segment, w.abc_class, func.count(), func.sum(w.monetary)).group_by(
        w.owner_id, w.segment, w.abc_class
    )
    for owner_id, segment, abc_class, n, total in await conn.execute(grouped):
        o = of(owner_id)
        o["segments"][str(segment)] = o["segments"].get(str(segment), 0) + int(n)
        if abc_class is not None:
            o["abc"][str(abc_class)] = o["abc"].get(str(abc_class), 0) + int(n)
        o["population"] += int(n)
        o["revenue"] += Decimal(str(total or 0))
    # The top 20 % of each owner's scored clients: rank within the owner, keep rank <= ceil(count / 5).
    rank = func.row_number().over(partition_by=w.owner_id, order_by=(w.monetary.desc(), w.client_id))
    ranked = select(
        w.owner_id, w.monetary, rank.label("rank"), func.count().over(partition_by=w.owner_id).label("n")
    ).subquery("ranked")
    top = (
        select(ranked.c.owner_id, func.sum(ranked.c.monetary))
        .where(ranked.c.rank * 5 <= ranked.c.n + 4)
        .group_by(ranked.c.owner_id)
    )
    tops = {str(owner_id): Decimal(str(total or 0)) for owner_id, total in await conn.execute(top)}
    if previous is not None:
        prev = RfmScore.__table__.alias("prev")
        was = func.coalesce(prev.c.segment, Segment.NO_RECENT.value)
        came = (
            select(w.owner_id, was, w.segment, func.count())
            .select_from(
                WORK.outerjoin(prev, and_(prev.c.run_id == previous, prev.c.client_id == w.client_id))
            )
            .where(was != w.segment)
            .group_by(w.owner_id, was, w.segment)
        )
        left = (
            select(prev.c.owner_id, prev.c.segment, literal(Segment.NO_RECENT.value), func.count())
            .where(prev.c.run_id == previous, ~exists().where(w.client_id == prev.c.client_id))
            .group_by(prev.c.owner_id, prev.c.segment)
        )
        for owner_id, a, b, n in [*(await conn.execute(came)), *(await conn.execute(left))]:
            of(owner_id)["moves"].append([a, b, int(n)])
    for key, o in owners.items():
        o["revenue"] = str(o["revenue"].quantize(Decimal("0.01")))
        o["top20_revenue"] = str(tops.get(key, Decimal(0)).quantize(Decimal("0.01")))
        o["moves"].sort(key=lambda m: (-m[2], m[0], m[1]))
    return owners


def _summary_distribution(s: dict[str, Any]) -> Distribution:
    segments = dict(s["segments"])
    segments[Segment.NO_RECENT.value] = max(0, s["clients"] - s["population"])
    return Distribution(
        s["clients"],
        segments,
        dict(s["abc"]),
        s["population"],
        Decimal(s["revenue"]),
        Decimal(s["top20_revenue"]),
    )


_NOBODY = {
    "clients": 0,
    "population": 0,
    "revenue": "0",
    "segments": {},
    "abc": {},
    "moves": [],
    "top20_revenue": "0",
}


def _owner_summary(run: RfmRun, owner_id: int) -> dict[str, Any] | None:
    """A manager's precomputed figures in the run (None: a run stored before they were kept)."""
    owners = (run.summary or {}).get("owners")
    if owners is None:
        return None
    return owners.get(str(owner_id), _NOBODY)


def top_count(population: int) -> int:
    """How many clients "the top 20 %" of a population is (rounded up; at least one if any)."""
    return math.ceil(population * TOP_SHARE)


async def _write(
    conn: AsyncConnection,
    as_of: date,
    currency: str,
    now: datetime,
    started_by: int | None,
    summary: dict[str, Any],
) -> int:
    revenue = Decimal(summary["revenue"])
    run_id = await conn.scalar(
        insert(RfmRun)
        .values(
            as_of=as_of,
            currency=currency,
            started_at=now,
            started_by=started_by,
            population=summary["population"],
            revenue=revenue,
            summary=summary,
        )
        .returning(RfmRun.id)
    )
    await conn.execute(
        insert(RfmScore).from_select(
            ["run_id", *SCORE_COLUMNS], select(literal(run_id, BigInteger), *WORK.columns)
        )
    )
    await conn.execute(update(RfmRun).where(RfmRun.id == run_id).values(finished_at=now))
    return int(run_id)


async def _drop_old_runs(conn: AsyncConnection, keep: int) -> int:
    """Keep the newest `keep` finished runs; older ones (and any unfinished one older than those) go."""
    kept = select(RfmRun.id).where(RfmRun.finished_at.is_not(None)).order_by(RfmRun.id.desc()).limit(keep)
    kept_ids = list((await conn.scalars(kept)).all())
    if len(kept_ids) < keep:
        return 0
    oldest = min(kept_ids)
    old = list((await conn.scalars(select(RfmRun.id).where(RfmRun.id < oldest))).all())
    if old:
        await conn.execute(delete(RfmScore).where(RfmScore.run_id.in_(old)))
        await conn.execute(delete(RfmRun).where(RfmRun.id.in_(old)))
    return len(old)


async def request_run(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """An admin's "Recompute now": a rfm_manual job, unless one is already waiting or running (then
    False: pressing twice starts one run)."""
    busy = await session.scalar(
        select(Job.id)
        .where(
            Job.kind.in_([MANUAL_JOB, NIGHTLY_JOB]), Job.status.in_([JobStatus.pending, JobStatus.running])
        )
        .where(Job.due_at <= now)
        .limit(1)
    )
    if busy is not None:
        return False
    key = f"{MANUAL_JOB}:{now.strftime('%Y-%m-%dT%H:%M')}"
    return await enqueue(session, MANUAL_JOB, {"user_id": user_id}, now, key=key, max_attempts=3)


# --- reading ---


async def latest_runs(session: AsyncSession) -> tuple[RfmRun | None, RfmRun | None]:
    """The latest finished run and the one before it."""
    rows = list(
        (
            await session.scalars(
                select(RfmRun).where(RfmRun.finished_at.is_not(None)).order_by(RfmRun.id.desc()).limit(2)
            )
        ).all()
    )
    return (rows[0] if rows else None, rows[1] if len(rows) > 1 else None)


async def latest_run(session: AsyncSession) -> RfmRun | None:
    return (await latest_runs(session))[0]


async def client_score(session: AsyncSession, client_id: int) -> RfmScore | None:
    """The client's row in the latest finished run (None: not scored, "No recent purchases")."""
    latest = (
        select(RfmRun.id).where(RfmRun.finished_at.is_not(None)).order_by(RfmRun.id.desc()).limit(1)
    ).scalar_subquery()
    return await session.scalar(
        select(RfmScore).where(RfmScore.run_id == latest, RfmScore.client_id == client_id)
    )


def latest_run_id() -> Any:
    """The latest finished run's id, as a scalar subquery."""
    return (
        select(RfmRun.id).where(RfmRun.finished_at.is_not(None)).order_by(RfmRun.id.desc()).limit(1)
    ).scalar_subquery()


def is_vip() -> Any:
    """A client is a VIP: the manual flag, or class A in the latest finished run (a column for the
    statements that list clients, so the mark costs no query of its own)."""
    score = RfmScore.__table__.alias("vip_score")
    class_a = exists().where(
        score.c.run_id == latest_run_id(), score.c.client_id == Client.id, score.c.abc_class == "A"
    )
    return or_(Client.vip, class_a)


def latest_score_join() -> tuple[Any, Any]:
    """(the scores alias, its ON clause): a client's row in the latest finished run, for an outer join
    (the card's one statement)."""
    score = aliased(RfmScore, name="latest_score")
    return score, and_(score.run_id == latest_run_id(), score.client_id == Client.id)


async def vip_ids(session: AsyncSession, client_ids: list[int]) -> set[int]:
    """Of these clients, the VIPs (one query)."""
    if not client_ids:
        return set()
    rows = await session.scalars(select(Client.id).where(Client.id.in_(client_ids), is_vip()))
    return set(rows.all())


@dataclass(frozen=True, slots=True)
class Distribution:
    clients: int  # every (unmerged) client in scope
    segments: dict[str, int]  # scored segments; NO_RECENT: clients in scope without a row
    abc: dict[str, int]
    population: int
    revenue: Decimal
    top20_revenue: Decimal

    @property
    def top20_share(self) -> float | None:
        """The share of revenue from the top 20 % of clients (None: no revenue)."""
        return float(self.top20_revenue / self.revenue) if self.revenue > 0 else None


def _score_of(run_id: int, column: Any) -> Any:
    """A client's `column` in the run, as a correlated lookup by the scores' primary key."""
    score = RfmScore.__table__.alias("sc")
    return (
        select(score.c[column.key])
        .where(score.c.run_id == run_id, score.c.client_id == Client.id)
        .scalar_subquery()
    )


def _mine(run_id: int, owner_id: int) -> Any:
    """The clients a manager owns now with their segment, class and revenue in the run (NULL: not
    scored): their ids come from the owner index and each is looked up by primary key, so the query
    reads a manager's rows, never the run's million."""
    return (
        select(
            Client.id.label("client_id"),
            _score_of(run_id, RfmScore.segment).label("segment"),
            _score_of(run_id, RfmScore.abc_class).label("abc_class"),
            _score_of(run_id, RfmScore.monetary).label("monetary"),
        )
        .where(Client.owner_id == owner_id, Client.merged_into_id.is_(None))
        .subquery("mine")
    )


async def distribution(session: AsyncSession, run: RfmRun, owner_id: int | None) -> Distribution:
    """Counts per segment and per ABC class, and the Pareto check: the whole base (owner_id None) or a
    manager's clients, both from the run's stored summary (a manager's: the clients they owned at the
    time of the run); a run stored without one is counted from its rows and the clients owned now."""
    if owner_id is None and run.summary:
        return _summary_distribution(run.summary)
    if owner_id is not None and (own := _owner_summary(run, owner_id)) is not None:
        return _summary_distribution(own)
    if owner_id is None:  # a run without a summary: from its rows
        rows = (
            select(RfmScore.client_id, RfmScore.segment, RfmScore.abc_class, RfmScore.monetary)
            .where(RfmScore.run_id == run.id)
            .subquery("mine")
        )
        clients_q = select(func.count()).select_from(Client).where(Client.merged_into_id.is_(None))
        clients = int(await session.scalar(clients_q) or 0)
    else:
        rows = _mine(run.id, owner_id)
        clients = None
    grouped = (
        await session.execute(
            select(
                rows.c.segment, rows.c.abc_class, func.count(), func.coalesce(func.sum(rows.c.monetary), 0)
            ).group_by(rows.c.segment, rows.c.abc_class)
        )
    ).all()
    segments: dict[str, int] = {}
    abc: dict[str, int] = {}
    population, revenue, everyone = 0, Decimal(0), 0
    for segment, abc_class, n, total in grouped:
        everyone += n
        if segment is None:
            continue
        segments[str(segment)] = segments.get(str(segment), 0) + n
        if abc_class is not None:
            abc[str(abc_class)] = abc.get(str(abc_class), 0) + n
        population += n
        revenue += Decimal(str(total))
    clients = everyone if clients is None else clients
    top = (
        select(rows.c.monetary)
        .where(rows.c.segment.is_not(None))
        .order_by(rows.c.monetary.desc(), rows.c.client_id)
        .limit(top_count(population))
        .subquery("top")
    )
    top_sum = await session.scalar(select(func.coalesce(func.sum(top.c.monetary), 0)))
    segments[Segment.NO_RECENT.value] = max(0, clients - population)
    return Distribution(clients, segments, abc, population, revenue, Decimal(str(top_sum)))


async def movement(
    session: AsyncSession, run: RfmRun, previous: RfmRun | None, owner_id: int | None
) -> list[tuple[str, str, int]]:
    """[(from, to, clients)] between the previous run and this one, the largest first; a client in one
    run but not the other moved from or to NO_RECENT. Scoped to the clients a manager owns now."""
    if previous is None:
        return []
    if run.summary and run.summary.get("previous_run_id") == previous.id:
        if owner_id is None:
            return [(a, b, int(n)) for a, b, n in run.summary["moves"]]
        if (own := _owner_summary(run, owner_id)) is not None:
            return [(a, b, int(n)) for a, b, n in own["moves"]]
    pairs = select(
        func.coalesce(_score_of(previous.id, RfmScore.segment), Segment.NO_RECENT.value).label("was"),
        func.coalesce(_score_of(run.id, RfmScore.segment), Segment.NO_RECENT.value).label("now"),
    ).where(Client.merged_into_id.is_(None))
    if owner_id is not None:
        pairs = pairs.where(Client.owner_id == owner_id)
    p = pairs.subquery("pairs")
    q = select(p.c.was, p.c.now, func.count()).where(p.c.was != p.c.now).group_by(p.c.was, p.c.now)
    rows = [(str(a), str(b), int(n)) for a, b, n in await session.execute(q)]
    return sorted(rows, key=lambda m: (-m[2], m[0], m[1]))


@dataclass(frozen=True, slots=True)
class SegmentRow:
    id: int
    version: int
    name: str
    company: str | None
    vip: bool
    abc_class: str | None


@dataclass(frozen=True, slots=True)
class SegmentPage:
    items: list[SegmentRow]
    page: int
    has_next: bool


async def segment_clients(
    session: AsyncSession, run: RfmRun, segment: Segment, owner_id: int | None, page: int, size: int = PAGE
) -> SegmentPage:
    """A segment's clients in the run, in id order, `size` a page; NO_RECENT: clients without a row."""
    page = max(0, page)
    if segment is Segment.NO_RECENT:
        has_row = exists().where(RfmScore.run_id == run.id, RfmScore.client_id == Client.id)
        q = select(
            Client.id, Client.version, Client.name, Client.company, Client.vip, literal(None, String(1))
        ).where(Client.merged_into_id.is_(None), ~has_row)
    else:
        q = (
            select(Client.id, Client.version, Client.name, Client.company, Client.vip, RfmScore.abc_class)
            .select_from(RfmScore)
            .join(Client, Client.id == RfmScore.client_id)
            .where(
                RfmScore.run_id == run.id, RfmScore.segment == segment.value, Client.merged_into_id.is_(None)
            )
        )
    if owner_id is not None:
        q = q.where(Client.owner_id == owner_id)
    # in the order of the index walked: (run_id, segment, client_id), or the clients' primary key
    order = Client.id if segment is Segment.NO_RECENT else RfmScore.client_id
    rows = (await session.execute(q.order_by(order).offset(page * size).limit(size + 1))).all()
    items = [SegmentRow(i, v, n, c, bool(vip) or abc == "A", abc) for i, v, n, c, vip, abc in rows[:size]]
    return SegmentPage(items, page, len(rows) > size)
