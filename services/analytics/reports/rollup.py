"""The rollup behind /reports, run by a job (scheduler/reports.py) every night for the closed days in
the company's time zone.

Each run, in one transaction:
1. client_first_purchases takes in the purchases recorded since the last run (by id, so a purchase
   imported with an old date counts too) and the deals won since then: a client's first purchase only
   moves earlier. The first run fills it with one INSERT ... SELECT over the history.
2. Every closed day not rolled yet (the first run: the last BACKFILL_DAYS) gets its figures again:
   its rows are deleted and written from services/analytics/reports/daily.py, so a day rolled twice
   holds the same rows. Days already rolled that an imported purchase or a moved first purchase
   touches get their purchase figures again.
At most CHUNK_DAYS days a run: a longer backlog goes on in the next job, not in one long transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Select, bindparam, delete, func, insert, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.deals import DealEvent
from models.interactions import Interaction
from models.loyalty import Purchase
from models.reminders import Reminder
from models.reports import NO_MANAGER, ClientFirstPurchase, ReportDaily, ReportState, ReportWeekly
from models.surveys import Survey
from services.analytics.purchases import bonus_purchases, won_deals
from services.analytics.reports.daily import ALL_METRICS, PURCHASE_METRICS, day_figures
from services.analytics.reports.periods import day_start, month_start, week_of
from services.timezones import zone_of

BACKFILL_DAYS = 400  # the longest period a report shows (12 months) and the month before, with room
CHUNK_DAYS = 62
_IN_BATCH = 500


@dataclass(slots=True)
class RollupResult:
    days: int = 0  # closed days rolled
    redone: int = 0  # days rolled before that were rolled again (imported purchases)
    first_purchases: int = 0  # clients whose first purchase was written or moved earlier
    more: bool = False  # days left for the next run

    def __str__(self) -> str:
        return f"days {self.days}, redone {self.redone}, first purchases {self.first_purchases}" + (
            ", more to do" if self.more else ""
        )


async def state_of(session: AsyncSession) -> ReportState | None:
    return await session.get(ReportState, 1)


async def roll_up(
    session: AsyncSession, now: datetime, tz_name: str, currency: str, chunk_days: int = CHUNK_DAYS
) -> RollupResult:
    zone = zone_of(tz_name)
    result = RollupResult()
    state = await session.get(ReportState, 1, with_for_update=True)
    if state is None:
        state = ReportState(id=1, purchase_id=0, timezone=tz_name)
        session.add(state)
        await session.flush()
    if state.timezone != tz_name:  # the company's time zone changed: the days are cut anew
        await session.execute(delete(ReportDaily))
        await session.execute(delete(ReportWeekly))
        state.rolled_until, state.timezone = None, tz_name
    today = now.astimezone(zone).date()
    rolled_day = state.rolled_until.astimezone(zone).date() if state.rolled_until else None
    max_id = int(await session.scalar(select(func.max(Purchase.id))) or 0)
    touched, result.first_purchases = await _first_purchases(session, state, max_id, now, currency, zone)
    oldest = today - timedelta(days=BACKFILL_DAYS)
    if rolled_day is None:
        earliest = await _earliest(session)
        rolled_day = max(earliest.astimezone(zone).date(), oldest) if earliest else today
    weeks: set[date] = set()
    for day in sorted(d for d in touched if oldest <= d < rolled_day):
        await _roll_day(session, day, zone, currency, PURCHASE_METRICS)
        weeks.add(week_of(day))
        result.redone += 1
    day = rolled_day
    while day < today and result.days < chunk_days:
        await _roll_day(session, day, zone, currency, ALL_METRICS)
        weeks.add(week_of(day))
        result.days += 1
        day += timedelta(days=1)
    for week in sorted(weeks):
        await _sum_week(session, week)
    result.more = day < today
    state.rolled_until = day_start(day, zone)
    state.purchase_id, state.deals_until, state.finished_at = max_id, now, now
    await session.flush()
    return result


def _ranked_firsts(source) -> Select:
    """Per client, its earliest row of `source` (client_id, at, manager_id)."""
    p = source.subquery()
    rank = func.row_number().over(partition_by=p.c.client_id, order_by=(p.c.at, p.c.manager_id)).label("rn")
    ranked = select(
        p.c.client_id, p.c.at, func.coalesce(p.c.manager_id, NO_MANAGER).label("manager_id"), rank
    ).subquery()
    return select(ranked.c.client_id, ranked.c.at, ranked.c.manager_id).where(ranked.c.rn == 1)


async def _first_purchases(
    session: AsyncSession, state: ReportState, max_id: int, now: datetime, currency: str, zone
) -> tuple[set[date], int]:
    """Takes new purchases into client_first_purchases. Returns the already-rolled days whose purchase
    figures changed (an imported purchase's day, a first purchase's old and new day) and how many
    clients' first purchase was written or moved."""
    bonus = bonus_purchases(currency).where(Purchase.id > state.purchase_id, Purchase.id <= max_id)
    deals = won_deals(currency, state.deals_until, now)
    empty = await session.scalar(select(ClientFirstPurchase.client_id).limit(1)) is None
    if empty and state.purchase_id == 0 and state.deals_until is None:
        firsts = _ranked_firsts(union_all(bonus, deals))
        stmt = insert(ClientFirstPurchase).from_select(["client_id", "first_at", "manager_id"], firsts)
        written = (await session.execute(stmt)).rowcount
        return set(), max(written or 0, 0)
    rows = (await session.execute(union_all(bonus, deals))).all()
    touched: set[date] = set()
    rolled = state.rolled_until
    earliest: dict[int, tuple[datetime, int]] = {}
    for row in rows:
        if rolled is not None and row.at < rolled:
            touched.add(row.at.astimezone(zone).date())
        manager = row.manager_id if row.manager_id is not None else NO_MANAGER
        if row.client_id not in earliest or (row.at, manager) < earliest[row.client_id]:
            earliest[row.client_id] = (row.at, manager)
    ids = list(earliest)
    known: dict[int, datetime] = {}
    for i in range(0, len(ids), _IN_BATCH):
        q = select(ClientFirstPurchase.client_id, ClientFirstPurchase.first_at).where(
            ClientFirstPurchase.client_id.in_(ids[i : i + _IN_BATCH])
        )
        known.update({c: at for c, at in await session.execute(q)})
    fresh, moved = [], []
    for client_id, (at, manager) in earliest.items():
        old = known.get(client_id)
        if old is None:
            fresh.append({"client_id": client_id, "first_at": at, "manager_id": manager})
        elif at < old:
            moved.append({"cid": client_id, "at": at, "manager": manager})
            if rolled is not None and old < rolled:
                touched.add(old.astimezone(zone).date())
        else:
            continue
        if rolled is not None and at < rolled:
            touched.add(at.astimezone(zone).date())
    if fresh:
        await session.execute(insert(ClientFirstPurchase), fresh)
    if moved:
        stmt = (
            update(ClientFirstPurchase)
            .where(ClientFirstPurchase.client_id == bindparam("cid"))
            .values(first_at=bindparam("at"), manager_id=bindparam("manager"))
            .execution_options(synchronize_session=False)
        )
        conn = await session.connection()
        await conn.execute(stmt, moved)
    return touched, len(fresh) + len(moved)


