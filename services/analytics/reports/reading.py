"""Reading a report's figures: the closed days from report_weekly (whole weeks) and report_daily (the
days around them), grouped in SQL; the days after the rollup (today; any day the job hasn't reached
yet) from the source tables, one time range per bucket."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.reports import ReportDaily, ReportState, ReportWeekly
from services.analytics.reports.daily import AMOUNT_METRICS, Cell, day_figures
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


def whole_weeks(first: date, last: date, group: Group) -> list[date]:
    """The Mondays of the weeks that lie wholly in [first, last] (and, grouped by month, within one
    month): those are read from report_weekly, the days around them from report_daily."""
    if group == "day":
        return []
    out, week = [], week_of(first)
    if week < first:
        week += timedelta(days=7)
    while week + timedelta(days=6) <= last:
        if group != "month" or month_start(week) == month_start(week + timedelta(days=6)):
            out.append(week)
        week += timedelta(days=7)
    return out


def _spans(days: list[date], step: int = 1) -> list[tuple[date, date]]:
    """Dates `step` days apart in a row as (first, last) ranges."""
    out: list[tuple[date, date]] = []
    for day in days:
        if out and out[-1][1] + timedelta(days=step) == day:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


async def _rolled(
    session: AsyncSession, where: Where, metrics: tuple[str, ...], group: Group, last: date, out: dict
) -> None:
    weeks = whole_weeks(where.first, last, group)
    covered = {week + timedelta(days=i) for week in weeks for i in range(7)}
    every_day = (where.first + timedelta(days=i) for i in range((last - where.first).days + 1))
    days = [day for day in every_day if day not in covered]
    if weeks:
        await _sums(session, ReportWeekly, ReportWeekly.week, _spans(weeks, 7), where, metrics, group, out)
    if days:
        await _sums(session, ReportDaily, ReportDaily.day, _spans(days), where, metrics, group, out)


async def _sums(session, table, column, ranges, where: Where, metrics, group: Group, out: dict) -> None:
    columns = []
    if group is not None:
        columns.append(getattr(table, group))
    if where.by_manager:
        columns.append(table.manager_id)
    columns += [table.metric, table.key]
    amount = func.sum(table.amount) if AMOUNT_METRICS.intersection(metrics) else literal(0)
    q = select(*columns, func.sum(table.count), amount).where(
        table.metric.in_(metrics), or_(*(column.between(a, b) for a, b in ranges))
    )
    if where.manager_id is not None:
        q = q.where(table.manager_id == where.manager_id)
    conn = await session.connection()  # Core rows: no ORM result processing for ~10^4 rows
    for row in await conn.execute(q.group_by(*columns)):
        values = list(row)
        bucket = values.pop(0) if group is not None else None
        manager = values.pop(0) if where.by_manager else None
        metric, key, n, amount = values
        out[(bucket, manager, metric, key)].add(int(n or 0), amount or 0)
