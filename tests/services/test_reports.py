"""Reports, the service alone, on a small fixed data set (tests/support/reports.py) whose figures are
worked out by hand here: each report for an admin and for a manager, the rollup job run twice (the
same rows), today's live part, and an imported purchase with an old date taken in by the next run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models.reports import ClientFirstPurchase, ReportDaily, ReportState
from models.users import User
from services.analytics.reports import build, rollup
from services.analytics.reports.periods import Period, span
from tests.support.reports import ADMIN, ANNA, BORIS, at, purchase, seed
from tests.support.workspace import STAGES

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
TZ = "Europe/Moscow"


async def request(
    session, uid: int, period: Period = Period.this_month, now: datetime = NOW
) -> build.Request:
    user = await session.get(User, uid)
    return build.Request(user, period, now, TZ, TZ, "RUB", STAGES)


async def rolled(session, now: datetime = NOW) -> rollup.RollupResult:
    """Runs the rollup as its job does, again while it says there is more: the runs' sums."""
    total = rollup.RollupResult()
    while True:
        result = await rollup.roll_up(session, now, TZ, "RUB")
        await session.commit()
        total.days += result.days
        total.redone += result.redone
        total.first_purchases += result.first_purchases
        if not result.more:
            return total


async def daily_rows(session) -> list[tuple]:
    rows = await session.execute(
        select(
            ReportDaily.day,
            ReportDaily.manager_id,
            ReportDaily.metric,
            ReportDaily.key,
            ReportDaily.count,
            ReportDaily.amount,
        ).order_by(ReportDaily.day, ReportDaily.manager_id, ReportDaily.metric, ReportDaily.key)
    )
    return [tuple(r) for r in rows]


def test_periods_in_the_readers_time_zone():
    from zoneinfo import ZoneInfo

    # 23:30 on 31 March in UTC is already 1 April in Moscow
    late = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    assert (
        span(Period.this_month, late, ZoneInfo(TZ)).first,
        span(Period.this_month, late, ZoneInfo("UTC")).first,
    ) == (
        date(2026, 4, 1),
        date(2026, 3, 1),
    )
    s = span(Period.last_month, NOW, ZoneInfo(TZ))
    assert (s.first, s.last) == (date(2026, 2, 1), date(2026, 2, 28))
    s = span(Period.days90, NOW, ZoneInfo(TZ))
    assert (s.first, s.last, s.days) == (date(2025, 12, 11), date(2026, 3, 10), 90)
    s = span(Period.months12, NOW, ZoneInfo(TZ))
    assert (s.first, s.last) == (date(2025, 4, 1), date(2026, 3, 10))


async def test_the_funnel(session):
    await seed(session)
    await rolled(session)
    f = await build.funnel(session, await request(session, ADMIN))
    assert f.stages == [
        ("new", 3),
        ("qualification", 1),
        ("proposal", 2),
        ("negotiation", 1),
        ("won", 2),
        ("lost", 1),
    ]
    assert [(a, b, round(c, 4)) for a, b, c in f.conversions()] == [
        ("new", "qualification", round(1 / 3, 4)),
        ("qualification", "proposal", 2.0),
        ("proposal", "negotiation", 0.5),
        ("negotiation", "won", 2.0),
    ]
    assert (f.won, f.lost, f.win_rate) == (2, 1, 2 / 3)
    assert f.avg_days_to_won == pytest.approx(3.5)  # 4 days (RUB) and 3 days (USD)
    assert f.won_sums == {"RUB": Decimal(10000), "USD": Decimal(50)}
    assert f.lost_reasons == [("Дорого", 1)]
    assert [(m[1], m[2], m[3], m[4]) for m in f.managers] == [("Anna", 5, 2, 0), ("Boris", 5, 0, 1)]

    anna = await build.funnel(session, await request(session, ANNA))
    assert anna.stages[:5] == [
        ("new", 1),
        ("qualification", 1),
        ("proposal", 1),
        ("negotiation", 0),
        ("won", 2),
    ]
    assert (anna.won, anna.lost, anna.managers) == (2, 0, [])


