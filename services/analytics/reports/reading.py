"""Reading a report's figures: the closed days from report_daily (grouped in SQL), the days after the
rollup (today; any day the job hasn't reached yet) from the source tables, one time range per bucket."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.reports import ReportDaily, ReportState
from services.analytics.reports.daily import Cell, day_figures
from services.analytics.reports.periods import day_start, month_start, week_of
from services.timezones import zone_of

Group = Literal["day", "week", "month"] | None
Key = tuple[date | None, int | None, str, str]  # (bucket, manager or None, metric, key)


@dataclass(frozen=True, slots=True)
class Where:
    first: date  # company-local days, both included
    last: date
    manager_id: int | None = None  # only this manager's figures (None: everyone's)
    by_manager: bool = False  # keep managers apart


def bucket_of(day: date, group: Group) -> date | None:
    if group == "day":
        return day
    if group == "week":
        return week_of(day)
    if group == "month":
        return month_start(day)
    return None


async def figures(
    session: AsyncSession,
    where: Where,
    metrics: tuple[str, ...],
    group: Group,
    now: datetime,
    company_tz: str,
    currency: str,
) -> dict[Key, Cell]:
    zone = zone_of(company_tz)
    out: dict[Key, Cell] = defaultdict(Cell)
    state = await session.get(ReportState, 1)
    rolled = state.rolled_until if state is not None and state.timezone == company_tz else None
    live_from = rolled.astimezone(zone).date() if rolled is not None else where.first
    if rolled is not None and where.first < live_from:
        await _rolled(session, where, metrics, group, min(where.last, live_from - timedelta(days=1)), out)
    today = now.astimezone(zone).date()
    day = max(where.first, live_from)
    last = min(where.last, today)
    while day <= last:  # one source-table range per bucket
        bucket = bucket_of(day, group)
        end_day = day
        while end_day < last and bucket_of(end_day + timedelta(days=1), group) == bucket:
            end_day += timedelta(days=1)
        start, end = day_start(day, zone), min(day_start(end_day + timedelta(days=1), zone), now)
        if start < end:
            for (manager, metric, key), cell in (
                await day_figures(session, start, end, currency, metrics)
            ).items():
                if where.manager_id is not None and manager != where.manager_id:
                    continue
                out[(bucket, manager if where.by_manager else None, metric, key)].add(cell.count, cell.amount)
        day = end_day + timedelta(days=1)
    return out


async def _rolled(
    session: AsyncSession, where: Where, metrics: tuple[str, ...], group: Group, last: date, out: dict
) -> None:
    columns = []
    if group is not None:
        columns.append(getattr(ReportDaily, group))
    if where.by_manager:
        columns.append(ReportDaily.manager_id)
    columns += [ReportDaily.metric, ReportDaily.key]
    q = select(*columns, func.sum(ReportDaily.count), func.sum(ReportDaily.amount)).where(
        ReportDaily.metric.in_(metrics), ReportDaily.day >= where.first, ReportDaily.day <= last
    )
    if where.manager_id is not None:
        q = q.where(ReportDaily.manager_id == where.manager_id)
    for row in await session.execute(q.group_by(*columns)):
        values = list(row)
        bucket = values.pop(0) if group is not None else None
        manager = values.pop(0) if where.by_manager else None
        metric, key, n, amount = values
        out[(bucket, manager, metric, key)].add(int(n or 0), Decimal(str(amount or 0)))
