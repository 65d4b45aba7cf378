"""The reports' figures: each a dataclass the views turn into text, a chart and a table.

Every report reads services/analytics/reports/reading.py (rolled-up days plus today), for everyone
(admins, with a per-manager breakdown) or for one manager (their own figures)."""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.users import User
from services.access import sees_everything
from services.analytics import satisfaction as sat
from services.analytics.reports import daily as d
from services.analytics.reports.periods import Period, Span, day_start, month_start, months, span, weeks
from services.analytics.reports.reading import Where, figures
from services.timezones import zone_of


class Report(enum.StrEnum):
    funnel = "funnel"
    revenue = "revenue"
    activity = "activity"
    sources = "sources"
    satisfaction = "sat"


@dataclass(frozen=True, slots=True)
class Request:
    """Who asks, for which period, with the company's settings the figures depend on."""

    user: User
    period: Period
    now: datetime
    reader_tz: str
    company_tz: str
    currency: str
    stages: tuple[str, ...]

    @property
    def admin(self) -> bool:
        return sees_everything(self.user)

    @property
    def span(self) -> Span:
        return span(self.period, self.now, zone_of(self.reader_tz))

    def where(self, by_manager: bool = False, first: date | None = None) -> Where:
        s = self.span
        return Where(
            first or s.first,
            s.last,
            manager_id=None if self.admin else self.user.id,
            by_manager=by_manager and self.admin,
        )


async def names(session: AsyncSession, ids) -> dict[int, str]:
    ids = [i for i in set(ids) if i]
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.first_name, User.last_name).where(User.id.in_(ids)))
    return {i: " ".join(p for p in (f, last) if p) or str(i) for i, f, last in rows}


async def _read(session, req: Request, metrics, group=None, by_manager=False, first=None):
    return await figures(
        session, req.where(by_manager, first), metrics, group, req.now, req.company_tz, req.currency
    )


# --- sales funnel ---


@dataclass(slots=True)
class Funnel:
    span: Span
    stages: list[tuple[str, int]]  # pipeline order; deals that entered each stage in the period
    won: int
    lost: int
    avg_days_to_won: float | None
    won_sums: dict[str, Decimal]  # per currency
    lost_reasons: list[tuple[str, int]]  # most frequent first
    managers: list[tuple[int, str, int, int, int]] = field(
        default_factory=list
    )  # id, name, entered, won, lost

    @property
    def win_rate(self) -> float | None:
        return self.won / (self.won + self.lost) if self.won + self.lost else None

    def conversions(self) -> list[tuple[str, str, float | None]]:
        """Between consecutive stages up to won (lost is no step of the way)."""
        steps = [(s, n) for s, n in self.stages if s != d.LOST_STAGE]
        return [(a, b, (nb / na) if na else None) for (a, na), (b, nb) in pairwise(steps)]


async def funnel(session: AsyncSession, req: Request) -> Funnel:
    metrics = (d.STAGE, d.WON, d.WON_DAYS, d.LOST)
    rows = await _read(session, req, metrics, by_manager=True)
    entered: dict[str, int] = defaultdict(int)
    won_sums: dict[str, Decimal] = defaultdict(Decimal)
    reasons: dict[str, int] = defaultdict(int)
    days = Decimal(0)
    won_n = won_days_n = lost_n = 0
    per: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (_b, manager, metric, key), cell in rows.items():
        if metric == d.STAGE:
            entered[key] += cell.count
            if manager is not None:
                per[manager][0] += cell.count
        elif metric == d.WON:
            won_n += cell.count
            won_sums[key] += cell.amount
            if manager is not None:
                per[manager][1] += cell.count
        elif metric == d.WON_DAYS:
            days += cell.amount
            won_days_n += cell.count
        elif metric == d.LOST:
            lost_n += cell.count
            reasons[key] += cell.count
            if manager is not None:
                per[manager][2] += cell.count
    stages = [(s, entered.get(s, 0)) for s in req.stages]
    stages += [(s, n) for s, n in sorted(entered.items()) if s not in req.stages]
    who = await names(session, per)
    managers = sorted(
        ((m, who.get(m, str(m)), *v) for m, v in per.items()), key=lambda r: (-r[3], -r[2], r[1])
    )
    return Funnel(
        req.span,
        stages,
        won_n,
        lost_n,
        float(days / won_days_n) if won_days_n else None,
        {c: v for c, v in sorted(won_sums.items())},
        sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        managers,
    )


