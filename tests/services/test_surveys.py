"""Surveys, the service alone: the delay parser, daytime windows across time zones and DST, the figures'
arithmetic, planning rules (on both backends) and two events planning at once (PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.callbacks import SurveyCb
from bot.db import create_session_factory
from bot.views.surveys import duration
from models.clients import Client
from models.consent import ConsentSource, Purpose
from models.jobs import Job
from models.surveys import Survey, SurveyStatus, SurveyTrigger
from models.users import Role, User
from services import consent
from services import surveys as surveys_service
from services.errors import DomainError
from tests.support.people import add_client_row, add_user

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("2h", 120),
        ("2 h", 120),
        ("2 часа", 120),
        ("90 min", 90),
        ("90 мин.", 90),
        ("1 день", 1440),
        ("1d 12h", 2160),
        ("1 день 12 часов", 2160),
        ("1,5 ч", 90),
        ("1.5 hours", 90),
        ("3", 180),  # a bare number is hours
        ("0", 0),
        ("30 days", 43200),
        ("  2   ЧАСА ", 120),
    ],
)
def test_parse_delay(text, minutes):
    assert surveys_service.parse_delay(text) == minutes


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "survey_delay_invalid"),
        ("soon", "survey_delay_invalid"),
        ("-5", "survey_delay_invalid"),
        ("2 weeks", "survey_delay_invalid"),
        ("h2", "survey_delay_invalid"),
        ("2h and 3", "survey_delay_invalid"),
        ("1" * 41, "survey_delay_invalid"),
        ("31 days", "survey_delay_range"),
        ("721 h", "survey_delay_range"),
    ],
)
def test_parse_delay_refuses(text, code):
    with pytest.raises(DomainError) as e:
        surveys_service.parse_delay(text)
    assert e.value.code == code


MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("local", "zone", "wait"),
    [
        (datetime(2026, 3, 10, 9, 59), MOSCOW, timedelta(minutes=1)),
        (datetime(2026, 3, 10, 10, 0), MOSCOW, None),
        (datetime(2026, 3, 10, 19, 59), MOSCOW, None),
        (datetime(2026, 3, 10, 20, 0), MOSCOW, timedelta(hours=14)),
        (datetime(2026, 3, 10, 22, 0), MOSCOW, timedelta(hours=12)),
        (datetime(2026, 3, 10, 0, 30), MOSCOW, timedelta(hours=9, minutes=30)),
        # the night the clocks go forward: 22:00 CET to 10:00 CEST is 11 hours
        (datetime(2026, 3, 28, 22, 0), BERLIN, timedelta(hours=11)),
        # and back: 22:00 CEST to 10:00 CET is 13 hours
        (datetime(2026, 10, 24, 22, 0), BERLIN, timedelta(hours=13)),
    ],
)
def test_daytime_window(local, zone, wait):
    now = local.replace(tzinfo=zone).astimezone(UTC)
    assert surveys_service.wait_for_daytime(now, zone) == wait
    if wait is not None:
        assert (now + wait).astimezone(zone).hour == 10


def test_time_zone_fallbacks():
    assert surveys_service.zone_of(None, "Not/AZone", "Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert surveys_service.zone_of("Europe/Paris", "Asia/Tokyo") == ZoneInfo("Europe/Paris")
    assert surveys_service.zone_of(None, "") == ZoneInfo("UTC")


def test_figures():
    f = surveys_service.Figures(
        sent=8, answered=6, csat_count=5, csat_sum=19, csat_good=3, nps_count=4, promoters=2, detractors=1
    )
    assert f.csat_share == 0.6 and f.csat_average == 3.8
    assert f.nps == 25.0 and f.response_rate == 0.75
    empty = surveys_service.Figures()
    assert (empty.csat_share, empty.csat_average, empty.nps, empty.response_rate) == (None, None, None, None)
    assert f.add(f).sent == 16 and f.add(f).nps == 25.0


def test_durations_in_both_languages():
    assert duration(120, "ru") == "2 часа"
    assert duration(2160, "ru") == "1 день 12 часов"
    assert duration(90, "en") == "1 hour 30 minutes"
    assert duration(21 * 60, "en") == "21 hours"  # not rounded up to a day


@pytest.mark.parametrize(
    "data",
    [
        SurveyCb(action="csat", survey_id=2**63 - 1, score=10),
        SurveyCb(action="skip", survey_id=-(2**63)),
        SurveyCb(action="stats", survey_id=0, arg=2**63 - 1, page=9999),
        SurveyCb(action="delay", survey_id=0, trigger="deal_won"),
    ],
)
def test_callback_data_fits_64_bytes(data):
    assert len(data.pack().encode()) <= 64


# --- planning, on both backends ---


async def _client(session, *, telegram_id: int | None = 777, agreed: bool = True) -> Client:
    if await session.get(User, 10) is None:
        await add_user(session, 10, "Anna", role=Role.manager)
    client = await add_client_row(session, 10, "Ivan", telegram_id=telegram_id)
    if agreed:
        await consent.set(session, client.id, Purpose.surveys, True, ConsentSource.button, None, "t", NOW)
    return client


async def test_after_plans_once_with_the_owner_and_the_setting_delay(session):
    client = await _client(session)
    survey = await surveys_service.after(session, "deal_won", client.id, 999_999, 5, NOW)
    assert survey is not None
    assert (survey.trigger, survey.ref_id, survey.manager_id) == (SurveyTrigger.deal_won, 5, 10)
    assert survey.due_at == NOW + timedelta(days=1) and survey.status == SurveyStatus.planned
    job = await session.scalar(select(Job).where(Job.kind == surveys_service.SEND_JOB))
    assert job.payload == {"survey_id": survey.id} and job.due_at == survey.due_at
    # another event while one is planned: no second survey
    assert await surveys_service.after(session, "contact", client.id, 10, 6, NOW) is None
    with pytest.raises(ValueError):
        await surveys_service.after(session, "birthday", client.id, 10, 6, NOW)


async def test_after_needs_the_trigger_on_a_link_consent_and_a_live_record(session):
    admin = await add_user(session, 1, "Olga", role=Role.admin)
    unlinked = await _client(session, telegram_id=None)
    refused = await _client(session, telegram_id=778, agreed=False)
    merged = await _client(session, telegram_id=779)
    merged.merged_into_id = unlinked.id
    fine = await _client(session, telegram_id=780)
    for c in (unlinked, refused, merged):
        assert await surveys_service.after(session, "contact", c.id, 10, 1, NOW) is None
    await surveys_service.set_enabled(session, admin, SurveyTrigger.contact, False, NOW)
    assert await surveys_service.after(session, "contact", fine.id, 10, 1, NOW) is None
    assert await surveys_service.after(session, "purchase", fine.id, 10, 1, NOW) is not None
    manager = await session.get(User, 10)
    with pytest.raises(DomainError) as e:
        await surveys_service.set_delay(session, manager, SurveyTrigger.purchase, 60, NOW)
    assert e.value.code == "not_allowed"
    with pytest.raises(DomainError) as e:
        await surveys_service.set_delay(session, admin, SurveyTrigger.purchase, 60 * 24 * 31, NOW)
    assert e.value.code == "survey_delay_range"


async def test_a_plan_whose_job_died_long_ago_does_not_block_forever(session):
    client = await _client(session)
    old = await surveys_service.after(session, "contact", client.id, 10, 1, NOW)
    assert old is not None
    later = NOW + timedelta(days=15)
    assert await surveys_service.after(session, "contact", client.id, 10, 2, later) is not None


async def test_two_events_at_once_plan_one_survey(pg_engine):
    """Two transactions (say, a contact logged and a deal won at the same moment) for one client."""
    factory = create_session_factory(pg_engine)
    async with factory() as s, s.begin():
        client_id = (await _client(s)).id

    async def event(ref: int) -> bool:
        async with factory() as s, s.begin():
            planned = await surveys_service.after(s, "contact", client_id, 10, ref, NOW)
            await asyncio.sleep(0.2)  # hold the transaction open while the other one tries
            return planned is not None

    results = await asyncio.gather(event(1), event(2))
    assert sorted(results) == [False, True]
    async with factory() as s:
        assert await s.scalar(select(func.count()).select_from(Survey)) == 1