async def _earliest(session: AsyncSession) -> datetime | None:
    """The oldest time any figure has (each a MIN over an index)."""
    columns = (
        Purchase.created_at,
        DealEvent.at,
        Interaction.created_at,
        Client.created_at,
        Survey.csat_at,
        Survey.nps_at,
        Reminder.done_at,
    )
    found = [await session.scalar(select(func.min(c))) for c in columns]
    times = [t for t in found if t is not None]
    return min(times) if times else None


async def _roll_day(session: AsyncSession, day: date, zone, currency: str, metrics: tuple[str, ...]) -> None:
    start, end = day_start(day, zone), day_start(day + timedelta(days=1), zone)
    figures = await day_figures(session, start, end, currency, metrics)
    await session.execute(delete(ReportDaily).where(ReportDaily.day == day, ReportDaily.metric.in_(metrics)))
    rows = [
        {
            "day": day,
            "week": week_of(day),
            "month": month_start(day),
            "manager_id": manager_id,
            "metric": metric,
            "key": key,
            "count": cell.count,
            "amount": cell.amount,
        }
        for (manager_id, metric, key), cell in figures.items()
    ]
    if rows:
        await session.execute(insert(ReportDaily), rows)


async def _sum_week(session: AsyncSession, week: date) -> None:
    """The week's report_weekly rows again: the sums of its report_daily rows."""
    await session.execute(delete(ReportWeekly).where(ReportWeekly.week == week))
    sums = (
        select(
            ReportDaily.week,
            literal(month_start(week), Date),
            ReportDaily.manager_id,
            ReportDaily.metric,
            ReportDaily.key,
            func.sum(ReportDaily.count),
            func.sum(ReportDaily.amount),
        )
        .where(ReportDaily.day >= week, ReportDaily.day < week + timedelta(days=7))  # the key's range
        .group_by(ReportDaily.week, ReportDaily.manager_id, ReportDaily.metric, ReportDaily.key)
    )
    columns = ["week", "month", "manager_id", "metric", "key", "count", "amount"]
    await session.execute(insert(ReportWeekly).from_select(columns, sums))