# --- revenue, new customers, repeat purchases ---


@dataclass(slots=True)
class Month:
    month: date
    purchases: int = 0
    purchases_sum: Decimal = Decimal(0)
    deals: int = 0
    deals_sum: Decimal = Decimal(0)
    new_customers: int = 0

    @property
    def revenue(self) -> Decimal:
        return self.purchases_sum + self.deals_sum

    @property
    def count(self) -> int:
        return self.purchases + self.deals


@dataclass(slots=True)
class Revenue:
    span: Span
    currency: str
    months: list[Month]
    managers: list[tuple[int, str, Decimal, int, int]] = field(default_factory=list)  # revenue, count, new

    @property
    def total(self) -> Month:
        t = Month(self.span.first)
        for m in self.months:
            t.purchases += m.purchases
            t.purchases_sum += m.purchases_sum
            t.deals += m.deals
            t.deals_sum += m.deals_sum
            t.new_customers += m.new_customers
        return t

    @property
    def repeat_rate(self) -> float | None:
        """The share of the period's purchases made by customers who had bought before: every purchase
        but each new customer's first."""
        t = self.total
        return (t.count - t.new_customers) / t.count if t.count else None


async def revenue(session: AsyncSession, req: Request) -> Revenue:
    """One read, by month and (for admins) by manager: the months sum the managers, and each manager's
    line sums their months."""
    s = req.span
    rows = await _read(session, req, d.PURCHASE_METRICS, group="month", by_manager=True)
    by_month = {m: Month(m) for m in months(s.first, s.last)}
    per: dict[int, list] = defaultdict(lambda: [Decimal(0), 0, 0])
    for (bucket, manager, metric, key), cell in rows.items():
        month = by_month.setdefault(bucket, Month(bucket))
        if metric == d.NEW_CUSTOMERS:
            month.new_customers += cell.count
        elif key == "deal":
            month.deals += cell.count
            month.deals_sum += cell.amount
        else:
            month.purchases += cell.count
            month.purchases_sum += cell.amount
        if manager is None:
            continue
        if metric == d.NEW_CUSTOMERS:
            per[manager][2] += cell.count
        else:
            per[manager][0] += cell.amount
            per[manager][1] += cell.count
    result = Revenue(s, req.currency, [by_month[k] for k in sorted(by_month)])
    if req.admin:
        who = await names(session, per)
        result.managers = sorted(
            ((m, who.get(m, "—"), *v) for m, v in per.items()), key=lambda r: (-r[2], r[1])
        )
    return result


# --- manager activity, per week ---

ACTIVITY = (d.CONTACTS, d.OUTCOMES, d.REMINDERS, d.MOVED, d.WON, d.CSAT)


@dataclass(slots=True)
class Activity:
    """One manager's figures (in a week, or over the period)."""

    contacts: int = 0
    kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    on_time: int = 0
    late: int = 0
    overdue: int = 0  # now, not in a week
    moved: int = 0
    won: int = 0
    csat: sat.Index = field(default_factory=sat.Index)

    def add(self, metric: str, key: str, n: int) -> None:
        if metric == d.CONTACTS:
            self.contacts += n
            self.kinds[key] += n
        elif metric == d.OUTCOMES:
            self.outcomes[key] += n
        elif metric == d.REMINDERS:
            if key == d.ON_TIME:
                self.on_time += n
            else:
                self.late += n
        elif metric == d.MOVED:
            self.moved += n
        elif metric == d.WON:
            self.won += n
        elif metric == d.CSAT:
            good = n if key.isdigit() and int(key) >= sat.GOOD_CSAT else 0
            self.csat = sat.Index(self.csat.good + good, self.csat.n + n)

    def merge(self, other: Activity) -> None:
        self.contacts += other.contacts
        for kind, n in other.kinds.items():
            self.kinds[kind] += n
        for outcome, n in other.outcomes.items():
            self.outcomes[outcome] += n
        self.on_time += other.on_time
        self.late += other.late
        self.overdue += other.overdue
        self.moved += other.moved
        self.won += other.won
        self.csat = sat.Index(self.csat.good + other.csat.good, self.csat.n + other.csat.n)


@dataclass(slots=True)
class ActivityReport:
    span: Span
    weeks: list[date]
    total: Activity
    managers: list[tuple[int, str, Activity]]  # over the period
    weekly: dict[tuple[int, date], Activity]  # (manager, week)


