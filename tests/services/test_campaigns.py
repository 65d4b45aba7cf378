"""Campaign rules without Telegram: placeholders checked and rendered escaped, the longest message
bounded, link buttons read, quiet hours on the recipient's clock (a DST change too), the weekly limit
as an admin sets it, and two Send presses on one draft starting it once (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models.campaigns import Campaign, CampaignDelivery, CampaignStatus
from models.consent import ClientConsent, Purpose
from models.jobs import Job, JobStatus
from models.users import Role, User
from services.campaigns import core
from services.campaigns.texts import Values, check, parse_button, render
from services.errors import DomainError
from services.segments import query
from tests.support.people import add_client_row, add_user

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


def code_of(call) -> str:
    with pytest.raises(DomainError) as e:
        call()
    return e.value.code


def test_placeholders_are_checked_and_values_escaped():
    assert code_of(lambda: check("Hi {name}")) == "campaign_placeholder"
    assert code_of(lambda: check("Hi {first_name!r}")) == "campaign_placeholder"
    assert code_of(lambda: check("Hi {points:>5}")) == "campaign_placeholder"
    assert code_of(lambda: check("Hi {first_name")) == "campaign_braces"
    assert code_of(lambda: check("   ")) == "campaign_text_empty"
    values = Values(first_name="<b>Ann</b>", points=5, tier="Gold & co", manager="M" * 100)
    text = check("<b>Hi</b> {first_name}: {points} {{pts}}, {tier}, {manager}")
    assert render(text, values) == f"<b>Hi</b> &lt;b&gt;Ann&lt;/b&gt;: 5 {{pts}}, Gold &amp; co, {'M' * 64}"


def test_the_longest_message_any_recipient_can_get_is_bounded():
    check("x" * 4032 + "{first_name}")  # 4032 + 64 = 4096: fits
    assert code_of(lambda: check("x" * 4033 + "{first_name}")) == "campaign_text_long"
    assert code_of(lambda: check("x" * 961 + "{manager}", caption=True)) == "campaign_caption_long"
    check("<b>" + "x" * 4096 + "</b>")  # tags don't count, as Telegram counts


def test_link_buttons():
    assert parse_button("Our  shop https://shop.example.com") == ("Our shop", "https://shop.example.com")
    assert code_of(lambda: parse_button("https://shop.example.com")) == "campaign_button_invalid"
    assert code_of(lambda: parse_button("Shop ftp://x.com")) == "campaign_button_invalid"
    assert code_of(lambda: parse_button("x" * 41 + " https://a.com")) == "campaign_button_long"


def test_quiet_hours_on_the_recipients_clock():
    moscow = "Europe/Moscow"
    assert core.wait_until(datetime(2026, 3, 10, 7, 0, tzinfo=UTC), moscow, moscow) is None  # 10:00
    assert core.wait_until(datetime(2026, 3, 10, 17, 59, tzinfo=UTC), moscow, moscow) is None  # 20:59
    assert core.wait_until(datetime(2026, 3, 10, 18, 0, tzinfo=UTC), moscow, moscow) == datetime(
        2026, 3, 11, 7, 0, tzinfo=UTC
    )
    assert core.wait_until(datetime(2026, 3, 10, 6, 59, tzinfo=UTC), moscow, moscow) == datetime(
        2026, 3, 10, 7, 0, tzinfo=UTC
    )
    # the night the clocks go forward in Berlin: 10:00 there is 08:00 UTC the next morning
    assert core.wait_until(datetime(2026, 3, 28, 22, 0, tzinfo=UTC), "Europe/Berlin", moscow) == datetime(
        2026, 3, 29, 8, 0, tzinfo=UTC
    )
    assert (
        core.wait_until(datetime(2026, 3, 10, 7, 0, tzinfo=UTC), "Not/AZone", moscow) is None
    )  # the default


async def test_the_weekly_limit_is_an_admin_setting(session):
    admin = await add_user(session, 1, "Olga", role=Role.admin)
    manager = await add_user(session, 2, "Anna", role=Role.manager)
    assert await core.weekly_cap(session) == core.DEFAULT_CAP
    assert (await _refused(core.set_weekly_cap(session, manager, "3", NOW))) == "not_allowed"
    for bad in ("0", "51", "two", ""):
        assert (await _refused(core.set_weekly_cap(session, admin, bad, NOW))) == "campaign_cap_invalid"
    assert await core.set_weekly_cap(session, admin, " 3 ", NOW) == 3
    assert await core.weekly_cap(session) == 3


async def _refused(awaitable) -> str:
    with pytest.raises(DomainError) as e:
        await awaitable
    return e.value.code


async def test_two_send_presses_on_one_draft_start_it_once(session_factory):
    async with session_factory() as s, s.begin():
        admin = await add_user(s, 1, "Olga", role=Role.admin)
        for n in range(3):
            client = await add_client_row(s, 1, f"C{n}", telegram_id=100 + n)
            await add_user(s, 100 + n)
            s.add(ClientConsent(client_id=client.id, purpose=Purpose.marketing, granted=True, updated_at=NOW))
        draft = await core.create_draft(s, admin, core.Audience(None, core.Conditions()), "ru", NOW)
        core.set_text(draft, "ru", "Hi {first_name}")
    basis = query.Basis(NOW, "RUB")
    async with session_factory() as late:
        viewer = await late.get(User, 1)
        seen = await late.get(Campaign, draft.id)  # the second press saw the draft...
        await late.commit()
        async with session_factory() as first, first.begin():
            assert (
                await core.start(first, await first.get(User, 1), draft.id, basis, NOW, "Europe/Moscow") == 3
            )
        assert seen.status == CampaignStatus.draft  # ...and still does: only the database knows
        with pytest.raises(DomainError) as e:
            await core.start(late, viewer, draft.id, basis, NOW, "Europe/Moscow")
        assert e.value.code == "campaign_started"
        await late.rollback()
    async with session_factory() as s:
        rows = (
            await s.scalars(select(CampaignDelivery).where(CampaignDelivery.campaign_id == draft.id))
        ).all()
        assert len(rows) == 3


async def test_a_campaign_left_without_a_step_gets_a_new_one(session):
    await add_user(session, 1, "Olga", role=Role.admin)
    sending = Campaign(created_by=1, texts={"ru": "x"}, default_language="ru", status=CampaignStatus.sending)
    done = Campaign(created_by=1, texts={"ru": "x"}, default_language="ru", status=CampaignStatus.done)
    session.add_all([sending, done])
    await session.flush()
    assert await core.revive(session, NOW) == 1  # no step at all
    assert await core.revive(session, NOW) == 0  # one is queued now
    [job] = (await session.scalars(select(Job).where(Job.kind == core.STEP_JOB))).all()
    assert job.payload == {"campaign_id": sending.id}
    job.status = JobStatus.failed  # it gave up
    await session.flush()
    assert await core.revive(session, NOW.replace(minute=10)) == 1