async def test_revenue_new_customers_and_repeat_purchases(session):
    await seed(session)
    await rolled(session)
    r = await build.revenue(session, await request(session, ADMIN))
    [march] = r.months
    # purchases 300 + 1000 + 500 + 250 and 200 today; the won RUB deal 10,000 (the USD one is out)
    assert (march.month, march.purchases, march.purchases_sum, march.deals, march.deals_sum) == (
        date(2026, 3, 1),
        5,
        Decimal(2250),
        1,
        Decimal(10000),
    )
    assert march.new_customers == 3  # manual, lead, and vcard today; "old" first bought in December
    assert r.repeat_rate == pytest.approx((6 - 3) / 6)
    assert [(m[1], m[2], m[3], m[4]) for m in r.managers] == [
        ("Anna", Decimal(12000), 5, 2),
        ("Boris", Decimal(250), 1, 1),
    ]
    year = await build.revenue(session, await request(session, ADMIN, Period.months12))
    assert len(year.months) == 12
    by_month = {m.month: m for m in year.months}
    assert (by_month[date(2025, 12, 1)].purchases_sum, by_month[date(2025, 12, 1)].new_customers) == (
        Decimal(700),
        1,
    )
    assert year.total.new_customers == 4 and year.repeat_rate == pytest.approx(3 / 7)
    boris = await build.revenue(session, await request(session, BORIS))
    assert (boris.total.revenue, boris.total.count, boris.total.new_customers, boris.managers) == (
        Decimal(250),
        1,
        1,
        [],
    )


async def test_manager_activity_per_manager_and_week(session):
    await seed(session)
    await rolled(session)
    a = await build.activity(session, await request(session, ADMIN))
    people = {name: act for _id, name, act in a.managers}
    anna, boris = people["Anna"], people["Boris"]
    assert (anna.contacts, dict(anna.kinds), dict(anna.outcomes)) == (
        4,
        {"call": 3, "message": 1},
        {"reached": 2, "no_answer": 1, "agreed": 1},
    )
    assert (anna.on_time, anna.late, anna.overdue, anna.moved, anna.won) == (1, 1, 0, 3, 2)
    assert (anna.csat.good, anna.csat.n) == (2, 2)
    assert (boris.contacts, boris.overdue, boris.moved, boris.won, boris.csat.good, boris.csat.n) == (
        1,
        1,
        3,
        0,
        0,
        1,
    )
    assert a.weeks == [date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9)]
    assert a.weekly[(ANNA, date(2026, 3, 2))].contacts == 2  # 2 and 3 March
    assert a.weekly[(ANNA, date(2026, 3, 9))].contacts == 2  # 9 March and today
    assert a.weekly[(ANNA, date(2026, 3, 2))].moved == 3
    own = await build.activity(session, await request(session, BORIS))
    assert [(m[0], m[2].contacts, m[2].overdue) for m in own.managers] == [(BORIS, 1, 1)]
    assert own.total.contacts == 1


async def test_lead_sources(session):
    await seed(session)
    await rolled(session)
    s = await build.sources(session, await request(session, ADMIN))
    assert s.counts == {"manual": 1, "import": 1, "vcard": 1, "telegram": 1, "referral": 1, "other": 0}
    assert [(m[1], sum(m[2].values())) for m in s.managers] == [("Anna", 3), ("Boris", 2)]
    year = await build.sources(session, await request(session, ADMIN, Period.months12))
    assert year.counts["other"] == 1 and year.total == 6
    boris = await build.sources(session, await request(session, BORIS))
    assert (boris.counts["telegram"], boris.counts["referral"], boris.total) == (1, 1, 2)


async def test_satisfaction_report_trend(session):
    await seed(session)
    await rolled(session)
    s = await build.satisfaction_report(session, await request(session, ADMIN))
    assert (s.index.company.good, s.index.company.n) == (2, 3)
    assert s.index.loyalty == pytest.approx(1 - 0.5 * (1 - 2 / 3))
    assert len(s.trend) == 12 and s.trend[-1].month == date(2026, 3, 1)
    assert (s.trend[-1].csat.n, s.trend[-1].nps_n, s.trend[-1].nps) == (3, 2, 0.0)
    assert s.trend[-1].csat_average == pytest.approx(4.0)
    assert sum(t.csat.n for t in s.trend[:-1]) == 0
    assert (s.period.csat.n, s.period.promoters, s.period.detractors) == (3, 1, 1)
    anna = await build.satisfaction_report(session, await request(session, ANNA))
    assert (anna.index.company.good, anna.index.company.n, anna.trend[-1].nps_n) == (2, 2, 1)