async def activity(session: AsyncSession, req: Request) -> ActivityReport:
    s = req.span
    rows = await _read(session, req, ACTIVITY, group="week", by_manager=True)
    own = None if req.admin else req.user.id
    overdue = await d.overdue_reminders(session, req.now, own)
    weekly: dict[tuple[int, date], Activity] = defaultdict(Activity)
    for (week, manager, metric, key), cell in rows.items():
        weekly[(manager if manager is not None else req.user.id, week)].add(metric, key, cell.count)
    total = Activity()
    per: dict[int, Activity] = defaultdict(Activity)
    for (m, _week), a in weekly.items():  # a manager's period and everyone's: their weeks added up
        per[m].merge(a)
        total.merge(a)
    for m, n in overdue.items():
        per[m].overdue += n
        total.overdue += n
    if own is not None:
        per = defaultdict(Activity, {own: per[own]})
    who = await names(session, per)
    managers = sorted(((m, who.get(m, "—"), a) for m, a in per.items()), key=lambda r: (-r[2].contacts, r[1]))
    return ActivityReport(s, weeks(s.first, s.last), total, managers, dict(weekly))


# --- lead sources ---


@dataclass(slots=True)
class Sources:
    span: Span
    counts: dict[str, int]  # every source, in SOURCES order
    managers: list[tuple[int, str, dict[str, int]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def sources(session: AsyncSession, req: Request) -> Sources:
    rows = await _read(session, req, (d.NEW_CLIENTS,), by_manager=True)
    counts = dict.fromkeys(d.SOURCES, 0)
    per: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(d.SOURCES, 0))
    for (_b, manager, _metric, key), cell in rows.items():
        counts[key] = counts.get(key, 0) + cell.count
        if manager is not None:
            per[manager][key] = per[manager].get(key, 0) + cell.count
    who = await names(session, per)
    managers = sorted(
        ((m, who.get(m, "—"), c) for m, c in per.items()), key=lambda r: (-sum(r[2].values()), r[1])
    )
    return Sources(req.span, counts, managers)


# --- satisfaction ---


@dataclass(slots=True)
class Trend:
    month: date
    csat: sat.Index
    csat_sum: int
    nps_n: int
    promoters: int
    detractors: int

    @property
    def nps(self) -> float | None:
        return 100 * (self.promoters - self.detractors) / self.nps_n if self.nps_n else None

    @property
    def csat_average(self) -> float | None:
        return self.csat_sum / self.csat.n if self.csat.n else None


@dataclass(slots=True)
class SatisfactionReport:
    span: Span
    index: sat.Satisfaction
    trend: list[Trend]  # 12 months up to the period's end, the oldest first
    names: dict[int, str]
    period: Trend  # CSAT and NPS over the period


async def satisfaction_report(session: AsyncSession, req: Request) -> SatisfactionReport:
    s = req.span
    company = zone_of(req.company_tz)
    own = None if req.admin else req.user.id
    index = await sat.satisfaction(
        session,
        day_start(s.first, company),
        min(day_start(s.last + timedelta(days=1), company), req.now),
        own,
    )
    first = month_start(s.last, 11)
    rows = await figures(
        session,
        Where(first, s.last, manager_id=own),
        (d.CSAT, d.NPS),
        "month",
        req.now,
        req.company_tz,
        req.currency,
    )
    trend = {m: Trend(m, sat.Index(), 0, 0, 0, 0) for m in months(first, s.last)}
    period = Trend(s.first, sat.Index(), 0, 0, 0, 0)
    for (month, _m, metric, key), cell in rows.items():
        _add_score(trend.setdefault(month, Trend(month, sat.Index(), 0, 0, 0, 0)), metric, key, cell.count)
    for (_b, _m, metric, key), cell in (await _read(session, req, (d.CSAT, d.NPS))).items():
        _add_score(period, metric, key, cell.count)
    who = await names(session, index.managers)
    return SatisfactionReport(s, index, [trend[k] for k in sorted(trend)], who, period)


def _add_score(t: Trend, metric: str, key: str, n: int) -> None:
    score = int(key) if key.lstrip("-").isdigit() else 0
    if metric == d.CSAT:
        good = n if score >= sat.GOOD_CSAT else 0
        t.csat = sat.Index(t.csat.good + good, t.csat.n + n)
        t.csat_sum += score * n
    else:
        t.nps_n += n
        t.promoters += n if score >= 9 else 0
        t.detractors += n if score <= 6 else 0
