"""The satisfaction index S (with n and the mark under 30 answers) and the loyalty index L = 1 - r(1 - S):
its two worked examples, the setting's validation and audit, S per manager and per RFM segment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from models.analytics import AnalyticsSettings, RfmRun, RfmScore
from models.audit import AuditEvent
from models.users import Role
from services.analytics import satisfaction as sat
from services.errors import DomainError
from tests.support.people import add_client_row, add_user
from tests.support.reports import survey

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("r", "s", "expected"), [(0.4, 0.5, 0.80), (0.9, 0.5, 0.55), (0.5, 1.0, 1.0), (1, 0, 0)]
)
def test_the_loyalty_index_reproduces_the_worked_examples(r, s, expected):
    assert sat.loyalty_index(s, r) == pytest.approx(expected)


def test_the_index_share_and_trust():
    assert (sat.Index(0, 0).share, sat.Index(0, 0).trusted) == (None, False)
    assert (sat.Index(15, 29).trusted, sat.Index(15, 30).trusted, sat.Index(15, 30).share) == (
        False,
        True,
        0.5,
    )


@pytest.mark.parametrize(
    ("typed", "value"), [("0.4", "0.40"), ("0,9", "0.90"), (" 1 ", "1.00"), ("0", "0.00"), ("40%", "0.40")]
)
def test_competition_level_typed(typed, value):
    assert sat.parse_level(typed) == Decimal(value)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "competition_empty"),
        (None, "competition_empty"),
        ("abc", "competition_not_number"),
        ("nan", "competition_not_number"),
        ("1.5", "competition_range"),
        ("-0.1", "competition_range"),
        ("0.123", "competition_precision"),
    ],
)
def test_competition_level_refused(typed, code):
    with pytest.raises(DomainError) as e:
        sat.parse_level(typed)
    assert e.value.code == code


async def test_the_setting_defaults_to_half_and_is_audited(session):
    admin = await add_user(session, 100, "Admin", role=Role.admin)
    assert await sat.competition_level(session) == Decimal("0.5")
    assert await sat.set_competition_level(session, admin, "0,4", NOW) == Decimal("0.40")
    assert await sat.set_competition_level(session, admin, "0.9", NOW) == Decimal("0.90")
    await session.commit()
    row = await session.get(AnalyticsSettings, 1)
    assert (row.competition_level, row.updated_by) == (Decimal("0.90"), 100)
    events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    assert [(e.action, e.before, e.after) for e in events] == [
        ("analytics.competition_level", "0.5", "0.40"),
        ("analytics.competition_level", "0.40", "0.90"),
    ]


async def test_s_with_n_per_manager_and_per_segment_and_l(session):
    await add_user(session, 100, "Admin", role=Role.admin)
    anna = await add_user(session, 200, "Anna", role=Role.manager)
    boris = await add_user(session, 201, "Boris", role=Role.manager)
    champion = await add_client_row(session, anna.id, "champion")
    sleeper = await add_client_row(session, boris.id, "sleeper")
    nobody = await add_client_row(session, boris.id, "no scores")
    # an older run and the latest one: the latest decides the segment
    old = RfmRun(as_of=date(2026, 2, 1), currency="RUB", finished_at=NOW - timedelta(days=30))
    new = RfmRun(as_of=date(2026, 3, 9), currency="RUB", finished_at=NOW - timedelta(days=1))
    unfinished = RfmRun(as_of=date(2026, 3, 10), currency="RUB", finished_at=None)
    session.add_all([old, new, unfinished])
    await session.flush()

    def score(run, client, segment):
        return RfmScore(
            run_id=run.id,
            client_id=client.id,
            owner_id=client.owner_id,
            last_purchase_at=NOW,
            recency_days=1,
            frequency=1,
            monetary=Decimal(1),
            r=5,
            f=5,
            m=5,
            segment=segment,
        )

    session.add_all(
        [
            score(old, champion, "hibernating"),
            score(new, champion, "champions"),
            score(new, sleeper, "about_to_sleep"),
            score(unfinished, champion, "at_risk"),
        ]
    )
    # 40 answers for Anna's champion: 30 of 4-5; Boris: 10 answers (4 good) over two clients;
    # one answer older than the period and one with NPS only: neither counts
    day = NOW - timedelta(days=10)
    session.add_all([survey(champion.id, anna.id, 5 if i < 30 else 2, day) for i in range(40)])
    session.add_all([survey(sleeper.id, boris.id, 4 if i < 4 else 1, day) for i in range(6)])
    session.add_all([survey(nobody.id, boris.id, 3, day) for _ in range(4)])
    session.add(survey(champion.id, anna.id, 1, NOW - timedelta(days=91)))
    session.add(survey(champion.id, anna.id, None, day, nps=10))
    await session.commit()

    s = await sat.satisfaction(session, NOW - timedelta(days=90), NOW)
    assert (s.company.good, s.company.n, s.company.trusted) == (34, 50, True)
    assert s.company.share == pytest.approx(0.68)
    assert s.r == Decimal("0.5") and s.loyalty == pytest.approx(1 - 0.5 * (1 - 0.68))
    assert {m: (i.good, i.n, i.trusted) for m, i in s.managers.items()} == {
        200: (30, 40, True),
        201: (4, 10, False),
    }
    assert {k: (i.good, i.n) for k, i in s.segments.items()} == {
        "champions": (30, 40),
        "about_to_sleep": (4, 6),
        "no_recent": (0, 4),
    }
    own = await sat.satisfaction(session, NOW - timedelta(days=90), NOW, manager_id=201)
    assert (own.company.good, own.company.n, list(own.managers)) == (4, 10, [201])

    # the worked examples end to end: S 0.5 with r 0.4 and 0.9
    half = await sat.satisfaction(session, NOW - timedelta(days=90), NOW, manager_id=201)
    half.company = sat.Index(5, 10)
    admin = await session.get(type(anna), 100)
    half.r = await sat.set_competition_level(session, admin, "0.4", NOW)
    assert round(half.loyalty * 100) == 80
    half.r = await sat.set_competition_level(session, admin, "0.9", NOW)
    assert round(half.loyalty * 100) == 55