async def test_the_rollup_twice_gives_the_same_rows_and_today_comes_live(session):
    ids = await seed(session)
    first = await rolled(session)
    assert first.days == (date(2026, 3, 10) - date(2025, 12, 1)).days  # from the oldest figure, 62 days a run
    rows = await daily_rows(session)
    assert rows and max(r[0] for r in rows) == date(2026, 3, 9)  # closed days only
    again = await rolled(session)
    assert (again.days, again.redone, again.first_purchases) == (0, 0, 0)
    assert await daily_rows(session) == rows
    state = await session.get(ReportState, 1)
    assert state.rolled_until == datetime(2026, 3, 9, 21, 0, tzinfo=UTC)

    # a purchase now shows at once (today's live part), and tomorrow's run takes it into the rollup
    session.add(purchase(ids["imported"], ANNA, "40", NOW + timedelta(minutes=5)))
    await session.commit()
    later = NOW + timedelta(minutes=10)
    live = await build.revenue(session, await request(session, ADMIN, now=later))
    assert (live.total.purchases_sum, live.total.new_customers) == (Decimal(2290), 4)
    tomorrow = NOW + timedelta(days=1)
    result = await rolled(session, tomorrow)
    assert result.days == 1
    after = await build.revenue(session, await request(session, ADMIN, now=tomorrow))
    assert (after.total.purchases_sum, after.total.new_customers) == (Decimal(2290), 4)
    assert (
        await session.scalar(
            select(ReportDaily.count).where(
                ReportDaily.day == date(2026, 3, 10),
                ReportDaily.metric == "new_customers",
                ReportDaily.manager_id == ANNA,
            )
        )
        == 2
    )


async def test_an_imported_purchase_with_an_old_date_is_taken_in(session):
    ids = await seed(session)
    await rolled(session)
    # imported history: "lead" bought in February (their first purchase moves from 9 March)
    session.add(purchase(ids["lead"], None, "90", at(2, 10), origin="import"))
    await session.commit()
    result = await rolled(session)
    assert (result.days, result.redone, result.first_purchases) == (0, 2, 1)
    first = await session.get(ClientFirstPurchase, ids["lead"])
    assert first.first_at == at(2, 10)
    feb = await build.revenue(session, await request(session, ADMIN, Period.last_month))
    assert (feb.total.purchases_sum, feb.total.new_customers) == (Decimal(90), 1)
    march = await build.revenue(session, await request(session, ADMIN))
    assert march.total.new_customers == 2  # "lead" is no longer new in March


async def test_whole_weeks_read_from_the_weekly_sums_give_the_daily_figures(session, monkeypatch):
    """report_weekly holds each week's sums of report_daily; any span read with whole weeks from it gives
    what the days alone give, in every grouping (weeks split by a month's end come from the days)."""
    from models.reports import ReportWeekly
    from services.analytics.reports import reading
    from services.analytics.reports.periods import week_of

    await seed(session)
    await rolled(session)
    weekly = {
        (r.week, r.manager_id, r.metric, r.key): (r.count, r.amount)
        for r in (await session.execute(select(ReportWeekly))).scalars()
    }
    summed: dict[tuple, list] = {}
    for day, manager, metric, key, count, amount in await daily_rows(session):
        cell = summed.setdefault((week_of(day), manager, metric, key), [0, Decimal(0)])
        cell[0] += count
        cell[1] += amount
    assert weekly == {k: (n, a) for k, (n, a) in summed.items()} and weekly

    assert reading.whole_weeks(date(2026, 3, 1), date(2026, 3, 31), "week") == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
        date(2026, 3, 23),
    ]
    # 27 Apr - 3 May 2026 crosses into May: whole for "week", not for "month"
    assert date(2026, 4, 27) in reading.whole_weeks(date(2026, 4, 1), date(2026, 5, 31), None)
    assert date(2026, 4, 27) not in reading.whole_weeks(date(2026, 4, 1), date(2026, 5, 31), "month")

    metrics = ("purchases", "new_customers", "contacts", "stage", "csat", "new_clients")
    spans = [
        (date(2025, 11, 20), date(2026, 3, 9)),
        (date(2025, 12, 3), date(2026, 2, 26)),
        (date(2026, 3, 2), date(2026, 3, 8)),
        (date(2026, 3, 4), date(2026, 3, 5)),
    ]
    for first, last in spans:
        for group in (None, "day", "week", "month"):
            for where in (
                reading.Where(first, last, by_manager=True),
                reading.Where(first, last, manager_id=ANNA),
            ):
                with_weeks = await reading.figures(session, where, metrics, group, NOW, TZ, "RUB")
                monkeypatch.setattr(reading, "whole_weeks", lambda *_a: [])
                days_only = await reading.figures(session, where, metrics, group, NOW, TZ, "RUB")
                monkeypatch.undo()
                assert with_weeks == days_only, (first, last, group, where)
