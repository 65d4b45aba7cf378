"""/timezone end to end, and what follows the person's zone (reminder times, the admin's digest)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.callbacks import ChoiceCb
from models.jobs import Job, JobStatus
from models.users import User
from scheduler.recurring import plan_admin_digests
from services.errors import DomainError
from services.timeparse import zone_from_text
from tests.conftest import ADMIN_ID
from tests.support.people import manager
from tests.support.workspace import reminders_of


async def zone_of(app, uid: int) -> str | None:
    async with app.session_factory() as s:
        return (await s.get(User, uid)).timezone


async def test_show_and_choose_with_a_button(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    shown = await anna.send("/timezone")
    assert "Your time zone: Moscow (UTC+03:00). Your time now: Tue, 10 Mar, 10:00." in shown.last.text
    assert shown.last.buttons[0] == ["Kaliningrad +2", "✓ Moscow +3"]
    assert shown.last.buttons[-1] == ["Magadan +11", "Kamchatka +12"]
    chosen = await anna.press("Vladivostok +10")
    assert chosen.callback_answer.text == "Saved."
    assert "Vladivostok (UTC+10:00). Your time now: Tue, 10 Mar, 17:00." in chosen.last.text
    assert "✓ Vladivostok +10" in chosen.last.labels
    assert await zone_of(app, 201) == "Asia/Vladivostok"
    # reminders now follow it
    created = await anna.send("/remind tomorrow 10am call")
    assert "Wed, 11 Mar, 10:00" in created.last.text
    [r] = await reminders_of(app, 201)
    assert r.due_at == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "zone", "shown"),
    [
        ("+5", "Etc/GMT-5", "UTC+05:00"),
        ("UTC-4", "Etc/GMT+4", "UTC-04:00"),
        ("Asia/Almaty", "Asia/Almaty", "Asia/Almaty (UTC+05:00)"),
        ("новосибирск", "Asia/Novosibirsk", "Novosibirsk (UTC+07:00)"),
        ("+05:30", "Asia/Kolkata", "Asia/Kolkata (UTC+05:30)"),
    ],
)
async def test_typed_zones(app, tg, typed, zone, shown):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    await anna.send("/timezone")
    saved = await anna.send(typed)
    assert f"Your time zone: {shown}." in saved.last.text
    assert await zone_of(app, 201) == zone


async def test_bad_input_keeps_asking(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    await anna.send("/timezone")
    assert "I don't know this time zone" in (await anna.send("Mars/Olympus")).last.text
    assert "I don't know this time zone" in (await anna.send("+25")).last.text
    assert "I don't know this time zone" in (await anna.send_sticker()).last.text
    assert "Asia/Tokyo" in (await anna.send("asia/tokyo")).last.text
    assert await zone_of(app, 201) == "Asia/Tokyo"
    # with an argument, at once
    assert "Europe/Berlin (UTC+01:00)" in (await anna.send("/timezone Europe/Berlin")).last.text
    assert "I don't know" in (await anna.send("/timezone nowhere")).last.text
    assert await zone_of(app, 201) == "Europe/Berlin"
    forged = await anna.press_data(ChoiceCb(step="tz", value="Mars/Olympus").pack(), message=anna.last)
    assert "no longer valid" in forged.callback_answer.text
    eve = tg.user(300, "Eve", language_code="en")
    assert "Not allowed" in (await eve.send("/timezone")).last.text


async def test_the_admins_digest_moves_to_the_new_zone(app, tg, clock):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    async with app.session_factory() as s, s.begin():
        await plan_admin_digests(s, clock.now(), 9, "Europe/Moscow")
    await admin.send("/timezone Asia/Vladivostok")
    async with app.session_factory() as s:
        [job] = (await s.scalars(select(Job).where(Job.kind == "admin_digest"))).all()
    # 09:00 in Vladivostok on the 11th (it's 17:00 there now)
    assert job.due_at == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    assert job.idempotency_key == f"digest:{ADMIN_ID}:2026-03-11" and job.status == JobStatus.pending
    async with app.session_factory() as s, s.begin():  # planning again changes nothing
        assert await plan_admin_digests(s, clock.now(), 9, "Europe/Moscow") == 0


def test_zone_from_text():
    assert zone_from_text("МСК+4") == "Etc/GMT-7"
    assert zone_from_text("мск") == "Europe/Moscow"
    assert zone_from_text("UTC") == "UTC"
    assert zone_from_text("gmt+0") == "UTC"
    assert zone_from_text("New York") == "America/New_York"
    assert zone_from_text("Санкт-Петербург") == "Europe/Moscow"
    assert zone_from_text("-09:30") == "Pacific/Marquesas"
    for bad in ("", "+15", "+3:15", "Europe/Nowhere", "x" * 100, "+", "3"):
        with pytest.raises(DomainError):
            zone_from_text(bad)
